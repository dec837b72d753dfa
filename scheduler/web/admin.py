"""Administration pages: the index and people (roles, agency, language,
disabling, a link to set a password); API tokens and calendar subscriptions
are ``admin_access``'s, schedule files ``admin_schedules``'. Every page is
for administrators; every form carries the session's CSRF token and answers
with a redirect, except the one that shows a new token once."""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.bounds import parse_id
from scheduler.errors import N_, SchedulerError
from scheduler.i18n import gettext_for, pick
from scheduler.people.accounts import ROLES
from scheduler.store import people
from scheduler.store.known_codes import UNKNOWN
from scheduler.store.tables import AgencyRow, ApiTokenRow, LoadRow, OccurrenceRow, PlanRow, SubscriptionRow, UserRow
from scheduler.web.auth import LINK_VALID, SessionUser, new_password_link
from scheduler.web.deps import ClockDep, DatabaseDep, Posted, Services, ServicesDep, ViewsDep, form_post, signed_in
from scheduler.web.views import ROLE_NAMES, Views

log = logging.getLogger("scheduler.admin")
LANG_NAMES = {"vi": "Tiếng Việt", "en": "English"}
DONE = {
    "added": N_("{email} was added."),
    "added-link": N_("{email} was added; a link to set a password is on its way to them."),
    "saved": N_("The changes were saved."),
    "disabled": N_("{email} is disabled: signed out, feeds stopped."),
    "enabled": N_("{email} may sign in again."),
    "link": N_("A link to set a password is on its way to {email}; it works for {hours} hours."),
    "revoked": N_("Revoked."),
}
# Which form field a refusal from the user rules (store.people) is about.
FIELDS = {
    '"{value}" is not an email address': "email",
    "{email} is already a user": "email",
    "a producer records for one agency: give --agency": "agency",
    UNKNOWN["agency"]: "agency",
    '--role: expected one or more of {allowed}, got "{value}"': "roles",
    '--lang: expected "vi" or "en", got "{value}"': "lang",
}


def agency_choices(session: Session, lang: str) -> list[tuple[str, str]]:
    """Every agency of the loaded plans, by code, named as the newest plan names it."""
    names = {}
    for row, _end in session.execute(
        select(AgencyRow, PlanRow.period_end).join(PlanRow).order_by(PlanRow.period_end, PlanRow.code)
    ):
        names[row.code] = pick(lang, row.name, row.name_en)
    return sorted(names.items(), key=lambda item: item[1])


def user_view(u: UserRow, agencies: dict[str, str], _) -> dict:
    return {
        "id": u.id,
        "email": u.email,
        "name": u.name,
        "roles": list(u.roles),
        "role_names": ", ".join(_(ROLE_NAMES[r]) for r in u.roles if r in ROLE_NAMES),
        "agency": u.agency_code or "",
        "agency_name": agencies.get(u.agency_code, u.agency_code or ""),
        "lang": u.lang,
        "lang_name": LANG_NAMES.get(u.lang, u.lang),
        "disabled": u.disabled,
    }


router = APIRouter(include_in_schema=False)
Admin = Annotated[SessionUser, Depends(signed_in("admin"))]


def admin_form(back: str):
    """A form POST for administrators: the role checked, then the form's CSRF
    token; ``back`` is the page the form was on (for sign-in and a refusal)."""
    return Annotated[Posted, Depends(form_post("admin", back=back))]


UsersForm, UserForm = admin_form("/admin/users"), admin_form("/admin/users/{user_id}")


def done(views: Views, request: Request, target: str, what: str, **values) -> Response:
    """Back to ``target`` with a notice of what was done (``DONE``)."""
    return views.redirect(request, f"{target}?" + urlencode({"done": what, **values}))


def notice(request: Request, _) -> str:
    what = request.query_params.get("done", "")
    if what not in DONE:
        return ""
    return _(DONE[what]).format(
        email=request.query_params.get("email", ""), hours=int(LINK_VALID.total_seconds() // 3600)
    )


@router.get("/admin")
def index(request: Request, user: Admin, db: DatabaseDep, clock: ClockDep, views: ViewsDep):
    with db.transaction() as s:

        def count(query):
            return s.scalar(select(func.count()).select_from(query.subquery()))

        counts = {
            "users": count(select(UserRow.id).where(UserRow.disabled.is_(False))),
            "disabled": count(select(UserRow.id).where(UserRow.disabled.is_(True))),
            "tokens": count(select(ApiTokenRow.id).where(ApiTokenRow.revoked_at.is_(None))),
            "subscriptions": count(select(SubscriptionRow.id).where(SubscriptionRow.revoked_at.is_(None))),
            "loads": count(select(LoadRow.id)),
        }
        occurrences = dict(
            s.execute(select(OccurrenceRow.plan_code, func.count()).group_by(OccurrenceRow.plan_code)).all()
        )
        plans = [
            {
                "code": p.code,
                "title": pick(user.lang, p.title, p.title_en),
                "source": p.source,
                "loaded_at": p.loaded_at.astimezone(clock.tz),
                "occurrences": occurrences.get(p.code, 0),
            }
            for p in s.scalars(select(PlanRow).order_by(PlanRow.code))
        ]
    return views.page(request, user, "admin.html", counts=counts, plans=plans)


# People


def users_page(
    request: Request, user: SessionUser, services: Services, status: int = 200, values=None, error=None, field=None
) -> Response:
    _ = gettext_for(user.lang)
    with services.db.transaction() as s:
        choices = agency_choices(s, user.lang)
        rows = [user_view(u, dict(choices), _) for u in people.list_users(s)]
    values = values or {"roles": [], "lang": services.settings.lang, "send_link": True}
    return services.views.page(
        request,
        user,
        "admin_users.html",
        status,
        "/admin/users",
        users=rows,
        agencies=choices,
        roles=[(r, _(ROLE_NAMES[r])) for r in ROLES],
        langs=LANG_NAMES,
        values=values,
        error=error,
        field=field,
        notice=notice(request, _),
    )


@router.get("/admin/users")
def users(request: Request, user: Admin, services: ServicesDep):
    return users_page(request, user, services)


def entered(form) -> dict:
    return {
        "email": str(form.get("email", "")).strip(),
        "name": str(form.get("name", "")).strip(),
        "roles": [str(r) for r in form.getlist("roles")],
        "agency": str(form.get("agency", "")) or None,
        "lang": str(form.get("lang", "")),
        "send_link": bool(form.get("send_link")),
    }


@router.post("/admin/users")
def add_user(request: Request, posted: UsersForm, services: ServicesDep):
    user, values, now = posted.user, entered(posted.form), services.clock.now()
    try:
        with services.db.transaction() as s:
            added = people.add_user(
                s, values["email"], values["roles"], values["agency"], values["name"], values["lang"], now
            )
            if values["send_link"]:
                new_password_link(s, added, now, services.settings)
            target, email = f"/admin/users/{added.id}", added.email
    except SchedulerError as e:
        return users_page(request, user, services, 422, values, e.render(gettext_for(user.lang)), FIELDS.get(e.message))
    log.info("%s added user %s (%s)", user.email, email, ", ".join(values["roles"]))
    return done(services.views, request, target, "added-link" if values["send_link"] else "added", email=email)


def user_page(
    request: Request,
    user: SessionUser,
    services: Services,
    user_id: str,
    status: int = 200,
    values=None,
    error=None,
    field=None,
) -> Response:
    _ = gettext_for(user.lang)
    path = f"/admin/users/{user_id}"
    with services.db.transaction() as s:
        row = s.get(UserRow, parse_id(user_id)) if parse_id(user_id) else None
        if row is None:
            return services.views.refusal(request, user, 404, path=path)
        choices = agency_choices(s, user.lang)
        shown = user_view(row, dict(choices), _)
        if row.agency_code and row.agency_code not in dict(choices):
            choices.append((row.agency_code, row.agency_code))  # an agency no loaded plan names any more
        tokens = s.scalar(select(func.count()).where(ApiTokenRow.user_id == row.id, ApiTokenRow.revoked_at.is_(None)))
        subscriptions = s.scalar(
            select(func.count()).where(SubscriptionRow.user_id == row.id, SubscriptionRow.revoked_at.is_(None))
        )
    return services.views.page(
        request,
        user,
        "admin_user.html",
        status,
        path,
        shown=shown,
        values=values or shown,
        agencies=choices,
        roles=[(r, _(ROLE_NAMES[r])) for r in ROLES],
        langs=LANG_NAMES,
        tokens=tokens,
        subscriptions=subscriptions,
        error=error,
        field=field,
        myself=row.id == user.id,
        notice=notice(request, _),
    )


@router.get("/admin/users/{user_id}")
def user_detail(user_id: str, request: Request, user: Admin, services: ServicesDep):
    return user_page(request, user, services, user_id)


def change(
    request: Request, user: SessionUser, services: Services, user_id: str, act, what: str, values=None
) -> Response:
    """Apply ``act(session, row)`` to one user; a refusal re-renders their page."""
    try:
        with services.db.transaction() as s:
            row = s.get(UserRow, parse_id(user_id)) if parse_id(user_id) else None
            if row is None:
                return services.views.refusal(request, user, 404, path=f"/admin/users/{user_id}")
            act(s, row)
            email = row.email
    except SchedulerError as e:
        return user_page(
            request, user, services, user_id, 422, values, e.render(gettext_for(user.lang)), FIELDS.get(e.message)
        )
    log.info("%s: %s %s", user.email, what, email)
    return done(services.views, request, f"/admin/users/{user_id}", what, email=email)


@router.post("/admin/users/{user_id}")
def save_user(user_id: str, request: Request, posted: UserForm, services: ServicesDep):
    user, values = posted.user, entered(posted.form)

    def act(s, row):
        if row.id == user.id and "admin" not in values["roles"]:
            raise SchedulerError(N_("You cannot take the administrator role from yourself."))
        people.update_user(
            s, row.email, values["roles"], values["agency"], values["name"], values["lang"], services.clock.now()
        )

    return change(request, user, services, user_id, act, "saved", values)


@router.post("/admin/users/{user_id}/disable")
def disable_user(user_id: str, request: Request, posted: UserForm, services: ServicesDep):
    def act(s, row):
        if row.id == posted.user.id:
            raise SchedulerError(N_("You cannot disable yourself."))
        people.disable_user(s, row.email, services.clock.now())

    return change(request, posted.user, services, user_id, act, "disabled")


@router.post("/admin/users/{user_id}/enable")
def enable_user(user_id: str, request: Request, posted: UserForm, services: ServicesDep):
    def act(s, row):
        people.enable_user(s, row.email, services.clock.now())

    return change(request, posted.user, services, user_id, act, "enabled")


@router.post("/admin/users/{user_id}/password-link")
def password_link(user_id: str, request: Request, posted: UserForm, services: ServicesDep):
    def act(s, row):
        if row.disabled:
            raise SchedulerError(N_("{email} is disabled"), email=row.email)
        new_password_link(s, row, services.clock.now(), services.settings)

    return change(request, posted.user, services, user_id, act, "link")
