"""A playout system's as-run log read into aired items: what went on air,
when and for how long, with the file's own line numbers (they go into the
ledger entry of a record made from it).

Formats: ``csv`` and ``tsv`` (columns named by the outlet's layout, or found
by the header's words in English or Vietnamese), ``libretime-csv`` (the
Playout History "Log Sheet" export of LibreTime: Start Time, End Time,
Title, Creator …) and the LibreTime REST API's schedule answer
(``read_libretime_api``, in ``asrun_api.py``). Messy exports are expected:
a UTF-8 BOM, Windows line ends, decomposed Vietnamese, "24:00" as an end,
durations as seconds, mm:ss or hh:mm:ss, dates as ISO or dd/mm/yyyy.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from scheduler.bounds import format_size
from scheduler.documents import control_problems
from scheduler.errors import N_, Problem, ScheduleError
from scheduler.harvest.titles import normal
from scheduler.plan.harvest_settings import AsrunLayout

MAX_ASRUN_BYTES = 10 * 2**20  # a year of a busy channel's log is ~5 MiB
MAX_ROWS = 100_000
MAX_FIELD = 1000  # characters in one field
MAX_PROBLEMS = 20  # the first problems of a file are enough to fix it
PREAMBLE = 10  # lines above the header (a report's title, the station's name) looked through

# The words a header may use for each column, compared folded (``titles.normal``).
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "start": ("start", "start time", "starts", "starts at", "begin", "aired", "air time", "bat dau", "gio phat",
              "gio bat dau", "thoi diem phat", "thoi gian phat", "phat luc"),
    "end": ("end", "end time", "ends", "ends at", "stop", "ket thuc", "gio ket thuc"),
    "duration": ("duration", "length", "thoi luong", "do dai"),
    "title": ("title", "name", "program", "programme", "track title", "ten chuong trinh", "tieu de", "chuong trinh",
              "ten"),
    "code": ("code", "program code", "id chuong trinh", "ma", "ma chuong trinh"),
    "date": ("date", "air date", "ngay", "ngay phat"),
}  # fmt: skip
NEEDED = N_("start (bắt đầu, giờ phát), end (kết thúc) or duration (thời lượng), title (tên chương trình, tiêu đề)")
DATES = N_("an ISO 8601 moment (2024-03-14T19:30:00), dd/mm/yyyy HH:MM[:SS], or a time with a date column")
DURATIONS = N_("seconds (600), mm:ss (10:00) or hh:mm:ss (00:10:00)")


@dataclass(frozen=True)
class AiredItem:
    """One thing that aired (or several rows of one thing: a two-part episode)."""

    rows: tuple[int, ...]  # line numbers in the file (or item numbers of an API answer)
    start: datetime  # aware
    end: datetime
    duration: int  # seconds on air
    title: str  # as written, NFC
    code: str = ""


class _RowError(Exception):
    def __init__(self, column: str, message: str, **params: object):
        self.column, self.message, self.params = column, message, params


def _problem(name: str, line: int | None, where: str, message: str, **params: object) -> ScheduleError:
    return ScheduleError([Problem(name, line, where, message, params)])


def decode(data: bytes, name: str, limit: int = MAX_ASRUN_BYTES) -> str:
    """UTF-8 (a BOM dropped), NFC, no control characters, within ``limit``."""
    if len(data) > limit:
        raise _problem(name, None, "", N_("the file is larger than {size}"), size=format_size(limit))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise _problem(name, line, "", N_("this is not UTF-8 text; save the file as UTF-8")) from None
    problems = control_problems(name, text)
    if problems:
        raise ScheduleError(problems[:MAX_PROBLEMS])
    return unicodedata.normalize("NFC", text)


def _delimiter(layout: AsrunLayout, text: str) -> str:
    if layout.format == "tsv":
        return "\t"
    if layout.format == "libretime-csv":
        return ","
    lines = [line for line in text.splitlines()[: PREAMBLE * 2] if line.strip()][:PREAMBLE]
    counts = {d: max((line.count(d) for line in lines), default=0) for d in ("\t", ";", ",")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _columns(header: list[str], layout: AsrunLayout, name: str, line: int) -> dict[str, int]:
    """Which column holds what: the layout's names first, then the default words."""
    folded = [normal(h) for h in header]
    found: dict[str, int] = {}
    for what, words in DEFAULT_COLUMNS.items():
        configured = str(getattr(layout, what, "") or "")
        wanted = (normal(configured), *words) if configured else words
        for i, h in enumerate(folded):
            if h and h == wanted[0]:
                found[what] = i
                break
        else:
            for i, h in enumerate(folded):
                if h and h in wanted:
                    found[what] = i
                    break
            else:
                if configured and what in ("start", "title"):
                    raise _problem(
                        name, line, "", N_('no column "{column}" in the header; it has: {header}'),
                        column=configured, header=", ".join(header),
                    )  # fmt: skip
    if "start" not in found or "title" not in found or not ({"end", "duration"} & set(found)):
        raise _problem(
            name, line, "", N_("the header names no {missing}; it needs {needed} and has: {header}"),
            missing=", ".join(w for w in ("start", "title") if w not in found) or "end/duration",
            needed=NEEDED, header=", ".join(header),
        )  # fmt: skip
    return found


_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T,]+(.*))?$")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?$")


def _clock(text: str) -> tuple[int, int, int] | None:
    m = _TIME.match(text.strip())
    if not m:
        return None
    h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
    if h > 24 or mi > 59 or s > 59 or (h == 24 and (mi or s)):
        return None
    return h, mi, s


def _at(day: date, clock: tuple[int, int, int], tz: tzinfo) -> datetime:
    """A local time of a day; 24:00 is the next day's 00:00."""
    h, mi, s = clock
    if h == 24:
        return datetime.combine(day + timedelta(days=1), time(0), tz)
    return datetime.combine(day, time(h, mi, s), tz)


def parse_moment(text: str, tz: tzinfo, date_format: str = "", day: date | None = None) -> datetime | None:
    """A moment as exports write it; naive ones are in ``tz``. None: not understood."""
    text = text.strip()
    if not text:
        return None
    if date_format:
        try:
            parsed = datetime.strptime(text, date_format)
        except ValueError:
            return None
        return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed.astimezone(tz)
    clock = _clock(text)
    if clock is not None:
        return _at(day, clock, tz) if day else None
    m = _DMY.match(text)
    if m:
        try:
            when = date(int(m[3]), int(m[2]), int(m[1]))
        except ValueError:
            return None
        if not m[4]:
            return datetime.combine(when, time(0), tz)
        clock = _clock(m[4])
        return _at(when, clock, tz) if clock else None
    if text.endswith(("T24:00", " 24:00", "T24:00:00", " 24:00:00")):
        head = text[:10]
        try:
            return datetime.combine(date.fromisoformat(head) + timedelta(days=1), time(0), tz)
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed.astimezone(tz)


def parse_duration(text: str) -> int | None:
    """Seconds from "600", "600.5", "10:00", "00:10:00" or "00:10:00.000000"; None: not understood."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:[.,]\d+)?", text):
        return round(float(text.replace(",", ".")))
    m = re.fullmatch(r"(?:(\d+):)?(\d{1,2}):(\d{2})(?:[.,]\d+)?", text)
    if not m or int(m[3]) > 59 or (m[1] is not None and int(m[2]) > 59):
        return None
    return int(m[1] or 0) * 3600 + int(m[2]) * 60 + int(m[3])


def _item(cells: list[str], found: dict[str, int], header: list[str], layout: AsrunLayout, tz: tzinfo) -> AiredItem:
    def cell(what: str) -> str:
        i = found.get(what)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    def column(what: str) -> str:
        return f"{found[what] + 1} ({header[found[what]]})"

    day = None
    if cell("date"):
        moment = parse_moment(cell("date"), tz, "")
        if moment is None:
            raise _RowError(column("date"), N_('"{value}" is not a date; use {accepted}'), value=cell("date"),
                            accepted=DATES)  # fmt: skip
        day = moment.date()
    start = parse_moment(cell("start"), tz, layout.date_format, day)
    if start is None:
        raise _RowError(column("start"), N_('"{value}" is not a moment; use {accepted}'), value=cell("start"),
                        accepted=DATES)  # fmt: skip
    title = cell("title")
    if not title:
        raise _RowError(column("title"), N_("the title is empty"))
    seconds = None
    if cell("duration"):
        seconds = parse_duration(cell("duration"))
        if seconds is None or seconds > 86400:
            raise _RowError(column("duration"), N_('"{value}" is not a duration; use {accepted}'),
                            value=cell("duration"), accepted=DURATIONS)  # fmt: skip
    end = None
    if cell("end"):
        end = parse_moment(cell("end"), tz, layout.date_format, start.date())
        if end is None:
            raise _RowError(column("end"), N_('"{value}" is not a moment; use {accepted}'), value=cell("end"),
                            accepted=DATES)  # fmt: skip
        if end < start and _clock(cell("end")) is not None:
            end += timedelta(days=1)  # a time alone that passed midnight
        if end < start or end - start > timedelta(days=1):
            raise _RowError(column("end"), N_("the end {end} is before the start or over a day after it"),
                            end=cell("end"))  # fmt: skip
    if end is None and seconds is None:
        raise _RowError(column("end" if "end" in found else "duration"), N_("neither an end nor a duration"))
    if seconds is None:
        seconds = int((end - start).total_seconds())  # type: ignore[operator]
    return AiredItem((), start, end or start + timedelta(seconds=seconds), seconds, title, cell("code"))


def read_asrun(
    data: bytes, name: str, layout: AsrunLayout | None, tz: tzinfo, limit: int = MAX_ASRUN_BYTES
) -> list[AiredItem]:
    """The aired items of a CSV/TSV export, in file order; every problem names
    the file, its line and column and what is accepted."""
    layout = layout or AsrunLayout()
    if layout.format not in ("csv", "tsv", "libretime-csv"):
        raise _problem(name, None, "format", N_('"{value}" is not a file format; use one of: {accepted}'),
                       value=layout.format, accepted="csv, tsv, libretime-csv")  # fmt: skip
    text = decode(data, name, limit)
    reader = csv.reader(text.splitlines(), delimiter=_delimiter(layout, text), strict=False)
    found: dict[str, int] | None = None
    header: list[str] = []
    items: list[AiredItem] = []
    problems: list[Problem] = []
    line = seen = 0
    refused: ScheduleError | None = None
    for cells in reader:
        first, line = line + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        long = next((i for i, c in enumerate(cells) if len(c) > MAX_FIELD), None)
        if long is not None:
            problems.append(Problem(name, first, f"column {long + 1}", N_("a field is longer than {limit} characters"),
                                    {"limit": MAX_FIELD}))  # fmt: skip
            break
        if found is None:
            try:
                header, found = cells, _columns(cells, layout, name, first)
            except ScheduleError as e:  # a title line above the header, as exports from a spreadsheet have
                seen += 1
                refused = refused or e
                if seen >= PREAMBLE:
                    raise refused from None
            continue
        if len(items) >= MAX_ROWS:
            problems.append(Problem(name, first, "", N_("the file has more than {limit} rows"), {"limit": MAX_ROWS}))
            break
        try:
            item = _item(cells, found, header, layout, tz)
        except _RowError as e:
            problems.append(Problem(name, first, f"column {e.column}", e.message, e.params))
            if len(problems) >= MAX_PROBLEMS:
                break
            continue
        items.append(AiredItem((first,), item.start, item.end, item.duration, item.title, item.code))
    if found is None:
        if refused:
            raise refused
        raise _problem(name, None, "", N_("the file is empty; it needs a header naming {needed}"), needed=NEEDED)
    if problems:
        raise ScheduleError(problems)
    return items
