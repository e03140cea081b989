"""Which database `--db` / PATRONDESK_DB names, and a first look at a SQLite file, without
loading the database layer (the app draws its login screen before it opens the database)."""

from __future__ import annotations

import os
from pathlib import Path

from models.text import masked_url as describe  # noqa: F401 - for tui's callers

ENV_VAR = "PATRONDESK_DB"
SQLITE_HEADER = b"SQLite format 3\x00"


def resolve_target(target: str | None) -> str:
    """`--db` wins, then PATRONDESK_DB, then the file in the user data folder."""
    if target or os.environ.get(ENV_VAR):
        return target or os.environ[ENV_VAR]
    from tui.paths import default_database_path  # platformdirs: only when no path is given

    return str(default_database_path())


def existing_sqlite_file(target: str) -> Path | None:
    """The path when `target` is a plain path to an existing SQLite database file, else None
    (a URL, a new file, or something that is not a database: the full opening decides)."""
    if "://" in target:
        return None
    path = Path(target).expanduser()
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError:
        return None
    return path if header == SQLITE_HEADER else None
