"""`patrondesk export`: users to a file, streamed (constant memory at a million users).

Formats:
- `json`: PatronDesk's own export, every field of every user (what `patrondesk import` reads
  back into an empty database, field for field), with their loans and fees (and the fees'
  transactions), the code tables the users name and the currency of the amounts. One user
  per line inside a JSON object, so both ends stream. Password and PIN hashes are included: the
  file is as sensitive as the database.
- `csv`: the columns of `models.transfer.formats.CSV_COLUMNS` (README "Import and export"): one
  address (the preferred), no hashes, no attachments.
- `alma-xml`: Alma's `<users>` with one `<user>` per account (the REST and SIS-load schema).
- `alma-json`: Alma's REST `{"user": [...], "total_record_count": N}`, the same fields as
  `alma-xml` (PatronDesk's own in a `patrondesk` member instead of processing instructions).
- `folio-json`: FOLIO mod-users' `{"users": [...], "totalRecords": N}`, each user valid against
  mod-users' userdata.json, with the patron groups and address types the UUIDs name
  (`usergroups`, `addresstypes`) before the users.
- `rero-json`: RERO ILS users (a JSON array, as RERO's data/users.json) with their `patron`
  record.

Accounts are read in pages of `PAGE` by id (or through the search engine when a query or
filters are given), with each page's rows fetched by one query per table.
`user_document` is the personal-information export of one user (no secrets; loans and fees too).
"""

from models.transfer.exports.personal import user_document
from models.transfer.exports.records import EXPORT_FORMATS, ExportError, ExportFilter
from models.transfer.exports.stream import export_to_file, export_users, format_for_path, users

__all__ = [
    "EXPORT_FORMATS",
    "ExportError",
    "ExportFilter",
    "export_to_file",
    "export_users",
    "format_for_path",
    "users",
    "user_document",
]
