"""The webhooks page of the administration: the endpoints with their events,
each one's recent deliveries (state, attempts, last answer, event id); add
one (its signing secret shown in that answer only), remove one, send it a
test event now. For administrators; every form carries the CSRF token."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from scheduler.bounds import parse_id
from scheduler.errors import SchedulerError
from scheduler.i18n import gettext_for
from scheduler.notifiers.webhooks import send_test
from scheduler.reminders.outbox import EVENTS
from scheduler.store import webhooks
from scheduler.store.provider_secrets import sealer_of
from scheduler.web.admin import Admin, admin_form
from scheduler.web.auth import SessionUser
from scheduler.web.deps import Services, ServicesDep

log = logging.getLogger("scheduler.admin")
router = APIRouter(include_in_schema=False)
WebhooksForm = admin_form("/admin/webhooks")
GONE = "HTTP 410"  # the endpoint said it is gone: nothing more is sent to it until it is fixed


def page(
    request: Request, user: SessionUser, services: Services, status: int = 200, created=None, error="", tested=""
) -> Response:
    tz = services.clock.tz
    with services.db.transaction() as s:
        endpoints = []
        for w in webhooks.listed(s):
            sent = webhooks.deliveries(s, w.id)
            endpoints.append(
                {
                    "id": w.id,
                    "url": w.url,
                    "events": w.events or [],
                    "description": w.description,
                    "created": w.created_at.astimezone(tz),
                    "gone": bool(sent) and sent[0].last_error.startswith(GONE),
                    "deliveries": [
                        {
                            "event": d.kind,
                            "id": d.message_id,
                            "state": d.state,
                            "attempts": d.attempts,
                            "status": d.last_error,
                            "created": d.created_at.astimezone(tz),
                        }
                        for d in sent
                    ],
                }
            )
    response = services.views.page(
        request,
        user,
        "admin_webhooks.html",
        status,
        "/admin/webhooks",
        endpoints=endpoints,
        events=EVENTS,
        created=created,
        error=error,
        tested=tested,
    )
    response.headers["Cache-Control"] = "no-store"  # a new secret is in this page alone
    return response


@router.get("/admin/webhooks")
def listing(request: Request, user: Admin, services: ServicesDep):
    return page(request, user, services)


@router.post("/admin/webhooks")
def add(request: Request, posted: WebhooksForm, services: ServicesDep):
    """The secret is shown in this answer once; only its sealed form is kept."""
    user, form = posted
    events = [str(e) for e in form.getlist("events")]
    try:
        with services.db.transaction() as s:
            url, description = str(form.get("url", "")), str(form.get("description", ""))
            row, secret = webhooks.add(
                s, sealer_of(services.settings), url, events, description, user.email, services.clock.now()
            )
            created = {"id": row.id, "url": row.url, "secret": secret}
    except SchedulerError as e:
        return page(request, user, services, 422, error=e.render(gettext_for(user.lang)))
    log.info("%s added webhook %s (%s)", user.email, created["id"], created["url"])
    return page(request, user, services, created=created)


@router.post("/admin/webhooks/{webhook_id}/remove")
def remove(webhook_id: str, request: Request, posted: WebhooksForm, services: ServicesDep):
    number = parse_id(webhook_id)
    try:
        with services.db.transaction() as s:
            webhooks.remove(s, number or 0, services.clock.now())
    except SchedulerError:
        return services.views.refusal(request, posted.user, 404, path="/admin/webhooks")
    log.info("%s removed webhook %s", posted.user.email, number)
    return services.views.redirect(request, "/admin/webhooks")


@router.post("/admin/webhooks/{webhook_id}/test")
def test(webhook_id: str, request: Request, posted: WebhooksForm, services: ServicesDep):
    """``webhook.test`` sent now; its answer shown on the page."""
    _ = gettext_for(posted.user.lang)
    try:
        delivered, answer = send_test(services.db, services.settings, parse_id(webhook_id) or 0, services.clock.now())
    except SchedulerError:
        return services.views.refusal(request, posted.user, 404, path="/admin/webhooks")
    words = _("delivered") if delivered else _("not delivered")
    return page(request, posted.user, services, tested=f"{webhook_id}: {words}: {answer}")
