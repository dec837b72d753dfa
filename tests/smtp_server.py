"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the tests, that can fail
on purpose: answer 451 for a while, refuse a recipient with 550, be slow."""

from __future__ import annotations

import email
import socket
import threading
import time
from dataclasses import dataclass, field
from email import policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    message_id: str
    recipients: tuple[str, ...]
    subject: str
    message: email.message.EmailMessage


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    busy_until: float = 0.0  # answer 451 to DATA until this monotonic time
    delay: float = 0.0  # seconds before accepting DATA
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if time.monotonic() < self.busy_until:
            return "451 4.3.0 try again later"
        if self.delay:
            time.sleep(self.delay)  # blocks the server loop: a slow server, as seen by the client
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.received.append(
                Received(
                    str(message["Message-ID"]),
                    tuple(a.lower() for a in envelope.rcpt_tos),
                    str(message["Subject"]),
                    message,
                )
            )
        return "250 Message accepted"


class SmtpServer:
    def __init__(self):
        self.handler = Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def env(self) -> dict[str, str]:
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.port),
            "SMTP_SECURITY": "none",
            "MAIL_FROM": "Lịch tuyên truyền <lich@phutho.example>",
        }
