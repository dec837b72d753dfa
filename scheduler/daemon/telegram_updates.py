"""The daemon's telegram_updates job: read what the bot was sent and link
chats (issue 19).

Polling (getUpdates), not a webhook: it needs no public HTTPS address, no
certificate and no open port, which an office server behind a firewall
rarely has. The job runs every tick (TICK_SECONDS, 30 s by default) and
asks with ``timeout`` 0, so a person who sends ``/start CODE`` hears back
within a tick. One poller across processes and machines (a lease: Telegram
answers 409 Conflict to a second getUpdates); the offset is kept in the
database, so a restart does not read an update again.

Per update, one transaction advances the offset and acts on it:
``/start CODE`` (``/start@BotName CODE`` in a group) redeems the code for
this chat; a my_chat_member "kicked"/"left" blocks the chat's link (the
person blocked the bot, the group removed it), "member" again reopens it;
a group's move to a supergroup moves its row. The chat's answer, in
Vietnamese first, is sent after that commit (lost if the process dies just
then: the link holds, only the words are missing).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from scheduler.daemon.runtime import Runtime
from scheduler.errors import SchedulerError
from scheduler.notifiers.telegram_api import BotApi, TelegramError
from scheduler.store import notifier_links, telegram_chats

log = logging.getLogger("scheduler.telegram")
LEASE = timedelta(minutes=5)  # longer than one poll; a dead poller's lease frees after it
BATCH = 100  # updates per getUpdates (Telegram's most)
MAX_UPDATES_ANSWER = 8 * 1024 * 1024  # 100 updates of long texts; a bound, yet never one a batch can pass
MAX_BATCHES = 5  # per run; the rest next tick
_TOLD: set[int] = set()  # a refused token was logged as ERROR (once per process)
START = re.compile(r"^/start(?:@(?P<bot>[A-Za-z0-9_]{1,64}))?(?:\s+(?P<code>\S{1,128}))?\s*$")
LINKED_PERSON = (
    "Đã liên kết Telegram với tài khoản của bạn trên Lịch tuyên truyền. "
    "Nhắc việc sẽ được gửi tới đây theo lựa chọn trên trang hồ sơ.\n"
    "Telegram is now linked to your account; reminders come here as chosen on your profile page."
)
LINKED_GROUP = (
    "Đã liên kết nhóm này với {agency}: nhắc việc chung của đơn vị sẽ được gửi tới đây.\n"
    "This group is now linked to {agency}: the team's shared reminders come here."
)
UNKNOWN_CODE = (
    "Mã liên kết không đúng, đã dùng hoặc đã hết hạn (30 phút). Hãy lấy liên kết mới trên trang hồ sơ.\n"
    "The link code is unknown, used or expired (30 minutes). Get a new link from your profile page."
)
NO_CODE = (
    "Để nhận nhắc việc, hãy mở liên kết Telegram trên trang hồ sơ của bạn (/me/profile).\n"
    "To get reminders here, open the Telegram link on your profile page (/me/profile)."
)


def telegram_updates(rt: Runtime) -> dict:
    """Read and act on the bot's updates; nothing when no token is set."""
    try:
        api = BotApi.of(rt.settings)
    except SchedulerError as e:
        return {"error": e.render()}
    if api is None:
        return {"skipped": "no TELEGRAM_BOT_TOKEN"}
    now = rt.clock.now()
    with rt.db.transaction() as s:
        if not telegram_chats.claim_poll(s, rt.owner, now, LEASE):
            return {"skipped": "another process polls"}
        ask, held = telegram_chats.offset(s, now)
    totals = {"updates": 0, "linked": 0, "refused": 0, "blocked": 0}
    try:
        for _ in range(MAX_BATCHES):
            read = _batch(rt, api, ask, held, totals)
            if read is None or rt.stop.is_set():
                break
            ask = held = read
    finally:
        with rt.db.transaction() as s:
            telegram_chats.release_poll(s, rt.owner, rt.clock.now())
    return totals


def _batch(rt: Runtime, api: BotApi, start: int, held: int, totals: dict) -> int | None:
    """One getUpdates and what it brought; the next offset, or None when done."""
    ask = {"offset": start, "limit": BATCH, "timeout": 0, "allowed_updates": ["message", "my_chat_member"]}
    try:
        updates = api.call("getUpdates", ask, max_answer=MAX_UPDATES_ANSWER)
    except TelegramError as e:
        level = logging.WARNING
        if e.status in (401, 404):  # a wrong token: said once per process, not every tick
            level = logging.DEBUG if _TOLD else logging.ERROR
            _TOLD.add(e.status)
        why = " (a webhook is set, or another bot instance polls)" if e.status == 409 else ""
        why += " (check TELEGRAM_BOT_TOKEN)" if e.status in (401, 404) else ""
        log.log(level, "getUpdates: %s%s", e, why)
        totals["error"] = str(e)
        return None
    if not isinstance(updates, list) or not updates:
        return None
    ours = ""
    for update in updates:
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            continue
        said = update.get("message", {}).get("text") if isinstance(update.get("message"), dict) else ""
        if not ours and str(said or "").startswith("/start@"):  # outside the transaction: getMe may be asked
            ours = api.username(rt.settings.telegram_bot_name).lower()
        update_id = update["update_id"]
        with rt.db.transaction() as s:
            if not telegram_chats.advance(s, rt.owner, held, update_id, rt.clock.now(), LEASE):
                return None  # another poller moved on (it acts on these), or the lease was lost
            reply = _act(s, update, rt, ours, totals)
        held = update_id + 1
        totals["updates"] += 1
        if reply:
            _answer(api, *reply)
    return held if len(updates) >= BATCH else None


def _act(session, update: dict, rt: Runtime, ours: str, totals: dict) -> tuple[str, str] | None:
    """Act on one update inside its transaction; the (chat, words) to answer."""
    now = rt.clock.now()
    member = update.get("my_chat_member")
    if isinstance(member, dict):
        chat = _chat(member)
        status = str((member.get("new_chat_member") or {}).get("status") or "")
        if chat and status in ("kicked", "left"):
            why = "the bot was blocked by the user" if chat["type"] == "private" else f"the bot was {status}"
            totals["blocked"] += telegram_chats.block(session, chat["id"], f"Telegram: {why}", now)
        elif chat and status in ("member", "administrator"):
            telegram_chats.reopen(session, chat["id"], now)
        return None
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat = _chat(message)
    if chat is None:
        return None
    moved = message.get("migrate_to_chat_id")
    if isinstance(moved, int):
        telegram_chats.move(session, chat["id"], str(moved))
        return None
    found = START.match(str(message.get("text") or "")[:300])
    if not found:
        return None
    bot = found.group("bot")
    if bot and ours and bot.lower() != ours:
        return None  # a command for another bot in the group
    code = found.group("code")
    if not code:
        return (chat["id"], NO_CODE)
    linked = notifier_links.redeem(session, "telegram", code, chat["id"], chat["label"], now)
    if linked is None:
        totals["refused"] += 1
        return (chat["id"], UNKNOWN_CODE)
    totals["linked"] += 1
    log.info("telegram chat linked to %s", linked.agency_code or f"user {linked.user_id}")
    if linked.agency_code:
        return (chat["id"], LINKED_GROUP.format(agency=linked.agency_code))
    return (chat["id"], LINKED_PERSON)


def _chat(part: dict[str, Any]) -> dict[str, str] | None:
    """The chat's id (as text), type and what to call it (@username, name, title)."""
    chat = part.get("chat")
    if not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
        return None
    kind = str(chat.get("type") or "private")
    if kind == "private":
        name = " ".join(str(chat.get(k) or "") for k in ("first_name", "last_name")).strip()
        label = f"@{chat['username']}" if chat.get("username") else name
    else:
        label = str(chat.get("title") or "")
    return {"id": str(chat["id"]), "type": kind, "label": label[:200]}


def _answer(api: BotApi, chat_id: str, text: str) -> None:
    try:
        api.call("sendMessage", {"chat_id": chat_id, "text": text, "link_preview_options": {"is_disabled": True}})
    except TelegramError as e:
        log.warning("telegram: could not answer chat %s: %s", chat_id, e)
