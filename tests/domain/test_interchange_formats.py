"""Export to the other systems' formats (issue 21, item 3): `alma-json` (Alma's REST user
objects), `folio-json` (valid against FOLIO mod-users' user schema, vendored in
tests/schemas/folio) and `rero-json` (RERO ILS users as ../shared/data/rero has them). Each
round-trips its own fields: the demo data exported, imported into an empty database, compares
equal on what the format carries (README's format table lists what it cannot carry)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest

from models.store.tables import Account, Library, RoleAssignment
from models.transfer.exports import EXPORT_FORMATS, export_users
from models.transfer.formats import detect
from models.transfer.imports import import_file
from tests.domain.test_alma_xml_schema import _kept, _varied
from tests.domain.test_interchange_csv import _empty_database, _users, opts
from tests.helpers.db import missing

FOLIO_SCHEMAS = Path(__file__).parents[1] / "schemas" / "folio"
BASE = "https://folio.invalid/ramls/"  # the schemas' relative $refs resolve under it


def _export(fmt: str) -> str:
    out = io.StringIO()
    export_users(out, fmt)
    return out.getvalue()


def _round_trip(db, tmp_path: Path, request: pytest.FixtureRequest, fmt: str, name: str):  # noqa: ANN001, ANN202
    """The demo data (300 users and the administrator) exported in `fmt`, imported into an
    empty database: (users before, users after, the import's report, the exported text)."""
    from models.demo import generate_demo

    generate_demo(300, seed=7)
    _varied()
    before = _users()
    text = _export(fmt)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert detect(path) == fmt
    _empty_database(db, tmp_path, request)
    report = import_file(path, opts())
    assert (report.created, report.refused) == (300, 0), report.summary()
    return before, _users(), report, text


def test_the_export_formats_include_the_other_systems() -> None:
    assert set(EXPORT_FORMATS) >= {
        "csv",
        "json",
        "alma-xml",
        "alma-json",
        "folio-json",
        "rero-json",
    }
    from tui.transfer_cli import EXPORT_FORMATS as CLI_FORMATS

    assert set(CLI_FORMATS) == set(EXPORT_FORMATS)


# --- Alma JSON ----------------------------------------------------------------------------------


def test_an_alma_json_round_trip_keeps_what_the_alma_xml_keeps(
    db, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    before, after, _, text = _round_trip(db, tmp_path, request, "alma-json", "users.json")
    data = json.loads(text)
    # Alma's GET /users shape: {"user": [...], "total_record_count": N}, codes as value/desc.
    assert data["total_record_count"] == len(data["user"]) == 301
    first = data["user"][0]
    assert set(first["record_type"]) == {"value", "desc"}
    assert isinstance(first["contact_info"]["email"], list)
    assert all("" not in (e.get("birth_date"), e.get("expiry_date")) for e in data["user"])
    for key, user in before.items():
        if key != "admin":
            assert _kept(after[key]) == _kept(user), key


# --- FOLIO --------------------------------------------------------------------------------------


@pytest.fixture
def folio_schema():  # noqa: ANN201
    """mod-users' userdataCollection.json (with userdata.json and raml-util), draft 4, with the
    date-time and uuid checks."""
    try:
        import jsonschema
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4
    except ImportError:
        missing("jsonschema is not installed (pip install -e '.[dev]')")
    resources = []
    for path in FOLIO_SCHEMAS.rglob("*"):
        if path.suffix in (".json", ".schema"):
            uri = BASE + path.relative_to(FOLIO_SCHEMAS).as_posix()
            contents = json.loads(path.read_text(encoding="utf-8"))
            contents.pop("id", None)  # draft 4 "id": the file's name, resolved by its uri here
            resources.append((uri, Resource.from_contents(contents, default_specification=DRAFT4)))
    registry = Registry().with_resources(resources)
    checker = jsonschema.FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def date_time(value: object) -> bool:  # RFC 3339: a date, a time and an offset
        if not isinstance(value, str):
            return True
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
            raise ValueError(f"{value!r} is not an RFC 3339 date-time")
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    return jsonschema.Draft4Validator(
        {"$ref": BASE + "userdataCollection.json"}, registry=registry, format_checker=checker
    )


def _schema_errors(validator, data: dict) -> list[str]:  # noqa: ANN001
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)
    ]


def _lines(*values: str) -> str:
    return ", ".join(v for v in values if v)


def _folio(user: dict) -> dict:
    """What FOLIO's user record carries of a PatronDesk user (README's format table)."""
    emails = sorted(user["emails"], key=lambda e: not e["preferred"])
    phones = sorted(user["phones"], key=lambda p: not p["preferred"])
    mobile = [p["number"] for p in phones if p["phone_type"] == "mobile"][:1]
    other = [p["number"] for p in phones if p["phone_type"] != "mobile"][:1]
    barcodes = [
        i["value"]
        for i in user["identifiers"]
        if i["id_type"] == "BARCODE" and i["active"] and not i["is_primary"]
    ][:1]
    return {
        "primary_id": user["primary_id"],
        "username": user["username"],
        "status": user["status"],
        "record_type": "staff" if user["record_type"] == "staff" else "public",
        "user_group": user["user_group"],
        **{
            k: user[k]
            for k in (
                "first_name",
                "middle_name",
                "last_name",
                "preferred_first_name",
                "birth_date",
                "expiry_date",
                "comm_channel",
            )
        },
        "email": emails[0]["address"] if emails else "",
        "phone": other,
        "mobile": mobile,
        "barcode": barcodes,
        "addresses": sorted(
            (
                a["address_type"],
                a["line1"],
                _lines(a["line2"], a["line3"]),
                a["city"],
                a["state"],
                a["postal_code"],
                a["country"],
                a["preferred"],
            )
            for a in user["addresses"]
        ),
    }


def test_the_folio_json_export_is_valid_and_round_trips_its_fields(
    db, tmp_path: Path, request: pytest.FixtureRequest, folio_schema
) -> None:
    before, after, _, text = _round_trip(db, tmp_path, request, "folio-json", "users.json")
    data = json.loads(text)
    assert data["totalRecords"] == len(data["users"]) == 301
    assert _schema_errors(folio_schema, data)[:5] == []
    # Patron groups and address types by UUID, their names beside the users (as ref-data).
    groups = {g["id"]: g["group"] for g in data["usergroups"]}
    assert {groups[u["patronGroup"]] for u in data["users"] if "patronGroup" in u} >= {
        "STAFF",
        "UNDERGRAD",
    }
    home = next(t for t in data["addresstypes"] if t["addressType"] == "Home")
    assert home["id"] == "93d3d88d-499b-45d0-9bc7-ac73c3a19880"  # FOLIO's reference data
    assert sum(len(u["addresses"]) for u in before.values()) >= 200
    for key, user in before.items():
        if key != "admin":
            assert _folio(after[key]) == _folio(user), key


def test_shared_folio_users_reexported_are_valid_and_come_back(
    db, tmp_path: Path, request: pytest.FixtureRequest, shared_data: Path, folio_schema
) -> None:
    source = json.loads((shared_data / "folio" / "user-import.json").read_text("utf-8"))
    report = import_file(shared_data / "folio" / "user-import.json", opts())
    assert report.created == 303
    before = _users()
    data = json.loads(_export("folio-json"))
    assert _schema_errors(folio_schema, data)[:5] == []
    # Their barcodes and enrollment dates go back to FOLIO (found by a round-trip helper,
    # 2026-12-08: every barcode was lost, moved to externalSystemId, the dates never written).
    by_username = {u["username"]: u for u in data["users"]}
    for user in source["users"]:
        back = by_username[user["username"]]
        assert back.get("barcode") == user["barcode"], user["username"]
        if user.get("enrollmentDate"):
            assert back["enrollmentDate"][:10] == user["enrollmentDate"][:10], user["username"]
    path = tmp_path / "folio.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    _empty_database(db, tmp_path, request)
    again = import_file(path, opts())
    assert (again.created, again.refused) == (303, 0), again.summary()
    after = _users()
    for key, user in before.items():
        if key != "admin":
            assert _folio(after[key]) == _folio(user), key


# --- RERO ILS -----------------------------------------------------------------------------------


def _rero_roles(user: dict) -> set[tuple[str, str]]:
    """The roles a RERO user carries: active, not expiring, of a RERO role; one list of
    libraries for all of them, so a role comes only where it is held in each of them; none
    for an inactive account (it comes back active: RERO has no account status)."""
    if user["status"] != "active":
        return set()
    rero = {
        "user_administrator",
        "user_manager",
        "circulation_desk_manager",
        "fulfillment_services_operator",
    }
    roles = [
        r
        for r in user["roles"]
        if r["role"] in rero and r["status"] == "active" and not r["expiry_date"]
    ]
    libraries = sorted({r["scope"] for r in roles if r["scope"]})
    out = set()
    for role in {r["role"] for r in roles}:
        scopes = {r["scope"] for r in roles if r["role"] == role}
        if not libraries:
            out.add((role, ""))
        elif "" in scopes or scopes >= set(libraries):
            out |= {(role, lib) for lib in libraries}
    return out


def _rero(user: dict) -> dict:
    """What a RERO ILS user carries of a PatronDesk user (README's format table)."""
    emails = sorted(user["emails"], key=lambda e: not e["preferred"])
    phones = sorted(user["phones"], key=lambda p: not p["preferred"])
    kept = []
    for kind in ("mobile", "home", "office"):
        kept += [p["number"] for p in phones if p["phone_type"] == kind][:1]
    kept += [p["number"] for p in phones if p["number"] not in kept][:1]  # other_phone
    addresses = sorted(user["addresses"], key=lambda a: not a["preferred"])[:2]
    barcodes = [
        i["value"]
        for i in user["identifiers"]
        if i["id_type"] == "BARCODE" and i["active"] and not i["is_primary"]
    ]
    return {
        **{
            k: user[k]
            for k in (
                "primary_id",
                "username",
                "first_name",
                "last_name",
                "birth_date",
                "keep_history",
                "expiry_date",
                "comm_channel",
                "comm_language",
                "additional_email",
                "user_group",
            )
        },
        "gender": user["gender"] if user["gender"] in ("male", "female", "other") else "",
        "email": emails[0]["address"] if emails else "",
        "phones": sorted(kept),
        "addresses": [
            (a["line1"], a["line2"], a["line3"], a["city"], a["postal_code"]) for a in addresses
        ],
        "barcodes": sorted(barcodes),
        "notes": sorted((n["text"], n["user_viewable"]) for n in user["notes"]),
        "blocked": user["status"] == "inactive" or any(b["active"] for b in user["blocks"]),
        "roles": _rero_roles(user),
    }


def _rero_after(user: dict) -> dict:
    out = _rero(user)
    out["roles"] = {(r["role"], r["scope"]) for r in user["roles"] if r["role"] != "patron"}
    return out


def test_a_rero_json_round_trip_keeps_its_fields_and_never_widens_a_role(
    db, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from models.demo import generate_demo

    generate_demo(300, seed=7)
    _varied()
    # A staff user with roles of two libraries, one role in one of them only, an expiring
    # role and an inactive account: RERO has one list of libraries for all roles.
    lib4 = Library.get(Library.code == "LIB4")
    main = Library.get(Library.code == "MAIN")
    staff = Account.get(Account.primary_id == "U00000006")
    RoleAssignment.delete().where(
        (RoleAssignment.account == staff) & (RoleAssignment.role != "patron")
    ).execute()
    for role, scope, expiry in (
        ("user_manager", main, None),
        ("user_manager", lib4, None),
        ("circulation_desk_manager", lib4, None),
        ("user_administrator", None, dt.date(2030, 1, 1)),
    ):
        RoleAssignment.create(account=staff, role=role, scope=scope, expiry_date=expiry)
    inactive = Account.get(Account.primary_id == "U00000010")
    inactive.status = "inactive"
    inactive.save()
    # Staff without the Patron role (found by a round-trip helper, 2026-12-08): RERO writes a
    # patron record only for patrons, so their primary id, expiry, group and status were lost,
    # and a deactivated User Manager came back active with the role.
    for key, status in (("U00000012", "active"), ("U00000014", "inactive")):
        account = Account.get(Account.primary_id == key)
        RoleAssignment.delete().where(RoleAssignment.account == account).execute()
        RoleAssignment.create(account=account, role="user_manager")
        Account.update(status=status, record_type="staff").where(Account.id == account.id).execute()
    before = _users()
    text = _export("rero-json")
    data = json.loads(text)
    assert isinstance(data, list) and len(data) == 301
    record = next(u for u in data if u["username"] == before["U00000006"]["username"])
    assert sorted(record["roles"]) == ["patron", "pro_user_manager"]
    assert [lib["$ref"].rsplit("/", 1)[-1] for lib in record["libraries"]] == ["LIB4", "MAIN"]
    assert all(re.fullmatch(r"\+\d+", u.get("mobile_phone", "+1")) for u in data)
    path = tmp_path / "users.json"
    path.write_text(text, encoding="utf-8")
    assert detect(path) == "rero-json"
    _empty_database(db, tmp_path, request)
    report = import_file(path, opts())
    assert (report.created, report.refused) == (300, 0), report.summary()
    after = _users()
    assert _rero_after(after["U00000006"])["roles"] == {
        ("user_manager", "MAIN"),
        ("user_manager", "LIB4"),
    }
    assert any(b["active"] for b in after["U00000010"]["blocks"])
    assert _rero_after(after["U00000012"])["roles"] == {("user_manager", "")}
    assert not _rero_after(after["U00000014"])["roles"]  # never back with the role
    assert any(b["active"] for b in after["U00000014"]["blocks"])
    for key, user in before.items():
        if key != "admin":
            assert _rero_after(after[key]) == _rero(user), key


# --- The command line ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["alma-json", "folio-json", "rero-json"])
def test_the_command_line_exports_the_other_formats(ui_db, tmp_path: Path, fmt: str) -> None:
    from tests.cli.test_cli import run

    out = tmp_path / f"users-{fmt}.json"
    result = run(tmp_path, "--db", ui_db.url, "export", "--format", fmt, str(out))
    assert result.returncode == 0, result.stderr
    assert f"({fmt})" in result.stdout
    assert detect(out) == fmt
