"""``/admin/notifiers``: every linked chat and group chat, blocked ones
first with the provider's word on why; an admin sets or clears a person's
Telegram chat id or Zalo follower id and removes a group chat; and the chat
and webhook messages that failed or are waiting to be retried."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from scheduler.bounds import parse_id
from scheduler.errors import N_, SchedulerError
from scheduler.i18n import gettext_for
from scheduler.reminders.outbox import CHAT_CHANNELS
from scheduler.store import notifier_admin
from scheduler.web.admin import Admin, admin_form
from scheduler.web.deps import ClockDep, DatabaseDep, ViewsDep

log = logging.getLogger("scheduler.admin")
router = APIRouter(include_in_schema=False)
PAGE = "/admin/notifiers"
NotifiersForm = admin_form(PAGE)
DONE = {"linked": N_("The chat is linked."), "unlinked": N_("The chat is unlinked."), "removed": N_("Removed.")}


def _page(request, user, db, clock, views, status: int = 200, error: str = ""):
    _ = gettext_for(user.lang)
    with db.transaction() as s:
        links = notifier_admin.links(s)
        groups = notifier_admin.group_chats(s)
        trouble = notifier_admin.chat_rows_in_trouble(s)
    done = request.query_params.get("done", "")
    return views.page(
        request,
        user,
        "admin_notifiers.html",
        status,
        path=PAGE,
        links=links,
        groups=groups,
        trouble=trouble,
        tz=clock.tz,
        chat_channels=CHAT_CHANNELS,
        notice=_(DONE[done]) if done in DONE else "",
        error=error,
    )


@router.get(PAGE)
def notifiers(request: Request, user: Admin, db: DatabaseDep, clock: ClockDep, views: ViewsDep):
    return _page(request, user, db, clock, views)


@router.post(PAGE + "/link")
def set_link(request: Request, posted: NotifiersForm, db: DatabaseDep, clock: ClockDep, views: ViewsDep):
    """Set (an address) or clear (no address) a person's chat."""
    form, user = posted.form, posted.user
    email, channel = str(form.get("email", "")).strip(), str(form.get("channel", ""))
    address = str(form.get("address", "")).strip()
    try:
        with db.transaction() as s:
            if address:
                notifier_admin.set_link(s, email, channel, address, user.email, clock.now())
            else:
                notifier_admin.unlink_email(s, email, channel)
    except SchedulerError as e:
        return _page(request, user, db, clock, views, 422, e.render(gettext_for(user.lang)))
    log.info("%s %s the %s chat of %s", user.email, "set" if address else "cleared", channel, email)
    return views.redirect(request, f"{PAGE}?done={'linked' if address else 'unlinked'}")


@router.post(PAGE + "/groups/{group_id}/remove")
def remove_group(group_id: str, request: Request, posted: NotifiersForm, db: DatabaseDep, views: ViewsDep):
    number = parse_id(group_id)
    with db.transaction() as s:
        removed = number is not None and notifier_admin.remove_group(s, number)
    if not removed:
        return views.refusal(request, posted.user, 404, path=PAGE)
    log.info("%s removed group chat %s", posted.user.email, group_id)
    return views.redirect(request, f"{PAGE}?done=removed")
