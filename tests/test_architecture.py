"""The architecture, enforced: the layers below, read from the imports.

A module may import its own part and any part of a lower layer; parts side by
side in one layer are independent of each other. The pure layers (shared
words and the core) use no storage, web, mail, daemon, command line, clock or
settings and no edge library: time and values are arguments. No import
cycles; no module over 400 lines; only ``scheduler/clock.py`` reads the
clock; every package says in its docstring what it holds and may use.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The layers, low to high: (layer, {part: modules}). "x.*" is the package x
# and everything in it; a plain name is that one module.
LAYERS: tuple[tuple[str, dict[str, tuple[str, ...]]], ...] = (
    (
        "shared words",
        {
            "shared words": (
                "scheduler",
                "scheduler.errors",
                "scheduler.bounds",
                "scheduler.documents",
                "scheduler.i18n",
                "scheduler.rendering",
                "scheduler.sealing",
            )
        },
    ),
    ("pure core: the plan", {"plan": ("scheduler.plan.*",)}),
    ("pure core: people", {"people": ("scheduler.people.*",)}),
    (
        "pure core: what the plan yields",
        {
            "evidence": ("scheduler.evidence.*",),
            "feeds": ("scheduler.feeds.*",),
            "compliance": ("scheduler.compliance.*",),
            "reminders": ("scheduler.reminders.*",),
            "harvest": ("scheduler.harvest.*",),
        },
    ),
    ("edge basics", {"clock": ("scheduler.clock",), "settings": ("scheduler.settings", "scheduler.setting_values")}),
    ("storage", {"store": ("scheduler.store.*",)}),
    # issue 19: chat providers and webhooks are POSTed through fetching.posting, so fetching sits below notifiers
    ("network out", {"fetching": ("scheduler.fetching.*",)}),
    ("messages out", {"notifiers": ("scheduler.notifiers.*",)}),
    ("long-running edges", {"daemon": ("scheduler.daemon.*",), "web": ("scheduler.web.*",)}),
    ("command line", {"cli": ("scheduler.cli.*",)}),
    ("entry point", {"main": ("main",)}),
)
PURE_LAYERS = 4  # the first four: shared words and the pure core
# What a pure module is told when it reaches for a part of an edge.
EDGE_WORDS = {
    "clock": "the clock; take `now` as an argument",
    "settings": "settings; pass values in instead",
    "store": "storage; pass values in instead",
    "notifiers": "mail; return the message instead",
    "fetching": "the network; take the fetched bytes as an argument",
    "daemon": "the daemon",
    "web": "the web",
    "cli": "the command line",
    "main": "the command line",
}
# Libraries of the edges: none in the pure layers.
EDGE_LIBRARIES = {
    "sqlalchemy",
    "alembic",
    "psycopg",
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "python_multipart",
    "apscheduler",
    "smtplib",
    "yagmail",
    "ssl",
    "requests",
    "httpx",
    "socket",
    "http",
    "urllib3",
}
# And the edge each of them belongs to: mail stays in notifiers, APScheduler in the daemon, HTTP in the web.
LIBRARY_HOMES = {
    "sqlalchemy": {"store", "daemon", "web", "cli"},
    "alembic": {"store"},
    "smtplib": {"notifiers"},
    "yagmail": {"notifiers"},
    "ssl": {"notifiers", "fetching"},
    "http": {"fetching"},
    "apscheduler": {"daemon"},
    "fastapi": {"web"},
    "starlette": {"web"},
    "pydantic": {"web"},
    "python_multipart": {"web"},
    "uvicorn": {"web", "cli"},
}
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("time", "time"),
    ("datetime", "today"),
    ("time", "monotonic"),
}
MAX_LINES = 400
# Alembic's script directory: loaded by path, not imported as a package.
NOT_PACKAGES = {"scheduler/store/migrations", "scheduler/store/migrations/versions"}
# Known violations in files other helpers of issue 13 are rewriting, as
# (importer, imported); remove each once its file is fixed.
ALLOWED: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, e.g. "scheduler.plan.cadence"
    target: str  # the imported module or library, e.g. "scheduler.store.tables" or "sqlalchemy"
    line: int
    type_only: bool  # inside ``if TYPE_CHECKING:``


def modules(root: Path) -> dict[str, Path]:
    """Every module of scheduler/ (and main.py) under ``root``, by dotted name."""
    found = {"main": root / "main.py"} if (root / "main.py").exists() else {}
    for path in sorted((root / "scheduler").rglob("*.py")):
        if str(path.parent.relative_to(root)) in NOT_PACKAGES:
            continue
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _walk(node: ast.AST, type_only: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node, with whether it sits under ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            for inner in child.body:
                yield inner, True
                yield from _walk(inner, True)
            for inner in child.orelse:
                yield inner, type_only
                yield from _walk(inner, type_only)
        else:
            yield child, type_only
            yield from _walk(child, type_only)


def imports(name: str, path: Path, known: dict[str, Path]) -> list[Import]:
    """What ``name`` imports, at any depth (function-level imports count)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node, type_only in _walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, node.lineno, type_only) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                whole = f"{base}.{alias.name}"
                found.append(Import(name, whole if whole in known else base, node.lineno, type_only))
    return found


def part_of(module: str) -> tuple[int, str] | None:
    """(layer number, part) of a module of the project; None if unclassified."""
    best: tuple[int, int, str] | None = None
    for number, (_, parts) in enumerate(LAYERS):
        for part, patterns in parts.items():
            for pattern in patterns:
                prefix = pattern.removesuffix(".*")
                matches = module == prefix or (pattern.endswith(".*") and module.startswith(prefix + "."))
                if matches and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), number, part)
    return (best[1], best[2]) if best else None


def _project(target: str, known: dict[str, Path]) -> str | None:
    """The project module ``target`` names (the longest known prefix), or None for a library."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return None


def layer_problems(known: dict[str, Path], found: list[Import]) -> list[str]:
    problems = []
    for name in known:
        if part_of(name) is None:
            problems.append(f"{_where(known, name)} is in no layer: add it to LAYERS in tests/test_architecture.py")
    for imp in found:
        place = f"{_where(known, imp.source)}:{imp.line} imports {imp.target}"
        source = part_of(imp.source)
        if source is None or (imp.source, imp.target) in ALLOWED:
            continue
        layer, part = source
        pure = layer < PURE_LAYERS
        target_module = _project(imp.target, known)
        if target_module is None:
            library = imp.target.split(".")[0]
            if pure and library in EDGE_LIBRARIES:
                problems.append(
                    f"{place}: the pure core ({part}) may not use {library}, a library of the edges; "
                    "pass values in instead, and keep I/O in scheduler.store, notifiers, web or daemon"
                )
            elif part not in LIBRARY_HOMES.get(library, {part}):
                homes = ", ".join(f"scheduler.{home}" for home in sorted(LIBRARY_HOMES[library]))
                problems.append(f"{place}: {library} belongs to {homes}; call that part instead")
            continue
        target = part_of(target_module)
        if target is None or target[1] == part:
            continue
        other_layer, other = target
        if pure and other_layer >= PURE_LAYERS:
            problems.append(f"{place}: the pure core ({part}) may not use {EDGE_WORDS.get(other, other)}")
        elif other_layer > layer:
            problems.append(
                f"{place}: {_named(layer, part)} may not use {_named(other_layer, other)}, "
                "a higher layer; move what both need down, or pass it in"
            )
        elif other_layer == layer:
            problems.append(
                f"{place}: {part} and {other} stand side by side ({LAYERS[layer][0]}) and are "
                "independent; move what both need down a layer"
            )
    return problems


def cycles(found: list[Import], known: dict[str, Path]) -> list[list[str]]:
    """One shortest cycle per strongly connected group of project modules
    (runtime imports, at any depth; ``TYPE_CHECKING`` imports name types only)."""
    graph: dict[str, set[str]] = {name: set() for name in known}
    for imp in found:
        target = _project(imp.target, known)
        if target and not imp.type_only and target != imp.source:
            graph[imp.source].add(target)
    result, seen = [], set()
    for start in sorted(graph):
        if start in seen:
            continue
        path = _shortest_cycle(graph, start)
        if path:
            seen |= set(path)
            result.append(path)
    return result


def _shortest_cycle(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """The shortest path start → … → start, breadth first."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node]):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    return None


def _where(known: dict[str, Path], name: str) -> str:
    """The module's file, relative to the checkout: scheduler/plan/__init__.py."""
    return "/".join(name.split(".")) + ("/__init__.py" if known[name].name == "__init__.py" else ".py")


def _named(layer: int, part: str) -> str:
    return part if part == LAYERS[layer][0] else f"{part} ({LAYERS[layer][0]})"


def clock_problems(known: dict[str, Path]) -> list[str]:
    problems = []
    for name, path in known.items():
        if name == "scheduler.clock":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                target = node.func.value
                owner = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
                if (owner, node.func.attr) in CLOCK_CALLS:
                    problems.append(
                        f"{_where(known, name)}:{node.lineno} reads the clock; only scheduler/clock.py "
                        "does: take `now` as an argument"
                    )
    return problems


def size_problems(known: dict[str, Path]) -> list[str]:
    problems = []
    for name, path in known.items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            problems.append(f"{_where(known, name)} has {lines} lines (at most {MAX_LINES}); split it by domain word")
    return problems


def package_problems(root: Path) -> list[str]:
    problems = []
    for folder in sorted({p.parent for p in (root / "scheduler").rglob("*.py")}):
        where = str(folder.relative_to(root))
        if where in NOT_PACKAGES or "__pycache__" in folder.parts:
            continue
        init = folder / "__init__.py"
        if not init.exists():
            problems.append(f"{where}/ has no __init__.py: every package says what it holds and may use")
        elif not ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))):
            problems.append(f"{where}/__init__.py has no docstring: say what the package holds and may use")
    return problems


def check(root: Path) -> list[str]:
    """Every broken rule of the architecture under ``root`` (a checkout), as
    sentences that say where, what and what to do instead."""
    known = modules(root)
    found = [imp for name, path in known.items() for imp in imports(name, path, known)]
    problems = layer_problems(known, found)
    problems += ["import cycle: " + " → ".join(path) for path in cycles(found, known)]
    return problems + clock_problems(known) + size_problems(known) + package_problems(root)


def test_the_repository_keeps_its_architecture():
    problems = check(ROOT)
    assert not problems, "\n".join(problems)


def test_every_module_is_in_one_layer():
    known = modules(ROOT)
    assert "scheduler.plan.cadence" in known and "main" in known
    assert all(part_of(name) for name in known)


def test_allowances_are_still_needed():
    known = modules(ROOT)
    found = {(imp.source, imp.target) for name, path in known.items() for imp in imports(name, path, known)}
    assert not ALLOWED - found, f"remove from ALLOWED, no longer imported: {sorted(ALLOWED - found)}"


# A small checkout that breaks each rule once, to show the checker catches it.
BAD_TREE = {
    "main.py": "from scheduler.cli.commands import run\n",
    "scheduler/__init__.py": '"""The package."""\n',
    "scheduler/errors.py": "from scheduler.plan.model import Plan\n",
    "scheduler/clock.py": "from datetime import datetime\n\ndef now():\n    return datetime.now()\n",
    "scheduler/plan/__init__.py": '"""The plan."""\n',
    "scheduler/plan/model.py": "class Plan:\n    pass\n",
    "scheduler/plan/cadence.py": (
        "import sqlalchemy\n"
        "from scheduler.store.tables import occurrences\n"
        "from scheduler.clock import now\n"
        "from scheduler.plan import periods\n"
    ),
    "scheduler/plan/periods.py": (
        "from datetime import date\n\n"
        "def today():\n"
        "    from scheduler.plan.cadence import Quota\n"
        "    return date.today()\n"
    ),
    "scheduler/plan/production.py": (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from fastapi import Request\n"
    ),
    "scheduler/people/__init__.py": "",
    "scheduler/people/accounts.py": "from scheduler.reminders.policy import Policy\n",
    "scheduler/reminders/__init__.py": '"""Reminders."""\n',
    "scheduler/reminders/policy.py": "from ..feeds import ical\n",
    "scheduler/feeds/__init__.py": '"""Feeds."""\n',
    "scheduler/feeds/ical.py": "",
    "scheduler/store/__init__.py": '"""Storage."""\n',
    "scheduler/store/tables.py": ("import sqlalchemy\n\ndef send():\n    from scheduler.notifiers.mail import send\n"),
    "scheduler/notifiers/__init__.py": '"""Mail."""\n',
    "scheduler/notifiers/mail.py": "import smtplib\n" + "x = 1\n" * 400,
    "scheduler/web/__init__.py": '"""Web."""\n',
    "scheduler/web/app.py": (
        "from scheduler.daemon import jobs\nfrom scheduler.cli.commands import run\nimport fastapi\nimport yagmail\n"
    ),
    "scheduler/daemon/__init__.py": '"""Daemon."""\n',
    "scheduler/daemon/jobs.py": "",
    "scheduler/cli/__init__.py": '"""CLI."""\n',
    "scheduler/cli/commands.py": "import main\n",
    "scheduler/extra/thing.py": "",
}


# What the checker says of BAD_TREE, at least.
BAD_TREE_PROBLEMS = [
    "scheduler/plan/cadence.py:1 imports sqlalchemy: the pure core (plan) may not use sqlalchemy, "
    "a library of the edges",
    "scheduler/plan/cadence.py:2 imports scheduler.store.tables: the pure core (plan) may not use storage; "
    "pass values in instead",
    "scheduler/plan/cadence.py:3 imports scheduler.clock: the pure core (plan) may not use the clock; "
    "take `now` as an argument",
    "scheduler/plan/production.py:3 imports fastapi: the pure core (plan) may not use fastapi",
    "scheduler/errors.py:1 imports scheduler.plan.model: shared words may not use plan "
    "(pure core: the plan), a higher layer",
    "scheduler/people/accounts.py:1 imports scheduler.reminders.policy: people (pure core: people) may not use "
    "reminders (pure core: what the plan yields), a higher layer",
    "scheduler/reminders/policy.py:1 imports scheduler.feeds.ical: reminders and feeds stand side by side",
    "scheduler/store/tables.py:4 imports scheduler.notifiers.mail: store (storage) may not use notifiers "
    "(messages out), a higher layer",
    "scheduler/web/app.py:1 imports scheduler.daemon.jobs: web and daemon stand side by side (long-running edges)",
    "scheduler/web/app.py:2 imports scheduler.cli.commands: web (long-running edges) may not use cli (command line)",
    "scheduler/web/app.py:4 imports yagmail: yagmail belongs to scheduler.notifiers; call that part instead",
    "scheduler/extra/thing.py is in no layer",
    "import cycle: scheduler.plan.cadence → scheduler.plan.periods → scheduler.plan.cadence",
    "import cycle: main → scheduler.cli.commands → main",
    "scheduler/plan/periods.py:5 reads the clock",
    "scheduler/notifiers/mail.py has 401 lines",
    "scheduler/people/__init__.py has no docstring",
    "scheduler/extra/ has no __init__.py",
]


@pytest.fixture
def bad_tree(tmp_path: Path) -> Path:
    for name, text in BAD_TREE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("expected", BAD_TREE_PROBLEMS)
def test_a_bad_import_is_named_and_explained(bad_tree: Path, expected: str):
    problems = check(bad_tree)
    assert any(expected in problem for problem in problems), "\n".join(problems)


def test_what_is_allowed_is_not_reported(bad_tree: Path):
    problems = "\n" + "\n".join(check(bad_tree))
    assert "scheduler/store/tables.py:1" not in problems  # the store may use sqlalchemy
    assert "scheduler/notifiers/mail.py:1" not in problems  # the notifiers may use smtplib
    assert "\nscheduler/clock.py" not in problems  # the clock reads the clock
    assert "\nmain.py:1" not in problems  # the entry point may use the command line
    assert "scheduler/web/app.py:3" not in problems  # the web may use fastapi
    assert "imports scheduler.plan.periods" not in problems  # a package may use its own modules
