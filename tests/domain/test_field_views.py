"""What other modules know of the user record's fields they read from the field table
(models/users/fields.py, issue 20: "adding a field is one entry in the field table plus its
migration"): the General tab's person and account fields, the fields an external account's SIS
load owns, the date and code fields, the address fields the checks read. A field added to the
table is in every view it belongs to, and no module listed here keeps its own list of names."""

from __future__ import annotations

import ast
from pathlib import Path

from models.users import external, fields
from models.users.fields import ACCOUNT, BY_NAME, CODE, DATE_KINDS, EDIT, FIELDS, PERSON

ROOT = Path(__file__).resolve().parents[2]
# The modules that once listed fields by hand (the General tab's labels and switches too).
DERIVING = (
    "screens/user_details/general.py",
    "models/users/external.py",
    "models/users/check.py",
    "models/transfer/imports/writer.py",
    "models/demo/tables.py",
)


def test_the_general_tab_fields_are_the_tables_entered_in_edit() -> None:
    general = [f.name for f in FIELDS if EDIT in f.modes]
    assert sorted(external.GENERAL_FIELDS) == sorted(general)
    # The tab's order: every field has its own place, the names first (as before the table).
    tabs = [BY_NAME[n].tab for n in external.GENERAL_FIELDS]
    assert tabs == sorted(tabs) and len(set(tabs)) == len(tabs) and 0 not in tabs
    assert external.GENERAL_FIELDS[:3] == ("first_name", "middle_name", "last_name")
    assert set(external.PERSON_FIELDS) == {n for n in general if BY_NAME[n].owner == PERSON}
    assert set(external.ACCOUNT_FIELDS) == {n for n in general if BY_NAME[n].owner == ACCOUNT}
    assert {n for n in general if BY_NAME[n].kind in DATE_KINDS} == external.DATE_FIELDS
    assert {n for n in general if BY_NAME[n].kind == CODE} == external.CODE_FIELDS


def test_an_external_account_may_change_the_fields_no_sis_load_owns() -> None:
    general = {f.name for f in FIELDS if EDIT in f.modes}
    assert {n for n in general if not BY_NAME[n].sis} == external.EXTERNAL_EDITABLE
    # Alma ("Editing Users"): what staff may always edit on an external account ...
    alma = {"title", "pin", "job_category", "user_group", "campus", "preferred_language"}
    alma |= {"comm_language", "cataloger_level", "letters_opt_in"}
    alma |= {"preferred_first_name", "preferred_middle_name", "preferred_last_name"}
    assert alma <= external.EXTERNAL_EDITABLE
    # ... and what only "Open for update" unlocks (the primary identifier: never).
    owned = {"first_name", "last_name", "birth_date", "expiry_date", "purge_date", "primary_id"}
    assert not owned & external.EXTERNAL_EDITABLE
    assert all(BY_NAME[n].sis for n in owned | external.EXTERNAL_FIXED)


def _field_name_lists(source: str) -> list[tuple[int, list[str]]]:
    """Tuples, sets and lists of four or more string literals that all name fields, and dicts
    keyed by four or more of them (a hand list of labels)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            elts = [k for k in node.keys if k is not None]  # `**spread` keys are None
        elif isinstance(node, ast.Tuple | ast.Set | ast.List):
            elts = node.elts
        else:
            continue
        if len(elts) < 4:
            continue
        names = [e.value for e in elts if isinstance(e, ast.Constant)]
        if len(names) == len(elts) and all(n in BY_NAME for n in names):
            found.append((node.lineno, names))
    return found


def _kind_sets(source: str) -> list[int]:
    """Tuples and sets of two or more date kinds by name (`DATE_KINDS` is their home)."""
    date_kinds = {n for n in dir(fields) if n.isupper() and isinstance(getattr(fields, n), str)}
    date_kinds = {n for n in date_kinds if getattr(fields, n) in DATE_KINDS}
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Tuple | ast.Set)
        and len(node.elts) >= 2
        and all(isinstance(e, ast.Name) and e.id in date_kinds for e in node.elts)
    ]


def test_no_module_keeps_its_own_list_of_field_names() -> None:
    found = {}
    for path in DERIVING:
        source = (ROOT / path).read_text(encoding="utf-8")
        if hits := _field_name_lists(source) + _kind_sets(source):
            found[path] = hits
    assert found == {}


def test_the_guard_finds_a_list_of_field_names() -> None:
    source = (
        'A = ("first_name", "last_name", "title", "gender")\n'
        'B = ("first_name", "last_name", "title", "not_a_field")\n'
        "C = frozenset({DATE_BIRTH, DATE})\n"
        'D = {"first_name": 1, "last_name": 2, "title": 3, "gender": 4}\n'
    )
    assert [line for line, _ in _field_name_lists(source)] == [1, 4]
    assert _kind_sets(source) == [3]
