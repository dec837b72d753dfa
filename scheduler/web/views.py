"""What every page router shares: render a page in the reader's language
with the session's CSRF token, refuse (403/404), send to sign-in, gate a
page on roles, and check a form's CSRF token."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from scheduler.bounds import SHORT, FieldError, check_text
from scheduler.errors import N_
from scheduler.i18n import gettext_for
from scheduler.rendering import render
from scheduler.settings import Settings
from scheduler.web import auth

FORM_EXPIRED = N_("The form expired; please try again.")
ROLE_NAMES = {
    "admin": N_("Administrator"),
    "dha": N_("Department of Home Affairs"),
    "producer": N_("Producer"),
    "editor": N_("Editor"),
    "national": N_("National overview"),
}


def bounded_form(form) -> None:
    """Every text field of a form within its bounds (``bounds.check_text``);
    files are the uploads' to bound."""
    for name, value in form.multi_items():
        check_text("name", name, SHORT, label=name[:40].encode("utf-8", "replace").decode())
        if isinstance(value, str):
            check_text(name, value)


class Views:
    def __init__(self, settings: Settings, sessions: auth.Sessions):
        self.settings, self.sessions = settings, sessions

    def page(self, request: Request, user, name: str, status: int = 200, path: str | None = None, **values) -> Response:
        lang = user.lang if user and user.lang in ("vi", "en") else self.settings.lang
        path = path or request.url.path + (f"?{request.url.query}" if request.url.query else "")
        body = render(name, lang, user=user, csrf=self.sessions.csrf(request), request_path=path, **values)
        return self.sessions.finish(request, HTMLResponse(body, status_code=status))

    def refusal(self, request: Request, user, status: int, message: str = "", path: str | None = None) -> Response:
        """Not allowed (403), not there (404) or out of bounds (422); nothing was recorded."""
        name = {403: "forbidden.html", 404: "not_found.html"}.get(status, "invalid.html")
        return self.page(request, user, name, status, path, message=message)

    def to_login(self, request: Request, back: str | None = None) -> Response:
        """To sign in, then back here (or to ``back``, the page a refused POST came from)."""
        return self.sessions.finish(
            request,
            auth.login_redirect(request)
            if back is None
            else RedirectResponse(f"/login?next={quote(back)}", status_code=303),
        )

    def gate(
        self, request: Request, roles: tuple[str, ...] = (), back: str | None = None
    ) -> auth.SessionUser | Response:
        """The signed-in user if they hold one of ``roles`` (any role when
        empty); otherwise the answer to send: sign in, or not allowed. For
        a POST, ``back`` is the page to return to (never the POST's path)."""
        user = self.sessions.user(request)
        if user is None:
            return self.to_login(request, back)
        if roles and not set(roles) & set(user.roles):
            _ = gettext_for(user.lang)
            return self.refusal(
                request,
                user,
                403,
                _("This page is for: {roles}.").format(roles=", ".join(_(ROLE_NAMES[r]) for r in roles)),
                back,
            )
        return user

    async def form_post(self, request: Request, roles: tuple[str, ...] = (), back: str | None = None):
        """A form POST: ``(user, form)`` once the sender holds one of
        ``roles`` (refused before the body is read) and the form's CSRF token
        holds; otherwise the answer to send (sign in, not allowed, expired)."""
        user = await run_in_threadpool(self.gate, request, roles, back)
        if not isinstance(user, auth.SessionUser):
            return user
        form = await request.form()
        if not self.csrf_ok(request, form):
            return self.refusal(request, user, 403, gettext_for(user.lang)(FORM_EXPIRED), back)
        try:
            bounded_form(form)
        except FieldError as e:
            return self.refusal(request, user, 422, e.render(gettext_for(user.lang)), back)
        return user, form

    def csrf_ok(self, request: Request, form) -> bool:
        return auth.check_csrf(self.sessions, request, str(form.get("csrf", "")))

    def redirect(self, request: Request, target: str) -> Response:
        return self.sessions.finish(request, RedirectResponse(target, status_code=303))
