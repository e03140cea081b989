"""Domain below, screens above, never the reverse (../shared/docs/style.md).

`models` must import and work with no terminal: importing it must not load Textual (nor the
front ends). Screens talk to the database through `models`, never with SQL of their own.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_IMPORT_ALL = r"""
import importlib, json, pkgutil, sys
import models
names = ["models"]
for info in pkgutil.walk_packages(models.__path__, "models."):
    importlib.import_module(info.name)
    names.append(info.name)
for extra in sys.argv[1:]:
    importlib.import_module(extra)
    names.append(extra)
loaded = sorted(sys.modules)
print(json.dumps({"imported": names, "loaded": loaded}))
"""


def import_in_fresh_interpreter(*extra: str) -> tuple[list[str], list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return data["imported"], data["loaded"]


def under(loaded: list[str], package: str) -> list[str]:
    return [m for m in loaded if m == package or m.startswith(package + ".")]


def test_importing_every_models_module_loads_no_textual() -> None:
    imported, loaded = import_in_fresh_interpreter()
    expected = {p.stem for p in (ROOT / "models").glob("*.py") if p.stem != "__init__"}
    assert {f"models.{name}" for name in expected} <= set(imported)
    assert "models.store.migrations" in imported
    assert under(loaded, "textual") == []
    # Nor the front ends above it.
    assert under(loaded, "screens") == []
    assert under(loaded, "tui") == []


def test_the_command_line_modules_load_no_textual() -> None:
    """`patrondesk --version`, `init` and `migrate` need no UI: `tui` loads it only for the app."""
    _, loaded = import_in_fresh_interpreter(
        "tui", "tui.cli", "models.store.connection", "tui.paths"
    )
    assert under(loaded, "textual") == []


# Raw SQL: peewee's escape hatch, or SQL keywords in a string.
_RAW_SQL = re.compile(r"execute_sql|\bSELECT |\bINSERT INTO\b|\bDELETE FROM\b|\bUPDATE \w+ SET\b")


def test_no_screen_holds_raw_sql() -> None:
    files = sorted((ROOT / "screens").rglob("*.py"))
    assert files, "screens/ has no Python files"
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _RAW_SQL.search(line)
    ]
    assert not offenders, "raw SQL in screens (use a function in models/):\n" + "\n".join(offenders)


def test_the_raw_sql_check_catches_what_it_should() -> None:
    for line in ('db.execute_sql("x")', 'q = "SELECT id FROM person"', "DELETE FROM fee"):
        assert _RAW_SQL.search(line)
    for line in ("Select(options)", "self.select_all()", "Account.select().where(...)"):
        assert not _RAW_SQL.search(line)


def test_no_screen_holds_the_connection() -> None:
    """Screens reach the database through services, in workers (tui.worker): none imports the
    connection itself (`models.store.base.database`) nor closes a thread's connection by hand."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "screens").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"from models\.base import|\bdatabase\.(close|connect|atomic)\(", line)
    ]
    assert not offenders, "the connection in screens (use tui.worker):\n" + "\n".join(offenders)


def test_screens_import_no_table_class() -> None:
    """Screens ask services, by name (`models.config.codes.code_options("user_group", org)`), never
    a
    table class: the tables are the domain's to change. Type hints are allowed."""
    offenders = []
    for path in sorted((ROOT / "screens").rglob("*.py")):
        hinting = False
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("if TYPE_CHECKING:"):
                hinting = True
            elif line and not line[0].isspace():
                hinting = False
            if not hinting and re.search(r"from models\.tables import|models\.tables\.", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "table classes in screens:\n" + "\n".join(offenders)


# --- import cycles (issue 20) ---------------------------------------------------------------

PACKAGES = ("models", "screens", "tui", "styles")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The project's modules `name` imports when it loads (its top level; what is imported
    inside a function or under TYPE_CHECKING loads later or never, and cannot deadlock)."""
    import ast

    found: set[str] = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    known = set(paths)
    return {name: _module_imports(path, name, known) for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 50 and graph["tui.app"], "the graph reads the project"
    assert cycles(graph) == [], "modules that import each other (directly or around a loop)"


def test_the_cycle_check_finds_one() -> None:
    loop = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(loop) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_screens_hold_no_css() -> None:
    """One stylesheet convention (issue 20): the app's stylesheets in styles/ style every screen;
    `DEFAULT_CSS` belongs to reusable widgets (tui/, and the dialogs' ButtonRow)."""
    offenders = []
    for path in sorted((ROOT / "screens").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^class (\w+)\((.*)\):\n((?:    .*\n|\n)*)", text, re.M):
            name, bases, body = match.groups()
            if re.search(r"^    (DEFAULT_CSS|CSS|CSS_PATH) =", body, re.M) and "Screen" in (
                name + bases
            ):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert not offenders, "CSS in a screen class (move it to styles/):\n" + "\n".join(offenders)
