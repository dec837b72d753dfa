"""A progress bar on the terminal for long commands (a load of thousands of
occurrences), quiet when the output is not a terminal: tests, CI, cron and
pipes see nothing. The store only calls a plain ``(done, total)`` callback;
the bar (rich's) lives here, at the edge."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

LARGE = 1000  # occurrences to write, about a second's work: below that no bar (and no clock read)


@contextmanager
def progress_bar(stream: TextIO, label: str) -> Iterator[Callable[[int, int], None]]:
    """A ``(done, total)`` callback drawing on ``stream`` when it is a
    terminal, once the work is ``LARGE``. Successive rounds (one plan after
    another) add up: a round ends when its ``done`` reaches its ``total``."""
    if not _is_terminal(stream):
        yield _quiet
        return
    finished = 0
    shown: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        nonlocal finished
        if not shown and finished + total >= LARGE:
            from rich.console import Console
            from rich.progress import Progress

            shown["bar"] = Progress(console=Console(file=stream), transient=True)
            shown["bar"].start()
            shown["task"] = shown["bar"].add_task(label)
        if shown:
            shown["bar"].update(shown["task"], completed=finished + done, total=finished + total)
        if done >= total:
            finished += total

    try:
        yield update
    finally:
        if shown:
            shown["bar"].stop()


def _quiet(done: int, total: int) -> None:
    return None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        return False
