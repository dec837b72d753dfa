"""The load's progress bar: drawn on a terminal, rounds (plans) adding up;
nothing at all when the output is not a terminal."""

from __future__ import annotations

import io

from scheduler.cli import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_quiet_when_not_a_terminal():
    stream = io.StringIO()
    with progress.progress_bar(stream, "mục lịch") as update:
        update(500, 2505)
        update(2505, 2505)
    assert stream.getvalue() == ""


def test_no_bar_for_small_work_on_a_terminal():
    stream = Terminal()
    with progress.progress_bar(stream, "mục lịch") as update:
        update(500, 999)
        update(999, 999)
    assert stream.getvalue() == ""


def test_drawn_on_a_terminal_and_rounds_add_up(monkeypatch):
    monkeypatch.setattr(progress, "LARGE", 1000)
    stream = Terminal()
    with progress.progress_bar(stream, "mục lịch") as update:
        update(500, 1000)
        update(1000, 1000)  # the first plan done
        update(975, 1300)  # the second plan under way: 1,975 of 2,300
    drawn = stream.getvalue()
    assert "mục lịch" in drawn
    assert "86%" in drawn
