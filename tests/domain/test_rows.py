"""The table tabs of User Details (models.users.rows): add, edit, duplicate, delete and activate
rows
of each kind, with their rules and refusals, audit, library independence and the account's
version."""

from __future__ import annotations

import datetime as dt

import pytest

from models.config.settings import Settings
from models.enums import Role, Source
from models.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from models.runtime import runtime
from models.store.tables import (
    Account,
    Attachment,
    Email,
    Identifier,
    Library,
    Person,
    Phone,
    RoleAssignment,
)
from models.users.details import toggle_account_type, update_user
from models.users.rows import (
    Kind,
    Refused,
    add_row,
    delete_row,
    duplicate_row,
    list_rows,
    popup_notes,
    row_values,
    save_attachment,
    set_row_active,
    update_row,
)
from tests.helpers.details import (
    admin,
    as_staff,
    changes_of,
    events_after,
    fresh,
    future,
    last_event_id,
    user,
)


def emails(account: Account) -> list[tuple[str, bool]]:
    return [
        (e.address, e.preferred)
        for e in Email.select().where(Email.person == account.person_id).order_by(Email.id)
    ]


# --- Emails and the communication channel -------------------------------------------------------


def test_adding_a_preferred_email_clears_the_other_and_bumps_the_version(db) -> None:
    account = user(db)
    mark = last_event_id()
    saved = add_row(
        Kind.EMAIL,
        account.id,
        account.version,
        {"address": "anna@work.example", "email_type": "work", "preferred": True},
        admin(db),
    )
    assert saved.version == account.version + 1 == fresh(account).version
    assert saved.row.address == "anna@work.example"
    assert emails(account) == [("p0001@example.org", False), ("anna@work.example", True)]
    events = events_after(mark)
    assert ("email", "address", None, "anna@work.example") in changes_of(events)
    assert ("email", "preferred", "yes", "no") in changes_of(events)
    assert {(e.account_id, e.person_id, e.actor) for e in events} == {
        (account.id, account.person_id, "admin")
    }
    assert Person.get_by_id(account.person_id).version == account.person.version + 1


def test_a_second_email_is_not_preferred_unless_asked(db) -> None:
    account = user(db)
    add_row(
        Kind.EMAIL,
        account.id,
        account.version,
        {"address": "b@example.org", "email_type": "cc"},
        admin(db),
    )
    assert emails(account) == [("p0001@example.org", True), ("b@example.org", False)]


def test_one_email_stays_preferred(db) -> None:
    account = user(db)
    (row,) = list_rows(Kind.EMAIL, account.id, admin(db))
    with pytest.raises(ValidationError) as err:
        update_row(Kind.EMAIL, account.id, row.id, account.version, {"preferred": False}, admin(db))
    assert "make another one preferred" in err.value.errors["preferred"]


def test_the_last_email_of_a_public_user_cannot_be_deleted(db) -> None:
    account = user(db)
    (row,) = list_rows(Kind.EMAIL, account.id, admin(db))
    with pytest.raises(Refused) as err:
        delete_row(Kind.EMAIL, account.id, row.id, account.version, admin(db))
    assert "last email address" in err.value.message
    assert emails(account) == [("p0001@example.org", True)]


def test_deleting_the_preferred_email_makes_the_next_one_preferred(db) -> None:
    account = user(db)
    saved = add_row(
        Kind.EMAIL,
        account.id,
        account.version,
        {"address": "b@x.org", "email_type": "work"},
        admin(db),
    )
    first = Email.get(Email.address == "p0001@example.org")
    version = delete_row(Kind.EMAIL, account.id, first.id, saved.version, admin(db))
    assert version == saved.version + 1
    assert emails(account) == [("b@x.org", True)]


def test_the_communication_channel_follows_email_presence(db) -> None:
    account = user(db, "C0001", "contact")
    assert account.comm_channel == "mail"
    mark = last_event_id()
    saved = add_row(
        Kind.EMAIL,
        account.id,
        account.version,
        {"address": "office@binder.example", "email_type": "work", "preferred": False},
        admin(db),
    )
    assert saved.row.preferred is True  # the only email is the preferred one
    assert fresh(account).comm_channel == "email"
    assert ("account", "comm_channel", "mail", "email") in changes_of(events_after(mark))
    delete_row(Kind.EMAIL, account.id, saved.row.id, saved.version, admin(db))
    assert fresh(account).comm_channel == "mail"  # a contact may have no email


def test_email_addresses_are_checked_and_not_held_twice(db) -> None:
    account = user(db)
    with pytest.raises(ValidationError) as err:
        add_row(
            Kind.EMAIL,
            account.id,
            account.version,
            {"address": "P0001@EXAMPLE.org", "email_type": "pigeon", "colour": "red"},
            admin(db),
        )
    assert err.value.errors == {"colour": "is not a field of an email address"}
    with pytest.raises(ValidationError) as err:
        add_row(
            Kind.EMAIL,
            account.id,
            account.version,
            {"address": "P0001@EXAMPLE.org", "email_type": "pigeon"},
            admin(db),
        )
    assert err.value.errors["address"] == "this user already has this email address"
    assert err.value.errors["email_type"].startswith("is not an email type (personal, work")
    with pytest.raises(ValidationError) as err:
        add_row(Kind.EMAIL, account.id, account.version, {"address": "no at sign"}, admin(db))
    assert err.value.errors["address"].startswith("is not a valid email address")
    assert fresh(account).version == account.version


def test_a_stale_version_refuses_a_row_change_and_a_row_change_makes_general_stale(db) -> None:
    account = user(db)
    saved = add_row(Kind.NOTE, account.id, account.version, {"text": "Call before noon"}, admin(db))
    with pytest.raises(ConflictError) as err:
        update_user(account.id, account.version, {"title": "Dr"}, admin(db))
    assert err.value.changed_by == "admin"
    with pytest.raises(ConflictError):
        add_row(Kind.NOTE, account.id, account.version, {"text": "Another"}, admin(db))
    assert len(list_rows(Kind.NOTE, account.id, admin(db))) == 1
    assert update_user(account.id, saved.version, {"title": "Dr"}, admin(db)).version == 3


# --- Phones and addresses -----------------------------------------------------------------------


def test_phones_keep_one_preferred_and_one_preferred_for_sms(db) -> None:
    account = user(db)
    first = add_row(
        Kind.PHONE,
        account.id,
        account.version,
        {"number": "+41 22 379 00 00", "phone_type": "office", "preferred_sms": True},
        admin(db),
    )
    assert (first.row.number, first.row.preferred, first.row.preferred_sms) == (
        "+41223790000",
        True,
        True,
    )
    second = add_row(
        Kind.PHONE,
        account.id,
        first.version,
        {"number": "+33 1 42 68 53 00", "phone_type": "mobile", "preferred": True,
         "preferred_sms": True},
        admin(db),
    )  # fmt: skip
    rows = list(Phone.select().where(Phone.person == account.person_id).order_by(Phone.id))
    assert [(p.preferred, p.preferred_sms) for p in rows] == [(False, False), (True, True)]
    with pytest.raises(ValidationError) as err:
        add_row(
            Kind.PHONE,
            account.id,
            second.version,
            {"number": "12", "phone_type": "home"},
            admin(db),
        )
    assert "number" in err.value.errors


def test_addresses_are_checked_field_by_field(db) -> None:
    account = user(db)
    with pytest.raises(ValidationError) as err:
        add_row(
            Kind.ADDRESS,
            account.id,
            account.version,
            {
                "address_type": "home",
                "line1": "1 Rue du Rhône",
                "country": "Atlantis",
                "start_date": "2030-01-10",
                "end_date": "2030-01-01",
            },
            admin(db),
        )
    assert set(err.value.errors) == {"country", "end_date"}
    with pytest.raises(ValidationError) as err:
        add_row(Kind.ADDRESS, account.id, account.version, {"address_type": "home"}, admin(db))
    assert "line1" in err.value.errors
    saved = add_row(
        Kind.ADDRESS,
        account.id,
        account.version,
        {"address_type": "home", "line1": "1 Rue du Rhône", "city": "Genève", "country": "che"},
        admin(db),
    )
    assert (saved.row.country, saved.row.preferred) == ("CH", True)
    assert row_values(Kind.ADDRESS, account.id, saved.row.id, admin(db))["city"] == "Genève"


# --- External rows ------------------------------------------------------------------------------


def test_external_rows_are_read_only_and_only_external_accounts_add_them(db) -> None:
    account = user(db)
    with pytest.raises(ValidationError) as err:
        add_row(Kind.NOTE, account.id, account.version, {"text": "x", "external": True}, admin(db))
    assert err.value.errors == {"external": "only an external account has external data"}
    toggled = toggle_account_type(account.id, account.version, admin(db))
    saved = add_row(
        Kind.EMAIL,
        account.id,
        toggled.version,
        {"address": "sis@uni.example", "email_type": "school", "external": True},
        admin(db),
    )
    assert saved.row.external is True
    with pytest.raises(Refused) as err:
        update_row(
            Kind.EMAIL, account.id, saved.row.id, saved.version, {"description": "x"}, admin(db)
        )
    assert "student information system" in err.value.message
    with pytest.raises(Refused):
        delete_row(Kind.EMAIL, account.id, saved.row.id, saved.version, admin(db))
    copy = duplicate_row(
        Kind.EMAIL, account.id, saved.row.id, saved.version, admin(db), {"address": "me@x.org"}
    )
    assert (copy.row.external, copy.row.preferred) == (False, False)
    internal = Email.get(Email.address == "p0001@example.org")
    with pytest.raises(ValidationError) as err:
        update_row(Kind.EMAIL, account.id, internal.id, copy.version, {"external": True}, admin(db))
    assert "cannot be turned into external" in err.value.errors["external"]


def test_toggled_identifiers_are_read_only(db) -> None:
    account = user(db, identifier="BC-1")
    toggled = toggle_account_type(account.id, account.version, admin(db))
    row = Identifier.get(Identifier.value == "BC-1")
    with pytest.raises(Refused):
        set_row_active(Kind.IDENTIFIER, account.id, row.id, toggled.version, False, admin(db))


# --- Identifiers --------------------------------------------------------------------------------


def test_identifiers_are_unique_across_accounts_without_case(db) -> None:
    user(db, "P0002", identifier="BC-2")
    account = user(db)
    with pytest.raises(ValidationError) as err:
        add_row(
            Kind.IDENTIFIER,
            account.id,
            account.version,
            {"id_type": "BARCODE", "value": "bc-2"},
            admin(db),
        )
    assert err.value.errors == {"value": "is already used by account P0002 (Müller, Anna)"}
    with pytest.raises(ValidationError) as err:
        add_row(
            Kind.IDENTIFIER,
            account.id,
            account.version,
            {"id_type": "BARCODE", "value": "p0001"},
            admin(db),
        )
    assert err.value.errors == {"value": "this user already has this identifier"}
    with pytest.raises(ValidationError) as err:
        add_row(Kind.IDENTIFIER, account.id, account.version, {"value": "U-1"}, admin(db))
    assert err.value.errors == {"id_type": "is required"}
    saved = add_row(
        Kind.IDENTIFIER,
        account.id,
        account.version,
        {"id_type": "UNIV_ID", "value": "U-1", "note": "from the card"},
        admin(db),
    )
    assert (saved.row.value_key, saved.row.id_type.code) == ("u-1", "UNIV_ID")
    with pytest.raises(ValidationError):  # a plain copy would hold the value twice
        duplicate_row(Kind.IDENTIFIER, account.id, saved.row.id, saved.version, admin(db))
    copy = duplicate_row(
        Kind.IDENTIFIER, account.id, saved.row.id, saved.version, admin(db), {"value": "U-2"}
    )
    assert (copy.row.value, copy.row.note) == ("U-2", "from the card")


def test_an_identifier_is_deactivated_and_activated(db) -> None:
    account = user(db, identifier="BC-1")
    row = Identifier.get(Identifier.value == "BC-1")
    off = set_row_active(Kind.IDENTIFIER, account.id, row.id, account.version, False, admin(db))
    assert off.row.active is False
    on = set_row_active(Kind.IDENTIFIER, account.id, row.id, off.version, True, admin(db))
    assert on.row.active is True and on.version == account.version + 2


def test_the_primary_identifier_is_kept(db) -> None:
    account = user(db)
    primary = Identifier.get((Identifier.account == account.id) & Identifier.is_primary)
    with pytest.raises(Refused) as err:
        delete_row(Kind.IDENTIFIER, account.id, primary.id, account.version, admin(db))
    assert "primary identifier cannot be deleted" in err.value.message
    with pytest.raises(ValidationError) as verr:
        update_row(
            Kind.IDENTIFIER, account.id, primary.id, account.version, {"value": "Z"}, admin(db)
        )
    assert verr.value.errors == {
        "value": "belongs to the primary identifier: change it on the General tab"
    }
    with pytest.raises(ValidationError):
        set_row_active(Kind.IDENTIFIER, account.id, primary.id, account.version, False, admin(db))
    noted = update_row(
        Kind.IDENTIFIER, account.id, primary.id, account.version, {"note": "card 2"}, admin(db)
    )
    assert noted.row.note == "card 2"


def test_a_desk_operator_may_change_contacts_and_notes_but_not_identifiers(db) -> None:
    account = user(db)
    operator = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    with pytest.raises(PermissionDenied) as err:
        add_row(
            Kind.IDENTIFIER,
            account.id,
            account.version,
            {"id_type": "BARCODE", "value": "BC-9"},
            operator,
        )
    assert err.value.action == "edit_user"
    saved = add_row(
        Kind.EMAIL,
        account.id,
        account.version,
        {"address": "c@x.org", "email_type": "cc"},
        operator,
    )
    add_row(Kind.NOTE, account.id, saved.version, {"text": "Met at the desk"}, operator)


def test_a_row_of_another_user_is_not_found(db) -> None:
    other = user(db, "P0002")
    account = user(db)
    (row,) = list_rows(Kind.EMAIL, other.id, admin(db))
    with pytest.raises(NotFound):
        update_row(Kind.EMAIL, account.id, row.id, account.version, {"description": "x"}, admin(db))


# --- Notes, blocks, statistics ------------------------------------------------------------------


def test_notes_pop_up_and_may_be_user_viewable(db) -> None:
    account = user(db)
    with pytest.raises(ValidationError) as err:
        add_row(Kind.NOTE, account.id, account.version, {"text": "  "}, admin(db))
    assert err.value.errors == {"text": "is required"}
    saved = add_row(
        Kind.NOTE,
        account.id,
        account.version,
        {"note_type": "CIRCULATION", "text": "Owes a book to ILL", "popup": True},
        admin(db),
    )
    saved = add_row(
        Kind.NOTE,
        account.id,
        saved.version,
        {"text": "Prefers large print", "user_viewable": True},
        admin(db),
    )
    assert [n.text for n in popup_notes(account.id, admin(db))] == ["Owes a book to ILL"]
    assert saved.row.user_viewable is True and saved.row.created_by == "admin"
    assert row_values(Kind.NOTE, account.id, saved.row.id, admin(db))["note_type"] == ""


def test_library_independence_hides_and_protects_another_librarys_rows(db) -> None:
    account = user(db)
    branch = Library.create(organization=db.organization, code="BRANCH", name="Branch library")
    main = Library.get((Library.organization == db.organization) & (Library.code != "BRANCH"))
    saved = add_row(
        Kind.NOTE,
        account.id,
        account.version,
        {"text": "Main's note", "owner": main.code},
        admin(db),
    )
    desk = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    RoleAssignment.update(scope=branch).where(
        (RoleAssignment.account == desk.account) & (RoleAssignment.role != "patron")
    ).execute()
    assert list_rows(Kind.NOTE, account.id, desk) == []
    with pytest.raises(PermissionDenied):
        delete_row(Kind.NOTE, account.id, saved.row.id, saved.version, desk)
    with pytest.raises(PermissionDenied):
        add_row(Kind.NOTE, account.id, saved.version, {"text": "x", "owner": "MAIN"}, desk)
    ours = add_row(Kind.NOTE, account.id, saved.version, {"text": "Ours", "owner": "BRANCH"}, desk)
    assert [n.text for n in list_rows(Kind.NOTE, account.id, desk)] == ["Ours"]
    with pytest.raises(ValidationError) as err:
        add_row(Kind.NOTE, account.id, ours.version, {"text": "x", "owner": "NOWHERE"}, admin(db))
    assert err.value.errors == {"owner": "is not a library of this organization"}


def test_blocks_are_added_deactivated_and_checked(db) -> None:
    account = user(db)
    with pytest.raises(ValidationError) as err:
        add_row(
            Kind.BLOCK,
            account.id,
            account.version,
            {"expiry_date": runtime.today() - dt.timedelta(days=1)},
            admin(db),
        )
    assert err.value.errors == {"definition": "is required", "expiry_date": "cannot be in the past"}
    saved = add_row(
        Kind.BLOCK,
        account.id,
        account.version,
        {"definition": "LOST_CARD", "expiry_date": future(30), "note": "Reported stolen"},
        admin(db),
    )
    assert saved.row.active and saved.row.definition.code == "LOST_CARD"
    off = set_row_active(Kind.BLOCK, account.id, saved.row.id, saved.version, False, admin(db))
    assert off.row.active is False
    with pytest.raises(Refused):
        set_row_active(Kind.NOTE, account.id, saved.row.id, off.version, False, admin(db))


def test_a_statistical_category_is_held_once(db) -> None:
    account = user(db)
    saved = add_row(
        Kind.STATISTIC, account.id, account.version, {"category": "LAW", "note": "x"}, admin(db)
    )
    with pytest.raises(ValidationError) as err:
        duplicate_row(Kind.STATISTIC, account.id, saved.row.id, saved.version, admin(db))
    assert err.value.errors == {"category": "this user already has this statistical category"}
    with pytest.raises(ValidationError) as err:
        add_row(Kind.STATISTIC, account.id, saved.version, {"category": "ASTROLOGY"}, admin(db))
    assert err.value.errors == {"category": "is not a known stat category"}
    changed = update_row(
        Kind.STATISTIC, account.id, saved.row.id, saved.version, {"category": "MED"}, admin(db)
    )
    assert changed.row.category.code == "MED"


# --- Attachments --------------------------------------------------------------------------------


def test_an_attachment_is_read_stored_and_saved_back_out(db, tmp_path) -> None:
    account = user(db)
    source = tmp_path / "consent form.pdf"
    content = bytes(range(256)) * 10
    source.write_bytes(content)
    saved = add_row(
        Kind.ATTACHMENT,
        account.id,
        account.version,
        {"path": str(source), "note": "signed"},
        admin(db),
    )
    row = Attachment.get_by_id(saved.row.id)
    assert (row.name, row.size, row.mime_type, row.note) == (
        "consent form.pdf",
        2560,
        "application/pdf",
        "signed",
    )
    assert bytes(row.data) == content
    out = tmp_path / "out"
    out.mkdir()
    written = save_attachment(row.id, out, admin(db))
    assert written == out / "consent form.pdf"
    assert written.read_bytes() == content
    with pytest.raises(ValidationError) as err:
        save_attachment(row.id, out, admin(db))
    assert "already exists" in err.value.errors["path"]
    assert save_attachment(row.id, written, admin(db), overwrite=True) == written
    with pytest.raises(ValidationError) as err:
        update_row(
            Kind.ATTACHMENT, account.id, row.id, saved.version, {"path": str(source)}, admin(db)
        )
    assert "cannot be replaced" in err.value.errors["path"]
    renamed = update_row(
        Kind.ATTACHMENT, account.id, row.id, saved.version, {"name": "consent.pdf"}, admin(db)
    )
    assert renamed.row.name == "consent.pdf" and bytes(renamed.row.data) == content


def test_an_attachment_too_large_or_unreadable_is_refused_in_words(db, tmp_path) -> None:
    account = user(db)
    big = tmp_path / "scan.tiff"
    big.write_bytes(b"x" * 3000)
    settings = Settings(attachment_max_bytes=2048)
    cases = {
        str(big): "scan.tiff is too large (2.9 KB): attachments may be at most 2.0 KB",
        str(tmp_path / "missing.pdf"): f"{tmp_path / 'missing.pdf'} does not exist",
        str(tmp_path): f"{tmp_path} is a folder, not a file",
        "": "is required: give the path of a file",
    }
    for path, message in cases.items():
        with pytest.raises(ValidationError) as err:
            add_row(
                Kind.ATTACHMENT, account.id, account.version, {"path": path}, admin(db),
                settings=settings,
            )  # fmt: skip
        assert err.value.errors == {"path": message}
    assert Attachment.select().count() == 0


# --- Proxies ------------------------------------------------------------------------------------


def test_a_proxy_target_must_be_another_patron_of_the_organization(db) -> None:
    from tests.domain.test_accounts import second_organization

    account = user(db)
    target = user(db, "P0002")
    _, admin2 = second_organization()
    cases = {
        "P0001": "a user cannot be their own proxy",
        "admin2": "no user of this organization has this identifier",
        "": "is required: give the user's primary identifier",
    }
    for value, message in cases.items():
        with pytest.raises(ValidationError) as err:
            add_row(Kind.PROXY, account.id, account.version, {"target": value}, admin(db))
        assert err.value.errors == {"target": message}
    RoleAssignment.update(status="inactive").where(
        (RoleAssignment.account == target) & (RoleAssignment.role == "patron")
    ).execute()
    with pytest.raises(ValidationError) as err:
        add_row(Kind.PROXY, account.id, account.version, {"target": "p0002"}, admin(db))
    assert err.value.errors == {"target": "does not have an active Patron role"}
    RoleAssignment.update(status="active").where(RoleAssignment.account == target).execute()
    saved = add_row(
        Kind.PROXY, account.id, account.version, {"target": "p0002", "note": "mother"}, admin(db)
    )
    assert saved.row.target_id == target.id
    with pytest.raises(ValidationError) as err:
        add_row(Kind.PROXY, account.id, saved.version, {"target": "P0002"}, admin(db))
    assert err.value.errors == {"target": "this user is already a proxy for them"}
    assert row_values(Kind.PROXY, account.id, saved.row.id, admin(db)) == {
        "target": "P0002",
        "note": "mother",
    }


# --- Roles --------------------------------------------------------------------------------------


def test_roles_are_added_once_and_every_user_keeps_one(db) -> None:
    account = user(db)
    (patron,) = list_rows(Kind.ROLE, account.id, admin(db))
    with pytest.raises(Refused) as err:
        delete_row(Kind.ROLE, account.id, patron.id, account.version, admin(db))
    assert "at least one role" in err.value.message
    with pytest.raises(ValidationError) as verr:
        add_row(Kind.ROLE, account.id, account.version, {"role": "patron"}, admin(db))
    assert verr.value.errors == {"role": "this user already has this role for this library"}
    saved = add_row(
        Kind.ROLE,
        account.id,
        account.version,
        {"role": "circulation_desk_operator", "scope": "MAIN", "expiry_date": future(90)},
        admin(db),
    )
    assert saved.row.scope.code == "MAIN"
    off = set_row_active(Kind.ROLE, account.id, saved.row.id, saved.version, False, admin(db))
    assert off.row.status == "inactive"
    assert delete_row(Kind.ROLE, account.id, patron.id, off.version, admin(db)) == off.version + 1


def test_only_an_administrator_grants_the_administrator_role(db) -> None:
    account = user(db)
    manager = as_staff(db, Role.USER_MANAGER)
    with pytest.raises(PermissionDenied) as err:
        add_row(Kind.ROLE, account.id, account.version, {"role": "user_administrator"}, manager)
    assert err.value.action == "configure"
    saved = add_row(Kind.ROLE, account.id, account.version, {"role": "user_manager"}, manager)
    assert saved.row.role == "user_manager"


def test_the_last_active_administrator_role_is_kept(db) -> None:
    me = db.admin
    (role,) = [r for r in list_rows(Kind.ROLE, me.id, admin(db)) if r.role == "user_administrator"]
    with pytest.raises(Refused) as err:
        set_row_active(Kind.ROLE, me.id, role.id, me.version, False, admin(db))
    assert "last active User Administrator" in err.value.message
    with pytest.raises(Refused):
        delete_row(Kind.ROLE, me.id, role.id, me.version, admin(db))
    other = user(db, "S0001", "staff", roles=["user_administrator"])
    off = set_row_active(Kind.ROLE, me.id, role.id, me.version, False, admin(db))
    assert off.row.status == "inactive"
    assert other.status == "active"


def test_the_system_changes_rows_too_and_the_source_is_recorded(db) -> None:
    from models.audit import Actor

    account = user(db)
    saved = add_row(
        Kind.NOTE, account.id, account.version, {"text": "by import"}, Actor(None, Source.IMPORT)
    )
    assert saved.row.created_by == "system"
    assert events_after(0)[-1].source == "import"


# --- Generating an identifier (issue 22, item 8; Esploro's Generate) ----------------------------


def test_the_identifiers_tab_generates_the_next_identifier_for_who_may_edit_them(db) -> None:
    from models.config.settings import load_settings, set_setting
    from models.users.idgen import generate_identifier

    account = user(db)
    set_setting("id_prefix", "G-")
    set_setting("id_next", 7)
    set_setting("id_digits", 3)
    add_row(Kind.IDENTIFIER, account.id, account.version, {"id_type": "BARCODE", "value": "G-007"},
            admin(db))  # fmt: skip
    # Taken by hand: skipped; the next number is reserved (a second ask gets another one).
    assert generate_identifier(account.id, admin(db)) == "G-008"
    assert generate_identifier(account.id, admin(db)) == "G-009"
    operator = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    with pytest.raises(PermissionDenied) as err:
        generate_identifier(account.id, operator)
    assert err.value.action == "edit_user"
    assert load_settings().id_next == 10  # refused before any number was reserved
