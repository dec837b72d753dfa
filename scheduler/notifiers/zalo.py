"""The Zalo Official Account channel: one reminder to one follower.

Which message (the OA's rules, docs/notes-19-zalo.md): a consultation
message (tin Tư vấn, /v3.0/oa/message/cs) while the follower wrote to the
OA within CS_WINDOW — the webhook records when; with no record (an id an
admin set) it is tried and Zalo says. Outside the window, a transaction
message (tin Giao dịch, an approved template) when ZALO_TRANSACTION_TEMPLATE
names one, else a PermanentFailure that says the follower must write to
the OA first.

Tokens: the access token is refreshed when less than REFRESH_AHEAD of it
is left, and once when Zalo calls it invalid; the refresh happens under
``zalo_state.lock_tokens`` so two processes never spend the same
single-use refresh token, and the new pair is stored in one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from scheduler.fetching import posting
from scheduler.notifiers import zalo_api
from scheduler.notifiers.chat import Delivery
from scheduler.notifiers.zalo_api import OutsideWindow, Post, TokenRefused
from scheduler.reminders.outbox import PermanentFailure, TemporaryFailure
from scheduler.settings import Settings
from scheduler.store import zalo_state
from scheduler.store.database import Database
from scheduler.store.provider_secrets import sealer_of

REFRESH_AHEAD = timedelta(hours=1)
CS_WINDOW = timedelta(days=7)


def configured(settings: Settings) -> bool:
    return bool(settings.zalo_app_id.strip() and settings.secret("zalo_app_secret"))


def sender_for(settings: Settings, db: Database, post: Post | None = None) -> ZaloSender | None:
    """The channel's sender, or None when it is not configured (its rows
    wait): ZALO_APP_ID and the app secret set and a refresh token stored.
    Calls go through the safe POST (``scheduler.fetching.posting.post``)
    unless a test gives another."""
    if not configured(settings):
        return None
    post = post or posting.post
    sealer = sealer_of(settings)
    with db.transaction() as s:
        if zalo_state.read_tokens(s, sealer) is None:
            return None
    return ZaloSender(settings, db, post)


class ZaloSender:
    channel = "zalo"

    def __init__(self, settings: Settings, db: Database, post: Post):
        self.settings, self.db, self.post = settings, db, post
        self.sealer = sealer_of(settings)
        self.net: dict[str, Any] = {"timeout": settings.notify_timeout, "allow": settings.notify_allow}

    def __repr__(self) -> str:  # never the tokens
        return f"ZaloSender(app_id={self.settings.zalo_app_id!r})"

    def send(self, delivery: Delivery, now: datetime) -> None:
        """One attempt (a refused access token: refreshed, then one more)."""
        self._attempt(delivery, *self._message(delivery, now), now)

    def reply(self, address: str, text: str, now: datetime) -> None:
        """A consultation message answering what the follower just wrote
        (inside the window by definition)."""
        self._attempt(None, zalo_api.CS_PATH, zalo_api.cs_body(address, text), now)

    def _attempt(self, delivery: Delivery | None, path: str, body: bytes, now: datetime) -> None:
        token = self.access_token(now)
        try:
            try:
                self._post(path, body, token)
            except TokenRefused:
                token = self.access_token(now, stale=token)
                self._post(path, body, token)
        except OutsideWindow as e:  # Zalo's word on the window: the template, if there is one
            template = self.settings.zalo_transaction_template.strip()
            if delivery is None or not template or path != zalo_api.CS_PATH:
                raise PermanentFailure(f"{e}; the follower must write to the OA first") from None
            self._post(
                zalo_api.TRANSACTION_PATH, zalo_api.transaction_body(delivery.address, delivery.text, template), token
            )

    def _message(self, delivery: Delivery, now: datetime) -> tuple[str, bytes]:
        with self.db.transaction() as s:
            last = zalo_state.last_interaction(s, delivery.address)
        if last is None or now - last <= CS_WINDOW:
            return zalo_api.CS_PATH, zalo_api.cs_body(delivery.address, delivery.text)
        template = self.settings.zalo_transaction_template.strip()
        if not template:
            raise PermanentFailure(
                f"Zalo: the follower last wrote to the OA on {last:%Y-%m-%d}, more than {CS_WINDOW.days} days ago: "
                "a consultation message is not allowed and no transaction template is set "
                "(ZALO_TRANSACTION_TEMPLATE); the follower must write to the OA first"
            )
        return zalo_api.TRANSACTION_PATH, zalo_api.transaction_body(delivery.address, delivery.text, template)

    def _post(self, path: str, body: bytes, token: str) -> None:
        headers = {"access_token": token, "Content-Type": "application/json"}
        answer = zalo_api.call(self.post, self.settings.zalo_api.rstrip("/") + path, body, headers, **self.net)
        zalo_api.judge(answer, f"Zalo {path}")

    def access_token(self, now: datetime, stale: str = "") -> str:
        """A usable access token: the stored one while more than
        REFRESH_AHEAD is left (and it is not ``stale``, the one Zalo just
        refused), else a fresh one, refreshed under the tokens' lock."""
        with self.db.transaction() as s:
            tokens = zalo_state.read_tokens(s, self.sealer)
        if tokens is None:
            raise TemporaryFailure("Zalo: no refresh token stored (python main.py zalo token -)", retry_after=3600.0)
        if _usable(tokens, now, stale):
            return tokens.access
        with self.db.transaction() as s:
            if not zalo_state.lock_tokens(s):
                raise TemporaryFailure("Zalo: the refresh token was removed meanwhile", retry_after=3600.0)
            tokens = zalo_state.read_tokens(s, self.sealer)
            assert tokens is not None  # locked just now
            if _usable(tokens, now, stale):
                return tokens.access  # another process refreshed while we waited
            fresh = zalo_api.refresh(
                self.post,
                self.settings.zalo_oauth_api,
                self.settings.zalo_app_id.strip(),
                self.settings.secret("zalo_app_secret"),
                tokens.refresh,
                now,
                **self.net,
            )
            zalo_state.keep_tokens(
                s,
                self.sealer,
                access=fresh.access,
                access_expires_at=fresh.expires_at,
                refresh=fresh.refresh,
                refresh_expires_at=fresh.refresh_expires_at,
                now=now,
            )
            return fresh.access

    def close(self) -> None:
        pass


def _usable(tokens: zalo_state.Tokens, now: datetime, stale: str) -> bool:
    expires = tokens.access_expires_at
    return bool(tokens.access) and tokens.access != stale and expires is not None and expires - now > REFRESH_AHEAD
