"""Errors of the core, written for the person who will read them.

The core never translates: a problem carries an English message id and its
parameters, and each edge renders it in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field


def N_(message: str) -> str:
    """Mark a message for extraction into the catalogs; translated later."""
    return message


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) in an input, with where it is.

    >>> p = Problem("a.yaml", 3, "plan.code", N_("missing field"))
    >>> p.render()
    'a.yaml:3: plan.code: missing field'
    """

    source: str
    line: int | None
    where: str
    message: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        text = gettext(self.message).format(**self.params)
        location = f"{self.source}:{self.line}" if self.line else self.source
        return f"{location}: {self.where}: {text}" if self.where else f"{location}: {text}"


class SchedulerError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str, **params: object):
        super().__init__(message.format(**params) if params else message)
        self.message = message
        self.params = params

    def render(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        return gettext(self.message).format(**self.params)


class ScheduleError(SchedulerError):
    """A schedule file (or a set of them) cannot be loaded; lists every problem."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(p.render() for p in self.problems))

    def render(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        return "\n".join(p.render(gettext) for p in self.problems)


class InputError(SchedulerError):
    """A command-line or request value that cannot be understood."""
