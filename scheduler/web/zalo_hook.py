"""``POST /hooks/zalo``: the Official Account's webhook (its "Webhook URL"
in the Zalo developer console). Zalo signs each event:
``X-ZEvent-Signature: mac=<sha256(app_id + body + timestamp + OA secret)>``
(hex), ``timestamp`` being the event's own field in milliseconds. We check
it and that the event is at most EVENT_AGE old, then:

- any event a follower makes (``user_send_*``, ``user_click_*``, ``follow``):
  the moment is recorded, since a consultation message may only follow one;
- ``user_send_text`` holding a link code: the code is redeemed and the
  follower answered in Vietnamese (after the answer to Zalo, which wants
  200 within 2 s);
- ``unfollow``: the follower's links are blocked (admins see it).

It never answers 500: a refused signature is 401, a body that is not an
event 400, a database that cannot be reached 503 (Zalo sends it again).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse

from scheduler.errors import N_
from scheduler.fetching.posting import post
from scheduler.i18n import gettext_for
from scheduler.notifiers import zalo
from scheduler.settings import Settings
from scheduler.store import zalo_state
from scheduler.store.database import Database
from scheduler.store.notifier_links import redeem
from scheduler.web.deps import ServicesDep

log = logging.getLogger("scheduler.web")
router = APIRouter()

MAX_EVENT = 64 * 1024  # bytes of one event; Zalo's are a few hundred
EVENT_AGE = timedelta(hours=1)  # Zalo retries an event it could not deliver; older ones are refused
MAX_WORDS = 5  # words of a text tried as a link code
_CODE = re.compile(r"^[A-Za-z0-9]{16,64}$")
LINKED = N_("Zalo is linked: reminders you choose on your profile page will come here.")
UNKNOWN_CODE = N_("This link code is unknown, used or expired: make a new one on your profile page.")


def signature(app_id: str, body: bytes, timestamp: str, oa_secret: str) -> str:
    """What Zalo puts in X-ZEvent-Signature (without its ``mac=``)."""
    return hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret.encode()).hexdigest()


def _refused(status: int, why: str) -> JSONResponse:
    return JSONResponse({"error": why}, status_code=status)


async def _body(request: Request) -> bytes | None:
    """The body, or None past MAX_EVENT (read no further)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_EVENT:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _event(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("event_name"), str) else None


def _follower(event: dict[str, Any]) -> str:
    """Who made the event: ``sender.id``, or ``follower.id`` for (un)follow."""
    name = event["event_name"]
    part = event.get("follower") if name in ("follow", "unfollow") else event.get("sender")
    found = part.get("id") if isinstance(part, dict) else None
    return str(found)[:100] if isinstance(found, str | int) and str(found).isdigit() else ""


@router.post("/hooks/zalo", include_in_schema=False)
async def zalo_event(request: Request, services: ServicesDep, later: BackgroundTasks):
    settings = services.settings
    oa_secret, app_id = settings.secret("zalo_oa_secret"), settings.zalo_app_id.strip()
    if not oa_secret or not app_id:
        return _refused(404, "the Zalo webhook is not configured (ZALO_APP_ID, ZALO_OA_SECRET)")
    body = await _body(request)
    if body is None:
        return _refused(413, f"an event is at most {MAX_EVENT} bytes")
    event = _event(body)
    if event is None:
        return _refused(400, "the body is not a Zalo event (a JSON object with event_name)")
    stamp = str(event.get("timestamp", ""))
    given = request.headers.get("x-zevent-signature", "").strip().removeprefix("mac=")
    if not hmac.compare_digest(given.lower().encode(), signature(app_id, body, stamp, oa_secret).encode()):
        return _refused(401, "X-ZEvent-Signature does not match the body (check ZALO_APP_ID and ZALO_OA_SECRET)")
    now = services.clock.now()
    if not stamp.isdigit() or len(stamp) > 15:
        return _refused(400, "timestamp: milliseconds since 1970 expected")
    when = datetime.fromtimestamp(int(stamp) / 1000, UTC)
    if abs(now - when) > EVENT_AGE:
        return _refused(401, "timestamp: the event is too old or from the future (replayed?)")
    follower = _follower(event)
    if not follower:
        return {"ok": True}  # an event about the OA itself: nothing to do
    try:
        answer = handle(services.db, event["event_name"], follower, _text(event), min(when, now))
    except Exception as e:  # (a database that cannot be reached: Zalo sends it again)
        log.warning("zalo webhook: %s", type(e).__name__)
        return _refused(503, "try again later")
    if answer:
        later.add_task(_reply, settings, services.db, follower, answer, now)
    return {"ok": True}


def _text(event: dict[str, Any]) -> str:
    message = event.get("message")
    text = message.get("text") if isinstance(message, dict) else None
    return text[:2000] if isinstance(text, str) else ""


def handle(db: Database, name: str, follower: str, text: str, now: datetime) -> str:
    """Record the event (``now``: when the follower made it) in one
    transaction; the reply owed to the follower (Vietnamese), or ""."""
    with db.transaction() as s:
        if name == "unfollow":
            zalo_state.note_unfollow(s, follower, now, "unfollowed the Official Account (Zalo webhook)")
            return ""
        if name == "follow" or name.startswith("user_"):
            zalo_state.note_interaction(s, follower, now)
        if name != "user_send_text":
            return ""
        words = [w for w in re.split(r"\s+", text.strip())[:MAX_WORDS] if _CODE.match(w)]
        for word in words:
            if redeem(s, "zalo", word, follower, f"Zalo …{follower[-4:]}", now) is not None:
                return LINKED
    return UNKNOWN_CODE if words else ""


def _reply(settings: Settings, db: Database, follower: str, message: str, now: datetime) -> None:
    """After the answer to Zalo: the follower told what happened."""
    try:
        sender = zalo.sender_for(settings, db, post=post)
        if sender is not None:
            sender.reply(follower, gettext_for("vi")(message), now)
    except Exception as e:  # (logged without its text: it could carry Zalo's words, never a token, but be brief)
        log.warning("zalo webhook: the answer to a follower was not sent: %s", type(e).__name__)
