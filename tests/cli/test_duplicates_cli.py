"""`patrondesk duplicates [--min-score S] [--report OUT.csv]` as a subprocess: the groups with
their scores and reasons, a report created 0600 and never over an existing file, formula-safe
cells, and a clean error for a wrong score."""

from __future__ import annotations

import csv
import datetime as dt
import stat

from tests.cli.test_cli import assert_clean_error, run
from tests.helpers.ui import add_user

BORN = dt.date(1984, 3, 7)


def test_duplicates_lists_pairs_and_writes_a_private_report_once(ui_db, tmp_path) -> None:
    add_user("Anna", "Müller", "P800", birth_date=BORN)
    add_user("Anna", "Mueller", "P801", birth_date=BORN)
    add_user("=cmd|' /C calc'!A0", "Schmidt", "P802", birth_date=BORN)
    add_user("=cmd|' /C calc'!A0", "Schmitt", "P803", birth_date=BORN)
    add_user("Paul", "Other", "P804", birth_date=BORN)

    out = run(tmp_path, "--db", ui_db.url, "duplicates")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "P800 Müller, Anna 1984-03-07  ~  P801 Mueller, Anna 1984-03-07" in lines[1]
    assert "(same name but for accents or spelling, same birth date)" in lines[1]
    assert lines[-1].startswith("2 pairs in 2 groups among ")

    report = tmp_path / "dupes.csv"
    made = run(tmp_path, "--db", ui_db.url, "duplicates", "--report", str(report))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    rows = list(csv.DictReader(report.open(newline="")))
    assert {(r["primary_id_a"], r["primary_id_b"]) for r in rows} == {
        ("P800", "P801"),
        ("P802", "P803"),
    }
    assert {r["first_name_a"] for r in rows} >= {"'=cmd|' /C calc'!A0"}

    again = run(tmp_path, "--db", ui_db.url, "duplicates", "--report", str(report))
    assert_clean_error(again, "exists")
    assert len(list(csv.DictReader(report.open(newline="")))) == 2

    strict = run(tmp_path, "--db", ui_db.url, "duplicates", "--min-score", "100")
    assert strict.stdout.splitlines()[-1].startswith("0 pairs in 0 groups")


def test_a_wrong_score_is_a_clean_error(ui_db, tmp_path) -> None:
    bad = run(tmp_path, "--db", ui_db.url, "duplicates", "--min-score", "101")
    assert bad.returncode == 2 and "0 to 100" in bad.stderr and "Traceback" not in bad.stderr
