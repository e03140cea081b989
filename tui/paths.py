"""Where PatronDesk keeps its files (platformdirs): the one module that builds such paths."""

from __future__ import annotations

from pathlib import Path

from platformdirs import PlatformDirs

_dirs = PlatformDirs("patrondesk", appauthor=False)


def data_dir() -> Path:
    return Path(_dirs.user_data_dir)


def default_database_path() -> Path:
    return data_dir() / "patrondesk.db"


def log_dir() -> Path:
    return Path(_dirs.user_log_dir)


def config_dir() -> Path:
    return Path(_dirs.user_config_dir)


def keymap_file() -> Path:
    """A user's own keys: `[keys] action_id = "ctrl+k"` (tui/keymap.py)."""
    return config_dir() / "keys.toml"
