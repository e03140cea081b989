"""What F1 and the command palette show, read from the live bindings and the key registry.

Both start from `Screen.active_bindings` of the screen the user is on (the focused widget's
keys, the screen's, the app's: after a user's key map is applied), so neither can list a key
that does not work there, nor miss one that does. The palette also offers the app's screens
that have no key (`APP_COMMANDS`), and only what the session may do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.keys import (
    APP_COMMANDS,
    EVERYWHERE,
    PATRON,
    SESSION,
    STAFF,
    KeyAction,
    lookup,
    shown_key,
)

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode
    from textual.screen import Screen


@dataclass
class LiveKey:
    """One registry action as it is bound now on a screen."""

    entry: KeyAction
    group_title: str
    keys: list[str]  # as bound now (a user's key map applied), in binding order
    node: DOMNode  # where the binding lives: the action runs there
    action: str
    enabled: bool


def live_keys(screen: Screen) -> list[LiveKey]:
    """Every active binding of `screen` that the registry knows, one entry per binding (a
    binding on two keys is one entry), screen and widget keys first, the app's last."""
    found: dict[tuple[int, str | None, str], LiveKey] = {}
    for key, active in screen.active_bindings.items():
        known = lookup(active.binding)
        if known is None:
            continue  # a Textual widget's own key (an Input's editing keys)
        entry, group = known
        slot = (id(active.node), active.binding.id, active.binding.action)
        if slot in found:
            found[slot].keys.append(key)
            continue
        title = EVERYWHERE if active.node is screen.app else group.title
        found[slot] = LiveKey(
            entry, title, [key], active.node, active.binding.action, active.enabled
        )
    keys = list(found.values())
    return [k for k in keys if k.group_title != EVERYWHERE] + [
        k for k in keys if k.group_title == EVERYWHERE
    ]


def allowed(entry: KeyAction, app: App, rights: Mapping[object, bool] | None = None) -> bool:
    """May the session of `app` run `entry`? (the palette asks; the action checks again).
    `rights`: the session's answers read beforehand (`session_rights`, in a thread); without
    them the session asks the database here."""
    session = getattr(app, "session", None)
    needs = entry.needs
    if needs is None:
        return True
    if session is None:
        return False
    if needs == SESSION:
        return True
    if needs == STAFF:
        return not session.is_patron_only
    if needs == PATRON:
        return session.is_patron_only
    if rights is not None:
        return rights.get(needs, False)
    return session.can(needs)


def needed_rights(screen: Screen) -> set[object]:
    """The permissions the palette's entries on `screen` need (read from the registry only)."""
    entries = [live.entry for live in live_keys(screen)] + list(APP_COMMANDS.actions)
    plain = (None, SESSION, STAFF, PATRON)
    return {entry.needs for entry in entries if entry.needs not in plain}


def session_rights(session: object, needs: Iterable[object]) -> dict[object, bool]:
    """The session's answer for each of `needs` (database reads: call it in a thread)."""
    return {need: session.can(need) for need in needs}  # type: ignore[attr-defined]


@dataclass
class Command:
    id: str
    title: str
    help: str
    run: partial


def commands(screen: Screen, rights: Mapping[object, bool] | None = None) -> list[Command]:
    """The palette's commands on `screen`: its keys and the app's that the registry offers in
    the palette and the session may run (`rights`, see `allowed`), then the app's screens
    without a key."""
    app = screen.app
    out: list[Command] = []
    seen: set[str] = set()
    actions: set[str] = set()  # an app command also bound on the screen is offered once
    for live in live_keys(screen):
        entry = live.entry
        if not (entry.palette and live.enabled and allowed(entry, app, rights)) or entry.id in seen:
            continue
        seen.add(entry.id)
        actions.add(live.action)
        keys = ", ".join(
            dict.fromkeys(app.get_key_display(_binding(live, shown_key(k))) for k in live.keys)
        )
        out.append(
            Command(
                entry.id,
                entry.description,
                f"{live.group_title} · key: {keys}",
                partial(app.run_action, live.action, live.node),
            )
        )
    for entry in APP_COMMANDS.actions:
        if entry.id not in seen and entry.action not in actions and allowed(entry, app, rights):
            seen.add(entry.id)
            out.append(Command(entry.id, entry.description, EVERYWHERE, partial(
                app.run_action, entry.action, app)))  # fmt: skip
    return out


def _binding(live: LiveKey, key: str):
    from textual.binding import Binding

    return Binding(key, live.action, live.entry.description)


class KeyCommands(Provider):
    """The command palette's commands, from the key registry (see `commands`)."""

    _rights: dict[object, bool] | None = None

    async def startup(self) -> None:
        """The session's rights, read once in a thread when the palette opens."""
        from tui.worker import in_thread

        session = getattr(self.app, "session", None)
        needs = needed_rights(self.screen)
        self._rights = await in_thread(session_rights, session, needs) if session else {}

    def _commands(self) -> Iterable[Command]:
        return commands(self.screen, self._rights if self._rights is not None else {})

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
