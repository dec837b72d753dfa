"""The outbox page of the administration: every message that will not be
sent (expired before it could go, superseded by a more urgent one, refused
for good), with whom it was for, what about, when it was planned, until when
it was useful and the last error. Nothing is dropped silently."""

from __future__ import annotations

from fastapi import APIRouter, Request

from scheduler.clock import Clock
from scheduler.store import outbox
from scheduler.store.database import Database
from scheduler.web.auth import SessionUser
from scheduler.web.views import Views

STATES = {outbox.EXPIRED: "expired", outbox.SUPERSEDED: "superseded", outbox.FAILED: "failed"}


def outbox_routes(router: APIRouter, db: Database, clock: Clock, views: Views) -> None:
    @router.get("/admin/outbox")
    def unsent(request: Request):
        user = views.gate(request, ("admin",))
        if not isinstance(user, SessionUser):
            return user
        with db.transaction() as s:
            rows = [{"id": r.id, "state": r.state, "kind": r.kind, "recipient": r.recipient, "about": r.about,
                     "send_at": r.send_at.astimezone(clock.tz), "expires_at": r.expires_at.astimezone(clock.tz),
                     "attempts": r.attempts, "last_error": r.last_error} for r in outbox.unsent(s)]
            counts = outbox.backlog(s, clock.now())
        return views.page(request, user, "admin_outbox.html", messages=rows, expired=counts["expired"])
