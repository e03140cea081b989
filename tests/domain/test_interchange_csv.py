"""PatronDesk CSV keeps statuses, expiry dates and scopes (issue 21, item 1): a value of a
multi-valued cell carries its attributes ("LOST_CARD:reported 2 May;inactive;until=2027-01-31",
"user_administrator@LIB4"), a round trip of the demo data through CSV into an empty database
gives the same rows, and what a CSV import cannot express is said, never widened."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.store.tables import Account, Block, Library, Note, RoleAssignment, Statistic
from models.transfer.exports import export_users
from models.transfer.formats import join_items, map_csv, split_items, split_list
from models.transfer.imports import ImportOptions, import_file


def opts(**kw) -> ImportOptions:
    kw.setdefault("workers", 1)
    return ImportOptions(**kw)


# --- The cell syntax ----------------------------------------------------------------------------


def test_the_documented_examples_read_as_values_with_attributes() -> None:
    row = {
        "primary_id": "P1",
        "last_name": "Doe",
        "blocks": "LOST_CARD:reported 2 May;inactive;until=2027-01-31|GENERAL:see desk;owner=LIB4",
        "roles": "user_administrator@LIB4|patron|user_manager@LIB2;inactive;until=2026-12-31",
        "identifiers": "BARCODE:123;inactive;note=old card|UNIV_ID:U42",
        "notes": "GENERAL:Lives in housing\\; room 4;viewable;popup;owner=MAIN",
        "phones": "mobile:+41791234567;sms",
        "emails": "work:ann@uni.example;description=Office",
        "statistics": "STUDENT;owner=LIB4;note=from the SIS",
    }
    cand = map_csv(row, "row 2", None)  # type: ignore[arg-type]
    assert cand["blocks"] == [
        {
            "definition": ("LOST_CARD", ""),
            "note": "reported 2 May",
            "active": False,
            "expiry_date": "2027-01-31",
            "owner": None,
        },
        {
            "definition": ("GENERAL", ""),
            "note": "see desk",
            "active": True,
            "expiry_date": "",
            "owner": ("LIB4", ""),
        },
    ]
    assert cand["roles"] == [
        {
            "role": "user_administrator",
            "scope": ("LIB4", ""),
            "status": "active",
            "expiry_date": "",
        },
        {"role": "patron", "scope": None, "status": "active", "expiry_date": ""},
        {
            "role": "user_manager",
            "scope": ("LIB2", ""),
            "status": "inactive",
            "expiry_date": "2026-12-31",
        },
    ]
    assert [(i["value"], i["active"], i["note"]) for i in cand["identifiers"]] == [
        ("123", False, "old card"),
        ("U42", True, ""),
    ]
    (note,) = cand["notes"]
    assert note["text"] == "Lives in housing; room 4"
    assert (note["user_viewable"], note["popup"], note["owner"]) == (True, True, ("MAIN", ""))
    assert cand["phones"][0]["preferred_sms"] is True
    assert cand["emails"][0]["description"] == "Office"
    assert cand["statistics"] == [
        {
            "category": ("STUDENT", ""),
            "category_type": None,
            "owner": ("LIB4", ""),
            "note": "from the SIS",
        }
    ]
    assert "warnings" not in cand


def test_an_unescaped_semicolon_of_a_hand_written_file_stays_text() -> None:
    # Files written before the attributes: a ";" followed by no attribute is the value's text.
    cand = map_csv({"notes": "GENERAL:Lives in housing; check the room"}, "row 2", None)  # type: ignore[arg-type]
    assert cand["notes"][0]["text"] == "Lives in housing; check the room"
    assert split_list("a; b|c") == ["a; b", "c"]


def test_an_attribute_a_kind_does_not_take_is_said_and_left_out() -> None:
    cand = map_csv(
        {"identifiers": "BARCODE:1;until=2027-01-01", "roles": "user_manager@|patron;popup"},
        "row 2",
        None,  # type: ignore[arg-type]
    )
    assert cand["identifiers"] == [
        {"id_type": ("BARCODE", ""), "value": "1", "active": True, "note": ""}
    ]
    # "user_manager@" names no library: left out, never read as every library.
    assert [r["role"] for r in cand["roles"]] == ["patron"]
    assert cand["warnings"] == [
        ("identifiers", "value 1: 'until=2027-01-01' does not apply to identifiers: left out"),
        ("roles", "value 2: 'popup' does not apply to roles: left out"),
        ("roles", "'user_manager@' names no library after '@': left out"),
    ]


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@given(
    st.lists(
        st.tuples(
            text.filter(lambda v: v.strip() and v == v.strip()),
            st.lists(st.one_of(st.sampled_from(["inactive", "sms"]), text.map("owner={}".format))),
        ),
        max_size=4,
    )
)
def test_join_items_and_split_items_are_inverse(items: list[tuple[str, list[str]]]) -> None:
    cell = join_items(items)
    assert [segments[0] for segments in split_items(cell)] == [v for v, _ in items]
    for segments, (_value, attributes) in zip(split_items(cell), items, strict=True):
        assert segments[1:] == attributes


# --- The round trip -----------------------------------------------------------------------------


def _users() -> dict[str, dict]:
    out = io.StringIO()
    export_users(out, "json")
    return {u["primary_id"]: u for u in json.loads(out.getvalue())["users"]}


def _sorted(rows: list[dict], *keys: str) -> list[tuple]:
    return sorted((tuple(r[k] for k in keys) for r in rows), key=repr)


# What a PatronDesk CSV carries of a user (README's format table): the rest (external flags,
# addresses other than the preferred one, address dates and notes, keep_history, the resource
# sharing and purchase request libraries) is the JSON export's.
CARRIED = {
    "emails": ("address", "email_type", "preferred", "description"),
    "phones": ("number", "phone_type", "preferred", "preferred_sms"),
    "identifiers": ("id_type", "value", "is_primary", "active", "note"),
    "notes": ("note_type", "text", "user_viewable", "popup", "owner"),
    "statistics": ("category", "category_type", "owner", "note"),
    "blocks": ("definition", "note", "active", "expiry_date", "owner"),
    "roles": ("role", "scope", "status", "expiry_date"),
}
GENERAL = (
    "record_type",
    "status",
    "username",
    "first_name",
    "middle_name",
    "last_name",
    "preferred_first_name",
    "preferred_middle_name",
    "preferred_last_name",
    "title",
    "birth_date",
    "gender",
    "website",
    "preferred_language",
    "job_description",
    "expiry_date",
    "purge_date",
    "comm_channel",
    "comm_language",
    "additional_email",
    "letters_opt_in",
    "cataloger_level",
    "researcher",
    "user_group",
    "job_category",
    "campus",
)


def _carried(user: dict) -> dict:
    out = {k: user[k] for k in GENERAL}
    emails, seen = [], set()
    for e in user["emails"]:  # one address once a person (the import keeps the first)
        if e["address"].lower() not in seen:
            seen.add(e["address"].lower())
            emails.append(e)
    out["emails"] = _sorted(emails, *CARRIED["emails"])
    for kind, keys in CARRIED.items():
        if kind != "emails":
            out[kind] = _sorted(user[kind], *keys)
    preferred = [a for a in user["addresses"] if a["preferred"]]
    out["address"] = (
        {k: preferred[0][k] for k in ("address_type", "line1", "line2", "line3", "city")}
        if preferred
        else None
    )
    return out


def _library_data() -> None:
    """Demo data spread over a second library: scoped roles (one inactive, one expiring),
    blocks, notes and statistics owned by LIB4 as well as MAIN."""
    main = Library.get(Library.code == "MAIN")
    lib4 = Library.create(organization=main.organization, code="LIB4", name="Science Library")
    scoped = list(RoleAssignment.select().where(RoleAssignment.scope == main.id))
    for n, role in enumerate(scoped[::2]):
        role.scope = lib4.id
        if n == 0:
            role.status = "inactive"
            role.expiry_date = dt.date(2027, 1, 31)
        role.save()
    staff = Account.get(Account.primary_id == "admin")
    RoleAssignment.create(account=staff, role="user_administrator", scope=lib4.id)
    for model in (Block, Note, Statistic):
        for row in model.select().where(model.owner == main.id)[::3]:
            row.owner = lib4.id
            row.save()


def _empty_database(db, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from models.store.connection import close_database, open_database

    close_database()
    if db.backend == "sqlite":
        target = tmp_path / "empty.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        open_database(str(target))
    else:
        from tests.helpers.db import reset_pg

        reset_pg(db.url)


def test_a_csv_round_trip_keeps_statuses_expiry_dates_and_scopes(
    db, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from models.demo import generate_demo

    generate_demo(300, seed=7)
    _library_data()
    before = _users()
    # The data has what is at stake.
    for kind in ("blocks", "identifiers"):
        assert sum(not r["active"] for u in before.values() for r in u[kind]) >= 1, kind
    assert sum(bool(b["expiry_date"]) for u in before.values() for b in u["blocks"]) >= 5
    roles = [r for u in before.values() for r in u["roles"]]
    assert {r["scope"] for r in roles} >= {"MAIN", "LIB4", ""}
    assert any(r["status"] == "inactive" and r["expiry_date"] for r in roles)
    path = tmp_path / "users.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        assert export_users(f, "csv") == 301
    _empty_database(db, tmp_path, request)
    report = import_file(path, opts())
    assert (report.created, report.refused) == (300, 0)
    # LIB4 is new to the empty database: created, and named in the summary and the report.
    assert any(i.field == "library" and i.message.startswith("LIB4") for i in report.issues)
    after = _users()
    assert set(after) == set(before)
    for key, user in before.items():
        if key != "admin":  # the empty database's own administrator was matched, unchanged
            assert _carried(after[key]) == _carried(user), key


def test_a_role_whose_library_cannot_be_resolved_is_never_made_global(db, tmp_path: Path) -> None:
    org = db.organization
    Library.create(organization=org, code="OLD", name="Closed branch", active=False)
    path = tmp_path / "staff.csv"
    path.write_text(
        "primary_id,last_name,roles\n"
        "S1,Closed,user_administrator@OLD;until=2030-01-01\n"
        "S2,Empty,user_manager@\n"
        "S3,New,user_manager@NEWLIB\n"
        "S4,Global,user_manager\n",
        encoding="utf-8",
    )
    report = import_file(path, opts())
    assert (report.created, report.refused) == (4, 0)

    def roles(primary_id: str) -> set[tuple[str, str | None]]:
        return {
            (r.role, r.scope.code if r.scope_id else None)
            for r in RoleAssignment.select().where(
                RoleAssignment.account == Account.get(Account.primary_id == primary_id)
            )
        }

    # The roles listed are the account's (no Patron unless listed; an empty cell gives it).
    assert roles("S1") == set()  # its one role not given, with the warning below
    assert roles("S2") == {("patron", None)}  # nothing listed once 'user_manager@' is left out
    assert roles("S3") == {("user_manager", "NEWLIB")}
    assert roles("S4") == {("user_manager", None)}  # the file says global
    said = {(i.primary_id, i.field): i.message for i in report.issues if i.level == "warning"}
    assert said[("S1", "roles")] == (
        "user_administrator@OLD: 'OLD' is an inactive library: the role is not given "
        "(never widened to every library)"
    )
    assert said[("S2", "roles")] == "'user_manager@' names no library after '@': left out"
    # --strict refuses the record whose role names a library it will not create.
    strict = tmp_path / "strict.csv"
    strict.write_text("primary_id,last_name,roles\nS5,Strict,user_manager@OTHER\n", "utf-8")
    report = import_file(strict, opts(strict=True))
    assert report.refused == 1 and not Account.select().where(Account.primary_id == "S5").exists()
