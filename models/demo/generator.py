"""The demo generator: pure, the same rows for the same number of users, seed and context
(`demo_batches`)."""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from models.demo.context import (
    DemoContext,
    GroupInfo,
)
from models.demo.data import (
    AGES,
    CHUNK_USERS,
    EMAIL_SHARE,
    FACULTY_DOMAIN,
    GROUP_WEIGHTS,
    JOB_DESCRIPTIONS,
    LIBRARY_SCOPED_ROLES,
    PERSONAL_DOMAINS,
    RECORD_TYPE_WEIGHTS,
    STAFF_DOMAIN,
    STAFF_JOBS,
    STAFF_ROLE_WEIGHTS,
    STUDENT_DOMAIN,
    STUDENT_GROUPS,
    _Picker,
)
from models.demo.pools import build_pools
from models.demo.rows import UserRows
from models.demo.tables import (
    ACCOUNT,
    ACCOUNT_LIBRARY,
    ADDRESS,
    AUDIT,
    EMAIL,
    PERSON,
    PHONE,
    ROLE,
    TABLES,
)
from models.enums import (
    AccountType,
    AddressType,
    Channel,
    EmailType,
    PhoneType,
    RecordType,
    Role,
    Status,
)
from models.store.base import fold_key
from models.text import fold
from models.users.derived import person_derived, primary_id_columns

_SLUG = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=1 << 16)
def _slug(text: str, limit: int = 30) -> str:
    return _SLUG.sub("", fold(text))[:limit]


@dataclass
class Batch:
    """The rows of `users` users, by table name, ready to insert in `TABLES` order."""

    users: int = 0
    staff: int = 0
    rows: dict[str, list[tuple]] = field(default_factory=lambda: {t.name: [] for t in TABLES})
    dates_as_text: bool = False  # see `dates_to_text`


def dates_to_text(batch: Batch) -> Batch:
    """Dates and times as the ISO text peewee stores in SQLite ("YYYY-MM-DD", "YYYY-MM-DD
    HH:MM:SS"), without relying on sqlite3's default adapters (deprecated in Python 3.12)."""
    if batch.dates_as_text:
        return batch
    for table in TABLES:
        batch.rows[table.name] = table.dates_as_text(batch.rows[table.name])
    batch.dates_as_text = True
    return batch


class _Generator(UserRows):
    def __init__(self, n: int, seed: int | None, ctx: DemoContext) -> None:
        self.n = n
        self.ctx = ctx
        self.rng = random.Random(seed)
        self.pools = build_pools(self.rng.getrandbits(64))
        self.pick_pool = _Picker(self.pools, [p.locale.weight for p in self.pools])
        self.pick_record_type = _Picker(
            [t.value for t in RECORD_TYPE_WEIGHTS], list(RECORD_TYPE_WEIGHTS.values())
        )
        self.pick_staff_role = _Picker(list(STAFF_ROLE_WEIGHTS), list(STAFF_ROLE_WEIGHTS.values()))
        self.group_pickers: dict[str, _Picker | None] = {}
        for rt in RecordType:
            fits = [g for g in ctx.groups if not g.record_types or rt.value in g.record_types]
            self.group_pickers[rt.value] = (
                _Picker(fits, [GROUP_WEIGHTS.get(g.code, 5) for g in fits]) if fits else None
            )
        self.groups_by_id = {g.id: g for g in ctx.groups}
        self.plan = self._plan()
        self.next_loan = ctx.loan_base
        self.next_fee = ctx.fee_base

    def _plan(self) -> list[tuple[str, GroupInfo | None, Role | None]]:
        """The first users: one staff user per staff role, one user of each record type and one of
        each user group (with a record type it applies to), so a small run shows everything."""
        plan: list[tuple[str, GroupInfo | None, Role | None]] = []
        for role in STAFF_ROLE_WEIGHTS:
            plan.append((RecordType.STAFF.value, None, role))
        for rt in RecordType:
            if rt != RecordType.STAFF:
                plan.append((rt.value, None, None))
        for group in self.ctx.groups:
            fits = [t.value for t in RecordType if t.value in group.record_types]
            plan.append((fits[0] if fits else RecordType.PUBLIC.value, group, None))
        return plan

    # -- helpers --

    def _date_between(self, start: dt.date, end: dt.date) -> dt.date:
        days = (end - start).days
        return start + dt.timedelta(days=self.rng.randint(0, days)) if days > 0 else start

    def _moment(self, day: dt.date) -> dt.datetime:
        """A time in opening hours on `day`, never after now."""
        rng = self.rng
        moment = dt.datetime.combine(day, dt.time(rng.randint(8, 19), rng.randrange(60)))
        return min(moment, self.ctx.now)

    def batches(self, chunk_users: int = CHUNK_USERS) -> Iterator[Batch]:
        batch = Batch()
        for i in range(self.n):
            self._user(i, batch)
            if batch.users >= chunk_users:
                yield batch
                batch = Batch()
        if batch.users:
            yield batch

    # -- one user --

    def _user(self, i: int, batch: Batch) -> None:  # noqa: C901 - one straight recipe
        ctx, rng = self.ctx, self.rng
        today, now = ctx.today, ctx.now
        pid, aid = ctx.person_base + i, ctx.account_base + i
        rows = batch.rows
        pool = self.pick_pool(rng)
        loc = pool.locale

        if i < len(self.plan):
            record_type, group, staff_role = self.plan[i]
        else:
            record_type, group, staff_role = self.pick_record_type(rng), None, None
        if record_type == RecordType.STAFF and staff_role is None:
            staff_role = self.pick_staff_role(rng)
        if group is None and (picker := self.group_pickers[record_type]) is not None:
            group = picker(rng)
        group_code = group.code if group else ""
        mandatory = ctx.mandatory.get(record_type, frozenset())
        is_staff = record_type == RecordType.STAFF
        is_org = record_type == RecordType.ORGANIZATION
        is_contact = record_type == RecordType.CONTACT
        is_researcher = record_type == RecordType.RESEARCHER
        patron_like = not (is_org or is_contact)

        # Names.
        first = middle = pref_first = pref_last = gender = title = ""
        company = ""
        if is_org:
            last = rng.choice(pool.companies)
            username = f"{_slug(last)}{pid}"
        else:
            female = rng.random() < 0.52
            names = pool.female if female else pool.male
            gender = "" if rng.random() < 0.015 else ("female" if female else "male")
            first = rng.choice(names)
            last = rng.choice(pool.last)
            if loc.language == "es" and rng.random() < 0.7:
                last = f"{last} {rng.choice(pool.last)}"  # two surnames
            if rng.random() < loc.middle_names:
                middle = rng.choice(pool.last if loc.language == "pt" else names)
            if rng.random() < 0.06:
                pref_first = rng.choice(names)
                if pref_first == first:
                    pref_first = ""
            if rng.random() < 0.025:
                pref_last = rng.choice(pool.last)
            username = f"{_slug(first) or 'user'}.{_slug(last)}{pid}"
            if is_contact:
                company = rng.choice(pool.companies)
        if group_code == "FACULTY" or is_researcher:
            r = rng.random()
            title = "Prof." if r < 0.15 else "Dr." if r < 0.5 else ""
        elif patron_like and rng.random() < 0.01:
            title = "Dr."

        # Ages and dates.
        created_day = today - dt.timedelta(days=rng.randint(30, 2500))
        created = self._moment(created_day)
        birth = None
        if patron_like and ("birth_date" in mandatory or rng.random() < 0.9):
            low, high = AGES.get(group_code) or AGES.get(record_type) or (18, 80)
            age_days = rng.randint(low * 365, high * 365 + 364)
            birth = today - dt.timedelta(days=age_days)

        if is_staff:
            expired, inactive = rng.random() < 0.03, rng.random() < 0.03
        elif patron_like:
            expired, inactive = rng.random() < 0.09, rng.random() < 0.04
        else:
            expired, inactive = rng.random() < 0.04, rng.random() < 0.05
        expiry = None
        if expired:
            expiry = self._date_between(created_day + dt.timedelta(days=1), today)
            if expiry >= today:
                expiry = today - dt.timedelta(days=1)
        elif "expiry_date" in mandatory or patron_like or rng.random() < 0.5:
            if is_staff:
                expiry = today + dt.timedelta(days=rng.randint(365, 1825))
            elif group_code == "CHILD" and birth is not None:
                expiry = max(birth.replace(year=birth.year + 16), today + dt.timedelta(days=30))
            else:
                expiry = today + dt.timedelta(days=rng.randint(30, 1460))
        purge = None
        if expiry is not None and not is_staff and rng.random() < (0.5 if expired else 0.15):
            purge = expiry + dt.timedelta(days=365)
        status_date = self._date_between(created_day, today) if inactive else created_day
        last_activity = None
        if not inactive and rng.random() < 0.7:
            last_activity = max(created, now - dt.timedelta(days=rng.randint(0, 365)))
            last_activity = last_activity.replace(minute=rng.randrange(60))

        # Account kind.
        account_type = AccountType.INTERNAL.value
        owning_system = ""
        if is_staff and rng.random() < 0.4:
            account_type = AccountType.INTERNAL_EXTERNAL_AUTH.value
        elif group_code in STUDENT_GROUPS or group_code == "FACULTY":
            r = rng.random()
            if r < 0.35:
                account_type, owning_system = AccountType.EXTERNAL.value, "SIS"
            elif r < 0.45:
                account_type = AccountType.INTERNAL_EXTERNAL_AUTH.value
        external = account_type == AccountType.EXTERNAL

        # Job, roles, campus.
        job_code = ""
        roles: list[str] = [Role.PATRON.value]
        if is_staff:
            assert staff_role is not None
            jobs = STAFF_JOBS[staff_role]
            job_code = _Picker(list(jobs), list(jobs.values()))(rng)
            roles.append(staff_role.value)
            if rng.random() < 0.12:
                roles.append(self.pick_staff_role(rng).value)
        elif is_researcher or (group_code == "FACULTY" and rng.random() < 0.3):
            job_code = "RESEARCHER"
        job_id = ctx.job_categories.get(job_code) if job_code else None
        if job_id is None:
            job_code = ""
        job_description = ""
        if job_code in JOB_DESCRIPTIONS:
            job_description = rng.choice(JOB_DESCRIPTIONS[job_code])
        elif is_contact:
            job_description = f"Sales representative, {company}"
        if group is not None:
            roles.extend(ctx.group_roles.get(group.id, ()))
        if job_id is not None:
            roles.extend(ctx.job_roles.get(job_id, ()))
        roles = list(dict.fromkeys(roles))
        campus = None
        if ctx.campuses and (is_staff or group_code in STUDENT_GROUPS or group_code == "FACULTY"):
            campus = rng.choice(ctx.campuses)
        researcher = is_researcher or (group_code == "FACULTY" and rng.random() < 0.4)

        # Contact data.
        primary_id = f"U{aid:08d}"
        email = None
        wants_email = EMAIL_SHARE.get(record_type, 0.97)
        if "email" in mandatory or rng.random() < wants_email:
            if is_staff:
                email_type, domain = EmailType.WORK.value, STAFF_DOMAIN
            elif group_code in STUDENT_GROUPS:
                email_type, domain = EmailType.SCHOOL.value, STUDENT_DOMAIN
            elif group_code == "FACULTY" or is_researcher:
                email_type, domain = EmailType.WORK.value, FACULTY_DOMAIN
            elif is_org or is_contact:
                email_type, domain = (
                    EmailType.WORK.value,
                    f"{_slug(company or last, 20) or 'company'}.example",
                )
            else:
                email_type, domain = EmailType.PERSONAL.value, rng.choice(PERSONAL_DOMAINS)
            email = f"{username}@{domain}"
            rows["email"].append(
                EMAIL.row(
                    person_id=pid,
                    address=email,
                    address_key=fold_key(email),
                    email_type=email_type,
                    preferred=True,
                    external=external,
                )
            )
            if rng.random() < 0.08:
                alt = f"{username}@{rng.choice(PERSONAL_DOMAINS)}"
                if alt != email:
                    rows["email"].append(
                        EMAIL.row(
                            person_id=pid,
                            address=alt,
                            address_key=fold_key(alt),
                            email_type=EmailType.ALTERNATIVE.value,
                        )
                    )
            if group_code == "CHILD" and rng.random() < 0.4:
                parent = f"{_slug(rng.choice(pool.female + pool.male))}.{_slug(last)}{pid}"
                cc = f"{parent}@{rng.choice(PERSONAL_DOMAINS)}"
                rows["email"].append(
                    EMAIL.row(
                        person_id=pid,
                        address=cc,
                        address_key=fold_key(cc),
                        email_type=EmailType.CC.value,
                        description="Parent",
                    )
                )
        if "address" in mandatory or rng.random() < (0.95 if is_org else 0.85):
            line1, line2, city, state, postal = rng.choice(pool.addresses)
            if is_org or is_contact:
                address_type = AddressType.WORK.value
            elif group_code in STUDENT_GROUPS and rng.random() < 0.15:
                address_type = AddressType.SCHOOL.value
            else:
                address_type = AddressType.HOME.value
            rows["address"].append(
                ADDRESS.row(
                    person_id=pid,
                    address_type=address_type,
                    line1=line1,
                    line2=line2,
                    city=city,
                    state=state,
                    postal_code=postal,
                    country=loc.country,
                    start_date=created_day if rng.random() < 0.3 else None,
                    preferred=True,
                    external=external,
                )
            )
            if rng.random() < 0.05:
                line1, line2, city, state, postal = rng.choice(pool.addresses)
                rows["address"].append(
                    ADDRESS.row(
                        person_id=pid,
                        address_type=AddressType.ALTERNATIVE.value,
                        line1=line1,
                        line2=line2,
                        city=city,
                        state=state,
                        postal_code=postal,
                        country=loc.country,
                        note="Holiday address",
                    )
                )
        if "phone" in mandatory or rng.random() < 0.75:
            if is_org:
                rows["phone"].append(
                    PHONE.row(
                        person_id=pid,
                        number=rng.choice(pool.landlines),
                        phone_type=PhoneType.OFFICE.value,
                        preferred=True,
                    )
                )
                if rng.random() < 0.2:
                    rows["phone"].append(
                        PHONE.row(
                            person_id=pid,
                            number=rng.choice(pool.landlines),
                            phone_type=PhoneType.OFFICE_FAX.value,
                        )
                    )
            else:
                rows["phone"].append(
                    PHONE.row(
                        person_id=pid,
                        number=rng.choice(pool.mobiles),
                        phone_type=PhoneType.MOBILE.value,
                        preferred=True,
                        preferred_sms=rng.random() < 0.6,
                        external=external,
                    )
                )
                if rng.random() < 0.2:
                    rows["phone"].append(
                        PHONE.row(
                            person_id=pid,
                            number=rng.choice(pool.landlines),
                            phone_type=(PhoneType.OFFICE if is_staff else PhoneType.HOME).value,
                        )
                    )

        website = ""
        if is_org:
            website = f"https://www.{_slug(last, 40)}.example"
        elif is_researcher and rng.random() < 0.3:
            website = f"https://{FACULTY_DOMAIN}/~{username}"

        names = {
            "first_name": first,
            "middle_name": middle,
            "last_name": last,
            "preferred_first_name": pref_first,
            "preferred_last_name": pref_last,
        }
        login = {"username": username, "email": email}
        derived = person_derived({**login, **names})
        rows["person"].append(
            PERSON.row(
                id=pid,
                **login,
                password_hash=ctx.staff_password_hash if is_staff else None,
                **names,
                **derived,
                title=title,
                birth_date=birth,
                gender=gender,
                website=website,
                preferred_language=loc.language,
                keep_history=patron_like and rng.random() < 0.2,
                last_login_at=(
                    max(created, now - dt.timedelta(days=rng.randint(0, 60), minutes=i % 600))
                    if is_staff and not inactive and rng.random() < 0.8
                    else None
                ),
                created_at=created,
                updated_at=created,
            )
        )
        # Drawn in the order the account row drew them (the same seed, the same demo data).
        letters_opt_in = rng.random() < 0.9
        purchase_request = group_code == "FACULTY" and rng.random() < 0.3
        rows["account"].append(
            ACCOUNT.row(
                id=aid,
                organization_id=ctx.organization_id,
                person_id=pid,
                sort_name=derived["sort_name"],
                **primary_id_columns(primary_id),
                account_type=account_type,
                record_type=record_type,
                user_group_id=group.id if group else None,
                job_category_id=job_id,
                job_description=job_description,
                campus_id=campus,
                status=(Status.INACTIVE if inactive else Status.ACTIVE).value,
                status_date=status_date,
                expiry_date=expiry,
                purge_date=purge,
                comm_channel=(Channel.EMAIL if email else Channel.MAIL).value,
                comm_language=loc.language,
                owning_system=owning_system,
                letters_opt_in=letters_opt_in,
                cataloger_level=rng.choice(("20", "40", "50")) if job_code == "CATALOGER" else "",
                researcher=researcher,
                last_activity_at=last_activity,
                created_at=created,
                updated_at=created,
            )
        )
        self._identifiers(
            rows,
            aid,
            primary_id,
            username,
            external,
            is_staff,
            account_type,
            group_code,
            researcher,
            loc.country,
        )
        # Resource sharing and purchase request libraries: researchers and some faculty.
        for kind, wanted in (
            ("resource_sharing", researcher),
            ("purchase_request", purchase_request),
        ):
            if wanted:
                rows["account_library"].append(
                    ACCOUNT_LIBRARY.row(account_id=aid, kind=kind, library_id=ctx.library_id)
                )
        for role in roles:
            scoped = role in LIBRARY_SCOPED_ROLES
            rows["role_assignment"].append(
                ROLE.row(
                    account_id=aid,
                    role=role,
                    scope_id=ctx.library_id if scoped else None,
                    expiry_date=(
                        today + dt.timedelta(days=rng.randint(30, 700))
                        if role != Role.PATRON and rng.random() < 0.05
                        else None
                    ),
                )
            )
        self._notes(rows, aid, created_day)
        self._statistics(rows, aid, group_code, is_researcher)
        balance, overdue_days = 0, 0
        if patron_like:
            balance, overdue_days = self._circulation(rows, aid, created_day, inactive or expired)
        self._blocks(rows, aid, created_day, balance, overdue_days)
        rows["audit_event"].append(
            AUDIT.row(
                account_id=aid, person_id=pid, entity_id=aid, new_value=primary_id, at=created
            )
        )
        batch.users += 1
        batch.staff += is_staff


def demo_batches(
    n: int,
    seed: int | None,
    ctx: DemoContext,
    chunk_users: int = CHUNK_USERS,
    *,
    dates_as_text: bool = False,
) -> Iterator[Batch]:
    """The rows of `n` demo users, `chunk_users` at a time. Pure: reads and writes nothing, and
    gives the same rows for the same `n`, `seed` and `ctx`."""
    for batch in _Generator(n, seed, ctx).batches(chunk_users):
        yield dates_to_text(batch) if dates_as_text else batch
