"""Reading YAML while keeping line numbers, and collecting every problem.

A schedule load reports all problems at once, each as
``path:line: field: what is wrong (what is allowed)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from .errors import N_, Problem, SchedulerError

T = TypeVar("T")
CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def yaml_reader() -> YAML:
    """Round-trip YAML 1.2: keeps lines and comments, no "NO means false"."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


@dataclass
class Node:
    """A value from the file, where it is (field path) and on which line."""

    value: Any
    where: str
    line: int

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and key in self.value

    def child(self, key: str) -> "Node":
        line = self.line
        try:
            line = self.value.lc.key(key)[0] + 1
        except (AttributeError, KeyError, TypeError):
            pass
        return Node(self.value[key], f"{self.where}.{key}" if self.where else key, line)

    def items(self) -> list["Node"]:
        found = []
        for i, item in enumerate(self.value):
            line = self.line
            try:
                line = self.value.lc.item(i)[0] + 1
            except (AttributeError, KeyError, TypeError):
                pass
            found.append(Node(item, f"{self.where}[{i}]", line))
        return found


class Reader:
    """Walks one file's tree; problems and warnings pile up instead of raising."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def fail(self, node: Node, message: str, where: str | None = None, **params) -> None:
        self.problems.append(Problem(self.source, node.line, node.where if where is None else where,
                                     message, params))

    def warn(self, node: Node, message: str, **params) -> None:
        self.warnings.append(Problem(self.source, node.line, node.where, message, params))

    def load(self, text: str) -> Node | None:
        try:
            data = yaml_reader().load(text)
        except DuplicateKeyError as e:
            line = e.problem_mark.line + 1 if e.problem_mark else None
            self.problems.append(Problem(self.source, line, "", N_("duplicate key ({detail})"),
                                         {"detail": (e.problem or "").strip()}))
            return None
        except MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            self.problems.append(Problem(self.source, mark.line + 1 if mark else None, "",
                                         N_("not valid YAML: {detail}"),
                                         {"detail": (e.problem or e.context or "").strip()}))
            return None
        return Node(data, "", 1)

    def mapping(self, node: Node, required: tuple[str, ...], optional: tuple[str, ...]) -> bool:
        """Check a mapping's fields: reports unknown and missing ones."""
        if not isinstance(node.value, dict):
            self.fail(node, N_("expected a mapping with the fields {allowed}"),
                      allowed=", ".join(required + optional))
            return False
        allowed = required + optional
        for key in node.value:
            if key not in allowed:
                child = node.child(key)
                self.fail(child, N_("unknown field (allowed: {allowed})"), allowed=", ".join(allowed))
        for key in required:
            if key not in node.value or node.value[key] in (None, ""):
                self.fail(node, N_("missing field \"{field}\""),
                          where=f"{node.where}.{key}" if node.where else key, field=key)
        return True

    def text(self, node: Node, key: str, default: str = "") -> str:
        if not node.has(key) or node.value[key] is None:
            return default
        value = node.value[key]
        if isinstance(value, (dict, list)):
            self.fail(node.child(key), N_("expected text"))
            return default
        return " ".join(str(value).split())

    def code(self, node: Node) -> str:
        text = str(node.value) if node.value is not None else ""
        if not CODE.match(text):
            self.fail(node, N_('expected a code of lowercase letters, digits and "-", got "{value}"'),
                      value=text)
        return text

    def texts(self, node: Node, key: str) -> list[Node]:
        """A list field (absent means empty); a single value counts as a list of one."""
        if not node.has(key) or node.value[key] is None:
            return []
        child = node.child(key)
        if isinstance(child.value, list):
            return child.items()
        if isinstance(child.value, dict):
            self.fail(child, N_("expected a list"))
            return []
        return [Node(child.value, f"{child.where}[0]", child.line)]

    def convert(self, node: Node, parse: Callable[[Any], T]) -> T | None:
        """Run a parser of the core; its error becomes a problem at this node."""
        try:
            return parse(node.value)
        except SchedulerError as e:
            where = node.where
            if getattr(e, "where", ""):
                where = f"{where}.{e.where}"
            self.fail(node, e.message, where=where, **e.params)
            return None
