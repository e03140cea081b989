"""Merging two accounts of one organization into one (issue 24, item 3; Koha's patron merge).

Staff pick the account to keep; the other one (the merged account) goes, and everything about
it moves to the kept account first: identifiers (they stay findable: the merged account's
primary identifier becomes an additional identifier of the kept one), notes, blocks, fees with
their transactions, loans, letters, attachments, statistics, roles, proxies (both ways), set
memberships and History. Field by field, staff say which value wins (`merge_preview` lists
them): the kept account's, except where it has none and the other has one.

People and accounts (RERO ILS): a person may hold one account per organization, so two
accounts of one organization always belong to two people. A merge merges the *accounts* of the
actor's organization; the merged account's person goes with it when it has no account
elsewhere, and then its emails, phones and addresses and its login History move to the kept
person. A merged person who keeps an account in another organization stays, for that
organization (staff of one organization never change another's records): its emails, phones
and addresses are *copied* to the kept person, and its History says that an account of this
organization was merged, without naming the kept one.

Rules, all checked before any work, in one transaction, with optimistic locking on both
accounts (`ConflictError` when either changed since the preview):
- the right to merge users (User Manager, User Administrator) over the whole organization (a
  merge moves every library's fees and loans), on both accounts; both of the actor's
  organization; a role of the merged account the actor may not grant refuses the merge (it
  would be moved, as a role given);
- contact records (vendors) are not merged; an external account is merged only into an
  external account of the same source (otherwise the SIS would load it again);
- the deletion rules (`models.users.deletion_reasons`) decide whether the merged account may
  go, once its fees, loans and proxies have moved: `MergeRefused` lists every reason;
- both histories record the merge (`AuditAction.MERGE`).

Every column that refers to an account or a person is handled here, by "table.column"
(`ACCOUNT_REFERENCES`, `PERSON_REFERENCES`): each foreign key, and each id column kept without one
(History, jobs: `account_id`, `person_id`, `actor_id`). A column added later and not listed,
even beside one handled in the same table, refuses every merge (`unhandled_references`) and fails
tests/domain/test_merge.py, rather than its rows vanishing with the merged account unnoticed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from peewee import ForeignKeyField, IntegerField, IntegrityError

from models import audit
from models.access.permissions import (
    Action,
    authorize,
    authorize_grant,
    authorize_person,
    granting_roles,
)
from models.audit import Actor
from models.config.settings import load_settings
from models.enums import AuditAction, RecordType
from models.errors import ConflictError, NotFound, PatronDeskError, ValidationError
from models.runtime import runtime
from models.store.base import database
from models.store.tables import (
    Account,
    Address,
    Attachment,
    AuditEvent,
    Block,
    Email,
    Fee,
    FeeTransaction,
    Identifier,
    Letter,
    Loan,
    Note,
    Organization,
    Person,
    PersonPhoto,
    Phone,
    ProxyFor,
    RoleAssignment,
    Statistic,
    UserSetMember,
)
from models.text import printable
from models.users.deletion_reasons import active_administrators, deletion_problems
from models.users.derived import full_name
from models.users.details import general_form, write_general
from models.users.external import GENERAL_FIELDS, editable_fields, is_external
from models.users.fields import BY_NAME

KEEP, OTHER = "keep", "other"

# General-tab fields that are not chosen: the kept account's primary identifier stays (the
# other's becomes an additional identifier), as do the kept person's username and PIN (the
# login); the other person's login email is offered ("email") when that person goes.
NOT_CHOSEN = frozenset({"primary_id", "username", "pin"})
MERGE_FIELDS: tuple[str, ...] = tuple(f for f in GENERAL_FIELDS if f not in NOT_CHOSEN)

# How each column referring to an account or a person is handled, by "table.column" (the
# completeness test reads these): a foreign key, or an id column kept without one (History and
# jobs outlive the rows they name). A second column of a table handled is a column of its own.
ACCOUNT_REFERENCES: dict[str, str] = {
    "identifier.account": "moved; the merged primary identifier becomes an additional identifier",
    "note.account": "moved",
    "block.account": "moved",
    "statistic.account": "moved",
    "letter.account": "moved",
    "attachment.account": "moved",
    "loan.account": "moved",
    "fee.account": "moved, with its transactions",
    "proxy_for.account": "moved; a proxy of itself or one already there is dropped",
    "proxy_for.target": "moved; a proxy of itself or one already there is dropped",
    "role_assignment.account": "moved unless the kept account holds the role (same scope)",
    "user_set_member.account": "moved unless the kept account is in the set",
    "local_override.account": "goes: it marks the merged account's own SIS fields",
    "account_library.account": "goes: the libraries are General-tab fields, chosen field by field",
    "import_state.account": "goes: the merged account's last load",
    "audit_event.account_id": "moved: the merged account's History is the kept one's",
    "audit_event.actor_id": "stays: who acted, beside their name",
    "job.actor_id": "stays: who started the job, beside their name",
    "job_item.account_id": "stays: a job's member that has gone fails ('no longer exists'); an "
    "account given its freed id later is not taken for it (models.jobs)",
}
PERSON_REFERENCES: dict[str, str] = {
    "account.person": "the merged account goes; the person's other accounts stay",
    "email.person": "moved (or copied, when the person stays), an address already there dropped",
    "phone.person": "moved (or copied), a number already there dropped",
    "address.person": "moved (or copied), the same address dropped",
    "reset_code.person": "goes with the person (a code sent to the merged person)",
    "audit_event.person_id": "the person's login events move when the person goes",
    # A pair marked "not a duplicate" (models/duplicates/marks.py) names the merged person: it
    # goes with them (the mark was about two people who are now one, or about a third person
    # the kept one was never compared with).
    "person_photo.person": "moved to the kept person when they have none and the merged person "
    "goes; otherwise it stays with the merged person (and goes with them)",
    "duplicate_dismissal.person_low": "goes with the person (its 'not a duplicate' marks)",
    "duplicate_dismissal.person_high": "goes with the person (its 'not a duplicate' marks)",
}

# Id columns kept without a foreign key that name an account or a person (by their name).
_ID_COLUMNS = ("account_id", "person_id", "actor_id")

# What moves, in the order the preview and the command line say it.
LABELS: dict[str, str] = {
    "identifiers": "identifiers",
    "emails": "emails",
    "phones": "phones",
    "addresses": "addresses",
    "photo": "photo",
    "notes": "notes",
    "blocks": "blocks",
    "fees": "fines/fees",
    "fee_transactions": "fee transactions",
    "loans": "loans",
    "letters": "letters",
    "attachments": "attachments",
    "statistics": "statistics",
    "roles": "roles",
    "proxies": "proxies",
    "sets": "set memberships",
    "history": "History events",
}


class MergeRefused(PatronDeskError):
    """The merge cannot be done; `reasons` lists every reason, in words."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("These users cannot be merged: " + "; ".join(reasons) + ".")


@dataclass(frozen=True)
class Side:
    account_id: int
    version: int
    primary_id: str
    name: str
    record_type: str
    account_type: str
    owning_system: str


@dataclass(frozen=True)
class FieldChoice:
    name: str
    label: str
    keep: str  # the kept account's value, as shown ("" when it has none)
    other: str  # the other's
    winner: str  # KEEP or OTHER: the default (the other's where the kept one has none)
    fixed: str = ""  # why the other's value cannot be taken ("" when it can)

    @property
    def differs(self) -> bool:
        return self.keep != self.other


@dataclass(frozen=True)
class MergePreview:
    keep: Side
    other: Side
    fields: list[FieldChoice]
    moving: dict[str, int]  # LABELS key -> how many (with the choices given or the defaults)
    person_goes: bool  # the other person has no account elsewhere: it goes too
    refusals: list[str]  # why the merge would be refused now (empty: it would be done)
    field_errors: dict[str, str]  # a chosen value the checks refuse, by field

    @property
    def allowed(self) -> bool:
        return not self.refusals and not self.field_errors

    def defaults(self) -> dict[str, str]:
        return {f.name: f.winner for f in self.fields}

    def lines(self, choices: dict[str, str] | None = None) -> list[str]:
        """The preview in words (the command line's), every value made printable."""
        choices = {**self.defaults(), **(choices or {})}
        out = [
            f"Keep:  {printable(self.keep.primary_id)}  {printable(self.keep.name)}",
            f"Merge: {printable(self.other.primary_id)}  {printable(self.other.name)}",
            "Fields whose values differ (the value that wins is marked *):",
        ]
        for f in self.fields:
            if not f.differs:
                continue  # the same value on both sides: nothing to choose
            take_other = choices.get(f.name) == OTHER
            keep_mark, other_mark = (" ", "*") if take_other else ("*", " ")
            out.append(
                f"  {f.label}: {keep_mark}{printable(f.keep) or '—'}  |  "
                f"{other_mark}{printable(f.other) or '—'}"
            )
        moving = [f"{n} {LABELS[k]}" for k, n in self.moving.items() if n]
        out.append("Moves to the kept account: " + (", ".join(moving) or "nothing"))
        out.append(
            "The other person goes with the merged account."
            if self.person_goes
            else "The other person keeps an account in another organization: they stay, and "
            "their emails, phones and addresses are copied."
        )
        for name, message in self.field_errors.items():
            label = BY_NAME[name].label if name in BY_NAME else name
            out.append(f"Refused: {printable(label)}: {printable(message)}")
        out.extend(f"Refused: {printable(r)}" for r in self.refusals)
        return out


@dataclass(frozen=True)
class MergeResult:
    keep_id: int
    keep_primary_id: str
    other_primary_id: str
    moved: dict[str, int]
    person_deleted: bool
    taken: list[str]  # fields whose value came from the other account
    version: int  # the kept account's version after the merge

    def lines(self) -> list[str]:
        moved = [f"{n} {LABELS[k]}" for k, n in self.moved.items() if n]
        taken = ", ".join(BY_NAME[f].label for f in self.taken) or "none"
        return [
            f"Merged {printable(self.other_primary_id)} into {printable(self.keep_primary_id)}.",
            "Moved: " + (", ".join(moved) or "nothing"),
            f"Values taken from the merged account: {taken}",
            "The merged person was deleted."
            if self.person_deleted
            else "The merged person stays for their account in another organization.",
        ]


def _references() -> list[tuple[str, str]]:
    """Every column that refers to an account or a person: ("table.column", "account" or
    "person"). Foreign keys by their backrefs; id columns without one by their name."""
    from models.store.tables import ALL_TABLES

    out = [
        (f"{fk.model._meta.table_name}.{fk.name}", model._meta.table_name)
        for model in (Account, Person)
        for fk in model._meta.backrefs
    ]
    for table in ALL_TABLES:
        for name, field in table._meta.fields.items():
            if (
                isinstance(field, IntegerField)
                and not isinstance(field, ForeignKeyField)
                and (name in _ID_COLUMNS or name.endswith(tuple("_" + c for c in _ID_COLUMNS)))
            ):
                refers = "person" if name.endswith("person_id") else "account"
                out.append((f"{table._meta.table_name}.{name}", refers))
    return out


def unhandled_references() -> list[str]:
    """Columns referring to an account or a person that this module does not handle."""
    handled = {"account": ACCOUNT_REFERENCES, "person": PERSON_REFERENCES}
    return sorted(
        {
            f"{column} → {refers}"
            for column, refers in _references()
            if column not in handled[refers]
        }
    )


# --- Reading ------------------------------------------------------------------------------------


def _load(account_id: int) -> Account:
    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        raise NotFound("This user no longer exists: another staff user may have deleted it.")
    return account


def _side(account: Account) -> Side:
    return Side(
        account_id=account.id,
        version=account.version,
        primary_id=account.primary_id,
        name=full_name(account.person),
        record_type=account.record_type,
        account_type=account.account_type,
        owning_system=account.owning_system,
    )


def _person_goes(other: Account) -> bool:
    return (
        not Account.select()
        .where((Account.person == other.person_id) & (Account.id != other.id))
        .exists()
    )


def _authorize(actor: Actor, keep: Account, other: Account) -> None:
    """Every check that needs no change, before any work: `PermissionDenied` or
    `MergeRefused`."""
    for account in (keep, other):
        authorize(actor.account, Action.MERGE_USERS, account)
    if keep.organization_id != other.organization_id:
        raise MergeRefused(["the two users belong to different organizations"])
    if actor.account is not None and not any(
        r.scope_id is None for r in granting_roles(actor.account, Action.MERGE_USERS)
    ):
        raise MergeRefused(
            [
                "a merge moves every library's fees, loans and notes: it takes the right to "
                "merge users over the whole organization, not one library"
            ]
        )
    for assignment in RoleAssignment.select().where(RoleAssignment.account == other.id):
        authorize_grant(actor.account, assignment.role)  # a role moved is a role given
    reasons = []
    if keep.id == other.id:
        reasons.append("a user cannot be merged with itself")
    if RecordType.CONTACT in (keep.record_type, other.record_type):
        reasons.append("contact records are reserved for vendors and are not merged")
    if is_external(other) and not (
        is_external(keep) and (keep.owning_system or "") == (other.owning_system or "")
    ):
        source = printable(other.owning_system or "a SIS")
        reasons.append(
            f"the merged account is external (from {source}): it is merged only into an "
            "external account of the same source, or the next SIS load would create it again"
        )
    if reasons:
        raise MergeRefused(reasons)


def _shown(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


def _choices(
    actor: Actor, keep: Account, other: Account, person_goes: bool
) -> tuple[list[FieldChoice], dict[str, Any]]:
    """The field list, and the other's values in the General tab's input format."""
    keep_values = general_form(keep.id, actor).values
    other_values = general_form(other.id, actor).values
    allowed = editable_fields(keep)
    out = []
    for name in MERGE_FIELDS:
        mine, theirs = keep_values.get(name), other_values.get(name)
        fixed = ""
        if name not in allowed:
            fixed = "comes from the student information system of the kept account"
        elif name == "email" and not person_goes:
            fixed = "is the other person's login, kept for their account in another organization"
        winner = OTHER if (not fixed and _empty(mine) and not _empty(theirs)) else KEEP
        out.append(
            FieldChoice(
                name=name,
                label=BY_NAME[name].label,
                keep=_shown(name, mine),
                other=_shown(name, theirs),
                winner=winner,
                fixed=fixed,
            )
        )
    return out, other_values


# --- The merge ----------------------------------------------------------------------------------


def merge_preview(
    actor: Actor, keep_id: int, other_id: int, choices: dict[str, str] | None = None
) -> MergePreview:
    """What a merge of `other_id` into `keep_id` would do: the fields with the value that wins
    by default, what would move, and every reason it would be refused. The merge is tried in a
    transaction that is rolled back (nothing is kept), so the preview says exactly what
    `merge` would do with these choices (the defaults when None). Refuses (`PermissionDenied`,
    `MergeRefused`) what no choice can change."""
    keep, other = _load(keep_id), _load(other_id)
    refusals: list[str] = []
    try:
        _authorize(actor, keep, other)
    except MergeRefused as exc:  # said in the preview; `PermissionDenied` is raised
        refusals = exc.reasons
    person_goes = _person_goes(other)
    fields, _ = _choices(actor, keep, other, person_goes)
    chosen = {f.name: f.winner for f in fields}
    chosen.update(choices or {})
    moving: dict[str, int] = {}
    field_errors: dict[str, str] = {}
    try:
        if refusals:
            raise _Trial
        with database.atomic():
            result = _merge(actor, keep, other, chosen, keep.version, other.version)
            moving = result.moved
            raise _Trial
    except _Trial:
        pass
    except MergeRefused as exc:
        refusals = exc.reasons
    except ValidationError as exc:
        field_errors = exc.errors
    except PatronDeskError as exc:
        refusals = [exc.message]
    except IntegrityError:  # a row added meanwhile, as `merge` says it
        refusals = [ConflictError("another staff user", "this moment").message]
    if not moving:
        moving = _counts(keep, other)
    return MergePreview(
        keep=_side(keep),
        other=_side(other),
        fields=fields,
        moving=moving,
        person_goes=person_goes,
        refusals=refusals,
        field_errors=field_errors,
    )


class _Trial(Exception):  # noqa: N818 - not an error: ends the preview's transaction
    pass


def merge(
    actor: Actor,
    keep_id: int,
    other_id: int,
    choices: dict[str, str],
    keep_version: int,
    other_version: int,
) -> MergeResult:
    """Merge `other_id` into `keep_id` in one transaction (see the module's doc). `choices`:
    field -> KEEP or OTHER (a field not given: the default of the preview). The versions are
    those the preview read: a change since refuses the merge (`ConflictError`)."""
    keep, other = _load(keep_id), _load(other_id)
    _authorize(actor, keep, other)
    try:
        with database.atomic():
            keep, other = _load(keep_id), _load(other_id)
            _authorize(actor, keep, other)  # again, inside: nothing changed in between
            return _merge(actor, keep, other, choices, keep_version, other_version)
    except IntegrityError:
        # Something was added meanwhile that the merge would have duplicated.
        raise ConflictError("another staff user", "this moment") from None


def _merge(
    actor: Actor,
    keep: Account,
    other: Account,
    choices: dict[str, str],
    keep_version: int,
    other_version: int,
) -> MergeResult:
    if problems := unhandled_references():
        raise MergeRefused([f"PatronDesk does not know how to merge {p}" for p in problems])
    person_goes = _person_goes(other)
    fields, other_values = _choices(actor, keep, other, person_goes)
    by_name = {f.name: f for f in fields}
    wrong = {n: "is not a field a merge chooses" for n in choices if n not in by_name}
    wrong.update(
        {n: f"is {KEEP!r} or {OTHER!r}" for n, c in choices.items() if c not in (KEEP, OTHER)}
    )
    wrong.update(
        {n: by_name[n].fixed for n, c in choices.items() if c == OTHER and by_name.get(n)
         and by_name[n].fixed}
    )  # fmt: skip
    if wrong:
        raise ValidationError(wrong)
    chosen = {f.name: choices.get(f.name, f.winner) for f in fields}
    taken = [n for n, c in chosen.items() if c == OTHER and by_name[n].differs]
    # Optimistic locking on both, and their row locks, before anything moves.
    from models.users.accounts import save_versioned

    save_versioned(keep, keep_version, {}, actor)
    save_versioned(other, other_version, {}, actor)
    version = keep_version + 1
    administrators = active_administrators(keep.organization_id)
    moved = _move_account_rows(actor, keep, other)
    moved.update(_move_person_rows(actor, keep, other, person_goes))
    moved["history"] = _move_history(keep, other, person_goes)
    if reasons := deletion_problems(other, actor):
        raise MergeRefused([f"the merged account cannot go: {r}" for r in reasons])
    if administrators and not active_administrators(keep.organization_id):
        # The deletion rule of the last administrator, on what the merge leaves: the role
        # moved to a kept account that cannot use it (inactive) is no administrator.
        raise MergeRefused(
            [
                "the merged account is the organization's last active User Administrator, "
                "and the kept account is not active: the organization would have none"
            ]
        )
    settings = load_settings()
    general = {n: other_values[n] for n in taken if n != "email"}
    if general:
        keep = write_general(_load(keep.id), version, general, actor, settings)
        version = keep.version
    other_id, other_person, other_primary = other.id, other.person_id, other.primary_id
    Account.delete().where(Account.id == other_id).execute()  # the rest cascades
    if person_goes:
        Person.delete().where(Person.id == other_person).execute()
    if "email" in taken:  # the login email, free once its person has gone
        keep = write_general(_load(keep.id), version, {"email": other_values["email"]}, actor,
                             settings)  # fmt: skip
        version = keep.version
    _record(actor, _load(keep.id), other_id, other_person, other_primary, moved, person_goes)
    return MergeResult(
        keep_id=keep.id,
        keep_primary_id=keep.primary_id,
        other_primary_id=other_primary,
        moved=moved,
        person_deleted=person_goes,
        taken=taken,
        version=_load(keep.id).version,
    )


def _counts(keep: Account, other: Account) -> dict[str, int]:
    """What belongs to the other account (before a merge), for a preview that was refused."""
    o, p = other.id, other.person_id
    fees = Fee.select(Fee.id).where(Fee.account == o)
    return {
        "identifiers": Identifier.select().where(Identifier.account == o).count(),
        "emails": Email.select().where(Email.person == p).count(),
        "phones": Phone.select().where(Phone.person == p).count(),
        "addresses": Address.select().where(Address.person == p).count(),
        "photo": PersonPhoto.select().where(PersonPhoto.person == p).count(),
        "notes": Note.select().where(Note.account == o).count(),
        "blocks": Block.select().where(Block.account == o).count(),
        "fees": fees.count(),
        "fee_transactions": FeeTransaction.select().where(FeeTransaction.fee.in_(fees)).count(),
        "loans": Loan.select().where(Loan.account == o).count(),
        "letters": Letter.select().where(Letter.account == o).count(),
        "attachments": Attachment.select().where(Attachment.account == o).count(),
        "statistics": Statistic.select().where(Statistic.account == o).count(),
        "roles": RoleAssignment.select().where(RoleAssignment.account == o).count(),
        "proxies": ProxyFor.select()
        .where((ProxyFor.account == o) | (ProxyFor.target == o))
        .count(),
        "sets": UserSetMember.select().where(UserSetMember.account == o).count(),
        "history": AuditEvent.select().where(AuditEvent.account_id == o).count(),
    }


def _move_account_rows(actor: Actor, keep: Account, other: Account) -> dict[str, int]:
    k, o = keep.id, other.id
    moved: dict[str, int] = {}
    # The other's primary identifier stays findable, as an additional identifier of the kept.
    moved["identifiers"] = (
        Identifier.update(account=k, is_primary=False).where(Identifier.account == o).execute()
    )
    for key, model in (("notes", Note), ("blocks", Block)):
        moved[key] = model.update(account=k).where(model.account == o).execute()
    fees = [f.id for f in Fee.select(Fee.id).where(Fee.account == o)]
    moved["fees"] = Fee.update(account=k).where(Fee.account == o).execute()
    moved["fee_transactions"] = (
        FeeTransaction.select().where(FeeTransaction.fee.in_(fees)).count() if fees else 0
    )
    for key, model in (
        ("loans", Loan),
        ("letters", Letter),
        ("attachments", Attachment),
        ("statistics", Statistic),
    ):
        moved[key] = model.update(account=k).where(model.account == o).execute()
    moved["roles"] = _move_roles(keep, other)
    moved["proxies"] = _move_proxies(keep, other)
    held = UserSetMember.select(UserSetMember.user_set).where(UserSetMember.account == k)
    UserSetMember.delete().where(
        (UserSetMember.account == o) & UserSetMember.user_set.in_(held)
    ).execute()
    moved["sets"] = UserSetMember.update(account=k).where(UserSetMember.account == o).execute()
    return moved


def _move_roles(keep: Account, other: Account) -> int:
    held = {
        (r.role, r.scope_id)
        for r in RoleAssignment.select().where(RoleAssignment.account == keep.id)
    }  # noqa: E501
    count = 0
    for r in list(RoleAssignment.select().where(RoleAssignment.account == other.id)):
        if (r.role, r.scope_id) in held:
            continue  # the kept account holds it: it goes with the merged account
        RoleAssignment.update(account=keep.id).where(RoleAssignment.id == r.id).execute()
        held.add((r.role, r.scope_id))
        count += 1
    return count


def _move_proxies(keep: Account, other: Account) -> int:
    k, o = keep.id, other.id
    count = 0
    for row in list(ProxyFor.select().where(ProxyFor.account == o)):
        there = ProxyFor.select().where(
            (ProxyFor.account == k) & (ProxyFor.target == row.target_id)
        )
        if row.target_id != k and not there.exists():
            ProxyFor.update(account=k).where(ProxyFor.id == row.id).execute()
            count += 1
    for row in list(ProxyFor.select().where(ProxyFor.target == o)):
        there = ProxyFor.select().where(
            (ProxyFor.account == row.account_id) & (ProxyFor.target == k)
        )
        if row.account_id != k and not there.exists():
            ProxyFor.update(target=k).where(ProxyFor.id == row.id).execute()
            count += 1
    return count  # the rest (a proxy of itself, one already there) goes with the merged account


def _address_key(a: Address) -> tuple:
    return tuple(
        (getattr(a, n) or "").casefold()
        for n in ("line1", "line2", "line3", "line4", "line5", "city", "postal_code", "country")
    )


def _move_person_rows(
    actor: Actor, keep: Account, other: Account, person_goes: bool
) -> dict[str, int]:
    """The other person's emails, phones and addresses to the kept person: moved when the
    other person goes, copied when it stays; one the kept person has already is left out."""
    kp, op = keep.person_id, other.person_id
    emails = {e.address_key for e in Email.select().where(Email.person == kp)}
    numbers = {p.number for p in Phone.select().where(Phone.person == kp)}
    addresses = {_address_key(a) for a in Address.select().where(Address.person == kp)}
    new_emails = [
        e for e in Email.select().where(Email.person == op) if e.address_key not in emails
    ]
    new_phones = [p for p in Phone.select().where(Phone.person == op) if p.number not in numbers]
    new_addresses = [
        a for a in Address.select().where(Address.person == op) if _address_key(a) not in addresses
    ]
    rows: list = [*new_emails, *new_phones, *new_addresses]
    if not rows:
        return {"emails": 0, "phones": 0, "addresses": 0}
    # The kept person's contact rows change: the rule of contact rows shared across
    # organizations applies (a person who is staff elsewhere is changed by them only).
    authorize_person(actor.account, kp, Action.EDIT_CONTACT)
    ids = {"account_id": keep.id, "person_id": kp}
    has_preferred = {
        Email: Email.select().where((Email.person == kp) & Email.preferred).exists(),
        Phone: Phone.select().where((Phone.person == kp) & Phone.preferred).exists(),
        Address: Address.select().where((Address.person == kp) & Address.preferred).exists(),
    }
    for row in rows:
        model = type(row)
        data = {n: getattr(row, n) for n in model._meta.fields if n not in ("id", "person")}
        data["person"] = kp
        if has_preferred[model]:
            data["preferred"] = False  # the kept person's preferred stays preferred
            if model is Phone:
                data["preferred_sms"] = False
        if person_goes:
            model.update(**data).where(model.id == row.id).execute()
            moved_row = model.get_by_id(row.id)
        else:
            moved_row = model.create(**data)
        audit.record_changes(actor, moved_row, None, audit.snapshot(moved_row), **ids)
    moved_photo = 0
    if person_goes and not PersonPhoto.select().where(PersonPhoto.person == kp).exists():
        moved_photo = PersonPhoto.update(person=kp).where(PersonPhoto.person == op).execute()
    now = runtime.now()
    # The person's data changed: their version, and that of their other accounts, move on.
    Person.update(version=Person.version + 1, updated_at=now).where(Person.id == kp).execute()
    Account.update(version=Account.version + 1, updated_by=actor.name, updated_at=now).where(
        (Account.person == kp) & (Account.id != keep.id)
    ).execute()
    return {
        "emails": len(new_emails),
        "phones": len(new_phones),
        "addresses": len(new_addresses),
        "photo": moved_photo,
    }


def _move_history(keep: Account, other: Account, person_goes: bool) -> int:
    """The merged account's History (and, when its person goes, the person's login events)
    becomes the kept account's."""
    count = (
        AuditEvent.update(account_id=keep.id, person_id=keep.person_id)
        .where(AuditEvent.account_id == other.id)
        .execute()
    )
    if person_goes:
        count += (
            AuditEvent.update(person_id=keep.person_id)
            .where((AuditEvent.person_id == other.person_id) & AuditEvent.account_id.is_null())
            .execute()
        )
    return count


def _record(
    actor: Actor,
    keep: Account,
    other_id: int,
    other_person: int,
    other_primary: str,
    moved: dict[str, int],
    person_goes: bool,
) -> None:
    """Both histories say so: the kept account's (which now holds the merged one's), with what
    moved; and, when the merged person stays for another organization, theirs (without naming
    the kept account: another organization's staff read it)."""
    ids = {"account_id": keep.id, "person_id": keep.person_id}
    audit.record(actor, AuditAction.MERGE, entity="account", entity_id=other_id, field="merged",
                 old=other_primary, new=keep.primary_id, **ids)  # fmt: skip
    for key, count in moved.items():
        if count and key != "history":
            audit.record(actor, AuditAction.MERGE, entity="account", entity_id=other_id,
                         field=key, old=other_primary, new=f"{count} moved", **ids)  # fmt: skip
    if not person_goes:
        org = Organization.get_by_id(keep.organization_id)
        audit.record(actor, AuditAction.MERGE, entity="account", entity_id=other_id,
                     field="merged", old=f"an account of {org.code}",
                     new="merged into another account of that organization", account_id=None,
                     person_id=other_person)  # fmt: skip


def account_by_primary_id(value: str, actor: Actor) -> Account:
    """The account whose primary identifier is `value` (the command line's KEEP and OTHER),
    within the actor's view."""
    from models.store.base import fold_key

    account = Account.get_or_none(Account.primary_id_key == fold_key((value or "").strip()))
    if account is None or (
        actor.account is not None and account.organization_id != actor.account.organization_id
    ):
        raise NotFound(f"No user has the primary identifier {printable(value)!r}.")
    return account


def account_by_identifier(value: str, actor: Actor) -> int:
    """The account any of whose identifiers is `value` (Find Users' "Merge with…"), among the
    users the actor may view; `NotFound` otherwise (an account out of view is not named)."""
    from models.access.permissions import can
    from models.users.lookups import identifier_holder

    text = (value or "").strip()
    account = identifier_holder(text) if text else None
    if account is None or not can(actor.account, Action.VIEW_USER, account):
        raise NotFound(f"No user of this organization has the identifier {printable(text)!r}.")
    return account.id


__all__ = [
    "account_by_identifier",
    "ACCOUNT_REFERENCES",
    "KEEP",
    "MERGE_FIELDS",
    "OTHER",
    "PERSON_REFERENCES",
    "FieldChoice",
    "MergePreview",
    "MergeRefused",
    "MergeResult",
    "Side",
    "account_by_primary_id",
    "merge",
    "merge_preview",
    "unhandled_references",
]
