"""The sign-in pages: sign in and out, ask for a link to set a password, set
it. The rules (argon2 hashes, sessions, CSRF tokens, the limit on failures,
one-time links) are ``auth``'s; these handlers answer with its pages."""

from __future__ import annotations

import hashlib
import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import delete
from starlette.concurrency import run_in_threadpool

from scheduler.errors import N_
from scheduler.rendering import render
from scheduler.store.tables import PasswordTokenRow, SignInFailureRow, UserRow
from scheduler.web.auth import (
    COOKIE,
    MAX_PASSWORD,
    MIN_PASSWORD,
    address,
    check_csrf,
    check_password,
    new_password_link,
    safe_next,
    set_password,
    too_many_failures,
    user_at,
)
from scheduler.web.clients import client_of
from scheduler.web.deps import Services, ServicesDep, SessionsDep

log = logging.getLogger("scheduler.web.auth")
EXPIRED = N_("The form expired; please try again.")
TOO_MANY = N_("Too many failed attempts; wait 15 minutes and try again.")
router = APIRouter(include_in_schema=False)


def page(request: Request, services: Services, name: str, status: int = 200, **values) -> Response:
    """A sign-in page in the signed-in user's language, or the one asked (``?lang=``)."""
    settings, sessions = services.settings, services.sessions
    user = sessions.user(request)
    lang = user.lang if user else request.query_params.get("lang", settings.lang)
    body = render(
        name, lang if lang in ("vi", "en") else settings.lang, user=user, csrf=sessions.csrf(request), **values
    )
    return sessions.finish(request, HTMLResponse(body, status_code=status))


@router.get("/login")
def login_form(request: Request, services: ServicesDep, next: str = "/"):
    return page(request, services, "login.html", next=safe_next(next))


@router.post("/login")
async def login(request: Request, services: ServicesDep):
    form = await request.form()
    return await run_in_threadpool(attempt, request, form, services)  # argon2 takes a while: never on the event loop


def attempt(request: Request, form, services: Services) -> Response:
    """One sign-in: the same answer, in the same time, for an unknown address,
    a disabled user and a wrong password."""
    email, password = address(form), str(form.get("password", ""))
    target = safe_next(str(form.get("next", "/")))
    if not check_csrf(services.sessions, request, str(form.get("csrf", ""))):
        return page(request, services, "login.html", 403, next=target, error=EXPIRED)
    now, client = services.clock.now(), client_of(request, services.settings.trusted_proxies)
    with services.db.transaction() as s:
        if too_many_failures(s, email, client, now):
            log.warning("sign-in refused for %s from %s: too many failures", email, client)
            return page(request, services, "login.html", 429, next=target, email=email, error=TOO_MANY)
        user = user_at(s, email)
        if not check_password(user, password):  # one verification, and one failure row, in every case
            s.add(SignInFailureRow(email=email, client=client, at=now))
            log.warning("failed sign-in for %s from %s", email, client)
            return page(
                request,
                services,
                "login.html",
                401,
                next=target,
                email=email,
                error=N_("Wrong email address or password."),
            )
        s.execute(delete(SignInFailureRow).where(SignInFailureRow.email == email))
        data = services.sessions.start(s, user, now)
    response = RedirectResponse(target, status_code=303)
    services.sessions.write(response, data)  # a new session (and CSRF token) at sign-in
    return response


@router.post("/logout")
async def logout(request: Request, services: ServicesDep, sessions: SessionsDep):
    form = await request.form()
    if not check_csrf(sessions, request, str(form.get("csrf", ""))):
        return page(request, services, "login.html", 403, next="/", error=EXPIRED)
    await run_in_threadpool(sessions.end, request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/password/forgot")
def forgot_form(request: Request, services: ServicesDep):
    return page(request, services, "password_forgot.html")


@router.post("/password/forgot")
async def forgot(request: Request, services: ServicesDep):
    form = await request.form()
    if not check_csrf(services.sessions, request, str(form.get("csrf", ""))):
        return page(request, services, "password_forgot.html", 403, error=EXPIRED)
    email = address(form)
    now, client = services.clock.now(), client_of(request, services.settings.trusted_proxies)
    with services.db.transaction() as s:
        if too_many_failures(s, email, client, now):
            return page(request, services, "password_forgot.html", 429, error=TOO_MANY)
        user = user_at(s, email)
        if user is not None and not user.disabled:
            new_password_link(s, user, now, services.settings)
        s.add(SignInFailureRow(email=email, client=client, at=now))  # reset links are rationed too
    return page(request, services, "password_forgot.html", sent=True)  # the same answer whether the address exists


@router.get("/password/set/{token}")
def set_form(request: Request, token: str, services: ServicesDep):
    return page(request, services, "password_set.html", token=token)


def refused_password(password: str, again: str) -> str | None:
    """Why a new password is refused, or None."""
    if password != again:
        return N_("The two passwords are not the same.")
    if len(password) < MIN_PASSWORD:
        return N_("A password needs at least 10 characters.")
    if len(password) > MAX_PASSWORD:
        return N_("A password has at most 1024 characters.")
    return None


@router.post("/password/set/{token}")
async def set_new(request: Request, token: str, services: ServicesDep):
    form = await request.form()
    if not check_csrf(services.sessions, request, str(form.get("csrf", ""))):
        return page(request, services, "password_set.html", 403, token=token, error=EXPIRED)
    password, again = str(form.get("password", "")), str(form.get("again", ""))
    now = services.clock.now()
    with services.db.transaction() as s:
        row = s.get(PasswordTokenRow, hashlib.sha256(token.encode()).hexdigest())
        if row is None or row.used_at is not None or row.expires_at <= now:
            return page(
                request,
                services,
                "password_set.html",
                400,
                token=token,
                error=N_("This link has expired or was already used; ask for a new one."),
            )
        refusal = refused_password(password, again)
        if refusal:
            return page(request, services, "password_set.html", 422, token=token, error=refusal)
        user = s.get(UserRow, row.user_id)
        set_password(s, user, password, now)
        row.used_at = now
        data = services.sessions.start(s, user, now)
    response = RedirectResponse("/", status_code=303)
    services.sessions.write(response, data)
    return response
