"""Cadence in the plan's own words: one grammar, one table.

A plan's table says how often in its own words ("04 buổi/tuần", "mỗi tháng
ít nhất 03 tin, bài", "hằng tuần vào thứ Ba lúc 20 giờ", "Quý III/2026",
"trước ngày 31/10/2026"). ``PHRASES`` is the grammar and its documentation at
once: each row has a regular expression, what it means and an example, and
docs/schedule-format.md section 6.0 carries the same table (a test checks).

Each row's builder (``phrase_readings``) gives a ``Reading`` (a form and its
values), which ``cadence`` turns into its classes: this module cannot import
them without an import circle.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from scheduler.plan.periods import parse_period
from scheduler.plan.phrase_readings import (
    Context,
    Reading,
    daily,
    dates,
    day_of_period,
    every_months,
    half_and_year,
    monthly_day,
    one_day,
    quota,
    slots,
    span,
    window,
)
from scheduler.plan.phrase_words import (
    AT,
    AT_LEAST,
    BARE,
    DATE,
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
    WEEKS,
    WHOLE,
    WORD,
    N,
)

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


def _row(pattern: str, meaning: str, example: str, reads_as: str, regex: str, build: Build) -> Phrase:
    return Phrase(pattern, meaning, example, reads_as, re.compile(f"^(?:{regex})$", re.I), build)


PHRASES = (
    _row(
        "`N [word]/unit`, `N [word] mỗi\\|một\\|trên unit`, `N per\\|a\\|each unit`",
        "N per unit (word: số, kỳ, lần, buổi, tin, bài, `tin, bài`, hội nghị, lớp, …; N may have leading zeros)",
        "03 tin, bài/tháng",
        "3 per month",
        rf"{N}\s*(?:{WORD})?{JOIN}{UNIT}",
        quota,
    ),
    _row(
        "`tối thiểu\\|ít nhất N [word]/unit`",
        "at least N per unit: N are owed, more are welcome",
        "tối thiểu 02 bài/tháng",
        "at least 2 per month",
        rf"{AT_LEAST}{N}\s*(?:{WORD})?{JOIN}{UNIT}",
        quota,
    ),
    _row(
        "`unit N lần\\|word`, `N tháng/lần` (N: 1, 3, 6, 12)",
        "N per unit; once every 1, 3, 6 or 12 months",
        "6 tháng/lần",
        "1 per half-year",
        rf"(?:{UNIT}\s+{N}\s*{WORD}|(?P<k>\d{{1,2}})\s+tháng\s*/\s*(?:1\s+|một\s+)?lần)",
        lambda m, ctx: quota(m, ctx) if m["unit"] else every_months(m, ctx),
    ),
    _row(
        "`mỗi\\|hằng unit [tối thiểu\\|ít nhất] N [word]`",
        "N per unit (at least N with tối thiểu / ít nhất)",
        "mỗi tháng ít nhất 03 tin, bài",
        "at least 3 per month",
        rf"{EVERY}\s+{UNIT}\s*,?\s+{AT_LEAST}?{N}(?:\s*{WORD})?",
        quota,
    ),
    _row(
        "`[định kỳ] hằng\\|hàng\\|mỗi\\|theo unit`",
        "1 per unit",
        "định kỳ hằng quý",
        "1 per quarter",
        rf"(?:định\s+kỳ\s+)?(?:{EVERY}|theo)\s+{UNIT}",
        quota,
    ),
    _row(
        "`hằng tuần\\|tháng vào [sáng\\|chiều\\|tối] days [tuần thứ n và m] [lúc time]`",
        "air slots on those days (each Tuesday; the 2nd and 4th Thursday); no time: the plan's `due_time`",
        "hằng tuần vào thứ Ba lúc 20 giờ",
        "slots FREQ=WEEKLY;BYDAY=TU at 20:00",
        rf"(?:phát(?:\s+sóng)?\s+)?{EVERY}\s+(?P<every>tuần|tháng)\s*,?\s+(?:vào\s+)?{PART}{DAYS}{WEEKS}{AT}",
        slots,
    ),
    _row(
        "`[vào] [sáng\\|chiều\\|tối] days [tuần thứ n và m] hằng tuần\\|tháng[, lúc time]`",
        "the same, the days first",
        "sáng thứ Hai và thứ Sáu hằng tuần, lúc 6 giờ 30",
        "slots FREQ=WEEKLY;BYDAY=MO,FR at 06:30",
        rf"(?:phát(?:\s+sóng)?\s+)?(?:vào\s+)?{PART}{DAYS}{WEEKS}\s*,?\s+{EVERY}\s+(?P<every>tuần|tháng){AT}",
        slots,
    ),
    _row(
        "`[phát sóng] [vào\\|lúc] time days [tuần thứ n và m] hằng tuần\\|tháng`",
        "the same, the time first",
        "phát sóng vào 20h00 thứ Ba hằng tuần",
        "slots FREQ=WEEKLY;BYDAY=TU at 20:00",
        rf"(?:phát(?:\s+sóng)?\s+)?(?:vào\s+)?(?:lúc\s+)?{TIME}\s*,?\s+(?:vào\s+)?{PART}{DAYS}{WEEKS}\s*,?\s+{EVERY}\s+"
        r"(?P<every>tuần|tháng)",
        slots,
    ),
    _row(
        "`hằng ngày [lúc time]`",
        "an air slot every day",
        "hằng ngày lúc 6 giờ",
        "slots FREQ=DAILY at 06:00",
        rf"{EVERY}\s+ngày(?P<days>)(?P<part>)(?P<weeks>){AT}",
        daily,
    ),
    _row(
        "`[trong\\|vào] quý n[/yyyy\\| năm yyyy]` (n: 1–4 or I–IV)",
        "one deliverable in that quarter (no year: the plan's)",
        "Thực hiện trong quý III/2026",
        "window 2026-Q3",
        rf"{PRE}(?P<when>{QUARTER})",
        window,
    ),
    _row(
        "`[trong\\|vào] tháng m[/yyyy\\| năm yyyy]`",
        "one deliverable in that month",
        "Tháng 5/2026",
        "window 2026-05",
        rf"{PRE}(?P<when>{MONTH})",
        window,
    ),
    _row(
        "`[trong] 6 tháng đầu\\|cuối năm [yyyy]`",
        "one deliverable in the first or second half-year",
        "6 tháng cuối năm",
        "window 2026-H2",
        rf"{PRE}(?P<when>{HALF})",
        window,
    ),
    _row(
        "`[trong] năm yyyy`",
        "one deliverable in the year (kept up all year: `{continuous: …}`)",
        "Trong năm 2026",
        "window 2026",
        rf"{PRE}(?P<when>{WHOLE})",
        window,
    ),
    _row(
        "`[trong] period và period …`",
        "one deliverable in each period; a year written last serves all",
        "trong Quý II và Quý IV năm 2026",
        "windows 2026-Q2, 2026-Q4",
        rf"{PRE}(?P<when>{PERIOD}(?:\s*(?:,|\svà)\s*(?:{PERIOD}|{BARE}))+)",
        window,
    ),
    _row(
        "`N [word] trong\\|vào period[s]`",
        "N deliverables in the period (in each period)",
        "02 lớp trong 6 tháng cuối năm",
        "window 2026-H2 ×2",
        rf"{N}\s*(?:{WORD})?\s+(?:trong|vào)\s+(?P<when>{PERIOD}(?:\s*(?:,|\svà)\s*{PERIOD})*)",
        window,
    ),
    _row(
        "`từ period đến period`, `từ period và hoàn thành chậm nhất[,] [trong] period`",
        "one window from the first period's start to the second's end (the year written last serves both)",
        "Từ quý II đến quý IV",
        "span 2026-Q2..2026-Q4",
        rf"(?:thực\s+hiện\s+)?từ\s+(?P<first>{PERIOD})\s*,?\s+(?:đến|tới|(?:và\s+)?hoàn\s+thành\s+chậm\s+nhất\s*,?"
        rf"(?:\s+(?:trong|vào))?)\s+(?P<last>{PERIOD})",
        span,
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
        dates,
    ),
    _row(
        "`trước [ngày] date và date …`",
        "deadlines: one deliverable by each date",
        "trước ngày 15/6/2026 và 15/12/2026",
        "deadlines 15/06/2026, 15/12/2026",
        rf"(?:(?:hoàn\s+thành|báo\s+cáo|gửi)\s+)?(?:trước|chậm\s+nhất)(?:\s+ngày)?\s+(?P<days>{DATE}"
        rf"(?:\s*(?:,|\svà)\s*(?:ngày\s+)?{DATE})+)",
        dates,
    ),
    _row(
        "`[vào] ngày dd/mm[/yyyy]`",
        "one deliverable on that day",
        "Ngày 15/5/2026",
        "window 2026-05-15",
        rf"(?:(?:tổ\s+chức|thực\s+hiện)\s+)?(?:vào\s+)?ngày\s+(?P<day>{DATE})",
        one_day,
    ),
    _row(
        "`[báo cáo] trước ngày d hằng\\|mỗi tháng`",
        "deadlines: day d of each month of the plan (its last day in a shorter month)",
        "trước ngày 15 hằng tháng",
        "deadlines 15/01/2026, 15/02/2026, 15/03/2026, 15/04/2026, 15/05/2026, 15/06/2026, "
        "15/07/2026, 15/08/2026, 15/09/2026, 15/10/2026, 15/11/2026, 15/12/2026",
        rf"(?:(?:hoàn\s+thành|báo\s+cáo|gửi)\s+)?(?:trước|chậm\s+nhất)(?:\s+ngày)?\s+(?P<d>\d{{1,2}})\s+(?:{EVERY}|của\s+mỗi)\s+tháng",
        monthly_day,
    ),
    _row(
        "`theo quý\\|6 tháng\\|năm, trước ngày d của tháng cuối quý\\|kỳ\\|năm`",
        "deadlines: day d of each period's last month, inside the plan",
        "theo quý, trước ngày 12 của tháng cuối quý",
        "deadlines 12/03/2026, 12/06/2026, 12/09/2026, 12/12/2026",
        rf"(?:định\s+kỳ\s+)?theo\s+{UNIT}\s*,?\s+trước\s+ngày\s+(?P<d>\d{{1,2}})\s+(?:của\s+)?tháng\s+cuối\s+"
        r"(?:quý|kỳ|năm|6\s+tháng)",
        day_of_period,
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
        half_and_year,
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
