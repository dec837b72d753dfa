"""Administration pages of access without a session: API tokens (a new one
shown once) and calendar subscriptions, listed with their holders and revoked
here. For administrators; every form carries the session's CSRF token."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from scheduler.bounds import parse_id
from scheduler.errors import SchedulerError
from scheduler.feeds.ical import CHANNEL_NAMES
from scheduler.i18n import gettext_for, pick
from scheduler.people.accounts import new_token
from scheduler.store import people
from scheduler.store.calendar import choices
from scheduler.store.tables import ApiTokenRow, SubscriptionRow
from scheduler.web.admin import Admin, admin_form, done, notice
from scheduler.web.auth import SessionUser
from scheduler.web.deps import ClockDep, DatabaseDep, Services, ServicesDep, ViewsDep

log = logging.getLogger("scheduler.admin")
router = APIRouter(include_in_schema=False)
TokensForm, SubscriptionsForm = admin_form("/admin/tokens"), admin_form("/admin/subscriptions")


def scope_words(sub: SubscriptionRow, names: dict, lang: str, _) -> str:
    """``Kế hoạch …; Đài PT-TH; truyền hình; không có mốc sản xuất``."""
    parts = [
        pick(lang, *names[kind].get(code, (code, "")))
        for kind, code in (("plan", sub.plan_code), ("agency", sub.agency_code), ("obligation", sub.obligation_code))
        if code
    ]
    if sub.channel:
        parts.append(_(CHANNEL_NAMES.get(sub.channel, sub.channel)))
    words = "; ".join(parts) or _("every plan, agency and channel")
    return words + "; " + (_("with production milestones") if sub.milestones else _("without production milestones"))


# API tokens


def tokens_page(
    request: Request, user: SessionUser, services: Services, status: int = 200, created=None, error=None
) -> Response:
    _, tz = gettext_for(user.lang), services.clock.tz
    with services.db.transaction() as s:
        rows = [
            {
                "id": t.id,
                "email": u.email,
                "user_id": u.id,
                "created": t.created_at.astimezone(tz),
                "state": "revoked" if t.revoked_at else "disabled" if u.disabled else "active",
            }
            for t, u in people.list_tokens(s)
        ]
        holders = [(u.email, u.name) for u in people.list_users(s) if not u.disabled]
    response = services.views.page(
        request,
        user,
        "admin_tokens.html",
        status,
        "/admin/tokens",
        tokens=rows,
        holders=holders,
        created=created,
        error=error,
        notice=notice(request, _),
    )
    if created:
        response.headers["Cache-Control"] = "no-store"  # the secret is in this page alone
    return response


@router.get("/admin/tokens")
def tokens(request: Request, user: Admin, services: ServicesDep):
    return tokens_page(request, user, services)


@router.post("/admin/tokens")
def create_token(request: Request, posted: TokensForm, services: ServicesDep):
    """The token is shown in this answer once; only its hash is kept."""
    (user, form), token = posted, "mps_" + new_token()
    try:
        with services.db.transaction() as s:
            row = people.create_token(s, str(form.get("email", "")), token, services.clock.now())
            created = {"id": row.id, "token": token, "email": str(form.get("email", ""))}
    except SchedulerError as e:
        return tokens_page(request, user, services, 422, error=e.render(gettext_for(user.lang)))
    log.info("%s created API token %s for %s", user.email, created["id"], created["email"])
    return tokens_page(request, user, services, created=created)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    token_id: str, request: Request, posted: TokensForm, db: DatabaseDep, clock: ClockDep, views: ViewsDep
):
    with db.transaction() as s:
        if not parse_id(token_id) or s.get(ApiTokenRow, parse_id(token_id)) is None:
            return views.refusal(request, posted.user, 404, path="/admin/tokens")
        people.revoke_token(s, parse_id(token_id), clock.now())
    log.info("%s revoked API token %s", posted.user.email, token_id)
    return done(views, request, "/admin/tokens", "revoked")


# Calendar subscriptions


@router.get("/admin/subscriptions")
def subscriptions(request: Request, user: Admin, db: DatabaseDep, clock: ClockDep, views: ViewsDep):
    _ = gettext_for(user.lang)
    with db.transaction() as s:
        known = choices(s)
        names = {"plan": known.plans, "agency": known.agencies, "obligation": known.obligations}
        rows = [
            {
                "id": sub.id,
                "email": u.email,
                "user_id": u.id,
                "scope": scope_words(sub, names, user.lang, _),
                "created": sub.created_at.astimezone(clock.tz),
                "state": "revoked" if sub.revoked_at else "disabled" if u.disabled else "active",
            }
            for sub, u in people.list_subscriptions(s)
        ]
    return views.page(request, user, "admin_subscriptions.html", subscriptions=rows, notice=notice(request, _))


@router.post("/admin/subscriptions/{subscription_id}/revoke")
def revoke_subscription(
    subscription_id: str, request: Request, posted: SubscriptionsForm, db: DatabaseDep, clock: ClockDep, views: ViewsDep
):
    with db.transaction() as s:
        if not parse_id(subscription_id) or s.get(SubscriptionRow, parse_id(subscription_id)) is None:
            return views.refusal(request, posted.user, 404, path="/admin/subscriptions")
        people.revoke(s, parse_id(subscription_id), clock.now())
    log.info("%s revoked subscription %s", posted.user.email, subscription_id)
    return done(views, request, "/admin/subscriptions", "revoked")
