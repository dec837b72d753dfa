"""Reading YAML while keeping line numbers, and collecting every problem.

A schedule load reports all problems at once, each as
``path:line: field: what is wrong (what is allowed)``. Every YAML document
the service reads goes through ``load_yaml``, which bounds what a small
file can make the service do (aliases, nesting) before anything walks it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import ConstructorError, DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.reader import ReaderError

from scheduler.documents import check_text
from scheduler.errors import N_, Problem, ScheduleError, SchedulerError

T = TypeVar("T")
CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The bundled plan nests 6 levels deep; ruamel's composer and constructor,
# ``rolling`` and json.dumps recurse once or twice per level, so 64 keeps
# far below Python's recursion limit of 1,000 (a 5,000-deep file crashed it).
MAX_DEPTH = 64
# Values once every alias (*name, <<: *name) is expanded, as anything that
# walks the tree (validation, JSON, fingerprints) sees them. The bundled plan
# has about 500; a 10 KB "billion laughs" has billions. 200,000 is 400 times
# the bundled plan, and 190,000 values through aliases load, and walk as
# JSON, in about a second and 30 MB.
MAX_NODES = 200_000


class _Refused(Exception):
    """A limit of ``_BoundedComposer``; ``load_yaml`` makes it a Problem."""

    def __init__(self, mark: Any, message: str, **params: object):
        super().__init__(message)
        self.line = mark.line + 1 if mark else None
        self.message = message
        self.params = params


class _BoundedComposer(Composer):
    """ruamel's composer, counting each node once per path to it (an alias
    counts its anchor's whole expanded size, kept per anchor so counting
    stays linear) and the depth it reaches, refusing before recursing on."""

    def __init__(self, loader: Any = None):
        super().__init__(loader)
        self._nodes = 0
        self._open: list[list[int]] = []  # per node being composed: [nodes before it, deepest level under it]
        self._done: dict[int, tuple[int, int]] = {}  # anchored node id -> (expanded size, height)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        depth = len(self._open) + 1
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # an undefined alias is ruamel's to report
                if id(target) not in self._done:
                    raise _Refused(
                        event.start_mark,
                        N_("alias *{anchor} is inside the value it names; a value cannot contain itself"),
                        anchor=event.anchor,
                    )
                size, height = self._done[id(target)]
                self._count(size, depth - 1 + height, event.start_mark)
            return super().compose_node(parent, index)
        frame = [self._nodes, depth]
        self._open.append(frame)
        self._count(1, depth, event.start_mark)
        node = super().compose_node(parent, index)
        self._open.pop()
        if event.anchor is not None:
            self._done[id(node)] = (self._nodes - frame[0], frame[1] - depth + 1)
        if self._open:
            self._open[-1][1] = max(self._open[-1][1], frame[1])
        return node

    def _count(self, nodes: int, deepest: int, mark: Any) -> None:
        self._nodes += nodes
        if deepest > MAX_DEPTH:
            raise _Refused(mark, N_("nested more than {limit} levels deep"), limit=MAX_DEPTH)
        if self._nodes > MAX_NODES:
            raise _Refused(
                mark, N_("more than {limit} values once aliases (*name) are expanded"), limit=f"{MAX_NODES:,}"
            )
        if self._open:
            self._open[-1][1] = max(self._open[-1][1], deepest)


class _LocatedConstructor(RoundTripConstructor):
    """A value Python cannot hold (a 5,000-digit number, 30/02 as a date)
    becomes an error at its line instead of a bare ValueError."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, OverflowError) as e:
            raise ConstructorError(None, None, str(e) or type(e).__name__, node.start_mark) from None


def yaml_reader() -> YAML:
    """Round-trip YAML 1.2: keeps lines and comments, no "NO means false";
    bounded by MAX_DEPTH and MAX_NODES."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.Composer = _BoundedComposer
    yaml.Constructor = _LocatedConstructor
    return yaml


def load_yaml(source: str, text: str, yaml: YAML | None = None) -> Any:
    """The one way the service reads a YAML document: the document limits
    first, then ruamel with its limits; raises ScheduleError with the line
    of what is wrong."""
    check_text(source, text)
    try:
        return (yaml or yaml_reader()).load(text)
    except _Refused as e:
        problem = Problem(source, e.line, "", e.message, e.params)
    except DuplicateKeyError as e:
        problem = Problem(
            source,
            e.problem_mark.line + 1 if e.problem_mark else None,
            "",
            N_("duplicate key ({detail})"),
            {"detail": (e.problem or "").strip()},
        )
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = Problem(
            source,
            mark.line + 1 if mark else None,
            "",
            N_("not valid YAML: {detail}"),
            {"detail": (e.problem or e.context or "").strip()},
        )
    except ReaderError as e:  # a character YAML does not allow (U+FFFE, a lone surrogate)
        line = text.count("\n", 0, e.position) + 1 if isinstance(e.position, int) else None
        problem = Problem(
            source,
            line,
            "",
            N_("character U+{code:04X} is not allowed in YAML"),
            {"code": e.character if isinstance(e.character, int) else 0},
        )
    except (YAMLError, RecursionError) as e:  # the limits above should leave nothing here
        problem = Problem(source, None, "", N_("not valid YAML: {detail}"), {"detail": type(e).__name__})
    raise ScheduleError([problem])


@dataclass
class Node:
    """A value from the file, where it is (field path) and on which line."""

    value: Any
    where: str
    line: int

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and key in self.value

    def child(self, key: str) -> Node:
        line = self.line
        try:
            line = self.value.lc.key(key)[0] + 1
        except (AttributeError, KeyError, TypeError):
            pass
        return Node(self.value[key], f"{self.where}.{key}" if self.where else key, line)

    def items(self) -> list[Node]:
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

    def fail(self, node: Node, message: str, where: str | None = None, **params: object) -> None:
        self.problems.append(Problem(self.source, node.line, node.where if where is None else where, message, params))

    def warn(self, node: Node, message: str, **params: object) -> None:
        self.warnings.append(Problem(self.source, node.line, node.where, message, params))

    def load(self, text: str) -> Node | None:
        try:
            data = load_yaml(self.source, text)
        except ScheduleError as e:
            self.problems += e.problems
            return None
        return Node(data, "", 1)

    def mapping(self, node: Node, required: tuple[str, ...], optional: tuple[str, ...]) -> bool:
        """Check a mapping's fields: reports unknown and missing ones."""
        if not isinstance(node.value, dict):
            self.fail(node, N_("expected a mapping with the fields {allowed}"), allowed=", ".join(required + optional))
            return False
        allowed = required + optional
        for key in node.value:
            if key not in allowed:
                child = node.child(key)
                self.fail(child, N_("unknown field (allowed: {allowed})"), allowed=", ".join(allowed))
        for key in required:
            if key not in node.value or node.value[key] in (None, ""):
                self.fail(
                    node, N_('missing field "{field}"'), where=f"{node.where}.{key}" if node.where else key, field=key
                )
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
            self.fail(node, N_('expected a code of lowercase letters, digits and "-", got "{value}"'), value=text)
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
            where, inner = node.where, getattr(e, "where", "")  # CadenceError names the part it refused
            if inner:
                where = f"{where}.{inner}"
            self.fail(node, e.message, where=where, **e.params)
            return None
