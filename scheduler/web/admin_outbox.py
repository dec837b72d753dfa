"""The outbox page of the administration: every message that will not be
sent (expired before it could go, superseded by a more urgent one, refused
for good), with whom it was for, what about, when it was planned, until when
it was useful and the last error. Nothing is dropped silently."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from scheduler.store import outbox, outbox_views
from scheduler.web.auth import SessionUser
from scheduler.web.deps import ClockDep, DatabaseDep, ViewsDep, signed_in

STATES = {outbox.EXPIRED: "expired", outbox.SUPERSEDED: "superseded", outbox.FAILED: "failed"}
router = APIRouter(include_in_schema=False)


@router.get("/admin/outbox")
def unsent(
    request: Request,
    user: Annotated[SessionUser, Depends(signed_in("admin"))],
    db: DatabaseDep,
    clock: ClockDep,
    views: ViewsDep,
):
    with db.transaction() as s:
        rows = [
            {
                "id": r.id,
                "state": r.state,
                "kind": r.kind,
                "channel": r.channel,
                "recipient": r.recipient,
                "about": r.about,
                "send_at": r.send_at.astimezone(clock.tz),
                "expires_at": r.expires_at.astimezone(clock.tz),
                "attempts": r.attempts,
                "last_error": r.last_error,
            }
            for r in outbox_views.unsent(s)
        ]
        counts = outbox_views.backlog(s, clock.now())
    return views.page(request, user, "admin_outbox.html", messages=rows, expired=counts["expired"])
