"""Issue 18, items 7, 8, 13 and 15: files. Each test performs the attack as it was found
(through the service the screen calls, the command line, or the app under the pilot) and fails
if it succeeds again.

7. Attachments read only what they should: the permission first, regular files only (no FIFO,
   device, socket, folder, symbolic link), never the database's own files or a SQLite file, no
   system file (/etc, /proc, ...), no hidden file (~/.ssh), only files of the user running
   PatronDesk, at most the size limit + 1 byte read; a save to disk needs the right to manage
   attachments and is audited.
8. An export never replaces what it should not: an existing file only when confirmed (screen)
   or with --force (command line), never a special file or the database's own files; the
   `.part` is written exclusively, links not followed. The same for attachment saves, the
   personal-information export, configuration exports, backups and import reports.
13. Files are private (0600): the database and its WAL, backups, exports, reports; a database
   readable by others is warned about.
15. A damaged database gives one line and exit 2, no traceback.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from models.config.settings import Settings
from models.enums import Role
from models.errors import PermissionDenied, ValidationError
from models.store.tables import Account, Attachment, AuditEvent
from models.users.rows import Kind, add_row, save_attachment
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.details import admin, as_staff, user

ROOT = Path(__file__).resolve().parents[2]
SQLITE_HEADER = b"SQLite format 3\x00"
PDF = b"%PDF-1.4 consent form\n" * 20


# --- helpers ------------------------------------------------------------------------------------


def cli(tmp_path: Path, *args: str, stdin: str = "", timeout: float = 90):
    """`python -m tui.cli ARGS` with a private data folder and umask 022 (a usual shell's)."""
    env = {k: v for k, v in os.environ.items() if k != "PATRONDESK_DB"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    env["XDG_STATE_HOME"] = str(tmp_path / "xdg-state")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
        preexec_fn=lambda: os.umask(0o022),
    )


def one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [x for x in result.stderr.splitlines() if not x.startswith("patrondesk: warning:")]
    assert len(lines) == 1 and lines[0].startswith("patrondesk: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def new_database(tmp_path: Path, name: str = "live.db") -> Path:
    path = tmp_path / name
    done = cli(tmp_path, "--db", str(path), "init", "--admin", "admin", "--password-stdin",
               stdin=ADMIN_PASSWORD + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return path


def sound(path: Path) -> int:
    """The number of accounts of a SQLite database that passes its integrity check."""
    assert path.read_bytes()[:16] == SQLITE_HEADER, f"{path} is no longer a database"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return conn.execute("SELECT count(*) FROM account").fetchone()[0]
    finally:
        conn.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def in_thread(call: Callable[[], Any], release: Path | None = None, seconds: float = 10):
    """Run `call` in a thread; returns (finished in time, value or exception). A call still
    waiting on the FIFO `release` after `seconds` is let go (a writer opens and closes it)."""
    from models.store.base import database

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["value"] = exc
        finally:
            database.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    finished = not thread.is_alive()
    if not finished and release is not None:
        fd = os.open(release, os.O_RDWR | os.O_NONBLOCK)  # gives the reader its EOF
        os.close(fd)
        thread.join(seconds)
    return finished, box.get("value")


def attach(db, actor, path: Path | str, **settings: Any):
    account = Account.get(Account.primary_id == "P0001")
    return add_row(
        Kind.ATTACHMENT,
        account.id,
        account.version,
        {"path": str(path)},
        actor,
        settings=Settings(**settings) if settings else None,
    )


def refused_attachment(db, actor, path: Path | str) -> str:
    with pytest.raises(ValidationError) as err:
        attach(db, actor, path)
    return err.value.errors["path"]


def an_attachment(db, tmp_path: Path) -> Attachment:
    source = tmp_path / "consent.pdf"
    source.write_bytes(PDF)
    return Attachment.get_by_id(attach(db, admin(db), source).row.id)


# --- 7. Attachments read only what they should --------------------------------------------------


def test_a_fifo_is_refused_at_once_not_waited_on(db, tmp_path) -> None:
    user(db)
    fifo = tmp_path / "scan.pdf"
    os.mkfifo(fifo)
    finished, outcome = in_thread(lambda: attach(db, admin(db), fifo), release=fifo)
    assert finished, "attaching a FIFO hung the app until something wrote to it"
    assert isinstance(outcome, ValidationError), outcome
    assert "not a regular file" in outcome.errors["path"]
    assert Attachment.select().count() == 0


def test_a_role_without_the_right_is_refused_before_the_file_is_opened(db, tmp_path) -> None:
    user(db)
    viewer = as_staff(db, Role.FULFILLMENT_SERVICES_OPERATOR)
    fifo = tmp_path / "scan.pdf"
    os.mkfifo(fifo)
    finished, outcome = in_thread(lambda: attach(db, viewer, fifo), release=fifo)
    assert finished, "the file was opened before the permission was checked (a FIFO hung)"
    assert isinstance(outcome, PermissionDenied), outcome
    assert Attachment.select().count() == 0


def test_device_nodes_sockets_and_folders_are_refused(db, tmp_path) -> None:
    user(db)
    desk = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    sock = tmp_path / "s.pdf"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock))
    try:
        for path in ("/dev/null", "/dev/urandom", sock, tmp_path):
            assert refused_attachment(db, desk, path), path
    finally:
        server.close()
    assert Attachment.select().count() == 0


def test_dev_zero_cannot_exhaust_the_memory(db, tmp_path) -> None:
    """Run in a child process with 1.5 GB of address space: before the fix, reading
    /dev/zero to its end ran the machine out of memory."""
    patron = user(db)
    script = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
        from models.store.connection import open_database
        open_database({db.url!r})
        from models.audit import Actor
        from models.enums import Source
        from models.errors import ValidationError
        from models.users.rows import Kind, add_row
        from models.store.tables import Account
        actor = Actor(Account.get(Account.primary_id == "admin"), Source.SCREEN)
        account = Account.get_by_id({patron.id})
        try:
            add_row(Kind.ATTACHMENT, account.id, account.version, {{"path": "/dev/zero"}}, actor)
        except ValidationError as exc:
            print("refused:", exc.errors["path"])
            sys.exit(0)
        print("attached")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("refused:"), (done.stdout, done.stderr)
    assert Attachment.select().count() == 0


def test_a_desk_operator_cannot_attach_system_files(db) -> None:
    """/etc/shadow (readable by root: a PatronDesk run as root read it), /etc/passwd and the
    environment of the process (/proc/self/environ holds PATRONDESK_DB with its password)."""
    user(db)
    desk = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    for path in ("/etc/shadow", "/etc/passwd", "/proc/self/environ", "/proc/self/cmdline"):
        if os.path.exists(path):
            assert refused_attachment(db, desk, path), path
    assert Attachment.select().count() == 0


def test_hidden_files_and_files_of_other_people_are_refused(db, tmp_path) -> None:
    user(db)
    desk = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    keys = tmp_path / ".ssh"
    keys.mkdir()
    (keys / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (tmp_path / ".pgpass").write_text("db:5432:*:postgres:secret\n")
    assert "hidden" in refused_attachment(db, desk, keys / "id_ed25519")
    assert "hidden" in refused_attachment(db, desk, tmp_path / ".pgpass")
    if os.geteuid() == 0:  # only root can give a file away
        theirs = tmp_path / "colleague.pdf"
        theirs.write_bytes(PDF)
        os.chown(theirs, 65534, 65534)
        assert "belongs to" in refused_attachment(db, desk, theirs)
    assert Attachment.select().count() == 0


def test_the_database_its_wal_a_copy_and_a_link_to_it_are_refused(db, tmp_path) -> None:
    user(db)
    desk = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    backup = tmp_path / "backup.pdf"  # a SQLite file under any name: a backup, a copy
    conn = sqlite3.connect(backup)
    conn.execute("CREATE TABLE account (password_hash TEXT)")
    conn.commit()
    conn.close()
    paths: list[Path] = [backup]
    if db.backend == "sqlite":
        live = Path(db.url)
        for suffix in ("-wal", "-shm"):
            assert Path(f"{live}{suffix}").exists()
        (tmp_path / "scan").mkdir()
        os.link(live, tmp_path / "scan" / "hardlink.pdf")  # the same file under another name
        (tmp_path / "symlink.pdf").symlink_to(live)
        paths += [live, Path(f"{live}-wal"), Path(f"{live}-shm"), tmp_path / "scan" /
                  "hardlink.pdf", tmp_path / "symlink.pdf"]  # fmt: skip
    for path in paths:
        assert refused_attachment(db, desk, path), path
    assert Attachment.select().count() == 0


def test_a_symbolic_link_is_not_followed(db, tmp_path) -> None:
    user(db)
    real = tmp_path / "real.pdf"
    real.write_bytes(PDF)
    (tmp_path / "link.pdf").symlink_to(real)
    assert "symbolic link" in refused_attachment(db, admin(db), tmp_path / "link.pdf")
    assert attach(db, admin(db), real).row.size == len(PDF)  # the file itself is fine


def test_a_huge_sparse_file_is_refused_without_reading_it(db, tmp_path) -> None:
    user(db)
    huge = tmp_path / "scan.tiff"
    with open(huge, "wb") as f:
        f.truncate(64 * 1024**3)  # 64 GB of holes
    finished, outcome = in_thread(lambda: attach(db, admin(db), huge), seconds=20)
    assert finished and isinstance(outcome, ValidationError), outcome
    assert "too large" in outcome.errors["path"]


def test_a_view_only_role_cannot_save_an_attachment_to_disk(db, tmp_path) -> None:
    user(db)
    row = an_attachment(db, tmp_path)
    viewer = as_staff(db, Role.FULFILLMENT_SERVICES_OPERATOR)
    target = tmp_path / "taken.pdf"
    with pytest.raises(PermissionDenied):
        save_attachment(row.id, target, viewer)
    assert not target.exists()


def test_every_save_of_an_attachment_is_audited_and_private(db, tmp_path) -> None:
    patron = user(db)
    row = an_attachment(db, tmp_path)
    desk = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    last = AuditEvent.select().order_by(AuditEvent.id.desc()).first().id
    old = os.umask(0o022)
    try:
        written = save_attachment(row.id, tmp_path / "out.pdf", desk)
    finally:
        os.umask(old)
    assert written.read_bytes() == PDF and mode(written) == 0o600
    events = list(AuditEvent.select().where(AuditEvent.id > last))
    assert [(e.action, e.entity, e.entity_id, e.account_id, e.actor) for e in events] == [
        ("export", "attachment", row.id, patron.id, "S0001")
    ]
    assert str(written.resolve()) in events[0].new_value


def test_a_desk_operator_cannot_save_an_attachment_over_a_login_script(db, tmp_path) -> None:
    """Found by an attack (2026-12-08): a desk operator put `$(command)` in a patron's address,
    queued the personal-information letter (its JSON is attached to the record) and saved that
    attachment as ~/.bash_profile or ~/.ssh/authorized_keys: the next login of the account
    running PatronDesk ran it. A file PatronDesk writes is a document, as a file it reads is:
    never hidden, never in a folder that is (a link to one included), never in a system tree."""
    user(db)
    row = an_attachment(db, tmp_path)
    desk = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / "docs").symlink_to(home / ".ssh")  # an ordinary name for a hidden folder
    system = Path(f"/etc/patrondesk-attack-{os.getpid()}.sh")
    targets = {
        home / ".bash_profile": "hidden",
        home / ".ssh" / "authorized_keys": "hidden",
        home / ".ssh": "hidden",  # a folder: the attachment's name in it
        home / "docs" / "authorized_keys": "hidden",
        system: "system",
    }
    try:
        for target, why in targets.items():
            with pytest.raises(ValidationError) as err:
                save_attachment(row.id, target, desk, overwrite=True)
            assert why in err.value.errors["path"], (target, err.value.errors)
    finally:
        system.unlink(missing_ok=True)
    assert sorted(p.name for p in home.rglob("*")) == [".ssh", "docs"]
    assert not system.exists()
    assert AuditEvent.select().where(AuditEvent.action == "export").count() == 0


def test_a_save_never_replaces_the_database_or_a_special_file(db, tmp_path) -> None:
    user(db)
    row = an_attachment(db, tmp_path)
    fifo = tmp_path / "fifo.pdf"
    os.mkfifo(fifo)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "link.pdf").symlink_to(victim)
    (tmp_path / "planted.pdf.part").symlink_to(victim)  # a link planted where the .part goes
    targets = [fifo, tmp_path / "link.pdf", tmp_path / "planted.pdf"]
    if db.backend == "sqlite":
        targets += [Path(db.url), Path(f"{db.url}-wal"), Path(f"{db.url}-journal")]
    for target in targets:
        finished, outcome = in_thread(
            lambda t=target: save_attachment(row.id, t, admin(db), overwrite=True), release=fifo
        )
        assert finished and isinstance(outcome, ValidationError), (target, outcome)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert victim.read_text() == "keep me"
    assert (tmp_path / "link.pdf").is_symlink()
    if db.backend == "sqlite":
        assert not Path(f"{db.url}-journal").exists()
        assert sound(Path(db.url)) >= 2


# --- 8. An export never replaces what it should not ---------------------------------------------


def test_an_export_to_the_live_database_is_refused_even_with_force(tmp_path) -> None:
    live = new_database(tmp_path)
    for name in ("", "-wal", "-shm", "-journal"):
        target = f"{live}{name}"
        for extra in ([], ["--force"]):
            one_line_error(cli(tmp_path, "--db", str(live), "export", target, *extra), "database")
            one_line_error(
                cli(tmp_path, "--db", str(live), "export", "--user", "admin", target, *extra),
                "database",
            )
    assert sound(live) == 1
    assert not Path(f"{live}-journal").exists()


def test_an_existing_file_is_replaced_only_with_force(db, tmp_path) -> None:
    keep = tmp_path / "users.csv"
    keep.write_text("keep me")
    os.chmod(keep, 0o644)
    one_line_error(cli(tmp_path, "--db", db.url, "export", str(keep)), "exists")
    one_line_error(cli(tmp_path, "--db", db.url, "export", "--user", "admin", str(keep)), "exists")
    assert keep.read_text() == "keep me"
    done = cli(tmp_path, "--db", db.url, "export", str(keep), "--force")
    assert done.returncode == 0, done.stderr
    assert keep.read_text().startswith("primary_id,") and mode(keep) == 0o600


def test_a_special_file_is_never_replaced_even_with_force(db, tmp_path) -> None:
    fifo, sock, device = tmp_path / "fifo.json", tmp_path / "sock.json", tmp_path / "null.json"
    os.mkfifo(fifo)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock))
    specials = [fifo, sock, tmp_path]
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a copy of /dev/null
        specials.append(device)
    except PermissionError:
        pass
    try:
        for target in specials:
            for extra in ([], ["--force"]):
                one_line_error(cli(tmp_path, "--db", db.url, "export", str(target), *extra))
    finally:
        server.close()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and stat.S_ISSOCK(os.lstat(sock).st_mode)
    if device.exists():
        assert stat.S_ISCHR(os.lstat(device).st_mode)
    assert not list(tmp_path.glob("*.part"))


def test_a_link_planted_as_the_part_file_is_not_followed(db, tmp_path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "users.json.part").symlink_to(victim)
    (tmp_path / "link.json").symlink_to(victim)
    one_line_error(cli(tmp_path, "--db", db.url, "export", str(tmp_path / "users.json")))
    one_line_error(cli(tmp_path, "--db", db.url, "export", str(tmp_path / "link.json"), "--force"))
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "users.json").exists()


def test_exports_reports_and_configuration_files_are_private(db, tmp_path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("primary_id,first_name,last_name\nU1,Ada,\n", encoding="utf-8")
    outputs = {
        "export": (tmp_path / "all.json", ["export"]),
        "personal": (tmp_path / "p.json", ["export", "--user", "admin"]),
        "config": (tmp_path / "c.toml", ["config", "export"]),
        "report": (tmp_path / "r.csv", ["import", str(source), "--report"]),
    }
    for name, (path, args) in outputs.items():
        done = cli(tmp_path, "--db", db.url, *args, str(path))
        assert done.returncode in (0, 1), (name, done.stderr)
        assert mode(path) == 0o600, name


def test_configuration_exports_and_reports_refuse_the_database_and_existing_files(
    tmp_path,
) -> None:
    live = new_database(tmp_path)
    source = tmp_path / "in.csv"
    source.write_text("primary_id,first_name,last_name\nU1,Ada,Lovelace\n", encoding="utf-8")
    keep = tmp_path / "keep.txt"
    keep.write_text("keep me")
    for target in (str(live), f"{live}-wal", str(keep)):
        one_line_error(cli(tmp_path, "--db", str(live), "config", "export", target))
        one_line_error(cli(tmp_path, "--db", str(live), "import", str(source), "--report", target))
    for target in (str(live), f"{live}-wal"):
        one_line_error(cli(tmp_path, "--db", str(live), "config", "export", target, "--force"))
        one_line_error(
            cli(tmp_path, "--db", str(live), "import", str(source), "--report", target, "--force")
        )
    assert keep.read_text() == "keep me"
    assert sound(live) == 1, "a refused report is refused before the import runs"
    done = cli(tmp_path, "--db", str(live), "config", "export", str(keep), "--force")
    assert done.returncode == 0 and keep.read_text().startswith("#"), done.stderr


def test_a_backup_never_lands_on_the_database_or_a_special_file(tmp_path) -> None:
    live = new_database(tmp_path)
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "copy.db.part").symlink_to(victim)
    for target in (f"{live}-journal", f"{live}-wal", str(fifo), str(tmp_path / "copy.db")):
        one_line_error(cli(tmp_path, "--db", str(live), "backup", target))
    assert not Path(f"{live}-journal").exists() and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert victim.read_text() == "keep me"
    assert sound(live) == 1


async def test_the_export_screen_asks_before_replacing_a_file(ui_db, tmp_path) -> None:
    from textual.widgets import Static

    from screens.confirm import ConfirmScreen
    from screens.transfer import ExportScreen
    from tests.helpers.ui import SIZE, log_in, settle, type_into
    from tui.app import PatronDeskApp

    keep = tmp_path / "users.json"
    keep.write_text("keep me")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.action_export()
        await pilot.pause()
        await type_into(pilot, "#path", str(keep))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen), "an existing file was replaced unasked"
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen) and keep.read_text() == "keep me"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert json.loads(keep.read_text())["format"] == "patrondesk"
        assert mode(keep) == 0o600
        for target in (ui_db.url, f"{ui_db.url}-wal"):  # never, even when confirmed
            await type_into(pilot, "#path", target)
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen)
            summary = str(app.screen.query_one("#summary", Static).render())
            assert "database" in summary, summary
    assert sound(Path(ui_db.url)) == 1


# --- 13. Files are private ----------------------------------------------------------------------


def test_a_new_database_its_wal_and_a_backup_are_private(tmp_path) -> None:
    live = new_database(tmp_path)
    assert mode(live) == 0o600
    script = (
        "import os, sqlite3, stat, sys\n"
        "from models.store.connection import open_database\n"
        f"open_database({str(live)!r})\n"
        "from models.store.base import database\n"
        "database.execute_sql('CREATE TABLE t (x)')\n"
        f"print(*(oct(stat.S_IMODE(os.stat({str(live)!r} + s).st_mode)) for s in ('-wal','-shm')))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, preexec_fn=lambda: os.umask(0o022))  # fmt: skip
    assert done.stdout.split() == ["0o600", "0o600"], (done.stdout, done.stderr)
    done = cli(tmp_path, "--db", str(live), "backup", str(tmp_path / "copy.db"))
    assert done.returncode == 0, done.stderr
    assert mode(tmp_path / "copy.db") == 0o600


def test_a_database_readable_by_others_is_warned_about(tmp_path) -> None:
    live = new_database(tmp_path)
    done = cli(tmp_path, "--db", str(live), "migrate", "--status")
    assert done.returncode == 0 and "warning" not in done.stderr
    os.chmod(live, 0o644)
    done = cli(tmp_path, "--db", str(live), "migrate", "--status")
    assert done.returncode == 0
    warnings = done.stderr.strip().splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("patrondesk: warning: "), done.stderr
    assert str(live) in warnings[0] and "chmod 600" in warnings[0]


async def test_the_app_warns_when_the_database_is_readable_by_others(ui_db) -> None:
    from tests.helpers.ui import SIZE
    from tui.app import PatronDeskApp

    os.chmod(ui_db.url, 0o640)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        notices = [n.message for n in app._notifications]
    assert any("chmod 600" in n for n in notices), notices


# --- 15. A damaged database: one line, exit 2 ---------------------------------------------------


def test_a_corrupt_database_on_export_is_one_line_and_exit_2(tmp_path) -> None:
    live = new_database(tmp_path)
    assert cli(tmp_path, "--db", str(live), "demo", "--users", "300").returncode == 0
    conn = sqlite3.connect(live)
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    roots = [r[0] for r in conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE name IN ('account', 'person', 'identifier')"
    )]  # fmt: skip
    conn.close()
    with open(live, "r+b") as f:  # the tables' pages damaged, the schema intact
        for root in roots:
            f.seek((root - 1) * page)
            f.write(b"\x0d\xff\xff\xff\xff\xff\xff\xff" * 8)
    out = tmp_path / "out.json"
    one_line_error(cli(tmp_path, "--db", str(live), "export", str(out)), "damaged")
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_a_programming_error_still_shows_its_traceback(tmp_path, monkeypatch) -> None:
    """Only the database's own failures become one line: a bug in the code is not hidden."""
    from peewee import IntegrityError

    from tui import cli as cli_module
    from tui import transfer_cli

    live = new_database(tmp_path)

    def broken(args, error):  # noqa: ANN001, ANN202
        raise IntegrityError("NOT NULL constraint failed: account.primary_id")

    monkeypatch.setattr(transfer_cli, "run_export", broken)
    with pytest.raises(IntegrityError):
        cli_module.main(["--db", str(live), "export", str(tmp_path / "x.json")])
    monkeypatch.setattr(transfer_cli, "run_export", lambda args, error: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli_module.main(["--db", str(live), "export", str(tmp_path / "x.json")])


def test_the_paths_a_command_names_reach_the_terminal_printable(tmp_path) -> None:
    """Found by an attack (2026-12-08): `export` and `backup` echoed the path they were given
    raw (an OSC sequence set the window's title), a path with a byte that is no UTF-8 (0x9b,
    a C1 control) ended `export` with a traceback (stored raw in the audit event), and the
    import report kept a skipped file's name raw (`cat report.csv` ran its escapes)."""
    live = new_database(tmp_path)
    outputs = []
    for args in (
        ("export", "--format", "csv", str(tmp_path / "a\x1b[31mred\x07.csv")),
        ("backup", str(tmp_path / "c\x1b]0;title\x07.db")),
        ("export", "--format", "csv", f"{tmp_path}/b\udc9b.csv"),
    ):
        result = cli(tmp_path, "--db", str(live), *args)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        outputs.append(result.stdout + result.stderr)
    assert not any(c in text for text in outputs for c in "\x1b\x07\x9b"), outputs
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "users.csv").write_text("primary_id,last_name\nP1,One\n")
    (folder / "y\x1b]0;pwn\x07.txt").write_text("not a user file\n")
    report = tmp_path / "report.csv"
    result = cli(tmp_path, "--db", str(live), "import", str(folder), "--report", str(report))
    assert result.returncode == 0, result.stderr
    text = report.read_text(encoding="utf-8")
    assert "skipped" in text and "\x1b" not in text and "\x07" not in text, text


def test_the_palette_offers_no_screenshot_to_a_file() -> None:
    """Found by a usability helper (2026-12-08): Textual's own Screenshot command (ctrl+p)
    wrote the screen, a patron's record on it, to an SVG in the working folder, mode 0644."""
    from textual.screen import Screen

    from tui.app import PatronDeskApp

    app = PatronDeskApp()
    titles = {c.title for c in app.get_system_commands(Screen())}
    assert "Screenshot" not in titles and "Theme" in titles, titles


def test_the_command_line_still_backs_up_and_restores_in_a_hidden_folder(tmp_path) -> None:
    """The document rule is a staff session's (the app's user is not the operating-system
    account): the command line is that account, and the default database lives in a hidden
    folder (~/.local/share/patrondesk), where `restore` keeps the replaced database and a
    cron job may keep its backups."""
    hidden = tmp_path / ".local" / "share" / "patrondesk"
    hidden.mkdir(parents=True)
    live = new_database(hidden, "patrondesk.db")
    copy = hidden / "backup.db"
    result = cli(tmp_path, "--db", str(live), "backup", str(copy))
    assert result.returncode == 0, result.stderr
    result = cli(tmp_path, "--db", str(live), "restore", str(copy))
    assert result.returncode == 0, result.stderr
    assert "kept as" in result.stdout and sound(copy) >= 1
