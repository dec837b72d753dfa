"""A plan's text (a ``SourceText``) into a draft schedule file: the header,
the legal bases, the topics of section II and every row of section III.

The draft never guesses silently: a phrase it cannot read is kept verbatim
in a ``# TODO (line N): "…"`` comment and in ``Draft.problems``; a row it
cannot read is commented out whole, so the draft always loads. What the
text leaves open takes the documented default (docs/plan-import.md) and
says so in a comment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from scheduler.errors import N_
from scheduler.plan.phrase_readings import Context
from scheduler.plan.phrases import read
from scheduler.plan.plan_import_agencies import RELATED, Agencies, compare_key, slug
from scheduler.plan.plan_import_emit import Obligation, ReportRow, emit
from scheduler.plan.plan_import_reporting import statements
from scheduler.plan.plan_import_rows import ITEM, Row, channels_of, dates_of, list_rows, sub_items, table_rows
from scheduler.plan.source_text import SourceLine, SourceText

_HEADING = re.compile(r"^\s*([IVX]+)\.\s+(.+)$")
_NUMBER = re.compile(r"Số:\s*([0-9A-Za-zĐđ/.\-]+)")
_DATE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})")
_LEVELS = ("thành phố", "thị trấn", "tỉnh", "huyện", "xã", "phường", "thị xã")
_ISSUED_BY = re.compile(r"(?:UBND|Ủy ban nhân dân)\s+(tỉnh|huyện|xã|phường)\s+ban hành", re.I)
_LENGTH = re.compile(
    r"[(,]?\s*(?:\(\s*)?(thời lượng|mỗi lần tối thiểu|tối thiểu)\s+([0-9][^)/,;]*?phút)\s*(?:/[^,;.)]*)?\s*\)?", re.I
)
_MAX = re.compile(r",?\s*tối đa\s+(\d+\s*phút)", re.I)
_SITES = re.compile(r"\s+và\s+(?=(?:Trang|Cổng) [Tt]hông tin điện tử)")
_AUDIENCE = re.compile(r"^[a-zđ]\)\s*Đối với\s+(.+)$", re.I)
_ASIDE = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")
_HEADINGS_NOT_TOPICS = re.compile(r"^(nội dung|hình thức)( tuyên truyền)?\.?$", re.I)
_KEPT_UP = re.compile(r"^(duy trì|thường xuyên cập nhật)", re.I)
_NAMES = re.compile(r"[“\"]([^”\"]+)[”\"]")


@dataclass(frozen=True)
class ImportProblem:
    line: int
    phrase: str
    why: str  # an N_() message id


@dataclass(frozen=True)
class Draft:
    text: str
    problems: tuple[ImportProblem, ...]


@dataclass
class _Work:
    lines: list[SourceLine]
    agencies: Agencies
    translate: Callable[[str], str]
    problems: list[ImportProblem] = field(default_factory=list)

    def say(self, message: str, **params: str) -> str:
        return self.translate(message).format(**params)

    def flag(self, line: int, phrase: str, why: str) -> str:
        self.problems.append(ImportProblem(line, phrase, why))
        return f'TODO (line {line}): "{phrase}" ({self.translate(why)})'


def _sections(lines: list[SourceLine]) -> dict[str, list[SourceLine]]:
    found: dict[str, list[SourceLine]] = {"": []}
    current = ""
    for line in lines:
        if not line.cells and (m := _HEADING.match(line.text)):
            current = m[1]
            found[current] = []
            continue
        found[current].append(line)
    return found


def _issuer(head: list[SourceLine], text: str, title: str) -> tuple[str, str]:
    """(issuer, how it was found): the header's first line, else "<level> … ban hành" and the title."""
    for line in head[:6]:
        first = re.split(r"\s{3,}", line.text.strip())[0].replace("UBND ", "ỦY BAN NHÂN DÂN ")
        if first.upper().startswith("ỦY BAN NHÂN DÂN") and len(first) > len("ỦY BAN NHÂN DÂN"):
            words = first[len("ỦY BAN NHÂN DÂN") :].strip().lower()
            level = next((lv for lv in _LEVELS if words.startswith(lv)), "")
            place = " ".join(w.capitalize() for w in words[len(level) :].split())
            issuer = f"Ủy ban nhân dân {level} {place}".replace("  ", " ").strip()
            unit = re.split(r"\s{3,}", head[head.index(line) + 1].text.strip())[0] if line is not head[-1] else ""
            if unit.isupper() and unit.split()[0] in ("SỞ", "BAN", "PHÒNG", "VĂN", "TRUNG"):
                words = unit.lower().split()
                return " ".join([w.capitalize() for w in words[:2]] + words[2:]), f"{first} / {unit}"
            return issuer, ""
    if m := _ISSUED_BY.search(text):
        level = m[1].lower()
        if p := re.search(rf"\b{level}\s+((?:[A-ZĐÂƠƯ][^\s]*\s*)+?)\s*năm\b", title):
            return f"Ủy ban nhân dân {level} {p[1].strip()}", m[0]
    return "", ""


def _paragraphs(lines: list[SourceLine], start: re.Pattern[str]) -> list[tuple[int, str]]:
    """Numbered items of a section, each joined across its wrapped lines."""
    items: list[tuple[int, str]] = []
    for line in lines:
        text = line.text.strip()
        if m := start.match(line.text):
            items.append((line.number, m[2].strip()))
        elif items and text and not text.startswith(("-", "+")) and not re.match(r"^[a-zđ]\)", text):
            number, joined = items[-1]
            if not joined.endswith((".", ";", ":")):
                items[-1] = (number, f"{joined} {text}")
    return items


def _legal_basis(lines: list[SourceLine]) -> list[str]:
    bases: list[str] = []
    for i, line in enumerate(lines):
        text = line.text.strip()
        if not text.startswith(("Căn cứ", "Thực hiện")):
            continue
        joined = text
        for nxt in lines[i + 1 :]:
            if joined.endswith((";", ".", ":")) or not nxt.text.strip():
                break
            joined += " " + nxt.text.strip()
        joined = re.split(r",?\s*(?:UBND|Ủy ban nhân dân)\s+\w+\s+ban hành", joined)[0]
        joined = re.sub(r"^(Căn cứ|Thực hiện)\s+", "", joined)
        bases += [b.strip().rstrip(";.:").strip() for b in joined.split(";") if b.strip()]
    return bases


def _duration(text: str) -> tuple[str, str, str]:
    """(text without the length, min_duration, duration)."""
    m = _LENGTH.search(text)
    if not m:
        return text, "", ""
    length = " ".join(m[2].split())
    rest = " ".join((text[: m.start()] + " " + text[m.end() :]).split()).rstrip(",.").strip()
    return (rest, "", length) if "±" in length else (rest, length, "")


def _cadence(phrase: str, ctx: Context) -> tuple[str, str]:
    """(the words the grammar reads, what was left before them) or ("", "")."""
    phrase = phrase.strip().rstrip(".;").strip()
    if not phrase:
        return "", ""
    words = phrase.split()
    for i in range(len(words)):
        tail = " ".join(words[i:])
        if read(tail, ctx) is not None:
            return tail, " ".join(words[:i])
    return "", ""


_BY_KIND = {"broadcaster": ["radio", "tv"], "newspaper": ["print", "online"]}


def _obligations(work: _Work, rows: list[Row], ctx: Context, year: int) -> list[Obligation]:
    found: list[Obligation] = []
    for row in rows:
        contents, times = sub_items(row.content), sub_items(row.time)
        if len(contents) != len(times) and len(times) > 1:
            todo = work.flag(row.line, row.time, N_("the row's items and time phrases do not pair up"))
            found.append(Obligation(row, row.content, notes=[todo], broken=True))
            continue
        if len(times) == 1 and len(contents) > 1:
            times = times * len(contents)
        for content, time in zip(contents, times, strict=True):
            found += _one(work, row, content, time, ctx, year, several=len(contents) > 1)
    return found


def _one(work: _Work, row: Row, content: str, time: str, ctx: Context, year: int, several: bool) -> list[Obligation]:
    notes: list[str] = []
    time, min_d, dur = _duration(time)
    content, min_c, dur_c = _duration(content)
    min_d, dur = min_d or min_c, dur or dur_c or row.duration
    max_d = ""
    if m := _MAX.search(content):
        max_d, content = " ".join(m[1].split()), (content[: m.start()] + content[m.end() :]).strip()
        min_d, dur = "", min_d or dur
    said = ""
    if ":" in content and not content.lower().startswith("chuyên mục"):
        head, _, tail = content.partition(":")
        sentence, _, rest = tail.strip().partition(". ")
        said, _ = _cadence(sentence, ctx)
        if said and not _:
            content = head.strip()
            if time:
                why = N_("the content states the frequency; the time column's words are not used")
                notes.append(work.flag(row.line, time, why))
            if rest.strip():
                notes.append(
                    work.flag(row.line, rest.strip(), N_("words beside the time phrase that this importer cannot read"))
                )
            time = sentence
        else:
            said = ""
    words, before = _cadence(time, ctx)
    if not words and (aside := _ASIDE.match(time.strip().rstrip("."))):
        words, before = _cadence(aside[1], ctx)
        if words:
            notes.append(
                work.flag(row.line, aside[2], N_("words beside the time phrase that this importer cannot read"))
            )
    broken = False
    cadence: object = words
    reading = read(words, ctx) if words else None
    if reading and not all(ctx.start <= d < ctx.end for d in dates_of(reading)):
        notes.append(work.flag(row.line, words, N_("a time outside the plan's year")))
        broken = True
    elif not words:
        notes.append(work.flag(row.line, time or row.source, N_("no time or frequency this importer can read")))
        broken = True
    else:
        if before:
            notes.append(
                work.say(
                    N_('Reading: the time phrase is "{words}"; the words before it ("{before}") are not a time.'),
                    words=words,
                    before=before,
                )
            )
        if _KEPT_UP.match(content) and read(words, ctx) and read(words, ctx).form == "window":  # type: ignore[union-attr]
            cadence = {"continuous": words, "attest": "quarter"}
            notes.append(work.say(N_("Default: kept up all along, attested once a quarter (docs/plan-import.md).")))
    host_text = row.host.strip().rstrip(".")
    host = ""
    if not host_text or RELATED.match(host_text):
        notes.append(work.flag(row.line, host_text or row.source, N_("no host agency (chủ trì) named")))
        broken = True
    else:
        agency = work.agencies.find(host_text)
        host = agency.code
    coordination, coordinators = "", []
    for part in re.split(r"[;,]\s*(?=[A-ZĐÂỦ])", row.coordinators.strip().rstrip(".")):
        if not part.strip():
            continue
        if RELATED.match(part.strip()):
            coordination = part.strip()
        else:
            coordinators.append(work.agencies.find(part).code)
    channels = channels_of(content)
    if not channels and host and (kind := work.agencies.used[host].kind) in _BY_KIND:
        channels = _BY_KIND[kind]
        notes.append(
            work.say(
                N_("Reading: the content names no channel; the host ({kind}) gives {channels}."),
                kind=kind,
                channels=", ".join(channels),
            )
        )
    if not channels:
        notes.append(work.flag(row.line, content, N_("no channel named in the content")))
        broken = True
    newspaper = host and work.agencies.used[host].kind == "newspaper"
    if newspaper and "print" not in channels and re.search(r"\bBáo (?!điện tử)[A-ZĐ]", content):
        channels = ["print", *channels]
        notes.append(work.say(N_("Reading: the newspaper named by its title is its print edition (print).")))
    titles = [content]
    if _KEPT_UP.match(content) and len(sites := _SITES.split(content, maxsplit=1)) == 2:
        titles = [sites[0].strip(), sites[1].strip()]
        notes.append(work.say(N_("Reading: two sites kept up, each attested on its own.")))
    names = _NAMES.findall(content)
    if content.lower().startswith("chuyên mục") and len(names) > 1:
        titles = [f'Chuyên mục "{n}"' for n in names]
        notes.append(work.say(N_("Reading: several programs named, each owes its own (the stricter reading).")))
    return [
        Obligation(
            row,
            title,
            host=host,
            coordinators=coordinators,
            coordination=coordination,
            channels=channels,
            cadence=cadence,
            min_duration=min_d,
            max_duration=max_d,
            duration=dur,
            notes=list(notes),
            broken=broken,
        )
        for title in titles
    ]


def _reports(work: _Work, lines: list[SourceLine], issuer: str, year: int) -> list[ReportRow]:
    """The reporting rows; one without a sender, an addressee or dates is kept commented out."""

    def agency(name: str) -> str:
        key = compare_key(name)
        if compare_key(issuer).startswith(key):
            name = issuer
        return work.agencies.find(name).code

    rows = []
    for r in statements(lines):
        if not (r.sender and r.to and r.deadlines):
            todo = work.flag(r.line, r.text, N_("no sender, addressee or dates this importer can read"))
            rows.append(ReportRow(r, "", "", "", [todo], broken=True))
            continue
        if not all(year <= d.year <= year for d, _ in r.deadlines):
            todo = work.flag(r.line, r.text, N_("a time outside the plan's year"))
            rows.append(ReportRow(r, "", "", "", [todo], broken=True))
            continue
        through = agency(r.through) if r.through else ""
        rows.append(ReportRow(r, agency(r.sender), agency(r.to), through, []))
    return rows


def import_plan(
    source: SourceText,
    year: int | None = None,
    agencies: Sequence[tuple[str, str, str]] = (),
    translate: Callable[[str], str] = str,
) -> Draft:
    """Read ``source`` into a draft schedule file (``agencies``: the loaded (code, name, kind))."""
    lines = list(source.lines)
    work = _Work(lines, Agencies(agencies), translate)
    sections = _sections(lines)
    head = sections[""]
    all_text = "\n".join(line.text for line in lines)
    title_at = next((i for i, line in enumerate(head) if line.text.strip().upper() == "KẾ HOẠCH"), None)
    title_words: list[str] = []
    if title_at is not None:
        for line in head[title_at + 1 :]:
            if not line.text.strip():
                break
            title_words.append(line.text.strip())
    subject = " ".join(title_words)
    title = f"Kế hoạch {subject[:1].lower()}{subject[1:]}" if subject else ""
    number = m[1] if (m := _NUMBER.search("\n".join(line.text for line in head[:6]))) else ""
    issued = date(int(m[3]), int(m[2]), int(m[1])) if (m := _DATE.search("\n".join(x.text for x in head[:6]))) else None
    if year is None:
        found = re.search(r"năm\s+(\d{4})", subject) or re.search(r"\b(20\d\d)\b", all_text)
        year = int(found[1]) if found else (issued.year if issued else date.min.year)
    issuer, how = _issuer(head, all_text, subject)
    ctx = Context(date(year, 1, 1), date(year + 1, 1, 1))
    topics = [
        (n, t.rstrip(".;"))
        for n, t in _paragraphs(sections.get("II", []), ITEM)
        if not _HEADINGS_NOT_TOPICS.match(t.strip())
    ]
    audiences = list(
        dict.fromkeys(
            m[1].strip().rstrip(".:;") for x in sections.get("II", []) if (m := _AUDIENCE.match(x.text.strip()))
        )
    )
    section = sections.get("III", [])
    rows = table_rows(section) if any(line.cells for line in section) else list_rows(section)
    obligations = _obligations(work, rows, ctx, year)
    notes: list[str] = []
    if not title:
        notes.append(work.flag(1, source.name, N_('no title after "KẾ HOẠCH"')))
        title = f"Kế hoạch năm {year}"
    if not issuer:
        notes.append(work.flag(1, source.name, N_("no issuing authority in the header")))
        issuer = "Ủy ban nhân dân"
    elif how:
        notes.append(work.say(N_('Reading: the issuer from "{how}".'), how=how))
    reports = _reports(work, lines, issuer, year)
    if not any(not r.broken for r in reports):
        notes.append(work.say(N_("Default: no reporting row read; reports go to REPORT_AGENCY (docs/plan-import.md).")))
    place = slug(issuer.split(" ", 5)[-1]) if issuer.startswith("Ủy ban nhân dân ") else slug(issuer)
    text = emit(
        source.name,
        code=f"{place}-{year}",
        title=title,
        issuer=issuer,
        number=number,
        issued_on=issued,
        year=year,
        legal_basis=_legal_basis(head),
        topics=topics,
        audiences=audiences,
        agencies=list(work.agencies.used.values()),
        obligations=obligations,
        reports=reports,
        notes=notes,
        say=work.say,
    )
    return Draft(text, tuple(work.problems))
