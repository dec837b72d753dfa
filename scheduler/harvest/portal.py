"""Portal attestations (pure): one daily check of a page a continuous
obligation keeps up (``evaluate``), the window's attestation built from the
checks' history (``attestation``), and that history as the evidence file a
person can open in Excel (``history_csv``).

A page passes when it answers 2xx and, when asked, holds a link starting with
``expect_link`` and the text ``expect_text`` (folded as titles are). Broken
HTML is read as far as it goes: a check never fails with a traceback.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

from scheduler.errors import N_
from scheduler.harvest.proposals import ATTESTATION, Fetched, Owed, Proposal, proposal_key
from scheduler.harvest.titles import normal
from scheduler.i18n import gettext_for
from scheduler.plan.channels import moment_kind
from scheduler.plan.harvest_settings import Check

MAX_TEXT = 2_000_000  # characters of a page read for links and text: a section page is far smaller
MAX_LINKS = 20_000  # links looked at per page

# Why a check passed or not (message ids; their Vietnamese is in the catalog).
PASSED = N_("the page answers as expected")
NO_ANSWER = N_("no answer: {error}")
BAD_STATUS = N_("the page answered HTTP {status}")
NO_LINK = N_("no link to {link} on the page")
NO_TEXT = N_('the text "{text}" is not on the page')
NO_LINK_NOR_TEXT = N_('no link to {link} and no text "{text}" on the page')


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome. ``link_found``/``text_found`` are None when the
    check does not ask for them (or the page did not answer 2xx)."""

    ok: bool
    status: int | None
    link_found: bool | None
    text_found: bool | None
    final_url: str
    reason: str  # message id
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "vi") -> str:
        return reason_text(self.reason, self.params, lang)


def reason_text(reason: str, params: Mapping[str, Any] | None, lang: str = "vi") -> str:
    """A stored reason (message id and parameters) in ``lang``."""
    try:
        return gettext_for(lang)(reason).format(**(params or {}))
    except (KeyError, IndexError, ValueError):
        return reason


class Checked(NamedTuple):
    """One check in an obligation's history: when (aware), whether it passed,
    why (already in words), which URL, the HTTP status (None: no answer)."""

    at: datetime
    ok: bool
    reason: str
    url: str
    status: int | None = None


def evaluate(fetched: Fetched | None, error: str, check: Check) -> CheckResult:
    """The check of one answer (``fetched`` None: nothing answered, ``error`` says why)."""
    if fetched is None:
        return CheckResult(False, None, None, None, "", NO_ANSWER, {"error": error or "?"})
    final = fetched.final_url or fetched.url
    if not 200 <= fetched.status < 300:
        return CheckResult(False, fetched.status, None, None, final, BAD_STATUS, {"status": fetched.status})
    page = _read(fetched.body, fetched.content_type, final)
    link = _has_link(page.links, check.expect_link) if check.expect_link else None
    text = _has_text(page.text, check.expect_text) if check.expect_text else None
    if link is False and text is False:
        reason, params = NO_LINK_NOR_TEXT, {"link": check.expect_link, "text": check.expect_text}
    elif link is False:
        reason, params = NO_LINK, {"link": check.expect_link}
    elif text is False:
        reason, params = NO_TEXT, {"text": check.expect_text}
    else:
        reason, params = PASSED, {}
    return CheckResult(link is not False and text is not False, fetched.status, link, text, final, reason, params)


@dataclass
class _Page:
    links: list[str]
    text: str


class _Reader(HTMLParser):
    """Links (resolved against the page and its ``<base href>``) and visible text."""

    def __init__(self, base: str):
        super().__init__(convert_charrefs=True)
        self.base = base
        self.links: list[str] = []
        self.words: list[str] = []
        self.hidden = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: (v or "") for k, v in attrs}
        if tag == "base" and values.get("href") and not self.links:
            self.base = urljoin(self.base, values["href"].strip())
        elif tag == "a" and values.get("href") and len(self.links) < MAX_LINKS:
            self.links.append(urljoin(self.base, values["href"].strip()))
        elif tag in ("script", "style"):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.words.append(data)


def _read(body: bytes, content_type: str, base: str) -> _Page:
    charset = "utf-8"
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", errors="replace")
    reader = _Reader(base)
    try:
        reader.feed(text[:MAX_TEXT])
        reader.close()
    except Exception:  # html.parser on hostile input: keep what was read, never a traceback
        pass
    return _Page(reader.links, " ".join(reader.words))


def _comparable(url: str) -> str:
    """Scheme-insensitive (http/https), host in lower case, no trailing slash."""
    url = url.strip()
    netloc = urlsplit(url).netloc
    rest = url.split("//", 1)[1] if "//" in url else url
    if netloc and rest.startswith(netloc):
        rest = netloc.lower() + rest[len(netloc) :]
    return rest.rstrip("/")


def _has_link(links: Iterable[str], expected: str) -> bool:
    """A link that starts with ``expected`` at a boundary: ``https://dichvucong.gov.vn``
    is found in ``http://dichvucong.gov.vn/p/home``, not in ``https://dichvucong.gov.vn.example``."""
    want = _comparable(expected)
    for link in links:
        if not link.lower().startswith(("http://", "https://")):
            continue
        got = _comparable(link)
        if got == want or (got.startswith(want) and got[len(want)] in "/?#"):
            return True
    return False


def _has_text(text: str, expected: str) -> bool:
    words = normal(expected)
    return bool(words) and f" {words} " in f" {normal(text)} "


# -- the window's attestation ------------------------------------------------------------------


def days_of(owed: Owed, history: Iterable[Checked]) -> dict[date, list[Checked]]:
    """The window's checks by local day, each day's in time order."""
    zone = owed.window_start.tzinfo
    found: dict[date, list[Checked]] = {}
    for c in sorted(history, key=lambda c: (c.at, c.url)):
        if owed.window_start <= c.at < owed.window_end:
            found.setdefault(c.at.astimezone(zone).date(), []).append(c)
    return found


def day_ok(checks: list[Checked]) -> bool:
    """A day passes when every URL's last check that day passed: a failure
    put right the same day (the hourly retry) is in the history, not a lost day."""
    last = {c.url: c for c in checks}
    return all(c.ok for c in last.values())


def last_day(owed: Owed) -> date:
    return (owed.window_end - timedelta(microseconds=1)).astimezone(owed.window_start.tzinfo).date()


def window_history(owed: Owed, history: Iterable[Checked]) -> list[Checked]:
    """The checks inside the occurrence's window, in time order: what its evidence file holds."""
    return [c for checks in days_of(owed, history).values() for c in checks]


def attestation(owed: Owed, history: list[Checked], now: datetime, expected: Collection[str] = ()) -> Proposal | None:
    """The window's attestation once its last day has been checked (every URL
    in ``expected``, the pages checked now) and passed (a failed last day waits
    for its retries), or once the window has ended; None before that, and None
    when no day passed at all: that window stays for a person. Its evidence
    file is ``history_csv(window_history(owed, history))`` in the plan's zone,
    named in ``evidence["files"]`` and ``source``."""
    days = days_of(owed, history)
    end_day = last_day(owed)
    if now < owed.window_end:
        checked = {c.url for c in days.get(end_day, ())}
        if not checked or not set(expected) <= checked or not day_ok(days[end_day]):
            return None
    good = [d for d, checks in days.items() if day_ok(checks)]
    if not good:
        return None
    failed = sorted(d for d in days if d not in good)
    moment = max(c.at for c in days[max(good)] if c.ok)  # the last passing check of the last good day
    urls = list(dict.fromkeys(c.url for checks in days.values() for c in checks))
    detail = f"{len(good)}/{len(days)} ngày đạt"
    if failed:
        shown = ", ".join(d.strftime("%d/%m") for d in failed[:20])
        detail += f"; lỗi: {shown}" + (f" (+{len(failed) - 20})" if len(failed) > 20 else "")
    zone = owed.window_start.tzinfo
    first_day = owed.window_start.astimezone(zone).date()
    unchecked = (min(end_day, now.astimezone(zone).date()) - first_day).days + 1 - len(days)
    if unchecked > 0:
        detail += f"; chưa kiểm tra: {unchecked} ngày"
    data = history_csv(window_history(owed, history), zone)
    sha = sha256_of(data)
    first, last = min(days), max(days)
    name = f"kiem-tra-{owed.obligation}-{first.isoformat()}-{last.isoformat()}.csv"
    return Proposal(
        kind=ATTESTATION,
        outlet=owed.outlet,
        plan=owed.plan,
        obligation=owed.obligation,
        occurrence=owed.id,
        key=proposal_key(ATTESTATION, owed.id),
        evidence={
            "moment": moment.astimezone(owed.window_start.tzinfo).isoformat(),
            "moment_kind": moment_kind(owed.channels),
            "url": urls[0],
            "title": f"Kiểm tra hằng ngày {first.strftime('%d/%m/%Y')} – {last.strftime('%d/%m/%Y')}",
            "files": [{"sha256": sha, "size": len(data), "name": name, "type": "text/csv"}],
        },
        source={
            "type": "checks",
            "urls": urls,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "checks": len(days),
            "failed": len(failed),
            "history_sha256": sha,
        },
        detail=detail,
        found_at=now,
    )


HEADERS = ("Ngày", "Giờ kiểm tra", "Địa chỉ (URL)", "Kết quả", "Mã HTTP", "Lý do")


def history_csv(history: Iterable[Checked], zone: Any = None) -> bytes:
    """The history as the evidence file: UTF-8 with a BOM (Excel reads its
    Vietnamese), CRLF line ends, one row per check in time order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for c in sorted(history, key=lambda c: (c.at, c.url)):
        at = c.at.astimezone(zone) if zone else c.at
        status = "" if c.status is None else str(c.status)
        writer.writerow(
            (at.strftime("%d/%m/%Y"), at.strftime("%H:%M:%S"), c.url, "Đạt" if c.ok else "Lỗi", status, c.reason)
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
