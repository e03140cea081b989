"""My account (issue 9): a patron reads their own record and changes their contact data,
communication preferences and password, never more; every change is audited with them as the
actor. The own-record rule of models.access.permissions is tested here too."""

from __future__ import annotations

import pytest

from models.access.auth import login
from models.access.permissions import Action, can
from models.access.session import open_session
from models.audit import Actor
from models.enums import Role, Source
from models.errors import ConflictError, PermissionDenied, ValidationError
from models.store.tables import (
    Account,
    AuditEvent,
    Block,
    BlockDefinition,
    Email,
    Fee,
    FeeType,
    Library,
    Note,
    Person,
    Phone,
)
from models.users.my_account import (
    add_my_contact,
    change_my_password,
    delete_my_contact,
    load_my_record,
    my_contact_values,
    update_my_contact,
    update_my_preferences,
)
from models.users.rows import Kind, add_row
from tests.helpers.ui import add_user

PASSWORD = "Patron-Pass-2026"


@pytest.fixture
def anna(db) -> Actor:  # noqa: ANN001
    account = add_user("Anna", "Müller", "P100", email="anna@example.org", password=PASSWORD)
    return Actor(Account.get_by_id(account.id), Source.SCREEN)


def version(actor: Actor) -> int:
    return Account.get_by_id(actor.account.id).version


def test_a_patron_login_is_patron_only(anna) -> None:
    session = open_session(anna.account)
    assert session.roles == (Role.PATRON.value,) and session.is_patron_only


def test_the_own_record_rule_lets_a_person_edit_only_their_own_contact_data(anna, db) -> None:
    other = add_user("Ben", "Other", "P200")
    me = anna.account
    assert can(me, Action.EDIT_CONTACT, me)
    assert not can(me, Action.EDIT_CONTACT, other)
    assert not can(me, Action.EDIT_USER, me), "names and the rest stay with staff"
    assert not can(me, Action.VIEW_USER, other)
    with pytest.raises(PermissionDenied):
        add_row(Kind.EMAIL, other.id, other.version, {"address": "x@example.org",
                                                      "email_type": "personal"}, anna)  # fmt: skip


def test_a_patron_adds_edits_and_deletes_their_phones_and_emails_audited_as_themselves(
    anna,
) -> None:
    v = add_my_contact("phone", version(anna), {"number": "+41 79 123 45 67",
                                                "phone_type": "mobile"}, anna)  # fmt: skip
    phone = Phone.get()
    assert phone.number == "+41791234567" and phone.preferred
    v = update_my_contact("phone", phone.id, v, {"phone_type": "home"}, anna)
    assert Phone.get_by_id(phone.id).phone_type == "home"
    assert my_contact_values("phone", phone.id, anna)["phone_type"] == "home"
    v = add_my_contact("email", v, {"address": "anna@work.example", "email_type": "work"}, anna)
    v = delete_my_contact("phone", phone.id, v, anna)
    assert not Phone.select().exists()
    assert Email.select().count() == 2
    events = AuditEvent.select().where(
        AuditEvent.entity.in_(["phone", "email"]) & (AuditEvent.source == "screen")
    )
    assert events.count() >= 4 and {e.actor for e in events} == {"P100"}
    assert {e.account_id for e in events} == {anna.account.id}


def test_a_patron_cannot_change_names_nor_mark_data_external(anna) -> None:
    with pytest.raises(ValidationError) as caught:
        update_my_preferences(version(anna), {"first_name": "Annie", "birth_date": ""}, anna)
    assert set(caught.value.errors) == {"first_name", "birth_date"}
    with pytest.raises(ValidationError) as caught:
        add_my_contact("email", version(anna), {"address": "a@b.example", "email_type": "work",
                                                "external": True}, anna)  # fmt: skip
    assert "external" in caught.value.errors
    with pytest.raises(PermissionDenied):
        add_my_contact("note", version(anna), {"text": "hello"}, anna)
    assert Person.get_by_id(anna.account.person_id).first_name == "Anna"


def test_the_last_email_of_a_public_user_cannot_be_deleted(anna) -> None:
    from models.users.rows import Refused

    email = Email.get()
    with pytest.raises(Refused, match="last email"):
        delete_my_contact("email", email.id, version(anna), anna)


def test_a_stale_version_is_refused(anna) -> None:
    stale = version(anna)
    add_my_contact("phone", stale, {"number": "+41791234567", "phone_type": "mobile"}, anna)
    with pytest.raises(ConflictError):
        update_my_preferences(stale, {"comm_language": "fr"}, anna)


def test_a_patron_sets_their_language_channel_and_letter_opt_in(anna) -> None:
    v = update_my_preferences(version(anna), {"comm_language": "French"}, anna)
    v = update_my_preferences(v, {"letters_opt_in": False, "comm_channel": "mail"}, anna)
    account = Account.get_by_id(anna.account.id)
    assert (account.comm_language, account.letters_opt_in, account.comm_channel) == (
        "fr",
        False,
        "mail",
    )
    with pytest.raises(ValidationError) as caught:
        update_my_preferences(v, {"comm_language": "Klingonese", "comm_channel": "pigeon"}, anna)
    assert set(caught.value.errors) == {"comm_language", "comm_channel"}
    changed = AuditEvent.select().where(
        (AuditEvent.entity == "account")
        & (AuditEvent.field == "comm_language")
        & (AuditEvent.action == "update")
    )
    assert [(e.old_value, e.new_value, e.actor) for e in changed] == [("en", "fr", "P100")]


def test_email_as_channel_needs_an_email(anna) -> None:
    Email.delete().execute()
    Person.update(email=None, email_key=None).execute()
    with pytest.raises(ValidationError, match="needs an email"):
        update_my_preferences(version(anna), {"comm_channel": "email"}, anna)


def test_a_patron_changes_their_password_with_the_current_one(anna) -> None:
    with pytest.raises(ValidationError) as caught:
        change_my_password(anna, "Not-It-1234", "Brand-New-2026", "Brand-New-2026")
    assert "current_password" in caught.value.errors
    with pytest.raises(ValidationError) as caught:
        change_my_password(anna, PASSWORD, "weak", "weak")
    assert "password" in caught.value.errors
    change_my_password(anna, PASSWORD, "Brand-New-2026", "Brand-New-2026")
    assert login("P100", "Brand-New-2026").id == anna.account.id


def test_my_record_shows_user_viewable_notes_blocks_and_fees_only(anna) -> None:
    account = anna.account
    branch = Library.create(organization=account.organization, code="BR", name="Branch")
    Note.create(account=account, text="Your card is at the desk.", user_viewable=True, owner=branch)
    Note.create(account=account, text="Staff only: talked loudly.", user_viewable=False)
    Block.create(account=account, definition=BlockDefinition.select().first())
    fee_type = FeeType.select().first()
    Fee.create(account=account, fee_type=fee_type, original_minor=1250, balance_minor=1000,
               title="Dune", owner=branch)  # fmt: skip
    record = load_my_record(anna)
    assert [text for _, text in record.notes] == ["Your card is at the desk."]
    assert len(record.blocks) == 1
    assert [(f.title, f.balance_minor) for f in record.fees] == [("Dune", 1000)]
    assert record.balance_minor == 1000
    assert record.primary_id == "P100" and record.name == "Müller, Anna"
    assert [(c.kind, c.text) for c in record.contacts] == [("email", "anna@example.org")]


def test_a_deactivated_patrons_open_session_changes_nothing(anna) -> None:
    """Found by an attack (2026-12-08): My account read the account by the session's id and
    never asked whether it may still act: a patron deactivated meanwhile changed their
    preferences and password (adding a contact row was refused: that path asked)."""
    Account.update(status="inactive").where(Account.id == anna.account.id).execute()
    before = AuditEvent.select().count()
    with pytest.raises(PermissionDenied, match="deactivated"):
        update_my_preferences(version(anna), {"letters_opt_in": False}, anna)
    with pytest.raises(PermissionDenied, match="deactivated"):
        change_my_password(anna, PASSWORD, "Brand-New-2026", "Brand-New-2026")
    with pytest.raises(PermissionDenied, match="deactivated"):
        load_my_record(anna)
    assert AuditEvent.select().count() == before
    account = Account.get_by_id(anna.account.id)
    assert account.letters_opt_in and account.comm_language == "en"


def test_a_session_whose_account_is_gone_never_shows_the_newcomer_given_its_id(anna) -> None:
    """The account deleted (or merged away) and its id given to someone else (SQLite gives the
    highest freed id again): the old session saw the newcomer's record, address and fees
    included, and changed their letter opt-in. The row holding the id now is another
    account's (created at another moment): "no longer exists"."""
    import datetime as dt

    later = anna.account.created_at + dt.timedelta(days=1)
    Account.update(created_at=later).where(Account.id == anna.account.id).execute()
    with pytest.raises(PermissionDenied, match="no longer exists"):
        load_my_record(anna)
    with pytest.raises(PermissionDenied, match="no longer exists"):
        update_my_preferences(version(anna), {"letters_opt_in": False}, anna)
    assert Account.get_by_id(anna.account.id).letters_opt_in
