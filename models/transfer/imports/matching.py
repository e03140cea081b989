"""The importer's checks of a chunk against the database and the rest of the file."""

from __future__ import annotations

from models.access.permissions import (
    Action,
    authorize,
    authorize_grant,
    authorize_person,
)
from models.enums import (
    AccountType,
    RecordType,
    Role,
)
from models.errors import PermissionDenied
from models.store.base import fold_key
from models.store.tables import (
    Account,
    Person,
)
from models.text import username_skeleton
from models.transfer.imports.checking import look_alikes
from models.transfer.imports.preview import _here, _lookup, _who, _who_person
from models.transfer.imports.updating import _CONTACT_KINDS, _LOGIN
from models.users.derived import default_username


class _Matching:
    """Methods of `Importer` (models/transfer/imports/importer.py)."""

    # -- checks against the database and the file --

    def _taken(self, records: list[dict]) -> tuple[dict, dict, dict]:
        id_keys, usernames, emails = set(), set(), set()
        looks: set[str] = set()  # the skeletons of usernames that look like these (issue 18)
        for rec in records:
            if rec["refused"]:
                continue
            id_keys.add(rec["key"])
            id_keys.update(r["value_key"] for r in rec["rows"].get("identifiers", []))
            username = rec["person"].get("username") or rec["primary_id"]
            usernames.add(fold_key(username))
            looks.update(look_alikes(rec, username))
            login = self._login_email(rec)
            if login:
                emails.add(fold_key(login))
        people, ids = self._upto("person", "id"), self._upto("identifier", "id")
        holders = dict(_lookup("identifier", "value_key", "account_id", id_keys, upto=ids))
        names = dict(_lookup("person", "username_key", "id", usernames, upto=people))
        mails = dict(_lookup("person", "email_key", "id", emails, upto=people))
        # A login name names one person: a username that is someone's login email, a login
        # email that is someone's username ("mail" and "name" keys: `_check`, `_accept`).
        for key, person_id in _lookup("person", "email_key", "id", usernames, upto=people):
            names[("mail", key)] = person_id
        for key, person_id in _lookup("person", "username_key", "id", emails, upto=people):
            mails[("name", key)] = person_id
        # Their holders by skeleton: ("look", skeleton) -> people.
        for skeleton, person_id in _lookup("person", "username_skeleton", "id", looks, upto=people):
            names.setdefault(("look", skeleton), set()).add(person_id)
        return holders, names, mails

    def _look_alike(self, rec: dict, names: dict) -> tuple[str, str] | None:
        """A username that looks like another person's ("аdmin" with a Cyrillic a for
        "admin") is refused as a taken one would be. A username the person already has is
        left alone, as is one already said taken."""
        acct = rec["match"]
        username = rec["person"].get("username") or ("" if acct else rec["primary_id"])
        if not username or names.get(fold_key(username)) is not None:
            return None
        own = acct["person"] if acct else None
        where = _here(rec)
        for skeleton in sorted(look_alikes(rec, username)):
            other = next((p for p in sorted(names.get(("look", skeleton), ())) if p != own), None)
            if other is not None:
                return (
                    "username",
                    f"{username!r} looks too much like the username of another person "
                    f"({_who_person(other, self.org.id)})",
                )
            # A new person of this file (an earlier chunk's, or this chunk's: not in the
            # database yet; an exclusive load does not read its own rows back).
            earlier = self.seen_looks.get(skeleton)
            if earlier is not None and earlier != where:
                return (
                    "username",
                    f"{username!r} looks too much like the username of {earlier} of this "
                    f"{self.unit}",
                )
        return None

    def _login_name_crossed(self, rec: dict, names: dict) -> tuple[str, str] | None:
        """A username that is another person's login email (in the database, or a record's
        of this file): refused, as the forms refuse it (a login name names one person)."""
        acct = rec["match"]
        username = rec["person"].get("username") or ("" if acct else rec["primary_id"])
        if not username:
            return None
        key = fold_key(username)
        own = acct["person"] if acct else rec.get("reuse_person")
        if own is not None and names.get(key) == own:
            return None  # the person's own username already (an older database's clash stays)
        holder = names.get(("mail", key))
        if holder is not None and holder != own:
            who = _who_person(holder, self.org.id)
            return ("username", f"{username!r} is the login email of another person ({who})")
        earlier = self.seen_emails.get(key)
        if earlier is not None and earlier != _here(rec):
            return ("username", f"{username!r} is the login email of {earlier} of this {self.unit}")
        return None

    def _login_email(self, rec: dict) -> str | None:
        if "email" in rec["person"]:
            return rec["person"]["email"]
        emails = rec["rows"].get("emails") or []
        preferred = next((e for e in emails if e["preferred"]), None)
        return preferred["address"] if preferred else None

    def _check(self, rec: dict, holders: dict, names: dict, mails: dict) -> list[tuple[str, str]]:
        """Problems that refuse the record, given what the database and the file hold."""
        acct = rec["match"]
        problems: list[tuple[str, str]] = []
        if acct is not None:
            if acct["organization"] != self.org.id:
                return [("primary_id", "belongs to an account of another organization")]
            external = acct["account_type"] == AccountType.EXTERNAL.value
            owner = acct["owning_system"] or ""
            if self.opts.external and not external:
                return [
                    (
                        "primary_id",
                        "matches an internal account, which a SIS load does not change: toggle "
                        "it to external first (User Details, Toggle account type)",
                    )
                ]
            if self.opts.external and owner not in ("", "SIS_temp", self.source):
                return [("primary_id", f"matches an external account managed by {owner!r}")]
            if not self.opts.external and external and not rec["own"]:
                return [
                    (
                        "primary_id",
                        f"matches an external account (managed by {owner or 'a SIS'}): load it "
                        "with --external --source",
                    )
                ]
        own_id = acct["id"] if acct else None
        where = _here(rec)
        seen = self.seen_ids
        for value_key, row in [(rec["key"], None)] + [
            (r["value_key"], r) for r in rec["rows"].get("identifiers", [])
        ]:
            earlier = seen.get(value_key)
            holder = holders.get(value_key)
            if (earlier is None or earlier == where) and (holder is None or holder == own_id):
                continue  # the usual case: the value is this record's alone
            label = "primary_id" if row is None else f"identifier {row['value']}"
            if earlier is not None and earlier != where:
                problems.append((label, f"is already used by {earlier} of this {self.unit}"))
                if row is None:
                    return problems  # the same record twice: one message says it
                continue
            problems.append((label, f"is already used by {_who(holder, self.org.id)}"))
        if acct is not None and rec["person"].get("username"):
            username = rec["person"]["username"]
            earlier = self.seen_usernames.get(fold_key(username))  # another record's of the file
            holder = names.get(fold_key(username))
            if earlier is not None and earlier != where:
                problems.append(
                    ("username", f"{username!r} is already used by {earlier} of this {self.unit}")
                )
            elif holder is not None and holder != acct["person"]:
                problems.append(
                    (
                        "username",
                        f"{username!r} is already used by another person "
                        f"({_who_person(holder, self.org.id)})",
                    )
                )
        if acct is None:
            username = rec["person"].get("username") or rec["primary_id"]
            key = fold_key(username)
            earlier = self.seen_usernames.get(key)
            if earlier is not None and earlier != where:
                problems.append(
                    ("username", f"{username!r} is already used by {earlier} of this {self.unit}")
                )
            elif key in names:
                reuse = self._reusable(rec, names[key])
                if isinstance(reuse, int):
                    rec["reuse_person"] = reuse
                else:
                    problems.append(
                        (
                            "username",
                            reuse
                            or f"{username!r} is already used by another person "
                            f"({_who_person(names[key], self.org.id)})",
                        )
                    )
        if not problems and (crossed := self._login_name_crossed(rec, names)):
            problems.append(crossed)
        if not problems and (look := self._look_alike(rec, names)):
            problems.append(look)
        if not problems and self.actor.account is not None and (no := self._refusal(rec)):
            problems.append(no)
        return problems

    def _reusable(self, rec: dict, person_id: int) -> int | str | None:
        """One person, an account per organization (RERO ILS): a new account whose username is
        a person's who has no account in this organization, with the same first and last names
        and birth date, is that person's account here (the person's id). A message when it may
        not be (a staff member's import: reusing a person takes their consent, given in Quick
        User Management); None when it is another person (the username is taken)."""
        person = Person.get_or_none(Person.id == person_id)
        if person is None or (
            Account.select()
            .where((Account.person == person_id) & (Account.organization == self.org.id))
            .exists()
        ):
            return None
        p = rec["person"]
        same = (
            fold_key(p.get("first_name") or "") == fold_key(person.first_name or "")
            and fold_key(p.get("last_name") or "") == fold_key(person.last_name or "")
            and p.get("birth_date") == person.birth_date
        )
        if not same:
            return None
        if self.actor.account is not None:
            return (
                f"{person.username!r} is the username of a person with an account in another "
                "organization: give them an account here from Quick User Management (F3, with "
                "their consent)"
            )
        return person_id

    def _refusal(self, rec: dict) -> tuple[str, str] | None:
        """Why the staff member importing may not write this record, by the screens' rules
        (issue 18): a new user of its record type; any role it gives (from the file, or by a
        role rule of its user group or job category) that is above their own; a change to an
        account holding a role above their own, or to the login or contacts of a person who is
        staff of another organization. None: allowed. Checked before anything is written."""
        actor = self.actor.account
        acct = rec["match"]
        try:
            if acct is None:
                kind = rec["account"].get("record_type", RecordType.PUBLIC.value)
                if kind not in self._may_create:
                    try:
                        authorize(actor, Action.CREATE_USER, record_type=kind)
                        self._may_create[kind] = None
                    except PermissionDenied as exc:
                        self._may_create[kind] = exc.message
                if self._may_create[kind]:
                    return ("record_type", self._may_create[kind])
            else:
                authorize(actor, Action.EDIT_USER, Account.get_by_id(acct["id"]))
                if _LOGIN.intersection(rec["person"]) or _CONTACT_KINDS.intersection(rec["rows"]):
                    authorize_person(actor, acct["person"], Action.EDIT_CONTACT)
        except PermissionDenied as exc:
            return ("primary_id", exc.message)
        if acct is not None:
            return None  # roles are given when an account is created, never by an update
        ids = {n: self._known_code(n, rec["codes"].get(n)) for n in ("user_group", "job_category")}
        given = {role for role, *_ in self._roles_of(rec, ids)}
        try:
            if given - {Role.PATRON.value}:
                authorize(actor, Action.MANAGE_ROLES)
            # The roles above the actor's first: the message names the one at fault.
            for role in sorted(given, key=lambda r: (r in self._may_grant, r)):
                authorize_grant(actor, role)
        except PermissionDenied as exc:
            return ("roles", exc.message)
        return None

    def _known_code(self, table: str, pair: tuple[str, str] | None) -> int | None:
        """The id `Codes.resolve` will give an existing, active code (a code this load creates
        has no role rule yet): read only, before anything is written."""
        if not pair:
            return None
        found = self.codes.find(table, pair)
        return None if found is None or found in self.codes.inactive[table] else found

    def _accept(self, rec: dict, mails: dict) -> None:
        where = _here(rec)
        self.seen_ids.setdefault(rec["key"], where)
        for r in rec["rows"].get("identifiers", []):
            self.seen_ids.setdefault(r["value_key"], where)
        username = rec["person"].get("username")
        if rec["match"] is None:
            username = default_username(username, rec["primary_id"])
        if username:  # a new person's, or the one a matched record gives (perhaps a new one)
            self.seen_usernames.setdefault(fold_key(username), where)
            derived = rec.get("derived")
            skeleton = derived["username_skeleton"] if derived else username_skeleton(username)
            self.seen_looks.setdefault(skeleton, where)
        login = self._login_email(rec)
        rec["login_email"] = None
        if login:
            key = fold_key(login)
            earlier = self.seen_emails.get(key)
            holder = mails.get(key)
            person_id = rec["match"]["person"] if rec["match"] else rec.get("reuse_person")
            if earlier is not None and earlier != where:
                self._issue(
                    rec,
                    "warning",
                    "email",
                    f"{login} is the login email of {earlier} of this file: not a login email here",
                )
            elif holder is not None and holder != person_id:
                self._issue(
                    rec,
                    "warning",
                    "email",
                    f"{login} is already the login email of another person: not a login email here",
                )
            elif (
                (named := mails.get(("name", key))) is not None
                and named != person_id
                or ((other := self.seen_usernames.get(key)) is not None and other != where)
            ):
                self._issue(
                    rec,
                    "warning",
                    "email",
                    f"{login} is the username of another person: not a login email here",
                )
            else:
                rec["login_email"] = login
                self.seen_emails.setdefault(key, where)
