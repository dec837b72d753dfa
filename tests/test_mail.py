"""Mail against a real SMTP server (aiosmtpd on 127.0.0.1): our Message-ID, a
UTF-8 subject, text and HTML, one kept connection, verified TLS, a timeout,
exactly one attempt per send; and the .eml files of the embedded default."""

from __future__ import annotations

import email
import ipaddress
import logging
import socket
import ssl
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from babel.messages.extract import extract_from_file

from scheduler.i18n import gettext_for
from scheduler.notifiers.letter import Outgoing, build, compose, letter
from scheduler.notifiers.mail import FileMailer, SmtpConfig, SmtpMailer, eml_name, mailer_from
from scheduler.reminders.outbox import KINDS, Message, PermanentFailure, TemporaryFailure, message_id

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SENDER = "Lịch tuyên truyền <lich@phutho.example>"
BASE_URL = "https://lich.phutho.example"
PASSWORD = "Pw-never-shown-7f3a"
OCCURRENCE = "phu-tho-2024.cchc-radio-tv.2024-03.1"
LINK = f"{BASE_URL}/o/{OCCURRENCE}"
MOMENT = datetime(2024, 3, 8, 9, 30, tzinfo=TZ)  # when a test sends: its Date

# What reminders.py stores as a message's context (moments in ISO form).
EPISODE = {
    "tz": "Asia/Ho_Chi_Minh",
    "occurrence": OCCURRENCE,
    "plan": "phu-tho-2024",
    "obligation": "cchc-radio-tv",
    "agency": "dai-ptth",
    "title": 'Chuyên mục "Cải cách hành chính"',
    "title_en": '"Administrative Reform" program',
    "period": "2024-03",
    "number": 1,
    "count": 2,
    "due": "2024-03-15T10:00:00+00:00",
    "slot": "2024-03-14T19:30:00+07:00",
    "window_start": "2024-03-01T00:00:00+07:00",
    "window_end": "2024-04-01T00:00:00+07:00",
    "state": None,
}
CONTEXTS = {
    "milestone": {
        **EPISODE,
        "step": "script",
        "step_title": "Kịch bản",
        "step_title_en": "Script",
        "day": "2024-03-11",
    },
    "due": {**EPISODE, "working_days_before": 0},
    "at_risk": {**EPISODE, "working_days_before": 3},
    "overdue": EPISODE,
    "moved": {
        **EPISODE,
        "old_due": "2024-03-14T17:00:00+07:00",
        "new_due": "2024-03-15T17:00:00+07:00",
        "old_slot": None,
        "new_slot": "2024-03-14T19:30:00+07:00",
        "reinstated": False,
    },
    "cancelled": {**EPISODE, "old_due": "2024-03-15T17:00:00+07:00", "new_due": "2024-03-15T17:00:00+07:00"},
    "digest": {
        "tz": "Asia/Ho_Chi_Minh",
        "agency": "dai-ptth",
        "from": "2024-03-11T08:00:00+07:00",
        "until": "2024-03-25T08:00:00+07:00",
        "week": "2024-W11",
        "occurrences": [
            {
                "id": OCCURRENCE,
                **{
                    k: EPISODE[k]
                    for k in (
                        "plan",
                        "obligation",
                        "title",
                        "title_en",
                        "period",
                        "number",
                        "count",
                        "due",
                        "slot",
                        "state",
                    )
                },
            }
        ],
        "milestones": [
            {
                "occurrence": OCCURRENCE,
                "title": EPISODE["title"],
                "title_en": EPISODE["title_en"],
                "step": "script",
                "step_title": "Kịch bản",
                "step_title_en": "Script",
                "day": "2024-03-11",
            }
        ],
    },
    "report": {
        "tz": "Asia/Ho_Chi_Minh",
        "plan": "phu-tho-2024",
        "period": "2024-03",
        "file": "compliance-2024-03.html",
        "totals": {
            "required": 10,
            "pending": 1,
            "at_risk": 1,
            "on_time": 5,
            "late": 1,
            "missing": 1,
            "non_conforming": 1,
            "excused": 0,
            "cancelled": 0,
            "rate": 0.75,
        },
        "checkpoint": '{\n  "count": 3,\n  "head": "ab12"\n}\n',
    },
    "password": {"link": f"{BASE_URL}/reset/one-time-token", "expires": "2024-03-08T02:00:00+00:00"},
    "succession": {
        "kind": "merge",
        "agency": "dai-ptth",
        "agency_name": ["Đài Phát thanh và Truyền hình tỉnh", "Provincial Radio and Television Station"],
        "successor": "bao-ptth-phu-tho",
        "successor_name": ["Báo và Phát thanh, Truyền hình Phú Thọ", ""],
        "new_name": ["", ""],
        "on": "2025-07-01",
        "reason": "",
        "link": f"{BASE_URL}/me",
    },
    "check_failed": {  # store/check_warnings.py: a portal page's check failed, with the item it keeps up
        **EPISODE,
        "url": "https://sotttt.phutho.example/cchc",
        "final_url": "https://sotttt.phutho.example/cchc/",
        "status": 200,
        "reason": "no link to {link} on the page",
        "params": {"link": "https://dichvucong.gov.vn"},
        "day": "2024-03-08",
        "at": "2024-03-08T06:00:00+07:00",
        "agency_name": ["Sở Thông tin và Truyền thông", "Department of Information and Communications"],
    },
    "expiry": {
        "tz": "Asia/Ho_Chi_Minh",
        "since": "2024-03-07T00:00:00+07:00",
        "until": "2024-03-08T00:00:00+07:00",
        "count": 1,
        "items": [
            {
                "kind": "milestone",
                "recipient": "bientap@daiptth.example",
                "about": f"{OCCURRENCE}#script",
                "send_at": "2024-03-07T08:00:00+07:00",
                "expires_at": "2024-03-08T00:00:00+07:00",
                "last_error": "451 try again",
            }
        ],
    },
}


def message(
    kind: str = "due",
    lang: str = "vi",
    recipient: str = "bientap@daiptth.example",
    cc: tuple[str, ...] = ("dha@sonoivu.example",),
    **context,
) -> Message:
    moment = datetime(2024, 3, 8, 8, 0, tzinfo=TZ)
    return Message(kind, OCCURRENCE, recipient, moment, moment, moment, lang, cc, {**CONTEXTS[kind], **context})


def outgoing(kind: str = "due", lang: str = "vi", **kwargs) -> Outgoing:
    m = message(kind, lang, **kwargs)
    return compose(m, message_id(m.key, "lich.phutho.example"), SENDER, BASE_URL)


class Links(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.hrefs: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])


# -- a real SMTP server ---------------------------------------------------------------------------


class Recorder:
    """An aiosmtpd handler that keeps what arrives and answers as told."""

    def __init__(self):
        self.received: list[tuple[tuple, str, list[str], bytes]] = []  # (peer, mail from, rcpt tos, content)
        self.peers: list[tuple] = []  # one per MAIL FROM: which connection it came on
        self.data_calls = 0
        self.data_replies: list[str] = []  # answers to the next DATA commands, then 250
        self.refuse: dict[str, str] = {}  # address -> reply to its RCPT TO
        self.drop_on_data = False
        self.servers: list = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.peers.append(session.peer)
        self.servers.append(server)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_calls += 1
        if self.drop_on_data:
            server.transport.close()
            return "250 OK"
        if self.data_replies:
            return self.data_replies.pop(0)
        self.received.append((session.peer, envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server(**options):
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, Path]:
    """A test CA and a server certificate it signed for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = tmp_path_factory.mktemp("tls")
    start, end = datetime(2020, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test mail CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def server_tls(certificates) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates["cert"], certificates["key"])
    return context


def plain(controller, **options) -> SmtpConfig:
    return SmtpConfig("127.0.0.1", controller.port, "none", sender=SENDER, timeout=5, **options)


# -- composing ------------------------------------------------------------------------------------


def test_a_reminder_in_vietnamese_names_the_occurrence_and_links_to_it():
    mail = outgoing("due")
    _ = gettext_for("vi")
    summary = 'Chuyên mục "Cải cách hành chính" – số 1, tháng 03/2024'
    assert mail.subject == _("[Reminder] Due {day}: {summary}").format(day="15/03/2024", summary=summary)
    assert mail.to == ("bientap@daiptth.example",) and mail.cc == ("dha@sonoivu.example",)
    assert "15/03/2024 17:00" in mail.text  # 10:00 UTC, shown in the plan's zone
    assert LINK in mail.text and LINK in Links(mail.html).hrefs
    assert mail.headers["Auto-Submitted"] == "auto-generated" and mail.headers["Content-Language"] == "vi"
    assert mail.day.isoformat() == "2024-03-08"


def test_english_for_those_who_chose_it():
    mail = outgoing("due", "en")
    assert mail.subject == '[Reminder] Due 15/03/2024: "Administrative Reform" program – no. 1, month 03/2024'
    assert "This item is due today, 15/03/2024 17:00:" in mail.text
    assert mail.headers["Content-Language"] == "en"


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_in_both_languages(kind, lang):
    mail = outgoing(kind, lang)
    assert mail.subject and "\n" not in mail.subject
    assert mail.text.strip() and "<" not in mail.text.split("\n", 1)[0]
    assert Links(mail.html).hrefs or kind in ("report", "digest")
    if kind in ("milestone", "due", "at_risk", "overdue", "moved", "cancelled", "digest"):
        assert LINK in mail.text and LINK in Links(mail.html).hrefs
    if kind in ("milestone", "due", "at_risk", "overdue", "moved", "cancelled"):
        assert mail.headers["References"] == outgoing("due", lang).headers["References"]  # one thread per item
    if kind == "password":
        assert Links(mail.html).hrefs == [CONTEXTS["password"]["link"]] and "09:00" in mail.text


def test_specific_wording_of_some_kinds():
    assert outgoing("cancelled", "en").subject.startswith("[Cancelled] ")
    assert outgoing("at_risk", "en").subject.endswith("the window closes 31/03/2024")
    assert "Due: 14/03/2024 17:00 → 15/03/2024 17:00" in outgoing("moved", "en").text
    assert outgoing("moved", "en", reinstated=True).subject.startswith("[Reinstated] ")
    assert "11/03/2024 – 24/03/2024" in outgoing("digest", "en").subject
    report = outgoing("report", "en")
    assert report.subject == "[Report] Results of the communication plan, month 03/2024"
    assert "Of 10 items owed in the period, 6 were delivered" in report.text and '"head": "ab12"' in report.text
    assert "dha@sonoivu.example" in outgoing("overdue", "en").text
    failed = outgoing("check_failed", "vi")
    assert failed.subject == "[Lỗi kiểm tra] 08/03/2024: https://sotttt.phutho.example/cchc"
    assert "không có liên kết đến https://dichvucong.gov.vn" in failed.text and LINK in failed.text
    assert "no link to https://dichvucong.gov.vn on the page" in outgoing("check_failed", "en").text


def test_a_context_that_cannot_be_rendered_is_a_permanent_failure():
    m = message("due")
    broken = replace(m, context={k: v for k, v in m.context.items() if k != "due"})
    with pytest.raises(PermanentFailure, match="cannot compose the due message"):
        compose(broken, "<x@y>", SENDER, BASE_URL)


def test_every_text_template_message_is_also_in_its_html_twin():
    """babel.cfg extracts templates/**.html; the .txt twins use the same
    messages, so their translations are never missing."""

    def ids(path: Path) -> set[str]:
        options = {"trim_blocks": "true", "lstrip_blocks": "true"}
        return {
            m[1] if isinstance(m[1], str) else m[1][0] for m in extract_from_file("jinja2", str(path), options=options)
        }

    folder = ROOT / "templates" / "mail"
    html = set().union(*(ids(p) for p in folder.glob("*.html")))
    for path in folder.glob("*.txt"):
        assert ids(path) <= html, f"{path.name}: {sorted(ids(path) - html)} only in the text template"


# -- building and sending -------------------------------------------------------------------------


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)


def test_a_message_arrives_with_our_message_id_utf8_subject_both_parts_to_and_cc():
    mail = outgoing("due")
    with smtp_server() as (controller, handler):
        mailer = SmtpMailer(plain(controller))
        assert mailer.send(letter(mail), MOMENT) == {}
        mailer.close()
    [(_, mail_from, rcpt_tos, content)] = handler.received
    assert mail_from == "lich@phutho.example"
    assert rcpt_tos == ["bientap@daiptth.example", "dha@sonoivu.example"]
    assert content.isascii()  # encoded headers, base64 bodies: any server takes it
    got = parse(content)
    assert got["Message-ID"] == mail.message_id
    assert got["Subject"] == mail.subject and "Cải cách hành chính" in got["Subject"]
    assert got["From"].addresses[0].display_name == "Lịch tuyên truyền"
    assert got["To"] == "bientap@daiptth.example" and got["Cc"] == "dha@sonoivu.example"
    assert got["Auto-Submitted"] == "auto-generated"
    assert parsedate_to_datetime(str(got["Date"])).replace(tzinfo=UTC) == MOMENT  # dated when sent
    text, html = got.get_body(("plain",)).get_content(), got.get_body(("html",)).get_content()
    assert text == mail.text and LINK in text
    assert LINK in Links(html).hrefs


def test_two_sends_share_one_connection_and_close_ends_it():
    with smtp_server() as (controller, handler):
        mailer = SmtpMailer(plain(controller))
        mailer.send(letter(outgoing("due")), MOMENT)
        mailer.send(letter(outgoing("overdue")), MOMENT)
        mailer.close()
        mailer.send(letter(outgoing("at_risk")), MOMENT)  # after close, a new connection
        mailer.close()
    assert len(handler.received) == 3
    assert handler.peers[0] == handler.peers[1] != handler.peers[2]


def test_starttls_with_a_verified_certificate(certificates):
    with smtp_server(tls_context=server_tls(certificates), require_starttls=True) as (controller, handler):
        config = SmtpConfig(
            "127.0.0.1", controller.port, "starttls", sender=SENDER, timeout=5, cafile=str(certificates["ca"])
        )
        mailer = SmtpMailer(config)
        mailer.send(letter(outgoing("due")), MOMENT)
        mailer.send(letter(outgoing("digest")), MOMENT)
        mailer.close()
    assert len(handler.received) == 2 and handler.peers[0] == handler.peers[1]


def test_an_unverified_certificate_is_refused_before_anything_is_sent(certificates):
    """Temporary: a fault of the server or the settings, not of the message;
    once fixed, the outbox delivers what waited."""
    with smtp_server(tls_context=server_tls(certificates), require_starttls=True) as (controller, handler):
        mailer = SmtpMailer(SmtpConfig("127.0.0.1", controller.port, "starttls", sender=SENDER, timeout=5))
        with pytest.raises(TemporaryFailure, match="certificate does not verify"):
            mailer.send(letter(outgoing("due")), MOMENT)
    assert handler.peers == [] and handler.data_calls == 0


def test_starttls_required_but_not_offered_sends_nothing_in_clear():
    with smtp_server() as (controller, handler):
        mailer = SmtpMailer(SmtpConfig("127.0.0.1", controller.port, "starttls", sender=SENDER, timeout=5))
        with pytest.raises(TemporaryFailure, match="STARTTLS"):
            mailer.send(letter(outgoing("due")), MOMENT)
    assert handler.peers == []


def test_implicit_tls(certificates):
    with smtp_server(ssl_context=server_tls(certificates)) as (controller, handler):
        config = SmtpConfig(
            "127.0.0.1", controller.port, "ssl", sender=SENDER, timeout=5, cafile=str(certificates["ca"])
        )
        mailer = SmtpMailer(config)
        mailer.send(letter(outgoing("due")), MOMENT)
        mailer.close()
    assert len(handler.received) == 1


def test_451_to_data_is_temporary_after_one_attempt_and_the_next_send_reconnects():
    mail = outgoing("due")
    with smtp_server() as (controller, handler):
        handler.data_replies = ["451 4.3.0 Try again later"]
        mailer = SmtpMailer(plain(controller))
        with pytest.raises(TemporaryFailure, match="451"):
            mailer.send(letter(mail), MOMENT)
        assert handler.data_calls == 1 and handler.received == []
        mailer.send(letter(mail), MOMENT)
        mailer.close()
    assert handler.data_calls == 2 and len(handler.received) == 1
    assert handler.peers[0] != handler.peers[1]


def test_a_connection_dropped_during_data_is_one_attempt_not_three():
    """yagmail's send() would try three times, sleeping between; the message
    is in doubt and only the outbox may send it again (same Message-ID)."""
    with smtp_server() as (controller, handler):
        handler.drop_on_data = True
        mailer = SmtpMailer(plain(controller))
        started = time.monotonic()
        with pytest.raises(TemporaryFailure):
            mailer.send(letter(outgoing("due")), MOMENT)
        assert time.monotonic() - started < 3
        time.sleep(0.2)
    assert handler.data_calls == 1


def test_a_kept_connection_the_server_closed_while_idle_is_reopened_before_mail_from():
    with smtp_server() as (controller, handler):
        mailer = SmtpMailer(plain(controller))
        mailer.send(letter(outgoing("due")), MOMENT)
        controller.loop.call_soon_threadsafe(handler.servers[0].transport.close)
        time.sleep(0.3)
        mailer.send(letter(outgoing("overdue")), MOMENT)
        mailer.close()
    assert handler.data_calls == 2 and len(handler.received) == 2
    assert handler.peers[0] != handler.peers[1]


def test_550_for_every_recipient_is_permanent_and_nothing_is_sent():
    with smtp_server() as (controller, handler):
        handler.refuse = {"bientap@daiptth.example": "550 5.1.1 No such user"}
        mailer = SmtpMailer(plain(controller))
        with pytest.raises(PermanentFailure, match="every recipient refused.*550"):
            mailer.send(letter(outgoing("due", cc=())), MOMENT)
    assert handler.data_calls == 0


def test_a_refusal_that_may_pass_later_is_temporary():
    with smtp_server() as (controller, handler):
        handler.refuse = {
            "bientap@daiptth.example": "550 5.1.1 No such user",
            "dha@sonoivu.example": "450 4.2.1 Mailbox busy",
        }
        with pytest.raises(TemporaryFailure, match="every recipient refused"):
            SmtpMailer(plain(controller)).send(letter(outgoing("due")), MOMENT)


def test_some_recipients_refused_is_sent_and_reports_them():
    with smtp_server() as (controller, handler):
        handler.refuse = {"dha@sonoivu.example": "550 5.1.1 No such user"}
        mailer = SmtpMailer(plain(controller))
        refused = mailer.send(letter(outgoing("due")), MOMENT)
        mailer.close()
    assert refused == {"dha@sonoivu.example": (550, "5.1.1 No such user")}
    assert [r[2] for r in handler.received] == [["bientap@daiptth.example"]]


def test_a_server_that_never_answers_fails_within_the_timeout():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections complete in the kernel; nobody ever writes a greeting
        config = SmtpConfig("127.0.0.1", silent.getsockname()[1], "none", sender=SENDER, timeout=1)
        started = time.monotonic()
        with pytest.raises(TemporaryFailure):
            SmtpMailer(config).send(letter(outgoing("due")), MOMENT)
        assert time.monotonic() - started < 4


def test_a_refused_connection_is_temporary():
    config = SmtpConfig("127.0.0.1", free_port(), "none", sender=SENDER, timeout=1)
    with pytest.raises(TemporaryFailure):
        SmtpMailer(config).send(letter(outgoing("due")), MOMENT)


def test_login_over_starttls_and_the_password_never_shows(certificates, caplog):
    def authenticator(server, session, envelope, mechanism, data):
        good = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
        return AuthResult(success=good, handled=False)  # not handled: aiosmtpd answers 235 or 535 itself

    caplog.set_level(logging.DEBUG)
    with smtp_server(tls_context=server_tls(certificates), require_starttls=True, authenticator=authenticator) as (
        controller,
        handler,
    ):
        config = SmtpConfig(
            "127.0.0.1",
            controller.port,
            "starttls",
            "lich",
            PASSWORD,
            SENDER,
            timeout=5,
            cafile=str(certificates["ca"]),
        )
        mailer = SmtpMailer(config)
        mailer.send(letter(outgoing("due")), MOMENT)
        mailer.close()
        wrong = replace(config, password="not-" + PASSWORD)
        with pytest.raises(PermanentFailure, match="535") as failure:
            SmtpMailer(wrong).send(letter(outgoing("due")), MOMENT)
    assert len(handler.received) == 1
    shown = [caplog.text, repr(config), str(config), config.masked(), repr(mailer), str(failure.value)]
    assert not [s for s in shown if PASSWORD in s]
    assert config.masked() == f"smtp+starttls://lich:***@127.0.0.1:{controller.port}"


def test_configuration_is_checked():
    with pytest.raises(ValueError, match="starttls"):
        SmtpConfig("mail.example", 587, "tls")
    with pytest.raises(ValueError, match="timeout"):
        SmtpConfig("mail.example", 587, "ssl", timeout=0)
    assert isinstance(mailer_from(SmtpConfig("mail.example", 587, "starttls"), Path("x")), SmtpMailer)
    assert isinstance(mailer_from(None, Path("x")), FileMailer)


def test_an_address_smtp_cannot_carry_is_permanent():
    with pytest.raises(PermanentFailure):
        build(outgoing("due", recipient="biên-tập@daiptth.example"))


# -- the embedded default: .eml files -------------------------------------------------------------


def test_file_mailer_writes_the_same_message_smtp_would_send(tmp_path):
    mail = outgoing("due")
    assert FileMailer(tmp_path).send(letter(mail), MOMENT) == {}
    [path] = tmp_path.iterdir()
    assert path.name == eml_name(mail) and path.name.startswith("2024-03-08-") and path.suffix == ".eml"
    assert path.stat().st_mode & 0o077 == 0
    with smtp_server() as (controller, handler):
        SmtpMailer(plain(controller)).send(letter(mail), MOMENT)
    written, sent = parse(path.read_bytes()), parse(handler.received[0][3])
    for header in ("Message-ID", "Subject", "From", "To", "Cc", "Auto-Submitted", "References", "MIME-Version"):
        assert written[header] == sent[header], header
    for kind in ("plain", "html"):
        assert written.get_body((kind,)).get_content() == sent.get_body((kind,)).get_content()


def test_a_resent_message_replaces_its_file(tmp_path):
    mailer = FileMailer(tmp_path)
    first = outgoing("due")
    mailer.send(letter(first), MOMENT)
    mailer.send(letter(replace(first, text="sent again")), MOMENT)
    [path] = tmp_path.iterdir()
    assert parse(path.read_bytes()).get_body(("plain",)).get_content() == "sent again"
    mailer.send(letter(outgoing("overdue")), MOMENT)
    assert len(list(tmp_path.iterdir())) == 2


def test_a_report_can_carry_its_file(tmp_path):
    report = tmp_path / "compliance-2024-03.html"
    report.write_text("<h1>Báo cáo</h1>", encoding="utf-8")
    mail = outgoing("report", "en", path=str(report))
    assert "The report is attached: compliance-2024-03.html." in mail.text
    [attachment] = parse(build(mail)[2]).iter_attachments()
    assert attachment.get_filename() == "compliance-2024-03.html"
    assert attachment.get_payload(decode=True).decode("utf-8") == "<h1>Báo cáo</h1>"  # bytes as written
    with pytest.raises(PermanentFailure):
        build(outgoing("report", path=str(tmp_path / "gone.html")))
