"""A user's own keys: a TOML file in the config folder (`tui.paths.keymap_file`).

    [keys]
    save = "ctrl+k"
    new_user = "f2,ctrl+n"

Each name is a binding id of the key registry (tui/keys.py, the README's table of keys); the
app applies the map with `App.set_keymap`, so the id changes on every screen at once. An entry
that is not understood (an unknown id, a key that cannot be read, a key another action of the
same screen already has) is left out and reported in words at start, never fatal: the app
starts with its own keys for those actions.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.keys import Keys, key_to_character

from tui.keys import DEFAULT_KEYS, EVERYWHERE, GROUPS, screens_of

MODIFIERS = {"ctrl", "shift", "alt", "super", "meta", "hyper"}
# Keys nobody may take: moving between fields, and what terminals send for Tab, Enter and
# Backspace, or to interrupt.
RESERVED = {"tab", "shift+tab", "ctrl+i", "ctrl+m", "ctrl+h", "ctrl+j", "ctrl+c"}
NAMED = {k.value.rpartition("+")[2] for k in Keys} | {"space", "enter", "escape", "delete"}
NAMED |= {f"f{n}" for n in range(1, 25)}
# Co-active with every screen: the app's keys, those of every list and every text field.
SHARED_SCREENS = {EVERYWHERE, "Lists", "Fields"}
MAX_FILE = 64 * 1024


def key_problem(key: str) -> str | None:
    """Why `key` is not a key Textual can bind, or None."""
    if not key:
        return "an empty key"
    *modifiers, base = key.split("+") if key != "+" else ["+"]
    if len(set(modifiers)) != len(modifiers) or not set(modifiers) <= MODIFIERS:
        return f"'{key}' is not a key (modifiers: ctrl, shift, alt, super, meta)"
    if len(base) == 1 and base.isprintable() and not base.isspace():
        return None
    if base in NAMED or key_to_character(base) is not None:
        return None
    return f"'{key}' is not a key"


def _priority_ids() -> set[str]:
    return {a.id for g in GROUPS for a in g.actions if a.priority}


def _together(first: str, second: str) -> bool:
    """Can the two ids be active at the same time (one screen, or a shared group)?"""
    a, b = screens_of(first), screens_of(second)
    return bool(a & b or a & SHARED_SCREENS or b & SHARED_SCREENS)


def read_keymap(path: Path) -> tuple[dict[str, str], list[str]]:
    """The entries of the user's key map that can be applied, and a line for each that cannot.
    No file: no entries, no problem."""
    try:
        if not path.is_file():
            return {}, []
        if path.stat().st_size > MAX_FILE:
            return {}, [f"{path} is larger than {MAX_FILE // 1024} KB: not read."]
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [f"{path} cannot be read ({exc.__class__.__name__}): not used."]
    except tomllib.TOMLDecodeError as exc:
        return {}, [f"{path} is not a valid TOML file ({exc}): not used."]
    keys = data.get("keys")
    if keys is None:
        return {}, [f"{path} has no [keys] table: not used."]
    if not isinstance(keys, dict):
        return {}, [f"{path}: 'keys' must be a table ([keys]): not used."]
    return check_entries(keys)


def check_entries(entries: dict[str, object]) -> tuple[dict[str, str], list[str]]:
    problems: list[str] = []
    wanted: dict[str, str] = {}
    priority = _priority_ids()
    for key_id, value in entries.items():
        shown = repr(key_id)[:60]
        if key_id not in DEFAULT_KEYS:
            problems.append(f"{shown} is not an action with a key; left out.")
            continue
        if not isinstance(value, str):
            problems.append(f'{shown}: the key must be written in quotes, as "ctrl+k".')
            continue
        keys = [k.strip() for k in value.split(",")]
        bad = next((p for k in keys if (p := key_problem(k))), None)
        if bad is None and (taken := sorted(set(keys) & RESERVED)):
            bad = f"'{taken[0]}' cannot be moved to an action (fields need it)"
        if bad is None and key_id in priority:
            typed = [k for k in keys if len(k) == 1 or k == "space"]
            if typed:
                bad = f"'{typed[0]}' would be taken from every text field"
        if bad:
            problems.append(f"{shown}: {bad[:120]}; its key stays {DEFAULT_KEYS[key_id]}.")
            continue
        wanted[key_id] = ",".join(keys)
    # Clashes: drop the user's entries that give a key to two actions active together, until
    # none is left (dropping one gives its action back its own key, which may clash again).
    while True:
        effective = {**DEFAULT_KEYS, **wanted}
        by_key: dict[str, list[str]] = {}
        for key_id, value in effective.items():
            for k in value.split(","):
                by_key.setdefault(k, []).append(key_id)
        clash = None
        for key_id in wanted:
            for k in wanted[key_id].split(","):
                others = [o for o in by_key[k] if o != key_id and _together(key_id, o)]
                if others:
                    clash = (key_id, k, others[0])
                    break
            if clash:
                break
        if clash is None:
            return wanted, problems
        key_id, k, other = clash
        problems.append(
            f"{key_id!r}: '{k}' is already the key of {other!r} on the same screen; "
            f"its key stays {DEFAULT_KEYS[key_id]}."
        )
        del wanted[key_id]
