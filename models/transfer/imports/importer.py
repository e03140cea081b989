"""The importer: `Importer` runs a load chunk by chunk (its checks against the database,
writing and updating are in `matching`, `writer` and `updating`)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from models.access.permissions import (
    Action,
    authorize,
)
from models.audit import Actor, system_name
from models.config.settings import Settings, load_settings
from models.enums import (
    Source,
)
from models.errors import PermissionDenied, StorageError
from models.runtime import runtime
from models.store import bulk
from models.store.base import database, fold_key
from models.store.bulk import BulkWriter
from models.store.files import check_document
from models.store.tables import (
    Account,
    IdentifierType,
    ImportState,
    Organization,
)
from models.transfer.formats import (
    CIRCULATION_FORMATS,
    FORMATS,
    FormatError,
    Reader,
    candidates,
    detect,
    envelope_no_home,
    files_of,
    map_lazy,
    primary_of,
    source_context,
    unknown_columns,
)
from models.transfer.imports.checking import check_batch, digest, seeded
from models.transfer.imports.codes import (
    Codes,
    _check_text_options,
    _settings_fingerprint,
    load_map_file,
)
from models.transfer.imports.collector import load_collector, worker_start
from models.transfer.imports.hashing import _Hasher
from models.transfer.imports.matching import _Matching
from models.transfer.imports.options import (
    BULK_MIN,
    DEFAULT_SOURCE,
    OTHER_FIELDS,
    PARALLEL_BYTES,
    ImportError_,
    ImportOptions,
    ImportReport,
    Issue,
    Progress,
)
from models.transfer.imports.preview import _here, _lookup, _unchanged_preview
from models.transfer.imports.tables import _write_errors
from models.transfer.imports.updating import _Updating
from models.transfer.imports.writer import _Writing

# --- The importer -------------------------------------------------------------------------------


class ImportActor(Actor):
    """The system acting through an import: its name in History and `updated_by`."""

    def __init__(self, label: str, account: Account | None = None) -> None:
        object.__setattr__(self, "account", account)
        object.__setattr__(self, "source", Source.IMPORT)
        object.__setattr__(self, "_label", label)

    @property
    def name(self) -> str:
        if self.account is not None:
            return self.account.person.username
        return system_name(self._label)  # with the command line's user@host


class Importer(_Matching, _Writing, _Updating):
    def __init__(
        self,
        path: str | Path,
        options: ImportOptions | None = None,
        *,
        organization: Organization | None = None,
        actor_account: Account | None = None,
        settings: Settings | None = None,
        rero_only: frozenset[str] | None = None,
    ) -> None:
        from models.config.setup import default_organization

        self.path = Path(path)
        self.rero_only = rero_only  # the RERO organisations of this pass (import_file)
        self.opts = options or ImportOptions()
        if self.opts.format and self.opts.format not in FORMATS:
            raise ImportError_(f"unknown format {self.opts.format!r} (one of {', '.join(FORMATS)})")
        if self.opts.match and not self.opts.match.strip():
            self.opts.match = ""
        if actor_account is not None:
            # Staff import into their own organization, always: never "the first one".
            authorize(actor_account, Action.RUN_JOBS)
            own = Organization.get_by_id(actor_account.organization_id)
            if organization is not None and organization.id != own.id:
                raise PermissionDenied(
                    Action.RUN_JOBS.value,
                    "You may import users into your own organization only.",
                )
            self.org = own
        else:
            # The system (the command line): the organization it names, else the first one.
            self.org = organization or default_organization()
        if self.org is None:
            raise ImportError_("the database is not initialized: run 'patrondesk init' first")
        self.settings = settings or load_settings()
        self.source = (self.opts.source or (DEFAULT_SOURCE if self.opts.external else ""))[:100]
        label = f"import:{self.source}" if self.source else "import"
        self.actor = ImportActor(label, actor_account)
        whole_map = load_map_file(self.opts.map_file)
        self.columns = whole_map.get("columns", {})  # CSV columns renamed (models.transfer.formats)
        self.mapping = {k: v for k, v in whole_map.items() if k != "columns"}
        _check_text_options(self.opts)
        self.report = ImportReport(dry_run=self.opts.dry_run)
        self.writer = BulkWriter("imports need", ImportError_)
        self.today = runtime.today()
        self.now = runtime.now()
        self.salt = json.dumps(
            [
                2,  # bump when the meaning of a digest changes (2: more fields read, item 7)
                _settings_fingerprint(self.settings),
                self.opts.external,
                self.source,
                self.opts.match,
                self.mapping,
                self.opts.strict,
                self.columns,
                self.opts.encoding,
                self.opts.date_format,
            ],
            sort_keys=True,
        )
        # Keys taken by earlier records of this file: value_key/username_key/email_key -> where.
        self.seen_ids: dict[str, str] = {}
        self.seen_usernames: dict[str, str] = {}
        self.seen_emails: dict[str, str] = {}
        self.seen_looks: dict[str, str] = {}  # skeletons of the usernames given -> where
        self.hasher = _Hasher(self.settings, self.opts.workers)
        self.started = 0.0
        self.unit = "file"
        self._pool = None  # the worker process checking records (large loads)
        self._current: dict[str, Any] = {"accounts": {}, "overrides": {}, "rows": {}}
        self._pending: tuple | None = None  # (future, matched accounts) of the chunk in it
        self._match_type: int | None = None
        self._bulk: bool | None = None  # None: not decided yet; True: indexes deferred
        # An exclusive load whose key indexes are deferred: the highest ids before it (`_upto`).
        self._before: dict[str, int] | None = None
        self._may_create: dict[str, str | None] = {}  # record type -> why not (this chunk)
        self._may_grant: frozenset[str] = frozenset()  # the roles the actor may give
        self._plain_roles: dict[tuple, list[tuple]] = {}  # _Writing._roles_of, without roles
        self._seeds: dict[tuple[str, str], Any] = {}  # (format, context) -> `seeded` hash
        self._circulation: list[tuple[Path, str, str]] = []  # Alma fee and loan files, read last

    # -- running --

    def run(self) -> ImportReport:
        if not self.opts.exclusive:
            return self._run()
        try:
            lock = bulk.exclusive_lock()
            lock.__enter__()
        except bulk.ExclusiveRefused as exc:
            raise ImportError_(f"--exclusive: {exc.message}") from None
        try:
            return self._run()
        finally:
            lock.__exit__(None, None, None)

    def _run(self) -> ImportReport:
        self.started = time.perf_counter()
        files = files_of(self.path)  # (a folder's names only: nothing opened)
        if self.actor.account is not None:
            # A staff session's import (the app): each file a document, a regular file, no
            # link (models.store.files), before any is opened; the path itself: `import_file`.
            for file in files:
                check_document(file)
        if not files:
            raise FormatError(f"{self.path} holds no file to import")
        with database.atomic():
            self.codes = Codes(self.org, self.mapping, self.opts.strict)
            self.codes.check_mapping()
            self.role_rules = self._role_rules()
            if self.opts.match:
                row = IdentifierType.get_or_none(
                    (IdentifierType.organization == self.org.id)
                    & (IdentifierType.code == self.opts.match)
                )
                if row is None:
                    raise ImportError_(f"--match: {self.opts.match!r} is not an identifier type")
                self._match_type = row.id
        self.files = files
        self.file_index = 0
        self.reader: Reader | None = None
        formats: list[str] = []
        failed = True
        try:
            if not self.opts.dry_run:
                bulk.recover_abandoned()  # a load killed earlier left its indexes unbuilt
            with bulk.load_cache(), load_collector():
                chunk: list[dict] = []
                for cand in self._candidates(files, formats):  # lazy items
                    self.report.rows += 1
                    if self.report.rows == 1:
                        self._start_worker()
                    chunk.append(cand)
                    if len(chunk) >= self.opts.chunk_size:
                        self._chunk(chunk)
                        chunk = []
                if chunk:
                    self._chunk(chunk)
                self._flush()
            if self.unit == "folder" and not self.report.rows and not self._circulation:
                self._nothing_read()
            if self._circulation:
                from models.transfer.circulation import load_files

                load_files(self, self._circulation)
            self._progress(final=True)
            failed = False
        except _write_errors() as exc:
            raise self._stopped(exc) from exc
        finally:
            self.hasher.close()
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None
            if self._bulk:
                self._bulk = False
                self.report.deferred = True
                if not failed:
                    bulk.restore_indexes()
                else:  # the error in flight is the one to say; the next import rebuilds them
                    with contextlib.suppress(Exception):
                        bulk.restore_indexes()
        self.report.format = ", ".join(dict.fromkeys(formats)) or "none"
        self.report.elapsed = time.perf_counter() - self.started
        # What was read and not kept, one line per field, after the records' own (never cut).
        self.report.issues.extend(self.report.not_kept_issues())
        if self.unit == "file" and len(self.files) == 1:
            for issue in self.report.issues:  # the report's file column, for one file too
                issue.file = issue.file or self.files[0].name
        return self.report

    def _nothing_read(self) -> None:
        """A folder none of whose files held a user: nothing to do, and each file's reason."""
        reasons = [
            f"{i.file}: "
            + i.message.removeprefix(i.file).lstrip(": ").removesuffix(": nothing imported")
            for i in self.report.issues
            if i.level == "skipped"
        ]
        raise FormatError(
            f"{self.path} holds no users"
            + (f" ({'; '.join(reasons[:5])}" + (" ..." if len(reasons) > 5 else "") + ")")
            * bool(reasons)
            + ": nothing imported"
        )

    def _stopped(self, exc: BaseException) -> ImportError_:
        """One line for a write the database refused during the import (a full disk, an I/O
        error, a lost server): what happened, what was kept, what to do."""
        root = exc.__cause__ if isinstance(exc, StorageError) and exc.__cause__ else exc
        detail = (str(root).strip().splitlines() or [type(root).__name__])[0][:200]
        r = self.report
        if self.opts.dry_run or not (r.created or r.updated):
            kept = "nothing was written"
        else:
            kept = (
                f"the records before it were written ({r.created:,} created, {r.updated:,} updated)"
            )
        return ImportError_(
            f"the import stopped: the database refused a write ({detail}); {kept}. Free some "
            "space or repair the database, then run the same import again: what was written is "
            "matched, not written twice."
        )

    def _candidates(self, files: list[Path], formats: list[str]) -> Iterator[dict]:
        """The candidates of every file, in order, labelled with their file in a folder."""
        folder = len(files) > 1 or self.path.is_dir()
        self.unit = "folder" if folder else "file"
        for i, path in enumerate(files):
            self.file_index = i
            label = path.name if folder else ""
            try:
                fmt = self.opts.format or detect(path)
            except FormatError as exc:
                if not folder:
                    raise
                self.report.add(Issue(label, "", "", "skipped", "file", exc.message))
                continue
            formats.append(fmt)
            self.report.files.append(str(path))
            if fmt in CIRCULATION_FORMATS:  # no users: read after the users of the load
                self._circulation.append((path, fmt, label))
                continue
            self.reader = Reader(path, fmt, encoding=self.opts.encoding, columns=self.columns)
            ctx = source_context(path, fmt)
            ctx.date_format = self.opts.date_format
            if fmt == "rero-json":
                ctx.rero_only = self.rero_only
            try:
                for cand in candidates(self.reader, fmt, ctx, lazy=True):
                    cand["file"] = label
                    yield cand
            except FormatError as exc:
                if not folder:
                    raise
                self.report.add(Issue(label, "", "", "skipped", "file", exc.message))
            self._file_read(path.name, fmt)

    def _file_read(self, name: str, fmt: str) -> None:
        """What a file read held around its records that is not kept: the CSV columns its
        format does not read (reported even when empty), the members around its records."""
        r = self.report
        reader = self.reader
        if reader is None:
            return
        if reader.encoding_note:
            r.add(Issue(name, "", "", "warning", "encoding", reader.encoding_note))
        for column, likely in unknown_columns(fmt, reader.header).items():
            key = r.count_not_kept(name, column, 0)
            if key[1] != OTHER_FIELDS:
                r.unknown_columns[key] = likely
        for member in [] if reader.single_record else envelope_no_home(fmt, reader.members):
            key = r.count_not_kept(name, member, 1)
            if key[1] != OTHER_FIELDS:
                r.file_members.add(key)

    def _progress(self, final: bool = False) -> None:
        if self.opts.progress is None:
            return
        r = self.report
        self.opts.progress(
            Progress(
                rows=r.rows,
                position=1.0 if final else self._position(),
                elapsed=time.perf_counter() - self.started,
                created=r.created,
                updated=r.updated,
                unchanged=r.unchanged,
                refused=r.refused,
            )
        )

    def _position(self) -> float:
        if self.reader is None:
            return 0.0
        within = min(1.0, self.reader.position() / self.reader.size)
        return min(1.0, (self.file_index + within) / max(1, len(self.files)))

    def _issue(self, rec: dict, level: str, name: str, message: str) -> None:
        self.report.add(
            Issue(
                rec.get("file", ""),
                rec.get("label", ""),
                rec.get("primary_id", ""),
                level,
                name,
                message,
            )
        )

    def _refuse(self, rec: dict, problems: list[tuple[str, str]]) -> None:
        self.report.refused += 1
        rec["outcome"] = "refused"  # the preview's mark (preview_mark)
        for name, message in problems:
            self._issue(rec, "refused", name, message)

    # -- one chunk --

    def _chunk(self, items: list[dict]) -> None:
        cands = []
        seeds = self._seeds
        for item in items:
            if "raw" not in item:
                cands.append(item)  # a record the reader could not read
                continue
            if self._match_type is not None:
                cand = map_lazy(item)
                cand["file"] = item["file"]
            else:
                # The fingerprint and the key come from the raw record: an unchanged one is
                # never mapped.
                cand = {
                    "lazy": item,
                    "file": item["file"],
                    "label": item["label"],
                    "primary_id": primary_of(item["fmt"], item["raw"]),
                }
            seed = (item["fmt"], item["ctx"].fingerprint())
            hasher = seeds.get(seed)
            if hasher is None:
                hasher = seeds[seed] = seeded(self.salt + seed[0] + seed[1])
            cand["digest"] = digest(item["raw"], hasher)
            cands.append(cand)
        existing, states = self._existing(cands)
        records: list[tuple[dict, Any]] = []
        for cand in cands:
            acct = existing.get(self._match_key(cand))
            if acct is not None:
                state = states.get(acct["id"])
                if (
                    state is not None
                    and not self.opts.force
                    and state[0] == cand["digest"]
                    and state[1] == acct["version"]
                    and acct["organization"] == self.org.id  # another's: refused, not skipped
                    and not cand.get("broken")
                ):
                    self.report.unchanged += 1
                    self._mark_unchanged(cand, acct)
                    if len(self.report.preview) < self.opts.preview:
                        self.report.preview.append(_unchanged_preview(cand))
                    continue
            records.append((cand, acct))
        if not records:
            pass  # all unchanged: no worker process to start for them
        elif self._parallel():
            # Map and check this chunk in the worker while the previous one is written.
            future = self._pool.submit(
                check_batch, [c for c, _ in records], self.settings, self.today, self.opts.external
            )
            self._flush()
            self._pending = (future, [a for _, a in records])
        else:
            cands = [c for c, _ in records]
            self._finish(
                check_batch(cands, self.settings, self.today, self.opts.external),
                [a for _, a in records],
            )
        self._progress()

    def _large_load(self) -> bool:
        """Whether this load is worth building indexes after (see models/store/bulk.py)."""
        wanted = self.opts.defer_indexes
        if self.opts.exclusive:
            return bulk.is_sqlite()  # the database is this load's alone: every index after
        if wanted is not None:
            return wanted
        if not bulk.is_sqlite():
            return False
        done = self._position()
        if done <= 0:
            return False
        expected = self.report.rows / done
        if expected < BULK_MIN:
            return False
        people = database.execute_sql("SELECT count(*) FROM person").fetchone()[0]
        return expected >= people

    def _parallel(self) -> bool:
        """Whether to check records in a worker process: for a large load (the worker takes a
        second to start), unless told otherwise."""
        wanted = self.opts.parallel
        if wanted is None:
            reader = self.reader
            wanted = (
                self.opts.workers != 1
                and reader is not None
                and reader.size * max(1, len(self.files)) >= PARALLEL_BYTES
            )
        if not wanted:
            return False
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=worker_start,
                initargs=(os.getpid(),),
            )
        return True

    def _start_worker(self) -> None:
        """A large load's checking worker started as its first record is read: its start (a
        new Python process importing the checks) then overlaps the reading of the first chunk
        instead of delaying that chunk's check, and the writer waiting for it. Not for a load
        whose source has loaded records before (a rerun, the nightly SIS load: most records
        unchanged, perhaps none to check): its worker starts when a chunk needs it."""
        if ImportState.select().where(ImportState.source == self.source).exists():
            return
        if self._parallel():
            self._pool.submit(check_batch, [], self.settings, self.today, self.opts.external)

    def _flush(self) -> None:
        if self._pending is not None:
            future, accounts = self._pending
            self._pending = None
            self._finish(future.result(), accounts)

    def _finish(self, checked: list[dict], accounts: list) -> None:
        records = []
        for rec, acct in zip(checked, accounts, strict=True):
            for name in rec.get("no_home") or ():
                self.report.count_not_kept(rec.get("file") or self._file_name(), name)
            if rec.pop("quick", None) is not None and "key" in rec:
                # The mapped primary id differs from the one read raw (rare): match again.
                acct = self._existing([rec])[0].get(self._match_key(rec))
            rec["match"] = acct
            if len(self.report.preview) < self.opts.preview:
                self.report.preview.append(rec)
            records.append(rec)
        if records:
            self._write(records)

    def _file_name(self) -> str:
        return self.reader.path.name if self.reader is not None else self.path.name

    def _match_key(self, cand: dict) -> str | None:
        if self._match_type is None:
            return fold_key(str(cand.get("primary_id") or "")) or None
        wanted = self.opts.match.lower()
        for r in cand.get("identifiers") or []:
            t = r.get("id_type")
            code = (t[0] if isinstance(t, (list, tuple)) else str(t or "")).lower()
            if code == wanted and str(r.get("value") or "").strip():
                return fold_key(str(r["value"]))
        return None

    def _existing(self, cands: list[dict]) -> tuple[dict, dict]:
        """Accounts the candidates match (key -> account facts) and their import states."""
        keys = [k for k in (self._match_key(c) for c in cands) if k]
        found = self._matches(keys)
        if self._before is not None:
            # An exclusive load: a key an earlier record of the file gave may be an account the
            # load wrote (the same record again, in a later chunk: unchanged, as in a shared
            # load). Looked up among every row, without an index: only for such keys (rare).
            found |= self._matches([k for k in keys if k not in found and k in self.seen_ids], True)
        states: dict[int, tuple[str, int]] = {
            account_id: (digest_, version)
            for account_id, digest_, version in _lookup(
                "import_state",
                "account_id",
                "digest, account_version",
                [a["id"] for a in found.values()],
            )
        }
        return found, states

    def _matches(self, keys: list[str], every: bool = False) -> dict[str, dict]:
        """The accounts these match keys name (key -> id, person, account type, owning system,
        version, organization): by primary id, or by the `--match` identifier type; among the
        rows `_upto` says, or `every` row."""
        columns = ("id", "person", "account_type", "owning_system", "version", "organization")
        if self._match_type is None:
            rows = _lookup(
                "account",
                "primary_id_key",
                "id, person_id, account_type, owning_system, version, organization_id",
                keys,
                upto=None if every else self._upto("account", "id"),
            )
        else:
            rows = (
                (key, *rest)
                for key, type_id, *rest in _lookup(
                    "identifier JOIN account ON account.id = identifier.account_id",
                    "value_key",
                    "id_type_id, account.id, person_id, account_type, owning_system, version, "
                    "organization_id",
                    keys,
                    upto=None if every else self._upto("identifier", "identifier.id"),
                )
                if type_id == self._match_type
            )
        return {
            key: {"key": key, **dict(zip(columns, values, strict=True))} for key, *values in rows
        }

    def _upto(self, table: str, column: str) -> tuple[str, int] | None:
        """The rows of `table` a key look-up reads: None, all of them by the key's index; an
        exclusive load that deferred that index: those that were there before it, by their ids
        (`column`, up to the highest id then); the load's own keys are the file's, known from
        `seen_ids`, `seen_usernames`, `seen_looks` and `seen_emails`."""
        if self._before is None:
            return None
        return (column, self._before[table])

    def _defer(self) -> bool:
        """Defer the indexes of a large load (models/store/bulk.py); an exclusive one then
        notes the highest ids already written, for `_upto`."""
        if not bulk.defer_indexes(self.opts.exclusive):
            return False
        if self.opts.exclusive:
            self._before = {
                table: database.execute_sql(
                    f'SELECT COALESCE(MAX(id), 0) FROM "{table}"'
                ).fetchone()[0]
                for table in ("person", "account", "identifier")
            }
        return True

    def _mark_unchanged(self, cand: dict, acct: dict) -> None:
        """The keys of an unchanged record still belong to it for the rest of the file."""
        where = _here(cand)
        key = fold_key(str(cand.get("primary_id") or ""))
        if key:
            self.seen_ids.setdefault(key, where)
