"""Smaller command-line defects of issue 19 (item 11): an export whose reader leaves early ends
quietly, and a command on a mistyped `--db` refuses instead of leaving a new empty database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli import ROOT, assert_clean_error, run
from tests.helpers.ui import add_user


def _export_to_a_closed_pipe(tmp_path: Path, db: str, *args: str) -> tuple[int, str]:
    """`patrondesk export ARGS | head -0`: the reader is gone before the first byte."""
    env = {
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--db", db, "export", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `head` does once it has its line
    stderr = proc.stderr.read().decode()
    return proc.wait(timeout=60), stderr


@pytest.mark.parametrize("args", [[], ["-"], ["--format", "csv"], ["--format", "alma-xml"]])
def test_an_export_whose_reader_leaves_ends_quietly(ui_db, tmp_path: Path, args) -> None:
    add_user("Anna", "Müller", "P001")
    code, stderr = _export_to_a_closed_pipe(tmp_path, ui_db.url, *args)
    assert stderr == "", stderr  # was "patrondesk: error: cannot write None: Broken pipe"
    assert code == 0


def test_a_personal_export_whose_reader_leaves_ends_quietly(ui_db, tmp_path: Path) -> None:
    add_user("Anna", "Müller", "P001")
    code, stderr = _export_to_a_closed_pipe(tmp_path, ui_db.url, "--user", "P001")
    assert stderr == "", stderr
    assert code == 0


READING_COMMANDS = [
    ["export"],
    ["export", "-"],
    ["export", "--user", "P001"],
    ["migrate", "--status"],
    ["config", "export", "CONFIG"],
    ["purge", "--dry-run"],
    ["import", "--dry-run", "DATA"],
]
WRITING_COMMANDS = [
    ["migrate"],
    ["demo", "--users", "1"],
    ["audit", "prune"],
    ["purge"],
    ["letters", "send"],
    ["import", "DATA"],
    ["config", "import", "CONFIG"],
]


@pytest.mark.parametrize(
    "args", READING_COMMANDS + WRITING_COMMANDS, ids=lambda a: "-".join(a).replace("--", "")
)
def test_a_mistyped_db_path_is_refused_and_leaves_no_database(tmp_path: Path, args) -> None:
    """Only `init` makes a database: any other command on a file that is not there is refused
    (it left an empty, migrated database behind, which the next command then used)."""
    data = tmp_path / "users.json"
    data.write_text('{"format": "patrondesk", "version": 1, "users": []}\n')
    config = tmp_path / "config.json"
    args = [str(data) if a == "DATA" else str(config) if a == "CONFIG" else a for a in args]
    if args[:2] == ["config", "export"]:
        args[2] = str(tmp_path / "out.json")
    else:
        config.write_text("{}\n")
    typo = tmp_path / "libary.db"
    result = run(tmp_path, "--db", str(typo), *args)
    assert_clean_error(result, "No database at", str(typo), "patrondesk init")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("libary")) == []
    assert not (tmp_path / "out.json").exists()


def test_a_missing_database_in_the_default_place_is_refused_too(tmp_path: Path) -> None:
    result = run(tmp_path, "export")
    assert_clean_error(result, "No database at", "patrondesk.db")
    assert not (tmp_path / "xdg-data" / "patrondesk" / "patrondesk.db").exists()


def test_init_still_creates_the_database(tmp_path: Path) -> None:
    from tests.helpers.db import ADMIN_PASSWORD

    path = tmp_path / "new.db"
    result = run(
        tmp_path, "--db", str(path), "init", "--admin", "admin", "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    exported = run(tmp_path, "--db", str(path), "export", "-")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith('{"format": "patrondesk"')


# --- Keys typed while the app loads (issue 19, item 4) -------------------------------------------


def test_keys_typed_while_the_app_loads_are_not_shown_and_enter_stays_enter(monkeypatch) -> None:
    """The terminal is held quiet from the start of `patrondesk` until the app takes it: a
    password typed ahead is not echoed in clear (it stayed on the screen after the app ended),
    Enter is not turned into a line feed, nothing typed is lost, and the terminal is put back."""
    import os
    import pty
    import select
    import termios

    from tui import cli

    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        assert before[3] & termios.ECHO and before[0] & termios.ICRNL  # a shell's terminal
        with open(slave, closefd=False) as stdin:
            monkeypatch.setattr(sys, "stdin", stdin)
            restore = cli._hold_terminal()
            os.write(master, b"admin\tSecret-Pass-1\r")
            echoed = select.select([master], [], [], 0.3)[0]
            assert not echoed, os.read(master, 1024)  # before: the password, in clear
            assert select.select([slave], [], [], 1)[0]
            assert os.read(slave, 1024) == b"admin\tSecret-Pass-1\r"  # before: ...\n, at Enter
            restore()
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_holding_the_terminal_is_harmless_without_one(monkeypatch) -> None:
    import io

    from tui import cli

    monkeypatch.setattr(sys, "stdin", io.StringIO("piped"))
    cli._hold_terminal()()
