"""The Zalo Official Account API v3 and its OAuth v4, as we use them: the
request shapes, what each answer means for the outbox, and the refresh of
the OA's access token.

Zalo answers HTTP 200 with ``{"error": code, "message": ...}``: code 0 is
accepted, a negative code says why not. The codes we act on (Zalo's
"mã lỗi" list for the OA API; see docs/notes-19-zalo.md for the sources):

- access token invalid or expired (-216, -124): refresh once, then retry once;
- the user does not follow the OA (-213) or is gone (-227): ``Unreachable``;
- outside the consultation window (-230, -232): a transaction message when
  one is configured, else ``PermanentFailure`` saying so (the link stays);
- rate limit (-32) and quota (-211, -218): ``TemporaryFailure`` with a pause;
- any other code: ``PermanentFailure`` naming it, shown to admins.

HTTP 429 and 5xx, and a connection that fails or drops, are temporary.
No token ever reaches an error text: tokens travel in headers and bodies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

from scheduler.harvest.proposals import FetchFailed
from scheduler.reminders.outbox import PermanentFailure, TemporaryFailure, Unreachable

MAX_TEXT = 2000  # characters of a Zalo text message
TOKEN_CODES = frozenset({-216, -124})
GONE_CODES = frozenset({-213, -227})
WINDOW_CODES = frozenset({-230, -232})
RATE_CODES = {-32: 60.0, -211: 3600.0, -218: 3600.0}  # code -> seconds to wait
OAUTH_PATH = "/v4/oa/access_token"
CS_PATH, TRANSACTION_PATH = "/v3.0/oa/message/cs", "/v3.0/oa/message/transaction"
_LINK = re.compile(r"https?://\S+")


class Answered(Protocol):
    status: int
    headers: Mapping[str, str]
    body: bytes


# scheduler.fetching.posting.post: passed in (notifiers may not import fetching)
Post = Callable[..., Answered]


class TokenRefused(TemporaryFailure):
    """The access token was refused: refresh it, then try once more."""


@dataclass(frozen=True)
class Refreshed:
    access: str
    expires_at: datetime
    refresh: str
    refresh_expires_at: datetime | None


def _json(answer: Answered, where: str) -> dict[str, Any]:
    try:
        data = json.loads(answer.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise TemporaryFailure(f"{where}: HTTP {answer.status}, an answer that is not a JSON object")
    return data


def _retry_after(answer: Answered) -> float | None:
    try:
        return max(0.0, float(answer.headers.get("retry-after", "")))
    except ValueError:
        return None


def _http_problem(answer: Answered, where: str) -> None:
    if answer.status == 429 or answer.status >= 500:
        raise TemporaryFailure(f"{where}: HTTP {answer.status}", retry_after=_retry_after(answer))
    if answer.status != 200:
        raise PermanentFailure(f"{where}: HTTP {answer.status}")


def _said(data: dict[str, Any]) -> str:
    words = str(data.get("message") or data.get("error_description") or data.get("error_name") or "")
    return words[:300]


def judge(answer: Answered, where: str) -> None:
    """Return when Zalo accepted the message; else raise what the answer means."""
    _http_problem(answer, where)
    data = _json(answer, where)
    try:
        code = int(data.get("error", 0))
    except (TypeError, ValueError):
        raise TemporaryFailure(f"{where}: an answer whose error is not a number") from None
    if code == 0:
        return
    said = f"{where}: Zalo error {code} ({_said(data)})"
    if code in TOKEN_CODES:
        raise TokenRefused(said)
    if code in GONE_CODES:
        raise Unreachable(said)
    if code in WINDOW_CODES:
        raise OutsideWindow(said)
    if code in RATE_CODES:
        raise TemporaryFailure(said, retry_after=RATE_CODES[code])
    raise PermanentFailure(said)


class OutsideWindow(PermanentFailure):
    """The follower has not written to the OA recently enough for a
    consultation message."""


def call(
    post: Post, url: str, body: bytes, headers: dict[str, str], timeout: float, allow: tuple[Any, ...]
) -> Answered:
    """One POST; a failed or dropped connection is temporary."""
    try:
        return post(url, body, headers=headers, timeout=timeout, allow=allow)
    except FetchFailed as e:
        raise TemporaryFailure(e.render()) from None


def cs_body(address: str, text: str) -> bytes:
    """A consultation message (tin Tư vấn): plain text to one follower."""
    message = {"recipient": {"user_id": address}, "message": {"text": text[:MAX_TEXT]}}
    return json.dumps(message, ensure_ascii=False).encode("utf-8")


def transaction_body(address: str, text: str, template_type: str) -> bytes:
    """A transaction message (tin Giao dịch) in the OA's approved template
    type: the first line as its header, the rest as its text, the first
    link as its button."""
    first, _, rest = text.strip().partition("\n")
    elements: list[dict[str, str]] = [{"type": "header", "content": first[:100], "align": "left"}]
    if rest.strip():
        elements.append({"type": "text", "content": rest.strip()[:1000], "align": "left"})
    payload: dict[str, Any] = {"template_type": template_type, "language": "VI", "elements": elements}
    link = _LINK.search(text)
    if link:
        payload["buttons"] = [{"title": "Xem chi tiết", "type": "oa.open.url", "payload": {"url": link.group(0)}}]
    message = {"recipient": {"user_id": address}, "message": {"attachment": {"type": "template", "payload": payload}}}
    return json.dumps(message, ensure_ascii=False).encode("utf-8")


def refresh(
    post: Post, oauth_api: str, app_id: str, app_secret: str, refresh_token: str, now: datetime, **net: Any
) -> Refreshed:
    """Spend the single-use refresh token for a new access token and a NEW
    refresh token (POST {ZALO_OAUTH_API}/v4/oa/access_token, header
    secret_key, form app_id, grant_type=refresh_token, refresh_token)."""
    where = "Zalo OAuth"
    form = urlencode({"app_id": app_id, "grant_type": "refresh_token", "refresh_token": refresh_token}).encode()
    headers = {"secret_key": app_secret, "Content-Type": "application/x-www-form-urlencoded"}
    answer = call(post, oauth_api.rstrip("/") + OAUTH_PATH, form, headers, **net)
    _http_problem(answer, where)
    data = _json(answer, where)
    access, new_refresh = data.get("access_token"), data.get("refresh_token")
    if not isinstance(access, str) or not isinstance(new_refresh, str) or not access or not new_refresh:
        raise RefreshRefused(
            f"{where}: the refresh token was refused (error {data.get('error', '?')}: {_said(data)}); "
            "store a new one with `python main.py zalo token -`"
        )
    try:
        lasts = float(data.get("expires_in", 3600))
    except (TypeError, ValueError):
        lasts = 3600.0
    return Refreshed(access, now + timedelta(seconds=lasts), new_refresh, now + timedelta(days=90))


class RefreshRefused(TemporaryFailure):
    """Zalo would not refresh: the rows wait (an hour) until an admin stores
    a new refresh token; they expire as mail does if nobody does."""

    def __init__(self, *args: object):
        super().__init__(*args, retry_after=3600.0)
