"""Security (issue 10, item 4): secrets stay secret, and the audit trail stays as written.

1. No password, PIN or password-reset code is ever written to a log, an audit event, an export
   or a letter. `run_story` sets recognisable secrets through the real services (create a user
   with a password and a PIN, a failed login, a change of one's own password, a PIN change on an
   internal and on an external account, a staff reset, the forgotten-password code by email, an
   import of a CSV and of an Alma XML file carrying plain passwords and a PIN, through the
   command line), sends the letters, exports every format, then every sink is read back: the
   audit trail and the History rows, the letters, their kept copies and the outbox, every export
   (csv, json, alma-xml, the personal-information export, the configuration file), the log
   (every Python logger at DEBUG for the whole story), the command line's output and the
   import report, and finally every column of every table. Stored secrets are argon2id hashes;
   hashes appear only where the data model keeps them and in the JSON export, whose documented
   round trip (`patrondesk import` of `patrondesk export`) needs them.

   The reset code must reach the user, so it is in the email the SMTP server receives (and in
   nothing else): `models.access.password_reset` sends it at once with `mailer.deliver(body=...)`
   and
   keeps the letter, and its .eml copy on the Attachments tab, with the code masked. The SMTP
   password must be usable to log in to the server, so the settings table holds it as typed
   (and peewee's own DEBUG query log, off unless someone turns it on, shows it as the
   parameter of that write); it is asserted absent from everything else.

2. Audit events cannot be edited from the app: the source of models/, screens/ and tui/ updates
   or deletes `audit_event` rows only in the documented places, and the History tab offers no
   key that edits, deletes or duplicates an event.
"""

from __future__ import annotations

import argparse
import ast
import base64
import email
import json
import logging
import re
from dataclasses import dataclass, field
from email.policy import default as email_policy
from pathlib import Path

import pytest

from models.access.auth import login
from models.access.password_reset import MASK, request_reset_code, reset_password_with_code
from models.access.passwords import verify_secret
from models.audit import Actor
from models.config.config_file import export_config
from models.config.config_settings import update_settings
from models.config.settings import load_settings
from models.enums import AccountType, LetterKind, LetterStatus, Source
from models.errors import AuthenticationError
from models.mail.letters import SECRET_MASK, letter_text, outbox, queue_personal_information
from models.mail.mailer import send_pending
from models.store.tables import (
    ALL_TABLES,
    Account,
    Attachment,
    AuditEvent,
    Letter,
    LocalOverride,
    Person,
    ResetCode,
    Setting,
)
from models.transfer.exports import user_document
from models.users.details import reset_password, update_user
from models.users.history import history
from models.users.my_account import change_my_password
from tests.helpers.smtp import PASSWORD as SMTP_PASSWORD
from tests.helpers.smtp import USER as SMTP_USER
from tests.helpers.smtp import start
from tests.helpers.ui import SIZE, add_user, settle
from tui.cli import CliError, build_parser
from tui.table import RowTable
from tui.transfer_cli import run_export, run_import

ROOT = Path(__file__).resolve().parents[2]

# The secrets typed in the story. PINs start with a zero so that no number the app prints (an
# id, a size, a port, a count) can look like one.
PASSWORD = "Zq9-secret-PW!x"  # the new user's first password
WRONG_PASSWORD = "Zq9-typo-PW!z"  # a failed login: a near-password is a secret too
NEW_PASSWORD = "Zq9-changed-PW!y"  # changed on My account
RESET_PASSWORD = "Zq9-reset-PW!w"  # set with the emailed code
IMPORT_PASSWORD = "Zq9-import-PW!k"  # in the CSV file
WEAK_IMPORT_PASSWORD = "zq9weak"  # in the CSV file, refused by the policy
ALMA_PASSWORD = "Zq9-alma-PW!m"  # in the Alma XML file
PIN, NEW_PIN = "0482", "0937"  # internal account: at creation, then changed by staff
SIS_PIN, HAND_PIN = "0816", "0204"  # external account: from its SIS, then changed by hand
ALMA_PIN = "0731"  # in the Alma XML file

ARGON2 = re.compile(r"\$argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+")
# The test's own SMTP server (aiosmtpd) logs what it receives: it is the user's mailbox side.
MAIL_SERVER_LOGGERS = ("mail.log",)
# peewee's DEBUG query log shows each statement's parameters: the hashes the model keeps, and
# the settings row holding the SMTP password.
SQL_LOGGER = "peewee"


def _pattern(secret: str) -> re.Pattern[str]:
    if secret.isdigit():  # a PIN or a code: a number of its own, not digits inside another
        return re.compile(rf"(?<![0-9A-Za-z]){secret}(?![0-9A-Za-z])")
    return re.compile(re.escape(secret))


def _scrub(text: str) -> str:
    """Hashes out of the way (checked apart): their base64 must not pass for a PIN."""
    return ARGON2.sub("<argon2-hash>", text)


def leaked(text: str, secrets: dict[str, str]) -> list[str]:
    """The names of the secrets found in `text`."""
    text = _scrub(text)
    return [name for name, value in secrets.items() if _pattern(value).search(text)]


def texts_of_bytes(data: bytes) -> str:
    """Stored bytes as text to scan: an email (a kept letter copy) with every part decoded,
    since a body in base64 or quoted-printable would hide a secret from a plain search."""
    raw = data.decode("utf-8", "replace")
    if b"\nSubject:" not in data[:4000] and not data.startswith(b"Subject:"):
        return raw
    message = email.message_from_bytes(data, policy=email_policy)
    parts = [raw]
    for part in message.walk():
        if part.is_multipart():
            continue
        content = part.get_content()
        parts.append(content if isinstance(content, str) else texts_of_bytes(content))
    return "\n".join(parts)


def _cell(value: object) -> str:
    if isinstance(value, bytes | memoryview):
        return texts_of_bytes(bytes(value))
    return "" if value is None else str(value)


@dataclass
class Story:
    """What the story typed and every sink it wrote, read back as text."""

    secrets: dict[str, str]  # name -> the plain secret
    sinks: dict[str, str] = field(default_factory=dict)  # sink -> its text
    log: list[logging.LogRecord] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # the emails the SMTP server received
    exports: dict[str, Path] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)  # primary id -> account id


def _cli(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def run_story(db, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys) -> Story:  # noqa: ANN001
    """Set every secret through the real services, then read every sink back."""
    caplog.set_level(logging.DEBUG)  # every logger, from the first write of the story
    admin = Actor(db.admin, Source.SCREEN)
    secrets_: dict[str, str] = {
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "new password": NEW_PASSWORD,
        "password set with the code": RESET_PASSWORD,
        "imported password": IMPORT_PASSWORD,
        "refused imported password": WEAK_IMPORT_PASSWORD,
        "imported Alma password": ALMA_PASSWORD,
        "PIN": PIN,
        "new PIN": NEW_PIN,
        "SIS PIN": SIS_PIN,
        "hand-set PIN": HAND_PIN,
        "imported PIN": ALMA_PIN,
        "SMTP password": SMTP_PASSWORD,
    }
    s = Story(secrets_)
    controller, server = start(login=True)
    try:
        # The SMTP server, set through the configuration service (audited, password masked).
        update_settings(
            {
                "smtp_host": "127.0.0.1",
                "smtp_port": server.port,
                "smtp_security": "none",
                "smtp_user": SMTP_USER,
                "smtp_password": SMTP_PASSWORD,
                "smtp_from": "library@example.org",
            },
            admin,
        )
        settings = load_settings()

        # A user with a password and a PIN; an external one whose SIS set a PIN.
        anna = add_user("Anna", "Secret", "S100", email="anna@example.org", password=PASSWORD,
                        pin=PIN)  # fmt: skip
        emil = add_user("Emil", "Extern", "E200", account_type=AccountType.EXTERNAL.value,
                        pin=SIS_PIN)  # fmt: skip
        s.accounts = {"S100": anna.id, "E200": emil.id}

        with pytest.raises(AuthenticationError):
            login("S100", WRONG_PASSWORD)
        change_my_password(Actor(anna, Source.SCREEN), PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
        anna = Account.get_by_id(anna.id)
        update_user(anna.id, anna.version, {"pin": NEW_PIN}, admin)
        # A hand change on an external account keeps the SIS value as the "original value".
        update_user(emil.id, emil.version, {"pin": HAND_PIN}, admin)
        assert LocalOverride.get(LocalOverride.account == emil.id).field == "pin"
        secrets_["staff-reset password"] = reset_password(anna.id, admin)

        # The forgotten-password code: by email only.
        reset_letter = request_reset_code("anna@example.org")
        assert reset_letter is not None
        mail = server.received[-1]
        code = re.search(r"^\s+(\d{8})\s*$", mail.text, re.M).group(1)
        secrets_["reset code"] = code
        reset_password_with_code("S100", code, RESET_PASSWORD, RESET_PASSWORD)
        assert login("S100", RESET_PASSWORD).id == anna.id

        # Imports carrying plain secrets, through the command line (its output is a sink).
        csv_file = tmp_path / "users.csv"
        csv_file.write_text(
            "primary_id,first_name,last_name,emails,password\n"
            f"I100,Ida,Import,ida@uni.example,{IMPORT_PASSWORD}\n"
            f"I200,Ivo,Weak,ivo@uni.example,{WEAK_IMPORT_PASSWORD}\n",
            encoding="utf-8",
        )
        xml_file = tmp_path / "users.xml"
        xml_file.write_text(
            "<users><user><primary_id>I300</primary_id><first_name>Ines</first_name>"
            f"<last_name>Alma</last_name><password>{ALMA_PASSWORD}</password>"
            f"<pin_number>{ALMA_PIN}</pin_number></user></users>",
            encoding="utf-8",
        )
        for path in (csv_file, xml_file):
            report = tmp_path / f"{path.stem}-{path.suffix[1:]}-report.csv"
            args = _cli(["import", str(path), "--workers", "1", "--report", str(report)])
            assert run_import(args, CliError) == 0
            s.sinks[f"import report {path.name}"] = report.read_text(encoding="utf-8")
        for primary_id in ("I100", "I200", "I300"):
            s.accounts[primary_id] = Account.get(Account.primary_id == primary_id).id

        # Letters: the personal-information letter of both users, sent with the outbox.
        for account_id in (anna.id, emil.id):
            queue_personal_information(account_id, admin)
        assert send_pending(settings).failed == 0
        s.sent = [m.text + "\n" + texts_of_bytes(bytes(m.message)) for m in server.received]
    finally:
        controller.stop()

    # Exports, through the command line.
    for fmt, name in (("csv", "users.csv"), ("json", "users.json"), ("alma-xml", "users.xml")):
        out = tmp_path / "export" / name
        out.parent.mkdir(exist_ok=True)
        assert run_export(_cli(["export", str(out), "--format", fmt]), CliError) == 0
        s.exports[fmt] = out
    for primary_id in s.accounts:
        out = tmp_path / "export" / f"personal-{primary_id}.json"
        assert run_export(_cli(["export", "--user", primary_id, str(out)]), CliError) == 0
        s.exports[f"personal {primary_id}"] = out
    s.sinks["configuration export"] = export_config(db.organization.id)

    # Read every sink back.
    s.sinks["audit_event rows"] = "\n".join(
        json.dumps(row, default=str, ensure_ascii=False)
        for row in AuditEvent.select().order_by(AuditEvent.id).dicts()
    )
    s.sinks["History tab rows"] = "\n".join(
        repr(row) for account_id in s.accounts.values() for row in history(account_id, admin, "all")
    )
    s.sinks["letter rows"] = "\n".join(
        json.dumps(row, default=str, ensure_ascii=False) for row in Letter.select().dicts()
    )
    s.sinks["letter texts"] = "\n".join(letter_text(x.id, admin) for x in Letter.select())
    s.sinks["outbox"] = "\n".join(repr(x) for x in outbox(admin, pending_only=False))
    s.sinks["kept letter copies and files"] = "\n".join(
        f"{a.name}\n{a.note}\n{texts_of_bytes(bytes(a.data))}"
        for a in Attachment.select().where(Attachment.letter.is_null(False))
    )
    for name, path in s.exports.items():
        s.sinks[f"export {name}"] = path.read_text(encoding="utf-8")
    # The JSON export carries attachments (letter copies) in base64: decoded, they are scanned.
    users = json.loads(s.exports["json"].read_text(encoding="utf-8"))["users"]
    s.sinks["export json, attachments decoded"] = "\n".join(
        texts_of_bytes(base64.b64decode(a["data"])) for u in users for a in u["attachments"]
    )
    out, err = capsys.readouterr()
    s.sinks["command line output"] = out + err
    s.log = list(caplog.records)
    return s


# --- 1. Secrets ---------------------------------------------------------------------------------


def check_stored_secrets_are_argon2id_hashes(story: Story) -> None:
    """Each secret typed is kept as an argon2id hash that verifies it (the last one set), or
    not at all (a password refused by the policy)."""
    settings = load_settings()
    anna = Account.get_by_id(story.accounts["S100"])
    assert anna.person.password_hash.startswith("$argon2id$")
    assert verify_secret(anna.person.password_hash, RESET_PASSWORD, settings)
    assert not verify_secret(anna.person.password_hash, NEW_PASSWORD, settings)
    assert anna.pin_hash.startswith("$argon2id$") and verify_secret(
        anna.pin_hash, NEW_PIN, settings
    )
    emil = Account.get_by_id(story.accounts["E200"])
    assert verify_secret(emil.pin_hash, HAND_PIN, settings)
    # The SIS value kept as the "original value" is the SIS PIN's hash, not the PIN.
    original = json.loads(LocalOverride.get(LocalOverride.account == emil.id).original)
    assert original.startswith("$argon2id$") and verify_secret(original, SIS_PIN, settings)
    ida, ivo, ines = (Account.get_by_id(story.accounts[p]) for p in ("I100", "I200", "I300"))
    assert verify_secret(ida.person.password_hash, IMPORT_PASSWORD, settings)
    assert ivo.person.password_hash is None, "refused by the policy: no password at all"
    assert verify_secret(ines.person.password_hash, ALMA_PASSWORD, settings)
    assert verify_secret(ines.pin_hash, ALMA_PIN, settings)
    codes = [r.code_hash for r in ResetCode.select().order_by(ResetCode.id)]
    assert codes and all(h.startswith("$argon2id$") for h in codes)
    assert verify_secret(codes[-1], story.secrets["reset code"], settings)
    for p in Person.select():
        assert p.password_hash is None or ARGON2.fullmatch(p.password_hash), p.username
    for a in Account.select():
        assert a.pin_hash is None or ARGON2.fullmatch(a.pin_hash), a.primary_id


def check_whole_database(story: Story) -> None:
    """Every column of every table: no plain secret (the SMTP password only in its setting,
    which must be usable to log in); hashes only in the columns made for them."""
    hash_columns = {
        ("person", "password_hash"),
        ("account", "pin_hash"),
        ("reset_code", "code_hash"),
    }
    for model in ALL_TABLES:
        table = model._meta.table_name
        for row in model.select().dicts():
            for column, value in row.items():
                text = _cell(value)
                secrets_ = dict(story.secrets)
                if table == "setting" and row["key"] == "smtp_password":
                    secrets_.pop("SMTP password")
                assert leaked(text, secrets_) == [], f"{table}.{column} of {row}"
                if ARGON2.search(text):
                    pin_original = table == "local_override" and row["field"] == "pin"
                    assert (table, column) in hash_columns or (
                        pin_original and column == "original"
                    ), f"a hash in {table}.{column}"
    assert json.loads(Setting.get_by_id("smtp_password").value) == SMTP_PASSWORD


def check_audit_trail_and_history(story: Story) -> None:
    """Every audit_event column of every row, and the History rows built from them: no secret,
    no hash; the secret changes are there, masked."""
    for sink in ("audit_event rows", "History tab rows"):
        text = story.sinks[sink]
        assert text, f"{sink}: the story wrote nothing to read"
        assert leaked(text, story.secrets) == [], sink
        assert not ARGON2.search(text), f"{sink}: a hash"
    masked = {
        (e.entity, e.field) for e in AuditEvent.select().where(AuditEvent.new_value == "(changed)")
    }
    assert {("person", "password_hash"), ("account", "pin_hash"), ("setting", "smtp_password")} <= (
        masked
    )


def check_letters_and_outbox(story: Story) -> None:
    """The letter rows, their texts as shown, the outbox, the kept .eml copies and the letters'
    files: no secret, no hash. The reset code is in the email the user received, and only
    there: its letter is kept with the code masked."""
    for sink in ("letter rows", "letter texts", "outbox", "kept letter copies and files"):
        assert leaked(story.sinks[sink], story.secrets) == [], sink
        assert not ARGON2.search(story.sinks[sink]), f"{sink}: a hash"
    reset = Letter.get(Letter.kind == LetterKind.PASSWORD_RESET.value)
    assert reset.status == LetterStatus.SENT and MASK in reset.body
    assert MASK in story.sinks["kept letter copies and files"]
    pins = Letter.select().where(Letter.kind == LetterKind.PIN.value)
    assert pins.count() == 4 and all(SECRET_MASK in letter.body for letter in pins)
    personal = Letter.select().where(Letter.kind == LetterKind.PERSONAL_INFORMATION.value)
    assert personal.count() == 2 and len(story.sent) == 7
    # A secret leaves in one email only: the reset code in its letter, each PIN set by staff or
    # the SIS in the PIN letter that tells it to its user (Alma's PIN Number Generation Letter).
    carried = {"reset code": "reset code", "PIN": "PIN", "new PIN": "PIN", "SIS PIN": "PIN",
               "hand-set PIN": "PIN"}  # fmt: skip
    subjects = {"reset code": "Your password reset code", "PIN": "Your library PIN"}
    for name, kind in carried.items():
        secret = _pattern(story.secrets[name])
        found = [mail for mail in story.sent if secret.search(mail)]
        assert len(found) == 1 and f"Subject: {subjects[kind]}" in found[0], name
    for mail in story.sent:
        own = {k for k, kind in carried.items() if f"Subject: {subjects[kind]}" in mail}
        others = {k: v for k, v in story.secrets.items() if k not in own}
        assert leaked(mail, others) == [] and not ARGON2.search(mail)


def check_exports(story: Story) -> None:
    """csv, alma-xml, the personal-information export of each user and the configuration
    file: no secret, no hash. The json export: no secret; hashes only where the records keep
    them, since `patrondesk import` reads it back field for field (the documented round trip)."""
    exports = {k: v for k, v in story.sinks.items() if k.startswith("export")}
    assert len(exports) == 3 + 1 + len(story.accounts)
    exports["configuration export"] = story.sinks["configuration export"]
    for sink, text in exports.items():
        assert leaked(text, story.secrets) == [], sink
        if sink != "export json":
            assert not ARGON2.search(text), f"{sink}: a hash"
    users = {u["primary_id"]: u for u in json.loads(story.sinks["export json"])["users"]}
    assert verify_secret(users["S100"]["password_hash"], RESET_PASSWORD, load_settings())
    for u in users.values():
        kept = [u.pop("password_hash"), u.pop("pin_hash")]
        kept += [json.loads(o["original"]) for o in u.pop("local_overrides") if o["field"] == "pin"]
        assert all(h is None or ARGON2.fullmatch(h) for h in kept), u["primary_id"]
        assert not ARGON2.search(json.dumps(u)), u["primary_id"]
    for primary_id in story.accounts:  # the service itself, as the app calls it
        text = json.dumps(user_document(primary_id), ensure_ascii=False)
        assert leaked(text, story.secrets) == [] and not ARGON2.search(text), primary_id


def check_log_and_command_line(story: Story) -> None:
    """Every log record of every logger at DEBUG: no user secret, not even in peewee's query
    log (they reach the database hashed); outside that log, no SMTP password and no hash
    either. The command line's output and the import reports: no secret, no hash."""
    assert story.log, "logging was captured at DEBUG for the whole story"
    user_secrets = {k: v for k, v in story.secrets.items() if k != "SMTP password"}
    for record in story.log:
        if record.name.startswith(MAIL_SERVER_LOGGERS):
            continue
        text = f"{record.name} {record.getMessage()}"
        assert leaked(text, user_secrets) == [], text[:300]
        if record.name != SQL_LOGGER:
            assert leaked(text, story.secrets) == [] and not ARGON2.search(text), text[:300]
    assert "records read" in story.sinks["command line output"]
    assert "password" in story.sinks["import report users.csv"], "the refusal is reported"
    for sink in ("command line output", *[k for k in story.sinks if k.startswith("import report")]):
        assert leaked(story.sinks[sink], story.secrets) == [], sink
        assert not ARGON2.search(story.sinks[sink]), f"{sink}: a hash"


def test_no_secret_leaves_its_hash(db, tmp_path: Path, caplog, capsys) -> None:  # noqa: ANN001
    """One story per back end (it is the slow part), every sink checked by its own function."""
    story = run_story(db, tmp_path, caplog, capsys)
    check_stored_secrets_are_argon2id_hashes(story)
    check_whole_database(story)
    check_audit_trail_and_history(story)
    check_letters_and_outbox(story)
    check_exports(story)
    check_log_and_command_line(story)


def test_the_app_configures_no_logging_and_writes_no_log_file() -> None:
    """The log checked above is what a caller's logging setup collects: the app itself adds no
    handler and writes no log file (`tui.paths.log_dir` is not used). One added later must be
    read by `check_log_and_command_line`."""
    found = []
    for path in _sources():
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if re.search(r"\blogging\.|FileHandler|basicConfig|\blog_dir\(\)", line) and not (
                line.startswith("def log_dir")
            ):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


# --- 2. The audit trail cannot be edited from the app -------------------------------------------

# The only places that may remove audit events, both documented in the README: the retention
# job (`patrondesk audit prune`, "Command line") and the deletion of a user, whose History goes
# with them ("Deleting users and the purge job": one event keeps who deleted which identifier,
# and when). Nothing may update an event, but for the one documented move: a merge gives the
# merged account's events to the kept account ("Merging users": its History is the kept one's;
# what each event says, who did it and when, is left as it was).
ALLOWED_AUDIT_DELETES = {
    ("models/users/history.py", "prune_audit"),
    ("models/users/deletion.py", "_remove"),
}
ALLOWED_AUDIT_UPDATES = {("models/users/merge.py", "_move_history")}
WRITES = {"update", "delete", "replace", "replace_many", "delete_by_id", "set_by_id",
          "bulk_update", "truncate_table", "drop_table", "insert_from"}  # fmt: skip
RAW_WRITE = re.compile(
    r"\b(update|delete\s+from|truncate(\s+table)?|replace\s+into|drop\s+table|alter\s+table)"
    r"\s+[\"'`]?audit_event\b",
    re.I,
)


def _sources() -> list[Path]:
    """The app's code: models/ (its migrations, schema changes owned apart, left out), screens/
    and tui/."""
    out = []
    for folder in ("models", "screens", "tui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                out.append(path)
    return out


class _AuditWrites(ast.NodeVisitor):
    """Calls that change audit_event rows, with the function they are in."""

    def __init__(self) -> None:
        self.stack: list[ast.AST] = []
        self.found: list[tuple[str, int, str]] = []  # (function, line, what)

    def _function(self) -> str:
        names = [
            n.name for n in self.stack if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        return names[-1] if names else "<module>"

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:  # noqa: N802
        self.stack.append(node)
        mentions = any(isinstance(n, ast.Name) and n.id == "AuditEvent" for n in ast.walk(node))
        if mentions:  # an event read into a variable, then saved or deleted
            for n in ast.walk(node):
                if (
                    isinstance(n, ast.Call)
                    and isinstance(n.func, ast.Attribute)
                    and n.func.attr in ("save", "delete_instance")
                ):
                    self.found.append((node.name, n.lineno, f".{n.func.attr}()"))
        self.generic_visit(node)
        self.stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815

    def visit_Call(self, node: ast.Call) -> None:  # noqa: N802
        f = node.func
        if (
            isinstance(f, ast.Attribute)
            and f.attr in WRITES
            and isinstance(f.value, ast.Name)
            and f.value.id == "AuditEvent"
        ):
            self.found.append((self._function(), node.lineno, f"AuditEvent.{f.attr}()"))
        self.generic_visit(node)


def test_only_the_documented_jobs_delete_audit_events_and_nothing_updates_one() -> None:
    deletes, updates, refused = set(), set(), []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        for m in RAW_WRITE.finditer(text):
            refused.append(f"{rel}:{text.count(chr(10), 0, m.start()) + 1}: SQL {m.group(0)!r}")
        if "AuditEvent" not in text:
            continue
        visitor = _AuditWrites()
        visitor.visit(ast.parse(text, filename=rel))
        for function, line, what in visitor.found:
            if what == "AuditEvent.delete()" and (rel, function) in ALLOWED_AUDIT_DELETES:
                deletes.add((rel, function))
            elif what == "AuditEvent.update()" and (rel, function) in ALLOWED_AUDIT_UPDATES:
                updates.add((rel, function))
            else:
                refused.append(f"{rel}:{line}: {what} in {function}()")
    assert refused == []
    assert deletes == ALLOWED_AUDIT_DELETES, "the scan still sees the documented deletes"
    assert updates == ALLOWED_AUDIT_UPDATES, "the scan still sees the merge's move"


def test_the_generic_row_services_never_reach_the_audit_table() -> None:
    """`models.users.rows` and `models.config.configuration` delete and update the model of a spec
    or of a
    code table: none of them is the audit table."""
    from models.config.configuration import TABLES
    from models.users.rows import SPECS

    assert AuditEvent not in {spec.model for spec in SPECS.values()}
    assert AuditEvent not in {t.model for t in TABLES.values()}


async def test_the_history_tab_offers_no_key_that_edits_or_deletes_an_event(ui_db) -> None:  # noqa: ANN001
    """On History (F12) with its table focused, no binding adds, edits, duplicates, deletes or
    toggles a row, the other tabs' keys for that open nothing but the read-only view of a
    change (Enter), and the audit table is the same row for row afterwards."""
    from models.access.session import open_session
    from screens.user_details import UserDetailsScreen
    from screens.user_details.history import HistoryPane
    from tui.app import PatronDeskApp

    anna = add_user("Anna", "Secret", "S100", email="anna@example.org")
    update_user(anna.id, anna.version, {"first_name": "Annette"}, Actor(ui_db.admin, Source.SCREEN))

    def trail() -> list[dict]:
        return list(AuditEvent.select().order_by(AuditEvent.id).dicts())

    before = trail()
    row_actions = {"add", "edit", "duplicate", "remove", "toggle_active", "delete"}
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        screen = UserDetailsScreen(anna.id)
        app.push_screen(screen)
        await settle(pilot)
        await pilot.press("f12")
        await settle(pilot)
        table = screen.query_one("#history-table", RowTable)
        assert table.row_count > 0 and table.rows[0][4] == "first_name"
        table.focus()
        await settle(pilot)
        shown = list(table.rows)
        offered = {b.binding.action for b in screen.active_bindings.values()}
        assert not offered & row_actions, offered
        # The keys that add, edit, duplicate, delete or toggle a row on the other tabs.
        # Enter shows the change whole, read only (a message with a Close button).
        for key in ("e", "enter", "c", "delete", "n", "insert", "space"):
            await pilot.press(key)
            await settle(pilot)
            if key == "enter":
                from screens.confirm import InfoScreen

                assert isinstance(app.screen, InfoScreen)
                assert "Annette" in str(app.screen.query_one("#info-text").render())
                await pilot.press("escape")
                await settle(pilot)
            assert app.screen is screen, f"{key!r} opened {type(app.screen).__name__}"
            assert table.has_focus and table.rows == shown
    assert trail() == before
    extra = {n for n in dir(HistoryPane) if n.startswith("action_")} - {
        n for n in dir(HistoryPane.__mro__[1]) if n.startswith("action_")
    }
    assert extra == set() and not HistoryPane.BINDINGS
