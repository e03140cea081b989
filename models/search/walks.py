"""Find and Manage Users' search: the walks of the accounts' keyset indexes (listing, and words
tested per row), the part of `models.search.plan._Plan` that reads the list in name or expiry
order: `_Walks`, which `_Plan` extends."""

from __future__ import annotations

from models.runtime import runtime
from models.search.query import _ACTIVE, ALL_RECORD_TYPES, RARE_ROLE
from models.search.rows import _ACCOUNT_COLUMNS, _rows_sql, _user_row
from models.search.run import _date, _run


class _Walks:
    """The walks of `_Plan` (models/search/plan.py): they read its query (`q`, `desc`, `pg`,
    `record_types`, `scope`, `today`), its SQL pieces (`where`, `_words_sql`, `_expiry_key`) and
    fill its `known` display rows."""

    def _sources(self, words: bool) -> list[tuple[str, str, list]]:
        """(FROM, WHERE, params) of each walk: one per record type of the tab, each on its
        covering keyset index; or, for a rare role, its assignments."""
        if self._rare_role():
            where, params = self._role_where()
            sources = [(f"account a{self._by_id()}", where, params)]
        else:
            sources = []
            phased = self.q.sort == "expiry"
            for record_type in self.record_types or ALL_RECORD_TYPES:
                where, params = self.where((record_type,), phased=phased)
                sources.append((f"account a{self._indexed_by(self.q.sort)}", where, params))
        if words:
            join = "JOIN" if self.pg else "CROSS JOIN"  # SQLite: the account index leads
            words_sql, word_params = self._words_sql()
            sources = [
                (
                    f"{frm} {join} person p ON p.id = a.person_id",
                    f"{where} AND {words_sql}",
                    [*params, *word_params],
                )
                for frm, where, params in sources
            ]
        return sources

    def _walk(self, after: tuple | None, n: int, words: bool) -> list[tuple]:
        """The next `n` keys from every walk, merged."""
        if self.pg:
            return self._walk_together(after, n, words)
        keys: list[tuple] = []
        for frm, where, params in self._sources(words):
            if self.q.sort == "name":
                keys += self._walk_by_name(frm, where, params, after, n)
            else:
                keys += self._walk_by_expiry(frm, where, params, after, n)
        keys.sort(reverse=self.desc)
        return keys[:n]

    def _walk_together(
        self, after: tuple | None, n: int, words: bool, within: tuple[str, list] | None = None
    ) -> list[tuple]:
        """PostgreSQL: every walk (one per record type) as one statement, each arm reading its
        index in order, merged, with the page's display rows: one round trip and one plan
        instead of up to ten. By expiry, one statement per phase (dated, never expiring), the
        next only when a phase ends within the page. `within`: a further condition of every
        arm."""
        if self.q.sort == "name":
            phases = [[self._name_arm(after)]]
        else:
            phases = [[arm] for arm in self._expiry_arms(after)]
        keys: list[tuple] = []
        for arms in phases:
            keys += self._walk_phase(arms, n - len(keys), words, within)
            if len(keys) >= n:
                break
        keys.sort(reverse=self.desc)
        return keys[:n]

    def _walk_phase(
        self,
        phase: list[tuple[str, list, str]],
        n: int,
        words: bool,
        within: tuple[str, list] | None,
    ) -> list[tuple]:
        """One statement of `_walk_together`: the arms of every source under the conditions
        of `phase`, merged in one order, at most `n` rows. The arms read the accounts'
        columns as they go: a merge of index scans reads only the rows it returns (about 100
        heap pages a page of 100, against 400 buffers of primary-key lookups after an
        index-only walk)."""
        arms, params = [], []
        for frm, where, wparams in self._sources(words):
            for cond, cparams, order_by in phase:
                if within is not None:
                    cond, cparams = f"{cond} AND {within[0]}", [*cparams, *within[1]]
                arms.append(
                    f"(SELECT a.sort_name AS k_name, {_ACCOUNT_COLUMNS} FROM {frm} "
                    f"WHERE {where} AND {cond} ORDER BY {order_by} LIMIT {int(n)})"
                )
                params += [*wparams, *cparams]
        if not arms:
            return []
        order = "DESC" if self.desc else "ASC"
        merged = (
            f'k_name COLLATE "C" {order}, id {order}'
            if self.q.sort == "name"
            else f"expiry_date {order}, id {order}"
        )
        walk = f"SELECT * FROM ({' UNION ALL '.join(arms)}) w ORDER BY {merged} LIMIT {int(n)}"
        # The page's display rows in the same statement (one round trip, one plan).
        lim, lim_params, select, select_params = _rows_sql(self.scope, "w a", lead="a.k_name, ")
        sql = f"WITH {lim}, w AS ({walk}) {select}"
        rows = _run(sql, [*lim_params, *params, *select_params], prepare=not words)
        today = runtime.today()
        keys = []
        by_name = self.q.sort == "name"
        for record in rows:
            row = _user_row(record, today, 1)
            self.known[row.account_id] = row
            if by_name:
                keys.append((record[0], row.account_id))
            else:
                keys.append(self._expiry_key(row.expiry_date, row.account_id))
        return keys

    def _name_arm(self, after: tuple | None) -> tuple[str, list, str]:
        """(condition, params, ORDER BY) of a walk in name order from `after` (exclusive; the
        condition is TRUE without one)."""
        op, order = ("<", "DESC") if self.desc else (">", "ASC")
        by_name = f"a.sort_name {order}, a.id {order}"
        if after is None:
            return "TRUE", [], by_name
        return f"(a.sort_name, a.id) {op} (?, ?)", [after[0], after[1]], by_name

    def _walk_by_name(
        self, frm: str, where: str, params: list, after: tuple | None, n: int
    ) -> list[tuple]:
        cond, cparams, order_by = self._name_arm(after)
        rows = _run(
            f"SELECT a.sort_name, a.id FROM {frm} WHERE {where} AND {cond} "
            f"ORDER BY {order_by} LIMIT {int(n)}",
            [*params, *cparams],
        )
        return [tuple(r) for r in rows]

    def _walk_by_expiry(
        self, frm: str, where: str, params: list, after: tuple | None, n: int
    ) -> list[tuple]:
        keys: list[tuple] = []
        for cond, cparams, order in self._expiry_arms(after):
            rows = _run(
                f"SELECT a.expiry_date, a.id FROM {frm} WHERE {where} AND {cond} "
                f"ORDER BY {order} LIMIT {int(n - len(keys))}",
                [*params, *cparams],
            )
            keys += [self._expiry_key(_date(exp), aid) for exp, aid in rows]
            if len(keys) >= n:
                break
        return keys

    def _count_accounts(self, bound: int | None, words: bool) -> int:
        """Accounts passing the filters (and the words, tested per row), up to `bound`."""
        if self._rare_role():
            frm, (where, params) = f"account a{self._by_id()}", self._role_where()
        else:
            frm, (where, params) = "account a", self.where()
        if words:
            join = "JOIN" if self.pg else "CROSS JOIN"
            words_sql, word_params = self._words_sql()
            frm += f" {join} person p ON p.id = a.person_id"
            where, params = f"{where} AND {words_sql}", [*params, *word_params]
        limit = "" if bound is None else f" LIMIT {int(bound)}"
        return _run(f"SELECT count(*) FROM (SELECT 1 FROM {frm} WHERE {where}{limit}) s", params)[
            0
        ][0]

    def _by_id(self) -> str:
        """SQLite: reach accounts by id only (the covering indexes lead with the organization,
        which without statistics looks selective)."""
        return "" if self.pg else " NOT INDEXED"

    def _indexed_by(self, sort: str) -> str:
        """SQLite: name the keyset index, so that the plan never depends on statistics."""
        if self.pg:
            return ""
        kind = "group" if self.q.user_group_id is not None else "type"
        return f" INDEXED BY account_search_{kind}_{sort}"

    def _rare_role(self) -> bool:
        """A role filter held by fewer than `RARE_ROLE` assignments: cheaper to start from
        them than to walk the list testing each row."""
        if not self.q.role:
            return False
        if self._role_is_rare is None:
            count = _run(
                "SELECT count(*) FROM (SELECT 1 FROM role_assignment r WHERE r.role = ? "
                f"LIMIT {RARE_ROLE}) s",
                [self.q.role],
            )[0][0]
            self._role_is_rare = count < RARE_ROLE
        return self._role_is_rare

    def _role_where(self) -> tuple[str, list]:
        """The filters, with the role as the list of its holders."""
        where, params = self.where(role=False)
        return (
            f"{where} AND a.id IN (SELECT r.account_id FROM role_assignment r "
            "WHERE r.role = ? AND r.status = ? AND (r.expiry_date IS NULL OR r.expiry_date >= ?))",
            [*params, self.q.role, _ACTIVE, self.today],
        )

    def _expiry_arms(self, after: tuple | None) -> list[tuple[str, list, str]]:
        """(condition, params, ORDER BY) per phase, in walking order: dated rows (phase 0)
        and rows that never expire (phase 1), from `after` on."""
        phases = [1, 0] if self.desc else [0, 1]
        order = "DESC" if self.desc else "ASC"
        op = "<" if self.desc else ">"
        arms = []
        for phase in phases:
            if after is not None and (phase < after[0] if not self.desc else phase > after[0]):
                continue  # already walked
            if phase == 0:
                cond, params = "a.expiry_date IS NOT NULL", []
                if self.q.status == "active":
                    # Not expired, as a range of the index (the filter's OR is not one): the
                    # walk does not read every expired account first.
                    cond, params = "a.expiry_date >= ?", [self.today]
                if after is not None and after[0] == 0:
                    cond += f" AND (a.expiry_date, a.id) {op} (?, ?)"
                    params += [after[1].isoformat(), after[2]]
                arms.append((cond, params, f"a.expiry_date {order}, a.id {order}"))
            else:
                cond, params = "a.expiry_date IS NULL", []
                if after is not None and after[0] == 1:
                    cond += f" AND a.id {op} ?"
                    params = [after[2]]
                # Ordered as the keyset index is (the date is NULL throughout): by id alone,
                # PostgreSQL walked the primary key testing each row (0.4 s where no row of a
                # record type lacks a date).
                arms.append((cond, params, f"a.expiry_date {order}, a.id {order}"))
        return arms
