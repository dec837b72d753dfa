"""A message's words and bytes: composed from templates/mail/ in its reader's
language, built once by yagmail into RFC 5322 bytes (kept in the outbox row),
and stamped with its Date when it is sent, without being parsed again."""

from __future__ import annotations

import email
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from email.header import Header
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formatdate, parseaddr
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import yagmail
from yagmail.error import YagAddressError, YagInvalidEmailAddress

from scheduler.errors import N_
from scheduler.feeds.ical import VN_TZ, occurrence_url, period_text, summary
from scheduler.i18n import DEFAULT, LANGUAGES, gettext_for, pick
from scheduler.reminders.outbox import Message, PermanentFailure
from scheduler.rendering import render

SUBJECTS = {
    "milestone": N_("[Reminder] {step} on {day}: {summary}"),
    "due": N_("[Reminder] Due {day}: {summary}"),
    "at_risk": N_("[At risk] {summary}: the window closes {day}"),
    "overdue": N_("[Overdue] {summary}"),
    "digest": N_("[Schedule] What is due {first} – {last}"),
    "moved": N_("[Changed] Now due {day}: {summary}"),
    "reinstated": N_("[Reinstated] Due {day}: {summary}"),
    "cancelled": "{summary}",  # the summary of a cancelled item already says "[Cancelled] …"
    "report": N_("[Report] Results of the communication plan, {period}"),
    "password": N_("Reset your password"),
    "expiry": N_("[Outbox] {count} message(s) expired unsent"),
    "succession": N_("[Reorganisation] {agency} from {day}"),
    "check_failed": N_("[Check failed] {day}: {url}"),
}
UNSTAMPED = formatdate(0)  # the Date a letter is built with: a valid date, replaced when it is sent
_DATE = re.compile(rb"^Date: [^\r\n]*\r\n", re.MULTILINE)


@dataclass(frozen=True)
class Outgoing:
    """A rendered message, ready to send."""

    message_id: str
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    text: str
    html: str
    headers: Mapping[str, str] = field(default_factory=dict)
    day: date | None = None  # the day it is sent for (the outbox's send_at): names its .eml file
    attachments: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Letter:
    """A built message: its envelope and its bytes, whose Date line is stamped
    when it is sent (``stamp``)."""

    message_id: str
    sender: str  # the envelope's MAIL FROM (an address)
    recipients: tuple[str, ...]  # RCPT TO: To, then Cc
    data: bytes  # RFC 5322, CRLF line ends
    day: date | None = None  # the day it is sent for (the outbox's send_at): names its .eml file


def compose(message: Message, message_id: str, sender: str, base_url: str) -> Outgoing:
    """The message in its reader's language, from ``templates/mail/<kind>.txt``
    and ``.html``. A context it cannot render is a PermanentFailure: trying
    again would give the same result, and the rest of the outbox goes on."""
    lang = message.lang if message.lang in LANGUAGES else DEFAULT
    _ = gettext_for(lang)
    try:
        tz = ZoneInfo(message.context.get("tz") or VN_TZ)
        values = _values(message, lang, _, tz, base_url.rstrip("/"))
        subject = " ".join(_subject(message.kind, values, _).split())
        text = render(f"mail/{message.kind}.txt", lang, subject=subject, **values)
        html = render(f"mail/{message.kind}.html", lang, subject=subject, **values)
    except (KeyError, ValueError, TypeError, AttributeError, jinja2.TemplateError) as e:
        raise PermanentFailure(
            f"cannot compose the {message.kind} message {message_id}: {type(e).__name__}: {e}"
        ) from e
    headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All", "Content-Language": lang}
    if message.context.get("occurrence"):
        headers["References"] = _thread(message.context["occurrence"], message_id)
    attach = message.context.get("path")
    return Outgoing(
        message_id,
        sender,
        (message.recipient,),
        tuple(message.cc),
        subject,
        text,
        html,
        headers,
        send_day(message),
        (Path(attach),) if attach else (),
    )


def headline(message: Message, base_url: str) -> tuple[str, str]:
    """The subject line and the link its reader follows (the occurrence's
    page for a reminder), in the reader's language: what a chat message
    says (``notifiers.chat_text``), from the same words as the letter's."""
    lang = message.lang if message.lang in LANGUAGES else DEFAULT
    _ = gettext_for(lang)
    try:
        values = _values(message, lang, _, ZoneInfo(message.context.get("tz") or VN_TZ), base_url.rstrip("/"))
        return " ".join(_subject(message.kind, values, _).split()), str(values.get("link") or "")
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        raise PermanentFailure(f"cannot compose the {message.kind} message: {type(e).__name__}: {e}") from e


def _values(m: Message, lang: str, _: Callable[[str], str], tz: tzinfo, base_url: str) -> dict:
    """What the templates show, from the context reminders.py and jobs.py store."""
    c = m.context
    v: dict = {
        "kind": m.kind,
        "person": c.get("name") or "",
        "cc": list(m.cc),
        "link": c.get("link") or "",
        "host": _name(lang, c.get("agency_name")),
    }
    if c.get("occurrence") and "title" in c:
        v.update(
            summary=_summary(c, lang, _, tz, cancelled=m.kind == "cancelled"),
            due=_moment(c["due"], tz),
            slot=_moment(c.get("slot"), tz),
            window_start=_moment(c["window_start"], tz).date(),
            window_last=_last_day(c["window_end"], tz),
            state=c.get("state"),
            days=c.get("working_days_before"),
        )
        v["link"] = v["link"] or occurrence_url(base_url, c["occurrence"])
        v["day"] = v["window_last"] if m.kind in ("at_risk", "overdue") else v["due"].date()
    if m.kind == "milestone":
        v.update(step=pick(lang, c["step_title"], c.get("step_title_en") or ""), day=date.fromisoformat(c["day"]))
    if m.kind in ("moved", "cancelled"):
        v.update(
            old_due=_moment(c.get("old_due"), tz),
            new_due=_moment(c.get("new_due"), tz),
            old_slot=_moment(c.get("old_slot"), tz),
            new_slot=_moment(c.get("new_slot"), tz),
            reinstated=bool(c.get("reinstated")),
        )
    if m.kind == "digest":
        v.update(
            first=_moment(c["from"], tz).date(),
            last=_moment(c["until"], tz).date() - timedelta(days=1),
            agency=v["host"],
            occurrences=[
                {
                    "summary": _summary(o, lang, _, tz),
                    "due": _moment(o["due"], tz),
                    "slot": _moment(o.get("slot"), tz),
                    "link": occurrence_url(base_url, o["id"]),
                }
                for o in c.get("occurrences", [])
            ],
            milestones=[
                {
                    "day": date.fromisoformat(s["day"]),
                    "link": occurrence_url(base_url, s["occurrence"]),
                    "step": pick(lang, s["step_title"], s.get("step_title_en") or ""),
                    "title": pick(lang, s["title"], s.get("title_en") or ""),
                }
                for s in c.get("milestones", [])
            ],
        )
    if m.kind == "report":
        t = {k: int(n or 0) for k, n in c["totals"].items() if k != "rate"}
        v.update(
            period=_period(c["period"], _),
            totals=t,
            met=t.get("on_time", 0) + t.get("late", 0),
            open=t.get("pending", 0) + t.get("at_risk", 0),
            file=c.get("file") or "",
            attached=bool(c.get("path")),
            checkpoint=(c.get("checkpoint") or "").strip(),
            as_of=_moment(c.get("as_of"), tz),
        )
    if m.kind == "password":
        v.update(link=c["link"], expires=_moment(c.get("expires"), tz))
    if m.kind == "succession":  # an agency renamed, merged or dissolved (store/succession.py)
        v.update(
            agency=_name(lang, c["agency_name"]),
            successor=_name(lang, c["successor_name"]),
            new_name=_name(lang, c["new_name"]),
            change=c["kind"],
            day=date.fromisoformat(c["on"]),
            reason=c.get("reason") or "",
        )
    if m.kind == "check_failed":  # a portal page's daily check failed (store/check_warnings.py)
        reason = _(c["reason"]).format(**(c.get("params") or {}))
        v.update(url=c["url"], final_url=c.get("final_url") or "", status=c.get("status"), reason=reason)
        v.update(day=date.fromisoformat(c["day"]), at=_moment(c["at"], tz), item=bool(c.get("occurrence")))
    if m.kind == "expiry":
        v.update(
            count=int(c["count"]),
            since=_moment(c["since"], tz),
            until=_moment(c["until"], tz),
            link=f"{base_url}/admin/outbox",
            items=[{**item, "expires_at": _moment(item["expires_at"], tz)} for item in c["items"]],
        )
    return v


def _subject(kind: str, v: dict, _: Callable[[str], str]) -> str:
    key = "reinstated" if kind == "moved" and v.get("reinstated") else kind
    days = {k: v[k].strftime("%d/%m/%Y") for k in ("day", "first", "last") if isinstance(v.get(k), date)}
    return _(SUBJECTS[key]).format(
        summary=v.get("summary", ""),
        step=v.get("step", ""),
        period=v.get("period", ""),
        count=v.get("count", ""),
        agency=v.get("agency", ""),
        url=v.get("url", ""),
        **days,
    )


def _summary(c: Mapping, lang: str, _: Callable[[str], str], tz: tzinfo, cancelled: bool = False) -> str:
    """``Chuyên mục "Cải cách hành chính" – số 2, tháng 03/2024``, as feeds name it."""
    shown = {
        "title": c["title"],
        "title_en": c.get("title_en") or "",
        "period": c["period"],
        "number": c.get("number", 1),
        "count": c.get("count", 1),
        "min_duration": c.get("min_duration"),
        "status": "cancelled" if cancelled else "scheduled",
    }
    return summary(shown, lang, _, tz=getattr(tz, "key", VN_TZ))


def _period(label: str, _: Callable[[str], str]) -> str:
    first, sep, last = label.partition("..")
    return f"{period_text(first, _)} – {period_text(last, _)}" if sep else period_text(label, _)


def _name(lang: str, value) -> str:
    """A name given as text or as a (vi, en) pair."""
    return pick(lang, value[0], value[-1]) if isinstance(value, (list, tuple)) else value or ""


def _moment(iso: str | None, tz: tzinfo) -> datetime | None:
    if not iso:
        return None
    moment = datetime.fromisoformat(iso)
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(tz)


def _last_day(end_iso: str, tz: tzinfo) -> date:
    """The last day of a window ``[start, end)``."""
    return (_moment(end_iso, tz) - timedelta(microseconds=1)).date()


def _thread(occurrence: str, message_id: str) -> str:
    """One References header for every message about an occurrence: clients thread them."""
    domain = message_id.strip("<>").rpartition("@")[2] or "localhost"
    return f"<{hashlib.sha256(f'occurrence|{occurrence}'.encode()).hexdigest()[:32]}@{domain}>"


def build(mail: Outgoing) -> tuple[str, list[str], bytes]:
    """Envelope sender, recipients, RFC 5322 bytes dated ``UNSTAMPED`` (``stamp``
    dates them when sent). yagmail builds it (addresses, UTF-8 headers, our
    Message-ID, attachments) without connecting; we put in the two
    alternatives, as yagmail's own plain-text part would be the HTML source."""
    name, address = parseaddr(mail.sender)
    try:
        for each in (address, *mail.to, *mail.cc):
            each.encode("ascii")  # smtplib sends addresses as ASCII; SMTPUTF8 is not used
        builder = yagmail.SMTP({address: name} if name else address, smtp_skip_login=True)
        recipients, text = builder.prepare_send(
            to=list(mail.to),
            subject=mail.subject,
            cc=list(mail.cc) or None,
            headers={**mail.headers, "Date": UNSTAMPED},
            attachments=[str(p) for p in mail.attachments] or None,
            prettify_html=False,
            message_id=mail.message_id,
        )
    except (UnicodeEncodeError, YagAddressError, YagInvalidEmailAddress, TypeError) as e:
        raise PermanentFailure(f"cannot build the message {mail.message_id}: {type(e).__name__}: {e}") from e
    message = email.message_from_string(text)
    # yagmail leaves a long subject as one encoded word beyond RFC 2047's 75 characters: split and fold it
    message.replace_header(
        "Subject", Header(mail.subject, "us-ascii" if mail.subject.isascii() else "utf-8", header_name="Subject")
    )
    alternative = next(p for p in message.walk() if p.get_content_type() == "multipart/alternative")
    alternative.set_payload([MIMEText(mail.text, "plain", "utf-8"), MIMEText(mail.html, "html", "utf-8")])
    for part in message.get_payload()[1:]:  # yagmail marks only application/* files as attachments
        if part.get("Content-Disposition") is None:
            part.add_header("Content-Disposition", "attachment", filename=part.get_filename())
    return address, recipients, message.as_bytes(policy=compat32.clone(linesep="\r\n"))


def letter(mail: Outgoing) -> Letter:
    """``mail`` built: what the outbox keeps and a mailer sends."""
    sender, recipients, data = build(mail)
    return Letter(mail.message_id, sender, tuple(recipients), data, mail.day)


def kept(message: Message, message_id: str, data: bytes, sender: str) -> Letter:
    """The letter of an outbox row whose bytes were built before: the envelope
    as ``build`` makes it (MAIL_FROM's address; To, then Cc)."""
    return Letter(message_id, _address(sender), (message.recipient, *message.cc), data, send_day(message))


@lru_cache(maxsize=16)
def _address(sender: str) -> str:
    return parseaddr(sender)[1]  # the same MAIL_FROM for every message


def send_day(message: Message) -> date:
    return message.send_at.astimezone(ZoneInfo(message.context.get("tz") or VN_TZ)).date()


def stamp(data: bytes, moment: datetime) -> bytes:
    r"""The letter's bytes dated ``moment`` (RFC 5322 form, as yagmail writes it):
    its Date line replaced in the header block, nothing parsed or re-encoded.

    >>> from datetime import timezone
    >>> stamp(b"Date: x\r\nSubject: Hi\r\n\r\nDate: body\r\n", datetime(2024, 3, 14, 2, tzinfo=timezone.utc))
    b'Date: Thu, 14 Mar 2024 02:00:00 -0000\r\nSubject: Hi\r\n\r\nDate: body\r\n'
    """
    line = b"Date: %s\r\n" % formatdate(moment.timestamp()).encode("ascii")
    end = data.find(b"\r\n\r\n")
    found = _DATE.search(data, 0, end + 2 if end >= 0 else len(data))
    if found is None:
        return line + data
    return data[: found.start()] + line + data[found.end() :]
