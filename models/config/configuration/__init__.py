"""Configuration of an organization (issue 6; domain.md sections 1 to 3): its own record, its
libraries, code tables and role-assignment rules, edited by User Administrators.

    TABLES                                             the configurable tables, by key
    list_entries(table, organization_id, actor)        -> [Entry] by code (rules: by role)
    entry_values(table, organization_id, entry_id, actor) -> dict in add_entry's input format
    add_entry(table, organization_id, data, actor)     -> the row
    update_entry(table, organization_id, entry_id, data, actor) -> the row
    set_entry_active(table, organization_id, entry_id, active, actor) -> the row
    delete_entry(table, organization_id, entry_id, actor)  (InUse when anything refers to it)
    code_usage(model, entry_id)                        -> [Usage]: where an entry is used

Rules (each raises a typed error the screen shows under its field):
- Every write needs the CONFIGURE right (User Administrator) in the organization concerned;
  an organization's administrators configure that organization only. `actor.account` None is
  the system (the command line's `config import`).
- Codes: 1 to 50 letters, digits, "_", "-" or ".", starting with a letter or digit, unique in
  their table of the organization whatever the case (`find_code` looks them up that way).
  Names: required, unique in their table (statistical categories: within their type), since
  the screens and imports also find an entry by name.
- A code in use cannot be deleted: `code_usage` finds every row of every table that refers to
  it (through any foreign key, so a table added later is covered) and the refusal says where.
  Deactivating is the way to retire an entry in use: it is no longer offered for new records,
  and records keeping it are untouched.
- Libraries: an email address (where letters for users who get mail by post are sent) is
  optional and checked; the last active library of an organization cannot be deactivated or
  deleted. Organizations: only the own one is listed and edited here, and it cannot be
  deactivated; new organizations come from `add_organization` (the command line).
- User groups, job categories and identifier types: the record types an entry applies to
  (none: every type; `models.config.codes.applies_to`); a change that would leave accounts (or
  their identifiers) holding the entry with a record type it no longer applies to is refused.
- Titles (Alma's User Titles): a name of at most 50 characters, the text a person's title
  stores; with active titles the forms offer Title as a choice of them.
- Block definitions block at least one of loans, renewals and requests.
- Fee types: waivable, manual creation, an overdue rate per day (an amount in the currency
  setting, at least 0) and the library they are limited to (none: every library).
- Statistical categories belong to a type of the same organization.
- Role-assignment rules: exactly one of a user group or a job category gives one role, never
  Patron (every account has it) and never User Administrator (administrators are named one by
  one); one rule per source and role. Rules apply when an account is created.
- Every change is audited: one event per changed field, entity = the table ("user_group"),
  entity_id = the entry, no account.

The package, one module per part: `tables` (TABLES, the refusals, where an entry is used),
`reading`, `checks`, `writing` and `organizations` (add_organization, config_history,
organization_by_code).
"""

from models.config.configuration.organizations import (
    add_organization,
    config_history,
    organization_by_code,
)
from models.config.configuration.reading import Entry, entry_values, list_entries
from models.config.configuration.tables import (
    TABLES,
    TYPE_OPTIONS,
    ConfigField,
    ConfigRefused,
    InUse,
    Table,
    Usage,
    code_usage,
)
from models.config.configuration.writing import (
    add_entry,
    delete_entry,
    set_entry_active,
    update_entry,
)

__all__ = [
    "TABLES",
    "TYPE_OPTIONS",
    "ConfigField",
    "ConfigRefused",
    "Entry",
    "InUse",
    "Table",
    "Usage",
    "add_entry",
    "add_organization",
    "code_usage",
    "config_history",
    "delete_entry",
    "entry_values",
    "list_entries",
    "organization_by_code",
    "set_entry_active",
    "update_entry",
]
