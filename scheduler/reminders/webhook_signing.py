"""Signing webhooks the Standard Webhooks way (standardwebhooks.com), pure.

Each POST carries ``webhook-id`` (the event's stable id: the same on a
retry, so a receiver drops a replay), ``webhook-timestamp`` (Unix seconds
of this attempt) and ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
``"{id}.{timestamp}.{body}"`` with the endpoint's secret, given to the
admin once as ``whsec_<base64 of its bytes>``. Receivers in any language
verify it with their standard library or the spec's own packages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
TOLERANCE = 5 * 60  # seconds a receiver accepts between a timestamp and its clock


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX), validate=True)


def signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header's value.

    The spec's own test vector:

    >>> signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
    ...           1614265330, b'{"test": 2432232314}')
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
    """
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one attempt."""
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, event_id, timestamp, body),
    }


def verify(secret: str, sent: dict[str, str], body: bytes, now: int, tolerance: int = TOLERANCE) -> bool:
    """Whether ``sent`` (headers, lower-case names) signs ``body`` with
    ``secret`` at a timestamp within ``tolerance`` of ``now``. The header may
    hold several space-separated signatures (while a secret rotates): one is enough.

    >>> s = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    >>> h = headers(s, "evt_1", 1000, b"{}")
    >>> verify(s, h, b"{}", 1010), verify(s, h, b"{ }", 1010), verify(s, h, b"{}", 1000 + 301)
    (True, False, False)
    """
    try:
        stamp = int(sent.get("webhook-timestamp", ""))
    except ValueError:
        return False
    if abs(now - stamp) > tolerance:
        return False
    expected = signature(secret, sent.get("webhook-id", ""), stamp, body).partition(",")[2]
    given = [s.partition(",")[2] for s in sent.get("webhook-signature", "").split() if s.startswith("v1,")]
    return any(hmac.compare_digest(expected.encode(), g.encode()) for g in given)
