"""Issue 18, items 4, 17 and 18, tried as an attacker would.

4. Another organization's administrator changes the settings of the whole database (the SMTP
   server that carries everyone's reset codes, the lockout count, the argon2 cost, the screen
   lock, the audit retention) through the service the Configuration screen calls, through a
   configuration file imported with their account, and on the screen itself: refused, nothing
   written. The organization `patrondesk init` made hosts the system; its administrators and the
   command line still may; the other organization keeps its own code tables.
17. The screen lock over an open user record: nothing of the record shows around the lock box.
18. The command line's import, export, purge and config import name the operating-system user
    and host in the audit trail, whatever the environment claims, and hostile names are made
    harmless.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from rich.console import Console

from models import audit
from models.access.session import open_session
from models.audit import Actor, command_line_operator
from models.config.config_file import export_config, import_config
from models.config.config_settings import hosting_organization, settings_refusal, update_settings
from models.config.configuration import add_entry, add_organization
from models.config.settings import load_settings
from models.enums import Source
from models.errors import PermissionDenied
from models.store.schema import migrate, migration_names, runner
from models.store.tables import Account, AuditEvent, Campus, Organization, Setting
from screens.configuration import ConfigTable, ConfigurationScreen
from screens.lock import LockScreen
from screens.user_details import UserDetailsScreen
from screens.user_details.row_form import RowFormScreen
from tests.cli.test_cli import run
from tests.helpers.db import ADMIN_PASSWORD, PG_BASE, missing, pg_probe
from tests.helpers.ui import SIZE, add_user, log_in, settle
from tui.app import PatronDeskApp

B_PASSWORD = "Copper-Meadow-58"

# What organization B's administrator tried, each one a change for every organization.
ATTACKS = [
    pytest.param(
        {"smtp_host": "mail.attacker.example", "smtp_from": "desk@attacker.example"},
        id="smtp-host",
    ),
    pytest.param({"lockout_attempts": 100}, id="lockout-count"),
    pytest.param({"argon2_time_cost": 1, "argon2_memory_kib": 8192}, id="argon2-cost"),
    pytest.param({"session_timeout_minutes": 0}, id="screen-lock"),
    pytest.param({"audit_retention_days": 30}, id="audit-retention"),
]


def second_organization() -> tuple[Organization, Actor]:
    """Organization B with its own User Administrator, as `patrondesk organization add` makes
    them; the actor is B's administrator on a screen."""
    org = add_organization("BORG", "Second organization", admin_username="badmin",
                           admin_password=B_PASSWORD)  # fmt: skip
    account = Account.get((Account.organization == org) & (Account.primary_id == "badmin"))
    return org, Actor(account, Source.SCREEN)


def stored() -> tuple:
    """Everything an attack on the settings could have written."""
    return (
        [(s.key, s.value) for s in Setting.select().order_by(Setting.key)],
        AuditEvent.select().count(),
        [(c.organization_id, c.code) for c in Campus.select().order_by(Campus.id)],
    )


def toml_settings(changes: dict) -> str:
    lines = []
    for key, value in changes.items():
        lines.append(f'{key} = "{value}"' if isinstance(value, str) else f"{key} = {value}")
    return "\n".join(lines)


# --- Item 4: database-wide settings -------------------------------------------------------------


@pytest.mark.parametrize("changes", ATTACKS)
def test_another_organizations_administrator_may_not_change_database_settings(db, changes) -> None:
    _, b_admin = second_organization()
    before, settings = stored(), load_settings()
    with pytest.raises(PermissionDenied) as refused:
        update_settings(changes, b_admin)
    assert "every organization" in refused.value.message
    assert stored() == before, "nothing written: no setting, no audit event"
    assert load_settings() == settings


@pytest.mark.parametrize("changes", ATTACKS)
def test_a_configuration_file_imported_by_another_organization_changes_nothing(db, changes) -> None:
    b_org, b_admin = second_organization()
    text = (
        f"format = 1\n[settings]\n{toml_settings(changes)}\n"
        '[[campuses]]\ncode = "WEST"\nname = "West campus"\n'
    )
    before = stored()
    with pytest.raises(PermissionDenied):
        import_config(text, b_org.id, b_admin)
    assert stored() == before, "all or nothing: not even the campus of the same file"


def test_the_hosting_organization_and_the_command_line_still_change_them(db) -> None:
    b_org, b_admin = second_organization()
    assert hosting_organization().id == db.organization.id
    assert not Organization.get_by_id(b_org.id).hosts_system, "organization add hosts nothing"
    assert settings_refusal(Actor(db.admin, Source.SCREEN)) is None
    assert settings_refusal(Actor(None, Source.CLI)) is None
    assert "every organization" in settings_refusal(b_admin)
    host_admin = Actor(db.admin, Source.SCREEN)
    assert update_settings({"lockout_attempts": 7}, host_admin) == ["lockout_attempts"]
    text = "format = 1\n[settings]\nlockout_attempts = 8\n"
    assert import_config(text, db.organization.id).settings_changed == ["lockout_attempts"]
    assert load_settings().lockout_attempts == 8
    # B's administrator keeps B's own code tables, and a file carrying the settings as they
    # are (B's own export) imports into B.
    add_entry("campuses", b_org.id, {"code": "WEST", "name": "West campus"}, b_admin)
    report = import_config(export_config(b_org.id), b_org.id, b_admin)
    assert report.settings_changed == []


async def test_the_configuration_screen_shows_other_organizations_the_settings_read_only(
    ui_db,
) -> None:
    second_organization()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "badmin", B_PASSWORD)
        assert app.session is not None and app.session.organization.code == "BORG"
        before = stored()  # after the login's own audit event
        said: list[str] = []
        app.notify = lambda message, **_: said.append(str(message))  # type: ignore[method-assign]
        screen = ConfigurationScreen()
        app.push_screen(screen)
        await settle(pilot)
        for section in ("settings:login", "settings:letters", "settings:limits", "mandatory"):
            sections = screen.query_one("#config-sections")
            sections.focus()
            sections.highlighted = sections.get_option_index(section)
            await pilot.pause()
            await pilot.press("enter")
            await settle(pilot)
            assert "read only" in str(screen.query_one("#config-hint").render())
            assert isinstance(app.screen.focused, ConfigTable)
            await pilot.press("e")
            await settle(pilot)
            assert not isinstance(app.screen, RowFormScreen), f"{section}: no form to change"
            assert "every organization" in said[-1]
    assert stored() == before


def test_init_and_the_migration_mark_the_first_organization(db) -> None:
    assert Organization.get(Organization.code == "MAIN").hosts_system
    assert Organization.select().where(Organization.hosts_system == True).count() == 1  # noqa: E712


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path):
    """A database with no schema yet, bound to the models; dropped at the end."""
    from models.store.connection import close_database, open_database

    if request.param == "sqlite":
        yield open_database(str(tmp_path / "old.db"), upgrade=False)
        close_database()
        return
    if problem := pg_probe():
        missing(problem)
    import psycopg2

    schema = f"pd_mig_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(PG_BASE)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_BASE else "?"
    try:
        yield open_database(
            f"{PG_BASE}{sep}options={quote(f'-csearch_path={schema}')}", upgrade=False
        )
    finally:
        close_database()
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


def test_the_migration_marks_the_existing_first_organization(empty_database) -> None:
    db = empty_database
    names = migration_names()
    mine = "0011_system_organization"
    runner(db).up(target=names[names.index(mine) - 1])
    p = db.param
    for code in ("FIRST", "SECOND"):
        db.execute_sql(
            "INSERT INTO organization (code, name, active, created_at) "
            f"VALUES ({p}, {p}, {p}, {p})",
            (code, f"{code} organization", True, dt.datetime(2024, 1, 1)),
        )
    first = db.execute_sql("SELECT MIN(id) FROM organization").fetchone()[0]
    db.execute_sql(
        f"INSERT INTO library (organization_id, code, name, active) VALUES ({p}, {p}, {p}, {p})",
        (first, "MAIN", "Main library", True),
    )
    assert mine in migrate(db)
    marks = dict(db.execute_sql("SELECT code, hosts_system FROM organization").fetchall())
    assert {k: bool(v) for k, v in marks.items()} == {"FIRST": True, "SECOND": False}
    assert db.execute_sql("SELECT COUNT(*) FROM library").fetchone()[0] == 1, "nothing lost"


# --- Item 17: the screen lock hides the data ----------------------------------------------------


def screen_text(app: PatronDeskApp) -> str:
    """What the terminal shows, as text: the compositor's full frame (as export_screenshot
    renders it), screens under the current one included where they show through."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(),
                      force_terminal=True, color_system="truecolor", record=True,
                      legacy_windows=False, safe_box=False)  # fmt: skip
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


async def test_the_lock_hides_the_open_record(ui_db) -> None:
    zeb = add_user("Zebulon", "Quarterfield", "P4711", expiry_days=1234)
    expiry = Account.get_by_id(zeb.id).expiry_date.isoformat()
    secrets = ("Zebulon", "Quarterfield", "P4711", expiry)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.session = open_session(ui_db.admin)
        app.push_screen(UserDetailsScreen(zeb.id))
        await settle(pilot)
        app.notify("Quarterbacked saved.", timeout=600)  # a toast still up when the lock comes
        await pilot.pause(0.5)
        shown = screen_text(app)
        assert all(s in shown for s in secrets), "the record is on the screen before the lock"
        assert "Quarterbacked" in shown, "and the toast"
        app.lock_screen(15)
        await settle(pilot)
        await pilot.pause(0.5)
        assert isinstance(app.screen, LockScreen)
        locked = screen_text(app)
        assert "Screen locked" in locked
        svg = html.unescape(app.export_screenshot(simplify=True)).replace("\xa0", " ")
        for s in (*secrets, "Quarterbacked"):
            assert s not in locked, f"{s} shows around the lock"
            assert s not in svg, f"{s} is in the screenshot of the lock"
        # The same in a terminal without colours (ANSI mode: modal screens are transparent).
        app.ansi_color = True
        await settle(pilot)
        assert not any(s in screen_text(app) for s in secrets)


# --- Item 18: the command line is attributed ----------------------------------------------------

HEADER = "primary_id,first_name,last_name,expiry_date,user_group,emails\n"
HOSTILE_USER = "\x1b]0;pwned\x07root"


def _events_after(last: int) -> list[AuditEvent]:
    return list(AuditEvent.select().where(AuditEvent.id > last).order_by(AuditEvent.id))


def _last() -> int:
    row = AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id.desc()).first()
    return row.id if row else 0


def test_command_line_actions_name_the_os_user_and_host(db, tmp_path: Path) -> None:
    operator = command_line_operator()  # this process's user and host: the subprocess's too
    assert "@" in operator and "?" not in operator
    system, importer = f"system ({operator})", f"import ({operator})"
    # The environment claims to be someone else, with an escape sequence: not believed.
    env = {"USER": HOSTILE_USER, "LOGNAME": HOSTILE_USER, "USERNAME": HOSTILE_USER}
    past = dt.date.today() - dt.timedelta(days=1)
    gone = add_user("Paul", "Purgeable", "P700")
    Account.update(purge_date=past).where(Account.id == gone.id).execute()
    config = tmp_path / "config.toml"
    config.write_text(
        export_config(db.organization.id).replace("lockout_minutes = 30", "lockout_minutes = 45"),
        encoding="utf-8",
    )
    users = tmp_path / "users.csv"
    users.write_text(HEADER + "K1,Kim,Imported,2031-01-31,PUBLIC,k1@uni.example\n", "utf-8")
    steps = [
        (("config", "import", str(config)), lambda e: e.entity == "setting", system),
        (("import", str(users)), lambda e: e.source == "import", importer),
        (("export", str(tmp_path / "out.json")), lambda e: e.entity == "export", system),
        (("purge",), lambda e: e.source == "job", system),
    ]
    for args, ours, actor in steps:
        last = _last()
        result = run(tmp_path, "--db", db.url, *args, env=env)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        events = [e for e in _events_after(last) if ours(e)]
        assert events, f"{args[0]}: audited"
        assert {e.actor for e in events} == {actor}, args
        assert all("pwned" not in e.actor and "\x1b" not in e.actor for e in events)
    # The import's own columns name it too.
    kim = Account.get(Account.primary_id == "K1")
    assert kim.created_by == importer


def test_hostile_user_and_host_names_are_made_harmless(db, tmp_path, monkeypatch) -> None:
    from tui.cli import main

    monkeypatch.setattr(audit, "_os_user", lambda: "\x1b[2Jmal\u200blory\u202e" + "x" * 200)
    monkeypatch.setattr(audit.socket, "gethostname", lambda: "evil\x1b]52;c;AAAA\x07\u2066host")
    config = tmp_path / "config.toml"
    config.write_text("format = 1\n[settings]\nlockout_minutes = 44\n", encoding="utf-8")
    last = _last()
    assert main(["--db", db.url, "config", "import", str(config)]) == 0
    (event,) = _events_after(last)
    assert event.actor.startswith("system (") and event.actor.endswith(")")
    assert len(event.actor) <= 100
    assert all(ch.isascii() and ch.isprintable() for ch in event.actor), event.actor
    assert "mal?lory" in event.actor and "evil?" in event.actor
    assert event.actor.count("@") == 1


def test_the_app_and_the_services_stay_the_system(db) -> None:
    """No command line, no operator: a job run by the services is the plain system."""
    assert Actor(None, Source.JOB).name == "system"
