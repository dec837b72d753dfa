"""``/me/profile``: a person's name, language and chats (issue 19). They
link Telegram with a one-time code (a deep link to the bot, or ``/start
CODE`` sent to it) and Zalo with a code sent to the Official Account, and
choose per kind of message which channels get it (email by default; email
can be left out only for a linked chat). A producer makes the code that
links their agency's Telegram group. Every form carries the CSRF token."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from scheduler.bounds import check_text
from scheduler.errors import N_, SchedulerError
from scheduler.i18n import gettext_for
from scheduler.reminders.outbox import CHAT_CHANNELS, PREFERENCES
from scheduler.store import notifier_admin
from scheduler.store.notifier_choices import PERSON_CHANNELS, choices_of, set_choice
from scheduler.store.notifier_links import CODE_LIFETIME, new_link_code
from scheduler.store.people_tables import UserRow
from scheduler.web.deps import ClockDep, DatabaseDep, Person, Posted, SettingsDep, ViewsDep, form_post

log = logging.getLogger("scheduler.profile")
router = APIRouter(include_in_schema=False)
PAGE = "/me/profile"
ProfileForm = Annotated[Posted, Depends(form_post(back=PAGE))]
GROUPS = {
    "due": N_("Reminders before the due day"),
    "at_risk": N_("At risk"),
    "overdue": N_("Overdue"),
    "digest": N_("Weekly digest"),
    "notices": N_("Notices (changes, reports, warnings)"),
}
CHANNEL_NAMES = {"email": N_("Email"), "telegram": "Telegram", "zalo": "Zalo"}
DONE = {
    "saved": N_("Saved."),
    "unlinked": N_("The chat is unlinked: what went there goes by email."),
}


def _page(request, user, db, settings, clock, views, status: int = 200, **values):
    _ = gettext_for(user.lang)
    with db.transaction() as s:
        row = s.get(UserRow, user.id)
        chosen = choices_of(s, user.id)
        linked = notifier_admin.links(s, user.id)
        groups = notifier_admin.group_chats(s, user.agency) if user.agency else []
    active = {link.channel for link in linked if link.state == "active"}
    done = request.query_params.get("done", "")
    return views.page(
        request,
        user,
        "profile.html",
        status,
        path=PAGE,
        person_name=row.name if row else "",
        lang_chosen=row.lang if row else user.lang,
        links=linked,
        active=active,
        groups=groups,
        preferences=[(g, _(GROUPS[g]), chosen[g]) for g in PREFERENCES],
        channels=[(c, _(CHANNEL_NAMES[c])) for c in PERSON_CHANNELS],
        chat_channels=CHAT_CHANNELS,
        bot=settings.telegram_bot_name,
        minutes=int(CODE_LIFETIME.total_seconds() // 60),
        notice=_(DONE[done]) if done in DONE else "",
        producer=bool(user.agency and "producer" in user.roles),
        **values,
    )


@router.get(PAGE)
def profile(request: Request, user: Person, db: DatabaseDep, settings: SettingsDep, clock: ClockDep, views: ViewsDep):
    return _page(request, user, db, settings, clock, views)


@router.post(PAGE)
def save(
    request: Request, posted: ProfileForm, db: DatabaseDep, settings: SettingsDep, clock: ClockDep, views: ViewsDep
):
    """Name, language and every group's channels, in one transaction: all or nothing."""
    user, form = posted.user, posted.form
    _ = gettext_for(user.lang)
    try:
        name = check_text("name", str(form.get("name", "")).strip())
        lang = str(form.get("lang", user.lang))
        if lang not in ("vi", "en"):
            raise SchedulerError(N_("language: {value} is not offered; accepted: vi, en"), value=lang[:10])
        with db.transaction() as s:
            row = s.get(UserRow, user.id)
            row.name, row.lang, row.updated_at = name, lang, clock.now()
            for group in PREFERENCES:
                set_choice(s, user.id, group, [str(c) for c in form.getlist(f"channels-{group}")][:8])
    except SchedulerError as e:
        return _page(request, user, db, settings, clock, views, 422, error=e.render(_))
    return views.redirect(request, f"{PAGE}?done=saved")


@router.post(PAGE + "/link/{channel}")
def link(
    channel: str,
    request: Request,
    posted: ProfileForm,
    db: DatabaseDep,
    settings: SettingsDep,
    clock: ClockDep,
    views: ViewsDep,
):
    """A fresh one-time code, shown once on the page (only its hash is kept)."""
    user = posted.user
    if channel not in CHAT_CHANNELS:
        return views.refusal(request, user, 404, path=PAGE)
    with db.transaction() as s:
        code = new_link_code(s, channel, clock.now(), user_id=user.id)
    return _page(request, user, db, settings, clock, views, code=code, code_channel=channel)


@router.post(PAGE + "/group-code")
def group_code(
    request: Request, posted: ProfileForm, db: DatabaseDep, settings: SettingsDep, clock: ClockDep, views: ViewsDep
):
    """A producer's code that links a Telegram group to their agency
    (``?startgroup=CODE``: Telegram asks which group to add the bot to)."""
    user = posted.user
    if not (user.agency and "producer" in user.roles):
        return views.refusal(request, user, 403, path=PAGE)
    with db.transaction() as s:
        code = new_link_code(s, "telegram", clock.now(), agency_code=user.agency)
    return _page(request, user, db, settings, clock, views, group_code=code)


@router.post(PAGE + "/unlink/{channel}")
def unlink(channel: str, request: Request, posted: ProfileForm, db: DatabaseDep, views: ViewsDep):
    user = posted.user
    if channel not in CHAT_CHANNELS:
        return views.refusal(request, user, 404, path=PAGE)
    with db.transaction() as s:
        notifier_admin.unlink(s, user.id, channel)
    log.info("%s unlinked their %s chat", user.email, channel)
    return views.redirect(request, f"{PAGE}?done=unlinked")
