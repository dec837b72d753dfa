"""The direct VEVENT writer gives icalendar's bytes exactly: every item of the
bundled plan and of a benchmark plan, in both languages, with every delivery
state, cancelled, in another time zone, and with generated texts (Vietnamese,
emoji, escapes and multi-byte characters at every fold boundary)."""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar.parser.string import _escape_char, _foldline

from ical_reference import reference_items
from scheduler.feeds.ical import Names, StoredOccurrence, render_items
from scheduler.feeds.ical_lines import escape, fold
from scheduler.i18n import gettext_for
from scheduler.plan.production import read_files, read_texts

ROOT = Path(__file__).resolve().parent.parent
CREATED = datetime(2023, 12, 31, 17, 0, tzinfo=UTC)
CHANGED = datetime(2024, 3, 5, 8, 30, 15, 123456, tzinfo=UTC)  # microseconds: icalendar drops them
PIECES = ["a", "Z", " ", "ệ", "ữ", "Đ", "–", "✓", "⚠", "😀", "𝔸", "\\", "^", ";", ",", ":", '"', "\n", "\r", "\r\n"]
PIECES += [r"\N", "\t", "https://x.example/o/a?b=c&d", "Cải cách hành chính", "tỉnh Phú Thọ "]


def _plans():
    sys.path.insert(0, str(ROOT / "bench"))
    from feeds import schedule_yaml

    text, _obligations, _events = schedule_yaml(1000)
    return list(read_files([ROOT / "schedules" / "phu-tho-2024.yaml"]).plans) + list(
        read_texts([("bench.yaml", text)]).plans
    )


def _names(plan, base_url="http://127.0.0.1:8000") -> Names:
    agencies = {a.code: (a.name, a.name_en) for a in plan.agencies}
    topics = {t.code: (t.title, t.title_en) for t in plan.topics}
    return Names(agencies, topics, base_url, plan.timezone, plan.channels)


def _stored(plan):
    from scheduler.plan.occurrences import expand

    for o in expand(plan):
        steps = [
            {"step": m.step, "title": m.title, "title_en": m.title_en, "day": m.day, "offset": m.offset}
            for m in o.milestones
        ]
        yield StoredOccurrence(o.id, 1, CREATED, CHANGED, o.shown()), steps


def _same(occ, steps, names) -> int:
    compared = 0
    for lang in ("vi", "en"):
        new = render_items(occ, steps, names, lang, gettext_for(lang))
        old = reference_items(occ, steps, names, lang, gettext_for(lang))
        assert [(i.uid, i.kind, i.sort_key) for i in new] == [(i.uid, i.kind, i.sort_key) for i in old]
        for a, b in zip(new, old, strict=True):
            assert a.ical == b.ical, (a.uid, lang)
            compared += 1
    return compared


def test_every_item_of_the_bundled_and_benchmark_plans():
    compared, slotted = 0, 0
    for plan in _plans():
        names = _names(plan)
        for occ, steps in _stored(plan):
            compared += _same(occ, steps, names)
            slotted += bool(occ.shown.get("slot"))
    assert compared > 2000 and slotted > 50  # both shapes: all-day items and air slots


STATES = [
    {"state": "on_time", "moment": "2024-03-04T10:00:00+00:00"},
    {"state": "late", "moment": "2024-03-09T23:30:00+00:00", "note": "trễ; vì, mất điện\\"},
    {"state": "non_conforming", "moment": "2024-03-04T10:00:00+00:00", "reasons": [["too short", {}]]},
    {"state": "excused"},
]


def test_deliveries_cancellations_and_other_zones():
    plan = _plans()[0]
    names = _names(plan)
    stored = list(_stored(plan))[:40]
    compared = 0
    for n, (occ, steps) in enumerate(stored):
        delivery = STATES[n % len(STATES)]
        shown = {**occ.shown, "status": "cancelled"} if n % 3 == 0 else occ.shown
        compared += _same(replace(occ, shown=shown, delivery=delivery, revision=n + 2), steps, names)
    for tz in ("UTC", "Asia/Bangkok", "America/New_York"):
        for occ, steps in stored[:10]:
            compared += _same(occ, steps, replace(names, tz=tz))
    assert compared > 100


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 120)))


def test_generated_texts_in_every_field():
    rng = random.Random(18)
    plan = _plans()[0]
    stored = list(_stored(plan))
    compared = 0
    for n in range(300):
        occ, steps = stored[n % len(stored)]
        names = _names(plan, base_url="https://lich.example/" + "x" * rng.randrange(0, 60))
        names = replace(names, agencies={code: (_text(rng), _text(rng)) for code in names.agencies})
        shown = {
            **occ.shown,
            "title": _text(rng),
            "title_en": _text(rng),
            "coordination": _text(rng),
            "reason": _text(rng),
        }
        steps = [{**s, "title": _text(rng), "title_en": _text(rng)} for s in steps]
        compared += _same(replace(occ, shown=shown), steps, names)
    assert compared > 600


@pytest.mark.parametrize("seed", range(4))
def test_fold_and_escape_match_icalendar(seed):
    rng = random.Random(seed)
    for _ in range(3000):
        line = "DESCRIPTION:" + "".join(rng.choice(PIECES[:-4] + ["x" * 70]) for _ in range(rng.randrange(0, 90)))
        line = line.replace("\n", "").replace("\r", "")
        assert fold(line) == _foldline(line).encode(), line
        assert escape(line) == _escape_char(line)
    for width in range(60, 90):  # a multi-byte character or an escape on every boundary
        for piece in ("ệ", "😀", "\\", "^", "\\\\", "^^", "ữ\\"):
            line = "x" * width + piece * 5 + "y" * 80
            assert fold(line) == _foldline(line).encode(), (width, piece)
