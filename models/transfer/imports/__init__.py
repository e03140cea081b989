"""`patrondesk import`: users from a file, checked by the rules of the screens, written at speed,
and SIS synchronization of external accounts (domain.md section 7).

The pipeline, per chunk of `chunk_size` records:
1. read and map (`models.transfer.formats`): each record becomes a *candidate*;
2. fingerprint: a digest of the candidate and of the load's options. An account whose last load
   had the same digest and that nobody changed since (its version is the one that load left,
   `ImportState`) is skipped without checking or reading anything else: an unchanged nightly SIS
   load costs little;
3. check (`clean`): the General fields by `models.users.check_record` (mode IMPORT: the rules
   of the screens with a migration's differences, below, from the field table), the rows by the
   field rules of `models.users.validation`, without the database;
4. resolve codes (user group, note type, ...): by code or name, through `--map`, else created
   and listed in the report (`--strict` refuses the record instead);
5. uniqueness against the database and the rest of the file (one query per kind per chunk);
6. write, in one transaction per chunk: new users through the driver's bulk insert (every column
   filled, search columns included; ids allocated in the transaction), existing ones updated
   one by one in a savepoint each, with an audit event per changed field.

Transaction policy: one transaction per chunk. A record is never half-written: its rows are in
the same transaction, and an update runs in a savepoint that is rolled back alone if it fails.
If a bulk insert fails (another session took a value between the check and the write), the
chunk is rolled back and written again one record per savepoint, so only the record at fault is
refused. A crash loses at most the chunk being written; a rerun matches the records already
written by primary identifier and updates (or skips) them: no duplicates.

Migration rules (where the screens' rules are stricter):
- a record is refused only when it cannot stand: no last name, no (valid) primary identifier, an
  identifier or username already used by another account or by an earlier record of the file,
  a code that `--strict` will not create, a matched account that this load may not change;
- past expiration and purge dates are loaded as they are (the record is simply expired);
- an optional value that fails its rule (a phone that does not parse, a malformed email, an
  unknown country) is left out with a warning, and the person is loaded;
- a password the policy refuses, a foreign hash, or an argon2 hash whose cost is out of bounds
  (models/access/passwords.py: hash_within_bounds) leaves the person with no usable password (a
  reset is
  required) and a warning; other argon2 hashes are kept as they are; plain passwords are
  hashed in a pool of worker processes (argon2 is slow on purpose);
- mandatory fields of the settings other than last name and primary identifier are not enforced.

SIS semantics (`external=True`): the loaded data is external. A matched external account gets
the SIS values of its General fields, except the fields staff changed by hand (`LocalOverride`:
their SIS value is kept as the "original value"); its external emails, phones, addresses,
identifiers, notes, blocks and statistics are replaced by the file's; internal rows survive. An
internal row whose value the SIS now sends becomes external (Alma). A matched internal account
is refused (toggle it to external first), as is an external account owned by another source.
Without `external`, a matched internal account gets the General fields the file carries and the
rows it does not have yet; nothing is deleted. Roles are given when an account is created.

The package, one module per part: `options` (constants, options, report), `checking` (a
candidate checked without the database), `codes` (code tables, map file), `hashing` (passwords
hashed in worker processes), `tables` (bulk rows, write failures), `importer` (the run, chunk by
chunk), `matching` (checks against the database and the file), `writer` (new users written),
`updating` (an existing account updated), `preview` (what is shown of a record, raw lookups).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models import audit
from models.transfer.imports.checking import check_batch, clean, digest
from models.transfer.imports.codes import CODE_MODELS, Codes, _Unknown, load_map_file
from models.transfer.imports.hashing import watch_parent
from models.transfer.imports.importer import ImportActor, Importer
from models.transfer.imports.options import (
    BULK_MIN,
    CHUNK_SIZE,
    MAX_ISSUES,
    MAX_NOT_KEPT,
    PARALLEL_BYTES,
    ImportError_,
    ImportOptions,
    ImportReport,
    Issue,
    Progress,
)
from models.transfer.imports.preview import preview_mark
from models.transfer.imports.tables import _atomic, _DryRunRollback
from models.users.check import fast_email


def import_file(
    path: str | Path, options: ImportOptions | None = None, **kwargs: Any
) -> ImportReport:
    """Import `path` (a file, or a folder of files). With `actor_account`: into the actor's
    organization, by the actor's rights. Without (the system, the command line): into
    `organization`, else the first organization. A RERO ILS file of several organisations is
    imported one organisation at a time (models.transfer.organizations)."""
    from models.store.files import check_document
    from models.transfer.organizations import import_by_organization, organisations_of

    options = options or ImportOptions()
    if kwargs.get("actor_account") is not None:
        # A staff session's import: the path a document before it is opened at all (a RERO
        # file is read for its organisations first); each file of a folder: `Importer`.
        check_document(path)
    plan = organisations_of(Path(path), options)
    if plan is not None:
        return import_by_organization(Path(path), options, plan, kwargs)
    return Importer(path, options, **kwargs).run()


__all__ = [
    "BULK_MIN",
    "CHUNK_SIZE",
    "CODE_MODELS",
    "MAX_ISSUES",
    "MAX_NOT_KEPT",
    "PARALLEL_BYTES",
    "Codes",
    "ImportActor",
    "ImportError_",
    "ImportOptions",
    "ImportReport",
    "Importer",
    "Issue",
    "Progress",
    "_DryRunRollback",
    "_Unknown",
    "_atomic",
    "audit",
    "check_batch",
    "clean",
    "digest",
    "fast_email",
    "import_file",
    "load_map_file",
    "preview_mark",
    "watch_parent",
]
