"""SIGKILL during saves (a few rounds here; `bench/kills.py --kills 100` runs many): the database
stays sound, nothing acknowledged is lost, nothing is half-written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.kills import run
from tests.helpers.db import ADMIN_PASSWORD

REPO = Path(__file__).resolve().parents[2]


def test_killed_saves_lose_nothing_acknowledged(tmp_path) -> None:
    db = tmp_path / "kills.db"
    subprocess.run(
        [sys.executable, "-m", "tui.cli", "--db", str(db), "init", "--admin", "admin",
         "--password-stdin"],
        input=ADMIN_PASSWORD + "\n", text=True, check=True, cwd=REPO, capture_output=True,
    )  # fmt: skip
    result = run(4, db, None, seed=7)
    assert result["acknowledged"] > 0, "the saves ran before the kills"
    assert result["acknowledged_lost"] == 0
    assert result["integrity"] == "ok"
    assert result["half_written"] == 0
