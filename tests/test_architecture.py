"""The pure core imports no database, mail, web or scheduler library and
never reads the clock; time is an argument."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "scheduler"
CORE = ["bounds", "cadence", "compliance", "deliveries", "documents", "durations", "errors", "expiry", "feeds", "ledger",
        "listing", "i18n",
        "milestones", "month_grid", "occurrences", "outbox", "people", "periods", "permissions", "plan", "production",
        "reminders", "revisions", "rolling", "schedule_file", "workdays", "yaml_source"]
EDGE_LIBRARIES = {"sqlalchemy", "alembic", "psycopg", "yagmail", "smtplib", "fastapi", "uvicorn",
                  "apscheduler", "requests", "httpx", "socket"}
CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time"),
               ("datetime", "today"), ("time", "monotonic")}


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level and (node.module or "").startswith("store"):
            found.add("store")
    return found


def _runtime_imports(tree: ast.Module) -> set[str]:
    """Imports outside ``if TYPE_CHECKING:`` blocks."""
    body = [n for n in tree.body if not (isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test))]
    return _imports(ast.Module(body=body, type_ignores=[]))


def test_core_modules_import_no_edge_library():
    for name in CORE:
        tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
        bad = _runtime_imports(tree) & (EDGE_LIBRARIES | {"store"})
        assert not bad, f"scheduler/{name}.py imports {sorted(bad)}: keep I/O at the edges"


def test_no_module_but_the_clock_reads_the_clock():
    for path in PACKAGE.rglob("*.py"):
        if path.name == "clock.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                target = node.func.value
                name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
                assert (name, node.func.attr) not in CLOCK_CALLS, \
                    f"{path.relative_to(PACKAGE.parent)}:{node.lineno} reads the clock; take `now` as an argument"


def test_modules_stay_small():
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 400, f"{path.relative_to(PACKAGE.parent)} has {lines} lines; split it by domain word"
