"""The station of the as-run tests: the Phú Thọ 2024 plan with the station's
production layer (tests/data/harvest/dai-ptth-2024.yaml), its occurrences as
the matcher sees them, and the hand-labelled month's expected outcomes."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from scheduler.harvest.proposals import Owed
from scheduler.plan.harvest_settings import Match
from scheduler.plan.model import Plan
from scheduler.plan.occurrences import expand
from scheduler.plan.production import read_texts

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "harvest"
PLAN = ROOT / "schedules" / "phu-tho-2024.yaml"
LAYER = DATA / "dai-ptth-2024.yaml"
MONTH = DATA / "dai-ptth-2024-03.csv"
LABEL = "Nhãn kiểm tra"


def layer_texts() -> list[tuple[str, str]]:
    """The plan and the station's layer (its ``harvest:`` and ``match:``
    read by the production-file reader), as loadable texts."""
    return [(str(PLAN), PLAN.read_text("utf-8")), (str(LAYER), LAYER.read_text("utf-8"))]


def matches() -> dict[str, Match]:
    """Each obligation's ``match`` as the layer's reader gives it."""
    return {o.code: o.match for o in plan().obligations if o.match is not None}


def plan() -> Plan:
    return read_texts(layer_texts()).plans[0]


def owed(met: tuple[str, ...] = ("2024-02 #1",)) -> list[Owed]:
    """The station's occurrences February to April 2024, ``met`` already recorded."""
    p = plan()
    found = []
    wanted = {o.code: o.match for o in p.obligations if o.match is not None}
    for o in expand(p):
        month = "2024-02" <= o.window_start.strftime("%Y-%m") <= "2024-04"
        yearly = o.obligation in wanted and o.period == "2024"
        if o.agency != "dai-ptth" or not (month or yearly):
            continue
        found.append(
            Owed(
                id=o.id,
                plan=o.plan,
                obligation=o.obligation,
                outlet=o.agency,
                period=o.period,
                number=o.number,
                window_start=o.window_start,
                window_end=o.window_end,
                due=o.due,
                slot=o.slot,
                channels=o.channels,
                match=wanted.get(o.obligation),
                min_duration=o.min_duration,
                met=o.label in met,
            )
        )
    return found


def labels() -> dict[int, tuple[str, str]]:
    """Line → (kind, occurrence label) as a person would record the row."""
    found = {}
    reader = csv.DictReader(MONTH.read_text("utf-8").splitlines(), delimiter=";")
    for line, row in enumerate(reader, start=2):
        kind, _, occurrence = row[LABEL].partition(" ")
        found[line] = (kind, occurrence)
    return found


# What a person records beyond the rows: the yearly program planned for 20 March did not air.
NOT_AIRED = {("dai-bieu-cu-tri", "2024 #1")}
NOW_AFTER = timedelta(days=2)  # the harvest runs two days after the month
