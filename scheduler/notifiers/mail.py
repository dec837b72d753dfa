"""Mail: letters (message.py builds them once) sent once over one kept SMTP
connection, or written as .eml files when no SMTP server is configured; each
dated when it goes. The outbox alone decides retries: nothing here retries."""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

from scheduler.notifiers.letter import Letter, Outgoing, stamp
from scheduler.reminders.outbox import PermanentFailure, TemporaryFailure
from scheduler.store.files import atomic_write

log = logging.getLogger("scheduler.mail")
Refused = dict[str, tuple[int, str]]  # recipient -> (SMTP code, reply): JSON-able for the outbox row
SCHEMES = {"starttls": "smtp+starttls", "ssl": "smtps", "none": "smtp"}


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


class Mailer(Protocol):
    def send(self, mail: Letter, moment: datetime) -> Refused: ...  # once, dated moment; raises TemporaryFailure,

    # PermanentFailure

    def close(self) -> None: ...


def tls_context(cafile: str | None = None) -> ssl.SSLContext:
    """Verified certificates and host names: the system's CAs, and ``cafile``'s."""
    context = ssl.create_default_context()
    if cafile:
        context.load_verify_locations(cafile=cafile)
    return context


class SmtpMailer:
    """smtplib sends a built letter once: DATA is never repeated here. One
    connection, opened on first use and kept; dropped after a failure, so the
    next send opens a new one. A kept one the server closed while idle is
    reopened at MAIL FROM, before any byte of the message went out. One per thread."""

    def __init__(self, config: SmtpConfig):
        self.config = config
        self._tls = tls_context(config.cafile) if config.security != "none" else None
        self._conn: smtplib.SMTP | None = None
        if config.user and config.security == "none":
            log.warning("%s: SMTP_SECURITY=none, so the SMTP password crosses the network unencrypted", config.masked())

    def send(self, mail: Letter, moment: datetime) -> Refused:
        sender, recipients = mail.sender or parseaddr(self.config.sender)[1], mail.recipients
        data = stamp(mail.data, moment)
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
        log.info(
            "mail %s accepted by %s (%d recipient(s), %d refused)",
            mail.message_id,
            where,
            len(recipients),
            len(refused),
        )
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

    def _recipients(self, conn: smtplib.SMTP, recipients: tuple[str, ...]) -> Refused:
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

    def send(self, mail: Letter, moment: datetime) -> Refused:
        path = self.folder / eml_name(mail)
        try:
            atomic_write(path, stamp(mail.data, moment), mode=0o600)  # it may hold a password-reset link
        except OSError as e:
            raise TemporaryFailure(f"{path}: {e}") from e
        log.info("mail %s written to %s", mail.message_id, path)
        return {}

    def close(self) -> None:
        pass


def eml_name(mail: Letter | Outgoing) -> str:
    """``2024-03-08-<16 hex digits>.eml``."""
    digest = hashlib.sha256(mail.message_id.encode()).hexdigest()[:16]
    return f"{mail.day.isoformat()}-{digest}.eml" if mail.day else f"{digest}.eml"


def mailer_from(config: SmtpConfig | None, folder: Path) -> Mailer:
    """SMTP when configured, else .eml files in ``folder`` (OUTPUTS_DIR/mail)."""
    return SmtpMailer(config) if config is not None else FileMailer(folder)
