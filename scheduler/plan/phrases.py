"""Cadence in the plan's own words: one grammar, one table.

A plan's table says how often in its own words ("04 buổi/tuần", "mỗi tháng
ít nhất 03 tin, bài", "hằng tuần vào thứ Ba lúc 20 giờ", "Quý III/2026",
"trước ngày 31/10/2026"). ``PHRASES`` is the grammar and its documentation at
once: each row has a regular expression, what it means and an example, and
docs/schedule-format.md section 6.0 carries the same table (a test checks).

Reading gives a ``Reading`` (a form and its values), which ``cadence`` turns
into its classes: this module cannot import them without an import circle.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta

from scheduler.plan.periods import Period, parse_date, parse_period, parse_time, parse_unit, tile
from scheduler.plan.phrase_words import (
    AT,
    AT_LEAST,
    DATE,
    DAY,
    DAYS,
    EVERY,
    HALF,
    JOIN,
    MONTH,
    PART,
    PERIOD,
    PRE,
    QUARTER,
    TIME,
    UNIT,
    WEEKDAYS,
    WEEKS,
    WHOLE,
    WORD,
    N,
)


@dataclass(frozen=True)
class Context:
    """What a phrase leaves to the plan: its year, its end and its due time."""

    start: date
    end: date
    due_time: time = time(17, 0)


@dataclass(frozen=True)
class Reading:
    """What a phrase says, in the terms of a cadence form (``cadence`` builds it).

    ``form`` is quota, window, windows, span, deadlines, continuous or slots.
    """

    form: str
    count: int = 1
    unit: str = ""
    minimum: bool = False
    periods: tuple[Period, ...] = ()
    days: tuple[date, ...] = ()
    rule: str = ""
    at: time = time(0)


Build = Callable[[re.Match[str], Context], "Reading | None"]


@dataclass(frozen=True)
class Phrase:
    """One row of the grammar: as the table shows it, and how it reads."""

    pattern: str
    meaning: str
    example: str
    reads_as: str  # the example in a 2026 plan (``describe()``, ×count when more than 1)
    regex: re.Pattern[str]
    build: Build


def normal(text: object) -> str:
    """The words as written, in one Unicode form, runs of spaces made one, no final dot."""
    return " ".join(unicodedata.normalize("NFC", str(text)).split()).rstrip(".").strip()


def _quota(m: re.Match[str], ctx: Context) -> Reading:
    groups = m.groupdict()
    return Reading("quota", int(groups.get("n") or 1), parse_unit(m["unit"]), minimum=bool(groups.get("min")))


def _time(m: re.Match[str], ctx: Context) -> time:
    """The phrase's time of day ("6 giờ 30", "20h", "19:30", "3 giờ chiều"), else the due time."""
    if not m["h"]:
        return ctx.due_time
    at = parse_time(f"{m['h']}:{m['m'] or '00'}")
    if (m["tpart"] or m["part"] or "").lower() in ("chiều", "tối") and at.hour < 12:
        at = at.replace(hour=at.hour + 12)
    return at


def _slots(m: re.Match[str], ctx: Context) -> Reading | None:
    every = m["every"].lower()
    days = [WEEKDAYS[d.split()[-1].lower()] for d in re.findall(DAY, m["days"], re.I)]
    if every == "tuần":
        if m["weeks"]:
            return None
        return Reading("slots", rule="FREQ=WEEKLY;BYDAY=" + ",".join(days), at=_time(m, ctx))
    if not m["weeks"]:  # "thứ Năm hằng tháng" does not say which Thursday
        return None
    weeks = re.findall(r"[1-5]", m["weeks"])
    byday = ",".join(f"{w}{d}" for d in days for w in weeks)
    return Reading("slots", rule="FREQ=MONTHLY;BYDAY=" + byday, at=_time(m, ctx))


def _daily(m: re.Match[str], ctx: Context) -> Reading:
    return Reading("slots", rule="FREQ=DAILY", at=_time(m, ctx))


def periods_in(text: str, ctx: Context) -> tuple[Period, ...]:
    """ "Quý II và Quý IV năm 2026": each period; a year written last serves all."""
    parts = re.split(r"\s*(?:,|\svà\s)\s*", text)
    found: list[Period] = []
    year: int | date = ctx.start
    for part in reversed(parts):
        if y := re.search(r"(\d{4})$", part):
            year = int(y[1])
        found.append(parse_period(part, year))
    return tuple(reversed(found))


def _window(m: re.Match[str], ctx: Context) -> Reading:
    periods = periods_in(m["when"], ctx)
    count = int(m.groupdict().get("n") or 1)
    return Reading("window" if len(periods) == 1 else "windows", count, periods=periods)


def _span(m: re.Match[str], ctx: Context) -> Reading:
    last = parse_period(m["last"], ctx.start)
    first = parse_period(m["first"], last.start if re.search(r"\d{4}$", m["last"]) else ctx.start)
    return Reading("span", periods=(first, last))


def _dates(m: re.Match[str], ctx: Context) -> Reading:
    days = [parse_date(d, ctx.start) for d in re.findall(DATE, m["days"])]
    if len(days) == 1:
        return Reading("window", periods=(parse_period(f"before {m['days']}", ctx.start),))
    return Reading("deadlines", days=tuple(days))


def _day_of_period(m: re.Match[str], ctx: Context) -> Reading | None:
    """The day ``d`` of each period's last month ("trước ngày 12 của tháng cuối quý")."""
    unit, day = parse_unit(m["unit"]), int(m["d"])
    if unit == "week":
        return None
    days = []
    for whole in tile(unit, date(ctx.start.year, 1, 1), date(ctx.end.year + 1, 1, 1)):
        last = whole.last_day
        moment = parse_date(f"{day}/{last.month}/{last.year}")
        if ctx.start <= moment < ctx.end:
            days.append(moment)
    return Reading("deadlines", days=tuple(days))


def _half_and_year(m: re.Match[str], ctx: Context) -> Reading:
    """The first half and the whole of each year of the plan, clipped to it (as quotas are)."""
    periods: list[Period] = []
    for year in range(ctx.start.year, (ctx.end - timedelta(days=1)).year + 1):
        periods += [parse_period(f"H1/{year}"), parse_period(str(year))]
    clipped = (Period(max(p.start, ctx.start), min(p.end, ctx.end), p.label) for p in periods)
    return Reading("windows", periods=tuple(p for p in clipped if p.start < p.end))


def _row(pattern: str, meaning: str, example: str, reads_as: str, regex: str, build: Build) -> Phrase:
    return Phrase(pattern, meaning, example, reads_as, re.compile(f"^(?:{regex})$", re.I), build)


PHRASES = (
    _row(
        "`N [word]/unit`, `N [word] mỗi\\|một\\|trên unit`, `N per\\|a\\|each unit`",
        "N per unit (word: số, kỳ, lần, buổi, tin, bài, `tin, bài`, hội nghị, lớp, …; N may have leading zeros)",
        "03 tin, bài/tháng",
        "3 per month",
        rf"{N}\s*(?:{WORD})?{JOIN}{UNIT}",
        _quota,
    ),
    _row(
        "`tối thiểu\\|ít nhất N [word]/unit`",
        "at least N per unit: N are owed, more are welcome",
        "tối thiểu 02 bài/tháng",
        "at least 2 per month",
        rf"{AT_LEAST}{N}\s*(?:{WORD})?{JOIN}{UNIT}",
        _quota,
    ),
    _row(
        "`mỗi\\|hằng unit [tối thiểu\\|ít nhất] N [word]`",
        "N per unit (at least N with tối thiểu / ít nhất)",
        "mỗi tháng ít nhất 03 tin, bài",
        "at least 3 per month",
        rf"{EVERY}\s+{UNIT}\s*,?\s+{AT_LEAST}?{N}(?:\s*{WORD})?",
        _quota,
    ),
    _row(
        "`[định kỳ] hằng\\|hàng\\|mỗi\\|theo unit`",
        "1 per unit",
        "định kỳ hằng quý",
        "1 per quarter",
        rf"(?:định\s+kỳ\s+)?(?:{EVERY}|theo)\s+{UNIT}",
        _quota,
    ),
    _row(
        "`hằng tuần\\|tháng vào [sáng\\|chiều\\|tối] days [tuần thứ n và m] [lúc time]`",
        "air slots on those days (each Tuesday; the 2nd and 4th Thursday); no time: the plan's `due_time`",
        "hằng tuần vào thứ Ba lúc 20 giờ",
        "slots FREQ=WEEKLY;BYDAY=TU at 20:00",
        rf"(?:phát(?:\s+sóng)?\s+)?{EVERY}\s+(?P<every>tuần|tháng)\s*,?\s+(?:vào\s+)?{PART}{DAYS}{WEEKS}{AT}",
        _slots,
    ),
    _row(
        "`[vào] [sáng\\|chiều\\|tối] days [tuần thứ n và m] hằng tuần\\|tháng[, lúc time]`",
        "the same, the days first",
        "sáng thứ Hai và thứ Sáu hằng tuần, lúc 6 giờ 30",
        "slots FREQ=WEEKLY;BYDAY=MO,FR at 06:30",
        rf"(?:phát(?:\s+sóng)?\s+)?(?:vào\s+)?{PART}{DAYS}{WEEKS}\s*,?\s+{EVERY}\s+(?P<every>tuần|tháng){AT}",
        _slots,
    ),
    _row(
        "`[phát sóng] [vào\\|lúc] time days [tuần thứ n và m] hằng tuần\\|tháng`",
        "the same, the time first",
        "phát sóng vào 20h00 thứ Ba hằng tuần",
        "slots FREQ=WEEKLY;BYDAY=TU at 20:00",
        rf"(?:phát(?:\s+sóng)?\s+)?(?:vào\s+)?(?:lúc\s+)?{TIME}\s*,?\s+(?:vào\s+)?{PART}{DAYS}{WEEKS}\s*,?\s+{EVERY}\s+"
        r"(?P<every>tuần|tháng)",
        _slots,
    ),
    _row(
        "`hằng ngày [lúc time]`",
        "an air slot every day",
        "hằng ngày lúc 6 giờ",
        "slots FREQ=DAILY at 06:00",
        rf"{EVERY}\s+ngày(?P<days>)(?P<part>)(?P<weeks>){AT}",
        _daily,
    ),
    _row(
        "`[trong\\|vào] quý n[/yyyy\\| năm yyyy]` (n: 1–4 or I–IV)",
        "one deliverable in that quarter (no year: the plan's)",
        "Thực hiện trong quý III/2026",
        "window 2026-Q3",
        rf"{PRE}(?P<when>{QUARTER})",
        _window,
    ),
    _row(
        "`[trong\\|vào] tháng m[/yyyy\\| năm yyyy]`",
        "one deliverable in that month",
        "Tháng 5/2026",
        "window 2026-05",
        rf"{PRE}(?P<when>{MONTH})",
        _window,
    ),
    _row(
        "`[trong] 6 tháng đầu\\|cuối năm [yyyy]`",
        "one deliverable in the first or second half-year",
        "6 tháng cuối năm",
        "window 2026-H2",
        rf"{PRE}(?P<when>{HALF})",
        _window,
    ),
    _row(
        "`[trong] năm yyyy`",
        "one deliverable in the year (kept up all year: `{continuous: …}`)",
        "Trong năm 2026",
        "window 2026",
        rf"{PRE}(?P<when>{WHOLE})",
        _window,
    ),
    _row(
        "`[trong] period và period …`",
        "one deliverable in each period; a year written last serves all",
        "trong Quý II và Quý IV năm 2026",
        "windows 2026-Q2, 2026-Q4",
        rf"{PRE}(?P<when>{PERIOD}(?:\s*(?:,|\svà)\s*{PERIOD})+)",
        _window,
    ),
    _row(
        "`N [word] trong\\|vào period[s]`",
        "N deliverables in the period (in each period)",
        "02 lớp trong 6 tháng cuối năm",
        "window 2026-H2 ×2",
        rf"{N}\s*(?:{WORD})?\s+(?:trong|vào)\s+(?P<when>{PERIOD}(?:\s*(?:,|\svà)\s*{PERIOD})*)",
        _window,
    ),
    _row(
        "`từ period đến period`, `từ period và hoàn thành chậm nhất[,] [trong] period`",
        "one window from the first period's start to the second's end (the year written last serves both)",
        "Từ quý II đến quý IV",
        "span 2026-Q2..2026-Q4",
        rf"(?:thực\s+hiện\s+)?từ\s+(?P<first>{PERIOD})\s*,?\s+(?:đến|tới|(?:và\s+)?hoàn\s+thành\s+chậm\s+nhất\s*,?"
        rf"(?:\s+(?:trong|vào))?)\s+(?P<last>{PERIOD})",
        _span,
    ),
    _row(
        "`từ [ngày] date đến [ngày] date`",
        "one deliverable between the two days, both included",
        "Từ ngày 01/7/2026 đến ngày 15/8/2026",
        "window 2026-07-01_2026-08-15",
        rf"(?:thực\s+hiện\s+)?từ\s+(?:ngày\s+)?(?P<first>{DATE})\s*(?:đến|tới|-|–)\s*(?:ngày\s+)?(?P<last>{DATE})",
        lambda m, ctx: Reading("window", periods=(parse_period(f"{m['first']} - {m['last']}", ctx.start),)),
    ),
    _row(
        "`[hoàn thành] trước\\|chậm nhất [ngày] dd/mm[/yyyy]`",
        "one deliverable from the plan's start to the end of that day",
        "Hoàn thành trước ngày 31/10/2026",
        "window by-2026-10-31",
        rf"(?:(?:hoàn\s+thành|thực\s+hiện|báo\s+cáo)\s+)?(?:trước|chậm\s+nhất)(?:\s+(?:là|trước))?(?:\s+ngày)?\s+(?P<days>{DATE})",
        _dates,
    ),
    _row(
        "`trước [ngày] date và date …`",
        "deadlines: one deliverable by each date",
        "trước ngày 15/6/2026 và 15/12/2026",
        "deadlines 15/06/2026, 15/12/2026",
        rf"(?:(?:hoàn\s+thành|báo\s+cáo|gửi)\s+)?(?:trước|chậm\s+nhất)(?:\s+ngày)?\s+(?P<days>{DATE}"
        rf"(?:\s*(?:,|\svà)\s*(?:ngày\s+)?{DATE})+)",
        _dates,
    ),
    _row(
        "`theo quý\\|6 tháng\\|năm, trước ngày d của tháng cuối quý\\|kỳ\\|năm`",
        "deadlines: day d of each period's last month, inside the plan",
        "theo quý, trước ngày 12 của tháng cuối quý",
        "deadlines 12/03/2026, 12/06/2026, 12/09/2026, 12/12/2026",
        rf"(?:định\s+kỳ\s+)?theo\s+{UNIT}\s*,?\s+trước\s+ngày\s+(?P<d>\d{{1,2}})\s+(?:của\s+)?tháng\s+cuối\s+"
        r"(?:quý|kỳ|năm|6\s+tháng)",
        _day_of_period,
    ),
    _row(
        "`thường xuyên[, liên tục]`",
        "kept up all along the plan, attested once a month (other units: `{continuous: …, attest: quý}`)",
        "Thường xuyên, liên tục",
        "continuous, attested per month",
        r"(?:thực\s+hiện\s+)?thường\s+xuyên(?:\s*,?\s*liên\s+tục)?",
        lambda m, ctx: Reading("continuous", unit="month"),
    ),
    _row(
        "`định kỳ\\|báo cáo 6 tháng và năm`",
        "a report for the first half-year and one for the whole year (each year of the plan)",
        "định kỳ 6 tháng và năm",
        "windows 2026-H1, 2026",
        r"(?:định\s+kỳ|báo\s+cáo)\s+6\s+tháng\s*(?:,|\svà)\s*(?:cả\s+)?năm",
        _half_and_year,
    ),
)


def read(text: object, ctx: Context) -> Reading | None:
    """The first row that reads ``text``; ``None`` when none does."""
    words = normal(text)
    for phrase in PHRASES:
        if (m := phrase.regex.match(words)) and (reading := phrase.build(m, ctx)) is not None:
            return reading
    return None


def readings(text: object, ctx: Context) -> list[tuple[Phrase, Reading]]:
    """Every row that reads ``text``, in order (the first one wins)."""
    words = normal(text)
    found = []
    for phrase in PHRASES:
        if (m := phrase.regex.match(words)) and (reading := phrase.build(m, ctx)) is not None:
            found.append((phrase, reading))
    return found


def table() -> str:
    """The grammar as docs/schedule-format.md section 6.0 shows it."""
    rows = ["| written | means | example | reads as (in a 2026 plan) |", "|---|---|---|---|"]
    rows += [f"| {p.pattern} | {p.meaning} | `{p.example}` | `{p.reads_as}` |" for p in PHRASES]
    return "\n".join(rows) + "\n"
