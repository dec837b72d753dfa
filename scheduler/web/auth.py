"""Signing in: argon2id password hashes, sessions kept on the server and
named in a signed cookie, CSRF tokens on every form, a limit on failed
sign-ins, one-time links to set a password (sent through the outbox).

A session names its user, its server-side id and the user's session epoch.
Signing out ends the id; SESSION_IDLE_MINUTES without a request ends it too;
disabling a user or changing their password raises the epoch, so every
session of theirs ends at its next request. A failed sign-in answers the
same, in the same time, whether the address is unknown, disabled or its
password wrong. The pages that sign in and set passwords are ``sign_in``'s.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlparse

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.bounds import LIMITS
from scheduler.clock import Clock
from scheduler.errors import N_, InputError
from scheduler.reminders.outbox import Message
from scheduler.settings import Settings
from scheduler.store import sign_ins
from scheduler.store.database import Database
from scheduler.store.outbox import enqueue
from scheduler.store.people import find_user
from scheduler.store.tables import PasswordTokenRow, SignInFailureRow, UserRow

COOKIE = "lich_session"
SESSION_DAYS = sign_ins.LIFETIME.days  # the cookie lasts as long as a session can
MIN_PASSWORD = 10
MAX_PASSWORD = LIMITS["password"]  # argon2 takes any length; a bound keeps every input bounded
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 5
MAX_FAILURES_PER_CLIENT = 20
LINK_VALID = timedelta(hours=2)
hasher = PasswordHasher()  # argon2id, the library's memory-hard defaults


@dataclass(frozen=True)
class SessionUser:
    id: int
    email: str
    name: str
    roles: tuple[str, ...]
    agency: str | None
    lang: str


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(N_("a password needs at least {count} characters"), count=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise InputError(N_("a password has at most {count} characters"), count=MAX_PASSWORD)
    return hasher.hash(password)


def set_password(session: Session, user: UserRow, password: str, now: datetime) -> None:
    """A new password ends every session the user had."""
    user.password_hash = hash_password(password)
    user.session_epoch = (user.session_epoch or 0) + 1
    user.updated_at = now


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A real hash with the same parameters, verified when there is no
    user (or no password) to verify against: the same work either way."""
    return hasher.hash(secrets.token_urlsafe(16))


def check_password(user: UserRow | None, password: str) -> bool:
    """Exactly one argon2 verification whoever asks: an unknown address, a
    disabled user and a wrong password take the same time and all fail."""
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        matched = hasher.verify(stored or dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        matched = False
    return matched and stored is not None and not user.disabled


def secret_key(settings: Settings) -> bytes:
    """The key that signs session cookies: OUTPUTS_DIR/session-key, created on
    first use, owner-only."""
    path = Path(settings.outputs_dir) / "session-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        except FileExistsError:
            pass  # another process made it first
    return path.read_bytes().strip()


class Sessions:
    """Signed-cookie sessions and their CSRF tokens."""

    def __init__(self, settings: Settings, db: Database, clock: Clock):
        self.settings, self.db, self.clock = settings, db, clock
        self.signer = URLSafeTimedSerializer(secret_key(settings), salt="session")
        self.secure = settings.base_url.startswith("https://")
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        dummy_hash()  # made now, not during the first sign-in it would slow down

    def read(self, request: Request) -> dict:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return {}
        try:
            data = self.signer.loads(raw, max_age=SESSION_DAYS * 86400)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, response: Response, data: dict) -> None:
        response.set_cookie(
            COOKIE,
            self.signer.dumps(data),
            max_age=SESSION_DAYS * 86400,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    def csrf(self, request: Request) -> str:
        """The session's CSRF token (made when the session is); forms carry it."""
        data = getattr(request.state, "session", None)
        if data is None:
            data = request.state.session = self.read(request)
        if not data.get("csrf"):
            data["csrf"] = secrets.token_urlsafe(24)
            request.state.session_dirty = True
        return data["csrf"]

    def user(self, request: Request) -> SessionUser | None:
        """The signed-in user, re-read from the database on every request:
        a disabled user or a new password ends the session at once."""
        data = getattr(request.state, "session", None)
        if data is None:
            data = request.state.session = self.read(request)
        uid = data.get("uid")
        if uid is None:
            return None
        with self.db.transaction() as s:
            user = s.get(UserRow, uid) if isinstance(uid, int) else None
            if (
                user is None
                or user.disabled
                or (user.session_epoch or 0) != data.get("epoch")
                or not sign_ins.alive(s, data.get("sid"), user.id, self.clock.now(), self.idle)
            ):
                data.pop("uid", None)
                data.pop("sid", None)
                request.state.session_dirty = True
                return None
            return SessionUser(user.id, user.email, user.name, tuple(user.roles), user.agency_code, user.lang)

    def start(self, session: Session, user: UserRow, now: datetime) -> dict:
        """The cookie's content for a new sign-in of ``user``, with a new CSRF token."""
        return {
            "uid": user.id,
            "epoch": user.session_epoch or 0,
            "sid": sign_ins.start(session, user.id, now),
            "csrf": secrets.token_urlsafe(24),
        }

    def end(self, request: Request) -> None:
        """Sign out on the server: the cookie's session id works no more."""
        with self.db.transaction() as s:
            sign_ins.end(s, self.read(request).get("sid"), self.clock.now())

    def finish(self, request: Request, response: Response) -> Response:
        """Write the session back if this request changed it."""
        if getattr(request.state, "session_dirty", False):
            self.write(response, request.state.session)
        return response


def check_csrf(sessions: Sessions, request: Request, token: str | None) -> bool:
    expected = sessions.read(request).get("csrf")
    return bool(expected and token and secrets.compare_digest(expected, token))


def too_many_failures(session: Session, email: str, client: str, now: datetime) -> bool:
    """Counted by the address typed, known or not, and by the client: the
    same answer whether an account exists."""
    since = now - FAILURE_WINDOW
    by_email = session.scalar(
        select(func.count())
        .select_from(SignInFailureRow)
        .where(SignInFailureRow.email == email, SignInFailureRow.at > since)
    )
    by_client = session.scalar(
        select(func.count())
        .select_from(SignInFailureRow)
        .where(SignInFailureRow.client == client, SignInFailureRow.at > since)
    )
    return by_email >= MAX_FAILURES_PER_ADDRESS or by_client >= MAX_FAILURES_PER_CLIENT


def safe_next(target: str | None) -> str:
    """Only paths on this site: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_redirect(request: Request) -> RedirectResponse:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)


def new_password_link(session: Session, user: UserRow, now: datetime, settings: Settings) -> None:
    """A one-time link, by mail through the outbox."""
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordTokenRow(
            token_sha256=hashlib.sha256(token.encode()).hexdigest(), user_id=user.id, expires_at=now + LINK_VALID
        )
    )
    link = f"{settings.base_url}/password/set/{token}"
    message = Message(
        "password",
        f"user-{user.id}-{now.isoformat()}",
        user.email,
        now,
        now,
        now + LINK_VALID,
        user.lang,
        (),
        {"link": link, "expires": (now + LINK_VALID).isoformat(), "name": user.name},
    )
    enqueue(session, [message], now, urlparse(settings.base_url).hostname or "localhost")


def address(form) -> str:
    """The address as typed, in the form addresses are kept (lower case)."""
    return str(form.get("email", "")).strip().lower()[:320]


def user_at(session: Session, email: str) -> UserRow | None:
    """The user of an address as typed; None for nobody (or no address at all)."""
    try:
        return find_user(session, email)
    except InputError:  # not an address at all: nobody, answered as for an unknown one
        return None
