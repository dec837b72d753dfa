"""Mail: outbox messages composed from templates/mail/, built by yagmail, and
sent once over one kept SMTP connection, or written as .eml files when no SMTP
server is configured. The outbox alone decides retries: nothing here retries."""

from __future__ import annotations

import email
import hashlib
import logging
import smtplib
import ssl
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from email.header import Header
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import parseaddr
from pathlib import Path
from typing import Callable, Mapping, Protocol
from zoneinfo import ZoneInfo

import jinja2
import yagmail
from yagmail.error import YagAddressError, YagInvalidEmailAddress

from .errors import N_
from .feeds import VN_TZ, occurrence_url, period_text, summary
from .files import atomic_write
from .i18n import DEFAULT, LANGUAGES, gettext_for, pick
from .outbox import Message, PermanentFailure, TemporaryFailure
from .rendering import render

log = logging.getLogger("scheduler.mail")
Refused = dict[str, tuple[int, str]]  # recipient -> (SMTP code, reply): JSON-able for the outbox row
SCHEMES = {"starttls": "smtp+starttls", "ssl": "smtps", "none": "smtp"}
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
}


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send; ``repr`` and ``masked()`` never show the password."""

    host: str
    port: int
    security: str  # "starttls" | "ssl" | "none"
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""  # MAIL_FROM, e.g. "Lịch tuyên truyền <lich@phutho.example>", if a message names none
    timeout: float = 30.0  # seconds per network operation; smtplib would otherwise wait forever
    cafile: str | None = None  # CA bundle trusted besides the system's (a private CA, or tests)

    def __post_init__(self):
        if self.security not in SCHEMES:
            raise ValueError(f'SMTP security: expected "starttls", "ssl" or "none", got "{self.security}"')
        if not 0 < self.port < 65536:
            raise ValueError(f"SMTP port: expected 1 to 65535, got {self.port}")
        if not self.timeout > 0:
            raise ValueError(f"SMTP timeout: expected a number of seconds above 0, got {self.timeout}")

    def masked(self) -> str:
        """For logs and errors.

        >>> SmtpConfig("mail.example", 587, "starttls", "lich", "s3cret").masked()
        'smtp+starttls://lich:***@mail.example:587'
        """
        who = f"{self.user}{':***' if self.password else ''}@" if self.user else ""
        return f"{SCHEMES[self.security]}://{who}{self.host}:{self.port}"


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


class Mailer(Protocol):
    def send(self, mail: Outgoing) -> Refused: ...  # once accepted; raises TemporaryFailure, PermanentFailure

    def close(self) -> None: ...


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
        raise PermanentFailure(f"cannot compose the {message.kind} message {message_id}: "
                               f"{type(e).__name__}: {e}") from e
    headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All", "Content-Language": lang}
    if message.context.get("occurrence"):
        headers["References"] = _thread(message.context["occurrence"], message_id)
    attach = message.context.get("path")
    return Outgoing(message_id, sender, (message.recipient,), tuple(message.cc), subject, text, html, headers,
                    message.send_at.astimezone(tz).date(), (Path(attach),) if attach else ())


def _values(m: Message, lang: str, _: Callable[[str], str], tz: tzinfo, base_url: str) -> dict:
    """What the templates show, from the context reminders.py and jobs.py store."""
    c = m.context
    v: dict = {"kind": m.kind, "person": c.get("name") or "", "cc": list(m.cc), "link": c.get("link") or "",
               "host": _name(lang, c.get("agency_name"))}
    if c.get("occurrence") and "title" in c:
        v.update(summary=_summary(c, lang, _, tz, cancelled=m.kind == "cancelled"), due=_moment(c["due"], tz),
                 slot=_moment(c.get("slot"), tz), window_start=_moment(c["window_start"], tz).date(),
                 window_last=_last_day(c["window_end"], tz), state=c.get("state"),
                 days=c.get("working_days_before"))
        v["link"] = v["link"] or occurrence_url(base_url, c["occurrence"])
        v["day"] = v["window_last"] if m.kind in ("at_risk", "overdue") else v["due"].date()
    if m.kind == "milestone":
        v.update(step=pick(lang, c["step_title"], c.get("step_title_en") or ""), day=date.fromisoformat(c["day"]))
    if m.kind in ("moved", "cancelled"):
        v.update(old_due=_moment(c.get("old_due"), tz), new_due=_moment(c.get("new_due"), tz),
                 old_slot=_moment(c.get("old_slot"), tz), new_slot=_moment(c.get("new_slot"), tz),
                 reinstated=bool(c.get("reinstated")))
    if m.kind == "digest":
        v.update(first=_moment(c["from"], tz).date(), last=_moment(c["until"], tz).date() - timedelta(days=1),
                 agency=v["host"],
                 occurrences=[{"summary": _summary(o, lang, _, tz), "due": _moment(o["due"], tz),
                               "slot": _moment(o.get("slot"), tz), "link": occurrence_url(base_url, o["id"])}
                              for o in c.get("occurrences", [])],
                 milestones=[{"day": date.fromisoformat(s["day"]), "link": occurrence_url(base_url, s["occurrence"]),
                              "step": pick(lang, s["step_title"], s.get("step_title_en") or ""),
                              "title": pick(lang, s["title"], s.get("title_en") or "")}
                             for s in c.get("milestones", [])])
    if m.kind == "report":
        t = {k: int(n or 0) for k, n in c["totals"].items() if k != "rate"}
        v.update(period=_period(c["period"], _), totals=t, met=t.get("on_time", 0) + t.get("late", 0),
                 open=t.get("pending", 0) + t.get("at_risk", 0), file=c.get("file") or "",
                 attached=bool(c.get("path")), checkpoint=(c.get("checkpoint") or "").strip(),
                 as_of=_moment(c.get("as_of"), tz))
    if m.kind == "password":
        v.update(link=c["link"], expires=_moment(c.get("expires"), tz))
    return v


def _subject(kind: str, v: dict, _: Callable[[str], str]) -> str:
    key = "reinstated" if kind == "moved" and v.get("reinstated") else kind
    days = {k: v[k].strftime("%d/%m/%Y") for k in ("day", "first", "last") if isinstance(v.get(k), date)}
    return _(SUBJECTS[key]).format(summary=v.get("summary", ""), step=v.get("step", ""),
                                   period=v.get("period", ""), **days)


def _summary(c: Mapping, lang: str, _: Callable[[str], str], tz: tzinfo, cancelled: bool = False) -> str:
    """``Chuyên mục "Cải cách hành chính" – số 2, tháng 03/2024``, as feeds name it."""
    shown = {"title": c["title"], "title_en": c.get("title_en") or "", "period": c["period"],
             "number": c.get("number", 1), "count": c.get("count", 1), "min_duration": c.get("min_duration"),
             "status": "cancelled" if cancelled else "scheduled"}
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
    """Envelope sender, recipients, RFC 5322 bytes. yagmail builds it (addresses,
    UTF-8 headers, our Message-ID, attachments) without connecting; we put in the
    two alternatives, as yagmail's own plain-text part would be the HTML source."""
    name, address = parseaddr(mail.sender)
    try:
        for each in (address, *mail.to, *mail.cc):
            each.encode("ascii")  # smtplib sends addresses as ASCII; SMTPUTF8 is not used
        builder = yagmail.SMTP({address: name} if name else address, smtp_skip_login=True)
        recipients, text = builder.prepare_send(
            to=list(mail.to), subject=mail.subject, cc=list(mail.cc) or None, headers=dict(mail.headers),
            attachments=[str(p) for p in mail.attachments] or None, prettify_html=False,
            message_id=mail.message_id)
    except (UnicodeEncodeError, YagAddressError, YagInvalidEmailAddress, TypeError) as e:
        raise PermanentFailure(f"cannot build the message {mail.message_id}: {type(e).__name__}: {e}") from e
    message = email.message_from_string(text)
    # yagmail leaves a long subject as one encoded word beyond RFC 2047's 75 characters: split and fold it
    message.replace_header("Subject", Header(mail.subject, "us-ascii" if mail.subject.isascii() else "utf-8",
                                                   header_name="Subject"))
    alternative = next(p for p in message.walk() if p.get_content_type() == "multipart/alternative")
    alternative.set_payload([MIMEText(mail.text, "plain", "utf-8"), MIMEText(mail.html, "html", "utf-8")])
    for part in message.get_payload()[1:]:  # yagmail marks only application/* files as attachments
        if part.get("Content-Disposition") is None:
            part.add_header("Content-Disposition", "attachment", filename=part.get_filename())
    return address, recipients, message.as_bytes(policy=compat32.clone(linesep="\r\n"))


def tls_context(cafile: str | None = None) -> ssl.SSLContext:
    """Verified certificates and host names: the system's CAs, and ``cafile``'s."""
    context = ssl.create_default_context()
    if cafile:
        context.load_verify_locations(cafile=cafile)
    return context


class SmtpMailer:
    """yagmail builds, smtplib sends, once: DATA is never repeated here. One
    connection, opened on first use and kept; dropped after a failure, so the
    next send opens a new one. A kept one the server closed while idle is
    reopened at MAIL FROM, before any byte of the message went out. One per thread."""

    def __init__(self, config: SmtpConfig):
        self.config = config
        self._tls = tls_context(config.cafile) if config.security != "none" else None
        self._conn: smtplib.SMTP | None = None
        if config.user and config.security == "none":
            log.warning("%s: SMTP_SECURITY=none, so the SMTP password crosses the network unencrypted",
                        config.masked())

    def send(self, mail: Outgoing) -> Refused:
        sender, recipients, data = build(mail if mail.sender else replace(mail, sender=self.config.sender))
        where = self.config.masked()
        try:
            conn = self._begin(sender, len(data))
            refused = self._recipients(conn, recipients)
            code, reply = conn.data(data)
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except BaseException as e:
            self._drop()  # after a failure, or interrupted, the connection's state is unknown
            if isinstance(e, (smtplib.SMTPException, OSError)):
                raise _failure(e, where) from e
            raise
        log.info("mail %s accepted by %s (%d recipient(s), %d refused)", mail.message_id, where,
                 len(recipients), len(refused))
        return refused

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(smtplib.SMTPException, OSError):
                conn.quit()
            conn.close()

    def _begin(self, sender: str, size: int) -> smtplib.SMTP:
        """MAIL FROM on our connection, reopening a kept one found closed."""
        reused = self._conn is not None
        conn = self._connection()
        try:
            code, reply = conn.mail(sender, _options(conn, size))
        except smtplib.SMTPServerDisconnected:
            if not reused:
                raise
            code, reply = 421, b"closed while idle"
        if code == 421 and reused:
            log.info("%s closed the kept connection; opening a new one", self.config.masked())
            self._drop()
            conn = self._connection()
            code, reply = conn.mail(sender, _options(conn, size))
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        return conn

    def _recipients(self, conn: smtplib.SMTP, recipients: list[str]) -> Refused:
        """Some refused: sent, and reported (sending again would repeat it to the
        others). All refused: a failure, permanent if every refusal is (5xx)."""
        refused: Refused = {}
        for address in recipients:
            code, reply = conn.rcpt(address)
            if code == 421:
                raise smtplib.SMTPResponseException(code, reply)
            if code not in (250, 251):
                refused[address] = (code, _text(reply))
        if refused and len(refused) == len(recipients):
            detail = "; ".join(f"{a}: {code} {reply}" for a, (code, reply) in refused.items())
            kind = PermanentFailure if all(500 <= code < 600 for code, _ in refused.values()) else TemporaryFailure
            raise kind(f"{self.config.masked()}: every recipient refused ({detail})")
        return refused

    def _connection(self) -> smtplib.SMTP:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> smtplib.SMTP:
        c = self.config
        if c.security == "ssl":
            conn = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=self._tls)
        else:
            conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        try:
            conn.ehlo()
            if c.security == "starttls":
                conn.starttls(context=self._tls)  # refuses to go on in clear if the server offers no STARTTLS
                conn.ehlo()
            if c.user:
                conn.login(c.user, c.password)
        except BaseException:
            conn.close()
            raise
        log.info("connected to %s", c.masked())
        return conn

    def _drop(self) -> None:  # no QUIT: after a failure the server may not answer
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _options(conn: smtplib.SMTP, size: int) -> list[str]:
    return [f"size={size}"] if conn.has_extn("size") else []


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _failure(e: Exception, where: str) -> Exception:
    """A 5xx reply is permanent; a 4xx, a timeout, a refused or dropped
    connection, a certificate that does not verify (a fault of the server or
    of the settings, not of the message: fixed, the outbox delivers) temporary."""
    if isinstance(e, smtplib.SMTPResponseException):
        text = f"{where}: {e.smtp_code} {_text(e.smtp_error)}"
        return PermanentFailure(text) if 500 <= e.smtp_code < 600 else TemporaryFailure(text)
    if isinstance(e, ssl.SSLCertVerificationError):
        return TemporaryFailure(f"{where}: the server's certificate does not verify ({e.verify_message})")
    return TemporaryFailure(f"{where}: {type(e).__name__}: {e}")


class FileMailer:
    """The embedded default: each message as an .eml file (the bytes SMTP
    would carry) in one folder, named by its day and a hash of its
    Message-ID, so a message sent again replaces its own file."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def send(self, mail: Outgoing) -> Refused:
        _, _, data = build(mail)
        path = self.folder / eml_name(mail)
        try:
            atomic_write(path, data, mode=0o600)  # it may hold a password-reset link
        except OSError as e:
            raise TemporaryFailure(f"{path}: {e}") from e
        log.info("mail %s written to %s", mail.message_id, path)
        return {}

    def close(self) -> None:
        pass


def eml_name(mail: Outgoing) -> str:
    """``2024-03-08-<16 hex digits>.eml``."""
    digest = hashlib.sha256(mail.message_id.encode()).hexdigest()[:16]
    return f"{mail.day.isoformat()}-{digest}.eml" if mail.day else f"{digest}.eml"


def mailer_from(config: SmtpConfig | None, folder: Path) -> Mailer:
    """SMTP when configured, else .eml files in ``folder`` (OUTPUTS_DIR/mail)."""
    return SmtpMailer(config) if config is not None else FileMailer(folder)
