"""The user record, in one place (issue 20):

- `fields`: the field table (name, label, kind, limits, person or account, mandatable, what an
  import does with a value its rule refuses), and the languages offered;
- `check`: `check_record(values, context, mode)`, the one check of a record, for a new user,
  the General tab and imports (modes `NEW`, `EDIT`, `IMPORT`);
- `derived`: the columns derived from the fields (keys, username skeleton, sort name, search
  text) for every writer, and `store_primary_id`, the one change of the primary identifier;
- `lookups`: what the checks ask the database (who holds a value, which code a value names).

The use cases stay where their callers find them: `models.users.accounts` (create a user),
`models.users.details` (the General tab), `models.transfer.imports` (imports).
"""

from models.users.check import Checked, Context, check_record
from models.users.derived import (
    full_name,
    person_derived,
    person_search_text,
    primary_id_columns,
    primary_identifier_row,
    sort_name,
    store_primary_id,
)
from models.users.fields import BY_NAME, EDIT, FIELDS, IMPORT, LANGUAGES, NEW, Field

__all__ = [
    "BY_NAME",
    "EDIT",
    "FIELDS",
    "IMPORT",
    "LANGUAGES",
    "NEW",
    "Checked",
    "Context",
    "Field",
    "check_record",
    "full_name",
    "person_derived",
    "person_search_text",
    "primary_id_columns",
    "primary_identifier_row",
    "sort_name",
    "store_primary_id",
]
