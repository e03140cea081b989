"""Lossless interchange, the whole of it (issue 21, "Done when"): every file of ../shared/data
and the demo data, exported in every export format, imported into an empty database, compare
equal field by field on what the format carries; what a format cannot carry is in README's
round-trip table (checked here), and what an import reads and cannot keep is reported.

One test per source and format, on both back ends; each source is loaded once per back end
(`cached_rows`). Every organization is exported (RERO's sample makes five) and imported into the
organization of the same code."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from models.config.configuration import add_organization
from models.store.tables import Organization
from models.transfer.exports import EXPORT_FORMATS, export_users
from models.transfer.imports import import_file
from tests.domain.test_alma_xml_schema import _kept, _varied
from tests.domain.test_interchange_csv import _carried, _empty_database, opts
from tests.domain.test_interchange_formats import _folio, _rero, _rero_after
from tests.helpers.db import ADMIN_PASSWORD, cached_rows

README = Path(__file__).resolve().parents[2] / "README.md"
SOURCES = ("demo", "koha", "folio", "rero", "alma")
DEMO_USERS = 300
ALMA_FILES = (
    ("mit_staff_patrons.xml", True),
    ("mit_student_patrons.xml", True),
    ("mit_student_patron_record_all_values.xml", True),
    ("mit_staff_patron_record_krb_and_null_values.xml", True),
    ("user_response.json", False),
    ("users_response.json", False),
    ("fee_response.json", False),
    ("fees_response.json", False),
    ("loans_response.json", False),
)


def _load(source: str, shared: Path) -> None:
    if source == "demo":
        from models.demo import generate_demo

        generate_demo(DEMO_USERS, seed=7)
        _varied()
    elif source == "koha":
        import_file(shared / "koha" / "patrons.csv", opts())
    elif source == "folio":
        import_file(shared / "folio" / "user-import.json", opts())
    elif source == "rero":
        import_file(shared / "rero" / "users.json", opts())
    else:
        for name, external in ALMA_FILES:
            import_file(shared / "alma" / name, opts(external=external))


def _everyone() -> dict[tuple[str, str], dict]:
    """(organization code, primary id) -> the user as the JSON export ("every field") has it."""
    out = {}
    for org in Organization.select().order_by(Organization.id):
        text = io.StringIO()
        export_users(text, "json", organization=org)
        for user in json.loads(text.getvalue())["users"]:
            out[(org.code, user["primary_id"])] = user
    return out


_BEFORE: dict[tuple[str, str], dict] = {}  # (back end, source) -> its users, read once


# Fields of the JSON export that an import sets itself: when and by whom the row was written.
JSON_WRITTEN = ("updated_at", "updated_by")


def _json(user: dict) -> dict:
    return {k: v for k, v in user.items() if k not in JSON_WRITTEN}


def _csv(user: dict) -> dict:
    """The CSV's (tests/domain/test_interchange_csv.py), with the rest of the preferred address."""
    out = _carried(user)
    preferred = [a for a in user["addresses"] if a["preferred"]]
    if preferred:
        out["address"] = {
            k: preferred[0][k]
            for k in ("address_type", "line1", "line2", "line3", "city", "state", "postal_code")
        } | {"country": preferred[0]["country"]}
    return out


# What each format carries of a user (README's round-trip table says the rest): before the
# round trip, after it (RERO's roles: one list of libraries for all, never widened).
CARRIED = {
    "json": (_json, _json),
    "csv": (_csv, _csv),
    "alma-xml": (_kept, _kept),
    "alma-json": (_kept, _kept),
    "folio-json": (_folio, _folio),
    "rero-json": (_rero, _rero_after),
}

# What a round trip's import reports as read and not kept, per format (FOLIO's own id).
REPORTED = {"folio-json": {"id"}}


def _differences(before: dict, after: dict) -> list[str]:
    return [
        f"{k}: {before.get(k)!r} -> {after.get(k)!r}"
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    ]


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
@pytest.mark.parametrize("source", SOURCES)
def test_every_source_round_trips_through_every_format(
    db, tmp_path: Path, request: pytest.FixtureRequest, shared_data: Path, source: str, fmt: str
) -> None:
    cached_rows(db, f"everything-{source}", lambda: _load(source, shared_data))
    if (db.backend, source) not in _BEFORE:
        _BEFORE[(db.backend, source)] = _everyone()
    before = _BEFORE[(db.backend, source)]
    assert len(before) >= {"demo": DEMO_USERS, "koha": 50, "folio": 303, "rero": 54}.get(source, 5)
    organizations = [(o.code, o.name) for o in Organization.select().order_by(Organization.id)]
    files = []
    for n, (code, _) in enumerate(organizations):
        path = (
            tmp_path
            / f"{n}-{code}.{'csv' if fmt == 'csv' else 'xml' if fmt == 'alma-xml' else 'json'}"
        )
        with open(path, "w", encoding="utf-8", newline="" if fmt == "csv" else None) as out:
            export_users(out, fmt, organization=Organization.get(Organization.code == code))
        files.append((code, path))
    _empty_database(db, tmp_path, request)
    reported: set[str] = set()
    warnings: list[str] = []
    for (code, name), (_, path) in zip(organizations, files, strict=True):
        org = Organization.get_or_none(Organization.code == code) or add_organization(code, name)
        report = import_file(path, opts(format=fmt), organization=org)
        assert report.refused == 0, report.summary()
        reported |= {name for _, name in report.not_kept}
        warnings += [
            f"{i.primary_id} {i.field}: {i.message}" for i in report.issues if i.level == "warning"
        ]
    after = _everyone()
    assert set(after) == set(before)
    project_before, project_after = CARRIED[fmt]
    wrong = {}
    for key, user in before.items():
        if key == ("MAIN", "admin"):
            continue  # the empty database's own administrator, matched and left alone
        diff = _differences(project_before(user), project_after(after[key]))
        if diff:
            wrong[key] = diff
    shown = "\n".join(f"{k}: {d[:4]}" for k, d in list(wrong.items())[:8])
    assert not wrong, f"{len(wrong)} users differ after the {fmt} round trip:\n{shown}"
    assert reported == REPORTED.get(fmt, set())
    assert not warnings, warnings[:10]


def test_readme_has_the_round_trip_table() -> None:
    """README's table says, for each export format, what a round trip keeps, reports and loses."""
    text = README.read_text(encoding="utf-8")
    start = text.index("| format | kept both ways |")
    rows = {
        m.group(1): line
        for line in text[start:].split("\n\n", 1)[0].splitlines()
        if (m := re.match(r"\| `([a-z-]+)` \|", line))
    }
    assert set(rows) == set(EXPORT_FORMATS)


def test_the_command_line_exports_one_organization(ui_db, tmp_path: Path) -> None:
    from tests.cli.test_cli import run

    add = ("organization", "add", "SECOND", "Second", "--admin", "second.admin", "--password-stdin")
    result = run(tmp_path, "--db", ui_db.url, *add, stdin=ADMIN_PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    for code, count in (("SECOND", 1), ("MAIN", 1)):
        out = tmp_path / f"{code}.json"
        result = run(tmp_path, "--db", ui_db.url, "export", "--organization", code, str(out))
        assert result.returncode == 0, result.stderr
        users = json.loads(out.read_text(encoding="utf-8"))["users"]
        assert len(users) == count
        assert json.loads(out.read_text(encoding="utf-8"))["organization"] == code
    result = run(tmp_path, "--db", ui_db.url, "export", "--organization", "NONE", "-")
    assert result.returncode != 0 and "NONE" in result.stderr
