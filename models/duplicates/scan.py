"""Every likely duplicate among one organization's people (`patrondesk duplicates`, the
Duplicates screen): pairs with their score and reasons, and the groups they form.

Comparing every pair of a million people is 5 * 10**11 comparisons; the scan compares only the
pairs a blocking key puts together:

- the same birth date: the names of the people born on one day (some forty at a million) are
  compared with rapidfuzz's token-sort ratio in C (first and last names swapped compare equal),
  and the pairs at least `PREFILTER` alike are scored; a day with very many people (a
  placeholder date) is split by the names' first letters;
- the same email (login or contact) and the same phone: a number or an address shared by more
  than `SHARED_LIMIT` people (a switchboard, a family) proves nothing and is left out.

Each pair is then scored (`match.combine`); pairs below the minimum score and pairs staff marked
"not a duplicate" (`marks`) are left out. The pairs that share a person form a group.

The organization is the scope: accounts belong to an organization, not to a library (a
library scope limits the rows a library owns: notes, blocks, fees).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from models.audit import Actor
from models.duplicates.keys import phone_key, plain
from models.duplicates.marks import authorize_duplicates, dismissed_pairs
from models.duplicates.match import MIN_SCORE, Verdict, combine, names_likeness
from models.store.base import database

PREFILTER = 70  # token-sort ratio of "last first" within a birth date
SHARED_LIMIT = 12  # people sharing one email or phone: more is no evidence
BIG_DAY = 400  # a birth date with more people is split by the names' first letters


@dataclass(frozen=True)
class Person:
    person_id: int
    account_id: int
    primary_id: str
    last_name: str
    first_name: str
    birth_date: str  # ISO, "" when unknown


@dataclass(frozen=True)
class Pair:
    a: Person
    b: Person
    score: int
    why: str
    group: int  # pairs sharing a person have the same group number


@dataclass(frozen=True)
class ScanResult:
    pairs: list[Pair]
    people: int
    compared: int  # candidate pairs scored
    seconds: float

    @property
    def groups(self) -> int:
        return len({p.group for p in self.pairs})


def _rows(sql: str, params: Iterable) -> Iterable[tuple]:
    cursor = database.execute_sql(sql.replace("?", database.param), tuple(params))
    while chunk := cursor.fetchmany(10000):
        yield from chunk


def _people(organization_id: int) -> dict[int, Person]:
    out = {}
    for pid, aid, primary, last, first, birth in _rows(
        "SELECT a.person_id, a.id, a.primary_id, p.last_name, p.first_name, p.birth_date "
        "FROM account a JOIN person p ON p.id = a.person_id WHERE a.organization_id = ?",
        (organization_id,),
    ):
        out[pid] = Person(pid, aid, primary or "", last or "", first or "", str(birth or ""))
    return out


def _shared(
    queries: list[str],
    organization_id: int,
    key=lambda v: v,  # noqa: ANN001
) -> set[tuple[int, int]]:
    """The pairs of this organization's people who share a value (`key` of the first column
    of any of `queries`)."""
    blocks: dict[str, set[int]] = defaultdict(set)
    for sql in queries:
        for value, pid in _rows(sql, (organization_id,)):
            if k := key(value):
                blocks[k].add(pid)
    pairs = set()
    for members in blocks.values():
        if 2 <= len(members) <= SHARED_LIMIT:
            ordered = sorted(members)
            pairs.update((x, y) for i, x in enumerate(ordered) for y in ordered[i + 1 :])
    return pairs


def _name_text(person: Person) -> str:
    return f"{plain(person.last_name)} {plain(person.first_name)}".strip()


def _same_day_pairs(people: dict[int, Person]) -> Iterable[tuple[int, int]]:
    days: dict[str, list[int]] = defaultdict(list)
    for pid, person in people.items():
        if person.birth_date:
            days[person.birth_date].append(pid)
    for members in days.values():
        if len(members) < 2:
            continue
        if len(members) > BIG_DAY:
            parts: dict[str, list[int]] = defaultdict(list)
            for pid in members:
                p = people[pid]
                initials = sorted(x[:1] for x in (plain(p.last_name), plain(p.first_name)))
                parts["".join(initials)].append(pid)
            blocks = list(parts.values())
        else:
            blocks = [members]
        for block in blocks:
            block.sort()
            texts = [_name_text(people[pid]) for pid in block]
            for i in range(len(block) - 1):
                for _, _, j in process.extract(
                    texts[i],
                    texts[i + 1 :],
                    scorer=fuzz.token_sort_ratio,
                    processor=None,
                    score_cutoff=PREFILTER,
                    limit=None,
                ):
                    yield block[i], block[i + 1 + j]


def score_pair(a: Person, b: Person, *, email: bool, phone: bool) -> Verdict:
    likeness, reason = names_likeness(a.last_name, a.first_name, b.last_name, b.first_name)
    birth = None
    if a.birth_date and b.birth_date:
        birth = a.birth_date == b.birth_date
    return combine(likeness, reason, birth=birth, email=email, phone=phone)


def _groups(pairs: list[tuple[int, int]]) -> dict[int, int]:
    """Union-find: each person's group, numbered by the group's smallest person id."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in pairs:
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return {x: find(x) for x in parent}


def scan(organization_id: int, actor: Actor, *, min_score: int = MIN_SCORE) -> ScanResult:
    """The likely duplicate pairs of the organization's people, best first within their
    group, groups by their best score. Refused (`PermissionDenied`) before any work unless the
    actor may find duplicates."""
    authorize_duplicates(actor, organization_id)
    start = time.perf_counter()
    people = _people(organization_id)
    emails = _shared(
        [
            "SELECT e.address_key, e.person_id FROM email e "
            "JOIN account a ON a.person_id = e.person_id WHERE a.organization_id = ?",
            "SELECT p.email_key, p.id FROM person p "
            "JOIN account a ON a.person_id = p.id WHERE a.organization_id = ?",
        ],
        organization_id,
    )
    phones = _shared(
        [
            "SELECT ph.number, ph.person_id FROM phone ph "
            "JOIN account a ON a.person_id = ph.person_id WHERE a.organization_id = ?"
        ],
        organization_id,
        key=lambda number: phone_key((number or "").split(" ext.")[0]),
    )
    candidates = set(_same_day_pairs(people)) | emails | phones
    dismissed = dismissed_pairs(organization_id)
    found: list[tuple[int, int, Verdict]] = []
    for x, y in candidates:
        if (x, y) in dismissed or x not in people or y not in people:
            continue
        verdict = score_pair(people[x], people[y], email=(x, y) in emails, phone=(x, y) in phones)
        if verdict.score >= min_score:
            found.append((x, y, verdict))
    group_of = _groups([(x, y) for x, y, _ in found])
    best: dict[int, int] = defaultdict(int)
    for x, _, verdict in found:
        best[group_of[x]] = max(best[group_of[x]], verdict.score)
    found.sort(key=lambda t: (-best[group_of[t[0]]], group_of[t[0]], -t[2].score, t[0], t[1]))
    pairs = [Pair(people[x], people[y], v.score, v.why, group_of[x]) for x, y, v in found]
    return ScanResult(pairs, len(people), len(candidates), time.perf_counter() - start)
