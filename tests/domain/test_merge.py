"""Merging two users (issue 24, item 3; models/users/merge.py): everything of the merged account
moves to the kept one in one transaction, field by field the chosen value wins, identifiers stay
findable, both histories say so; refusals (permission, organization, scope, roles, external
source, deletion rules, a change since the preview) leave both untouched. Both back ends."""

from __future__ import annotations

import datetime as dt

import pytest
from peewee import ForeignKeyField

from models.access.permissions import Action, can
from models.audit import Actor
from models.config.seed import seed_code_tables
from models.enums import AccountType, Role, Source, Status
from models.errors import ConflictError, PermissionDenied, ValidationError
from models.fees.fees import add_fee, pay_fee
from models.runtime import runtime
from models.search.engine import UserQuery, search_users
from models.store.base import BaseModel
from models.store.tables import (
    Account,
    AuditEvent,
    Email,
    Fee,
    FeeTransaction,
    Identifier,
    Library,
    Loan,
    Note,
    Organization,
    Person,
    Phone,
    ProxyFor,
    RoleAssignment,
)
from models.users.accounts import NewUser, create_user
from models.users.details import update_user
from models.users.history import history
from models.users.merge import (
    KEEP,
    OTHER,
    MergeRefused,
    merge,
    merge_preview,
    unhandled_references,
)
from tests.helpers.details import admin, as_staff, future, user

SYSTEM = Actor(None, Source.JOB)


def loan(account, barcode: str = "I-1") -> Loan:
    return Loan.create(account=account, item_barcode=barcode, title="Moby-Dick",
                       due_date=runtime.today() + dt.timedelta(days=7))  # fmt: skip


def found(db, text: str) -> list[int]:
    return [r.account_id for r in search_users(db.organization.id, UserQuery(text=text)).rows]


def do_merge(db, keep, other, actor=None, choices=None):  # noqa: ANN001, ANN201
    actor = actor or admin(db)
    preview = merge_preview(actor, keep.id, other.id)
    return merge(actor, keep.id, other.id, choices or preview.defaults(),
                 preview.keep.version, preview.other.version)  # fmt: skip


def other_organization() -> Organization:
    org = Organization.create(code="OTHER", name="Other organization")
    Library.create(organization=org, code="OL", name="Other library")
    seed_code_tables(org)
    return org


# --- Done when ----------------------------------------------------------------------------------


def test_a_fee_and_a_loan_of_the_merged_user_are_found_in_the_kept_account_with_history(
    db,
) -> None:
    kept = user(db, "P0001", first_name="Anna", last_name="Müller", birth_date="1990-04-01")
    merged = user(db, "P0002", first_name="Anna", last_name="Mueller", identifier="BC-0002",
                  phone="+41 44 268 10 00")  # fmt: skip
    fee = add_fee(merged.id, admin(db), fee_type="LOST_ITEM", amount="12.50")
    pay_fee(fee.id, admin(db), amount="2.50", method="cash")
    lent = loan(merged)
    preview = merge_preview(admin(db), kept.id, merged.id)
    assert preview.allowed and preview.person_goes
    assert (preview.moving["fees"], preview.moving["loans"]) == (1, 1)
    assert Fee.get_by_id(fee.id).account_id == merged.id  # the preview moved nothing

    result = merge(admin(db), kept.id, merged.id, preview.defaults(), preview.keep.version,
                   preview.other.version)  # fmt: skip

    assert Fee.get_by_id(fee.id).account_id == kept.id
    assert FeeTransaction.select().where(FeeTransaction.fee == fee.id).count() == 2
    assert Loan.get_by_id(lent.id).account_id == kept.id
    assert Account.get_or_none(Account.id == merged.id) is None
    assert Person.get_or_none(Person.id == merged.person_id) is None
    assert (result.moved["fees"], result.moved["loans"], result.person_deleted) == (1, 1, True)
    # Identifiers of the merged account stay findable: they find the kept one.
    assert found(db, "P0002") == [kept.id]
    assert found(db, "BC-0002") == [kept.id]
    assert Phone.select().where(Phone.person == kept.person_id).count() == 1
    # History says so: the merge on the kept account, the merged account's own events with it.
    rows = history(kept.id, admin(db), "all")
    merges = [(r.field, r.old, r.new) for r in rows if r.action == "merge"]
    assert ("merged", "P0002", "P0001") in merges
    assert ("fees", "P0002", "1 moved") in merges and ("loans", "P0002", "1 moved") in merges
    assert any(r.entity == "fee" and r.action == "create" for r in rows)  # the fee's own event
    assert any(r.entity == "person" and r.new == "Mueller" for r in rows)  # the merged's creation


# --- Fields -------------------------------------------------------------------------------------


def test_the_other_value_wins_where_the_kept_record_has_none_and_choices_override(db) -> None:
    kept = user(db, "P0001", middle_name="", job_description="Reader", gender="female")
    merged = user(db, "P0002", middle_name="Maria", job_description="Student", gender="male",
                  birth_date="1990-04-01")  # fmt: skip
    preview = merge_preview(admin(db), kept.id, merged.id)
    winners = {f.name: f.winner for f in preview.fields}
    assert winners["middle_name"] == OTHER and winners["birth_date"] == OTHER
    assert winners["job_description"] == KEEP and winners["gender"] == KEEP
    choices = {**preview.defaults(), "gender": OTHER, "middle_name": KEEP}
    result = merge(admin(db), kept.id, merged.id, choices, preview.keep.version,
                   preview.other.version)  # fmt: skip
    person = Person.get_by_id(kept.person_id)
    assert (person.middle_name, person.gender, person.birth_date) == (
        "", "male", dt.date(1990, 4, 1))  # fmt: skip
    assert Account.get_by_id(kept.id).job_description == "Reader"
    assert set(result.taken) >= {"gender", "birth_date", "email"} - {"email"}


def test_a_wrong_choice_is_said_at_its_field_and_nothing_moves(db) -> None:
    kept, merged = user(db, "P0001"), user(db, "P0002")
    note = Note.create(account=merged, text="Keep me")
    preview = merge_preview(admin(db), kept.id, merged.id)
    with pytest.raises(ValidationError) as err:
        merge(admin(db), kept.id, merged.id, {"first_name": "both", "password": OTHER},
              preview.keep.version, preview.other.version)  # fmt: skip
    assert set(err.value.errors) == {"first_name", "password"}
    assert Note.get_by_id(note.id).account_id == merged.id


def test_a_value_the_checks_refuse_is_said_in_the_preview_and_refuses_the_merge(db) -> None:
    kept = user(db, "P0001", expiry_date="")
    merged = user(db, "P0002")
    Account.update(expiry_date=runtime.today() - dt.timedelta(days=3)).where(
        Account.id == merged.id).execute()  # fmt: skip
    Account.update(expiry_date=None).where(Account.id == kept.id).execute()
    preview = merge_preview(admin(db), kept.id, merged.id)
    assert [f.winner for f in preview.fields if f.name == "expiry_date"] == [OTHER]
    assert "expiry_date" in preview.field_errors and not preview.allowed
    with pytest.raises(ValidationError):
        merge(admin(db), kept.id, merged.id, preview.defaults(), preview.keep.version,
              preview.other.version)  # fmt: skip
    assert Account.get_or_none(Account.id == merged.id) is not None
    # Keeping the kept account's (empty) date merges.
    fine = merge_preview(admin(db), kept.id, merged.id, {"expiry_date": KEEP})
    assert fine.allowed


def test_the_login_email_of_a_merged_person_who_goes_fills_an_empty_one(db) -> None:
    kept = user(db, "P0001")
    Person.update(email=None, email_key=None).where(Person.id == kept.person_id).execute()
    Email.delete().where(Email.person == kept.person_id).execute()
    merged = user(db, "P0002", email="anna.m@example.org")
    result = do_merge(db, kept, merged)
    assert "email" in result.taken
    assert Person.get_by_id(kept.person_id).email == "anna.m@example.org"
    assert Email.select().where(Email.person == kept.person_id).count() == 1


# --- Rows ---------------------------------------------------------------------------------------


def test_roles_proxies_and_contacts_move_once(db) -> None:
    kept = user(db, "P0001", email="same@example.org")
    merged = user(db, "P0002", email="other@example.org")
    Email.create(person=merged.person_id, address="same@example.org",
                 address_key="same@example.org", email_type="work")  # fmt: skip
    sponsor = user(db, "P0003")
    helper = user(db, "P0004")
    ProxyFor.create(account=merged, target=sponsor)  # merged acts for the sponsor
    ProxyFor.create(account=kept, target=sponsor)  # so does kept: one row stays
    ProxyFor.create(account=helper, target=merged)  # helper acts for merged: now for kept
    ProxyFor.create(account=kept, target=merged)  # kept for merged: would be for itself
    RoleAssignment.create(account=merged, role=Role.CIRCULATION_DESK_OPERATOR.value)
    result = do_merge(db, kept, merged)
    assert result.moved["roles"] == 1  # Patron is held already
    roles = sorted(r.role for r in RoleAssignment.select().where(RoleAssignment.account == kept))
    assert roles == ["circulation_desk_operator", "patron"]
    pairs = {(p.account_id, p.target_id) for p in ProxyFor.select()}
    assert pairs == {(kept.id, sponsor.id), (helper.id, kept.id)}
    addresses = sorted(e.address for e in Email.select().where(Email.person == kept.person_id))
    assert addresses == ["other@example.org", "same@example.org"]
    preferred = [e.address for e in Email.select().where(
        (Email.person == kept.person_id) & Email.preferred)]  # fmt: skip
    assert preferred == ["same@example.org"]
    primary = Identifier.get(Identifier.value == "P0002")
    assert (primary.account_id, primary.is_primary) == (kept.id, False)


def test_a_person_with_an_account_elsewhere_stays_and_their_contacts_are_copied(db) -> None:
    kept = user(db, "P0001")
    merged = user(db, "P0002", phone="+41 44 268 10 00")
    org = other_organization()
    elsewhere = create_user(
        NewUser(last_name="Müller", primary_id="OTHER-1", person_id=merged.person_id,
                user_group="PUBLIC", expiry_date=future()),
        SYSTEM, org,
    )  # fmt: skip
    preview = merge_preview(admin(db), kept.id, merged.id)
    assert not preview.person_goes
    assert [f.fixed != "" for f in preview.fields if f.name == "email"] == [True]
    result = do_merge(db, kept, merged)
    assert result.person_deleted is False
    assert Account.get_by_id(elsewhere.id).person_id == merged.person_id
    assert Phone.select().where(Phone.person == merged.person_id).count() == 1  # theirs stays
    assert Phone.select().where(Phone.person == kept.person_id).count() == 1  # a copy
    # The other organization's History of that person says so, without naming the kept one.
    said = [(r.field, r.old, r.new) for r in history(elsewhere.id, SYSTEM, "all")
            if r.action == "merge"]  # fmt: skip
    assert said == [("merged", f"an account of {db.organization.code}",
                     "merged into another account of that organization")]  # fmt: skip


# --- Refusals -----------------------------------------------------------------------------------


def test_a_change_since_the_preview_refuses_the_merge(db) -> None:
    kept, merged = user(db, "P0001"), user(db, "P0002")
    loan(merged)
    preview = merge_preview(admin(db), kept.id, merged.id)
    update_user(merged.id, preview.other.version, {"job_description": "Changed"}, admin(db))
    with pytest.raises(ConflictError):
        merge(admin(db), kept.id, merged.id, preview.defaults(), preview.keep.version,
              preview.other.version)  # fmt: skip
    assert Loan.select().where(Loan.account == merged).count() == 1


def test_the_deletion_rules_decide_whether_the_merged_account_may_go(db) -> None:
    manager = as_staff(db, Role.USER_MANAGER)
    kept = user(db, "P0001")
    note = Note.create(account=manager.account, text="mine")
    preview = merge_preview(manager, kept.id, manager.account.id)
    assert any("your own account" in r for r in preview.refusals)
    with pytest.raises(MergeRefused) as err:
        merge(manager, kept.id, manager.account.id, preview.defaults(), preview.keep.version,
              preview.other.version)  # fmt: skip
    assert any("you cannot delete your own account" in r for r in err.value.reasons)
    assert Note.get_by_id(note.id).account_id == manager.account.id  # nothing moved


def test_accounts_of_two_organizations_are_not_merged(db) -> None:
    kept = user(db, "P0001")
    org = other_organization()
    far = create_user(NewUser(first_name="Fay", last_name="Far", primary_id="OTHER-1",
                              email="far@example.org", user_group="PUBLIC",
                              expiry_date=future()), SYSTEM, org)  # fmt: skip
    with pytest.raises(MergeRefused) as err:
        merge(SYSTEM, kept.id, far.id, {}, kept.version, far.version)
    assert err.value.reasons == ["the two users belong to different organizations"]
    with pytest.raises(PermissionDenied):
        merge_preview(admin(db), kept.id, far.id)


def test_an_external_account_is_merged_only_into_one_of_the_same_source(db) -> None:
    internal, sis, other_sis = user(db, "P0001"), user(db, "P0002"), user(db, "P0003")
    Account.update(account_type=AccountType.EXTERNAL.value, owning_system="SIS").where(
        Account.id == sis.id).execute()  # fmt: skip
    Account.update(account_type=AccountType.EXTERNAL.value, owning_system="HR").where(
        Account.id == other_sis.id).execute()  # fmt: skip
    for keep in (internal, other_sis):
        preview = merge_preview(admin(db), keep.id, sis.id)
        assert any("same source" in r for r in preview.refusals)
        with pytest.raises(MergeRefused):
            merge(admin(db), keep.id, sis.id, {}, preview.keep.version, preview.other.version)
    twin = user(db, "P0004")
    Account.update(account_type=AccountType.EXTERNAL.value, owning_system="SIS").where(
        Account.id == twin.id).execute()  # fmt: skip
    result = do_merge(db, Account.get_by_id(twin.id), Account.get_by_id(sis.id))
    assert result.keep_id == twin.id
    # The SIS fields of the kept external account are not taken from the other.
    preview = merge_preview(admin(db), twin.id, internal.id)
    fixed = {f.name for f in preview.fields if f.fixed}
    assert {"first_name", "last_name", "birth_date"} <= fixed
    with pytest.raises(ValidationError) as err:
        merge(admin(db), twin.id, internal.id, {"first_name": OTHER}, preview.keep.version,
              preview.other.version)  # fmt: skip
    assert "student information system" in err.value.errors["first_name"]


def test_contact_records_are_not_merged(db) -> None:
    kept = user(db, "P0001")
    vendor = user(db, "V0001", record_type="contact", last_name="Books Ltd")
    preview = merge_preview(admin(db), kept.id, vendor.id)
    assert any("contact records" in r for r in preview.refusals)


@pytest.mark.parametrize(
    "role", [Role.CIRCULATION_DESK_MANAGER, Role.CIRCULATION_DESK_OPERATOR,
             Role.FULFILLMENT_SERVICES_OPERATOR, Role.PATRON],
)  # fmt: skip
def test_only_user_managers_and_administrators_merge_and_they_are_refused_first(
    db, role: Role
) -> None:
    actor = as_staff(db, role)
    kept, merged = user(db, "P0001"), user(db, "P0002")
    before = AuditEvent.select().count()
    with pytest.raises(PermissionDenied) as err:
        merge_preview(actor, kept.id, merged.id)
    assert err.value.action == Action.MERGE_USERS.value
    with pytest.raises(PermissionDenied):
        merge(actor, kept.id, merged.id, {}, kept.version, merged.version)
    assert AuditEvent.select().count() == before
    assert Account.get_by_id(kept.id).version == kept.version


def test_a_user_manager_merges_but_never_moves_a_role_above_their_own(db) -> None:
    manager = as_staff(db, Role.USER_MANAGER)
    assert can(manager.account, Action.MERGE_USERS)
    kept, merged = user(db, "P0001"), user(db, "P0002")
    # An inactive administrator role: not held now, but moving it would give it.
    RoleAssignment.create(account=merged, role=Role.USER_ADMINISTRATOR.value,
                          status=Status.INACTIVE.value)  # fmt: skip
    with pytest.raises(PermissionDenied):
        merge_preview(manager, kept.id, merged.id)
    with pytest.raises(PermissionDenied):
        merge(manager, kept.id, merged.id, {}, kept.version, merged.version)
    RoleAssignment.delete().where(RoleAssignment.account == merged).where(
        RoleAssignment.role == Role.USER_ADMINISTRATOR.value).execute()  # fmt: skip
    assert do_merge(db, kept, merged, manager).keep_id == kept.id


def test_a_user_manager_scoped_to_one_library_may_not_merge(db) -> None:
    branch = Library.create(organization=db.organization, code="BRANCH", name="Branch")
    manager = as_staff(db, Role.USER_MANAGER)
    RoleAssignment.update(scope=branch).where(
        (RoleAssignment.account == manager.account) & (RoleAssignment.role == "user_manager")
    ).execute()  # fmt: skip
    manager = Actor(Account.get_by_id(manager.account.id), Source.SCREEN)
    kept, merged = user(db, "P0001"), user(db, "P0002")
    preview = merge_preview(manager, kept.id, merged.id)
    assert any("whole organization" in r for r in preview.refusals)


def test_every_table_referring_to_an_account_or_a_person_is_handled(db) -> None:
    assert unhandled_references() == []

    class Sticker(BaseModel):  # a table added later, that merge does not know
        account = ForeignKeyField(Account, backref="stickers", on_delete="CASCADE")

    try:
        assert unhandled_references() == ["sticker.account → account"]
        kept, merged = user(db, "P0001"), user(db, "P0002")
        with pytest.raises(MergeRefused) as err:
            do_merge(db, kept, merged)
        assert "sticker.account" in err.value.reasons[0]
    finally:
        Sticker._meta.remove_ref(Sticker._meta.fields["account"])
        delattr(Account, "stickers")
    assert unhandled_references() == []


def test_the_merged_persons_photo_moves_to_a_kept_person_without_one(db, tmp_path) -> None:
    """The photo (issue 25) is a person's: it moves when the kept person has none and the
    merged person goes."""
    from models.store.tables import PersonPhoto
    from models.users.photos import set_photo
    from tests.helpers.pictures import camera_jpeg, write

    kept, merged = user(db, "P0001"), user(db, "P0002")
    set_photo(merged.id, merged.version, write(tmp_path / "o.jpg", camera_jpeg()), admin(db))
    preview = merge_preview(admin(db), kept.id, merged.id)
    assert preview.allowed and preview.moving["photo"] == 1
    do_merge(db, kept, merged)
    assert PersonPhoto.select().where(PersonPhoto.person == kept.person_id).count() == 1
    assert PersonPhoto.select().count() == 1
