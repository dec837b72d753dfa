"""Editors' pages: a month calendar of what is owed, with filters, and their
calendar subscriptions (create one for a view, see its address once, revoke).

The secret address is shown on the one page that answers the POST that made
it (never stored in a URL, never logged); only its SHA-256 is kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from scheduler.bounds import parse_id
from scheduler.compliance.report_text import COLUMNS
from scheduler.errors import N_, InputError, SchedulerError
from scheduler.feeds.ical import VN_TZ, summary
from scheduler.feeds.month_grid import Month, month_heading, parse_month, weekday_names
from scheduler.i18n import gettext_for, pick
from scheduler.people.accounts import FeedScope, check_channel, feed_urls, new_token
from scheduler.plan.workdays import WorkCalendar
from scheduler.store import people
from scheduler.store.calendar import Choices, choices, day_bounds, milestones_between, shown_between
from scheduler.store.database import Database
from scheduler.store.known_codes import UNKNOWN
from scheduler.store.schedule import Filters
from scheduler.store.tables import PlanRow, SubscriptionRow
from scheduler.store.watch import calendar_of
from scheduler.web.auth import SessionUser
from scheduler.web.deps import ClockDep, DatabaseDep, Person, Posted, SettingsDep, ViewsDep, form_post
from scheduler.web.occurrence_view import statuses
from scheduler.web.views import Views

FIELDS = ("plan", "agency", "obligation", "channel")
GOOGLE_ADD = "https://calendar.google.com/calendar/r?cid="
NO_SUCH_SUBSCRIPTION = N_("There is no such subscription.")
ALL = {
    "plan": N_("All plans"),
    "agency": N_("All agencies"),
    "obligation": N_("All programs"),
    "channel": N_("All channels"),
}


def read_scope(values: Mapping, milestones: bool) -> FeedScope:
    """Filters from a query string or a form; an empty value means "all".
    ``milestones`` is the default when the field is absent."""

    def get(name: str) -> str | None:
        return str(values.get(name) or "").strip() or None

    asked = values.get("milestones")
    return FeedScope(
        get("plan"),
        get("agency"),
        get("obligation"),
        get("channel"),
        milestones if asked is None else str(asked) in ("1", "on", "true", "yes"),
    )


def scope_query(scope: FeedScope, **extra: str) -> str:
    """The filters as a query string; milestones always, so the form reads them as they were."""
    values = {f: getattr(scope, f) for f in FIELDS if getattr(scope, f)}
    return urlencode({**values, "milestones": "1" if scope.milestones else "0", **extra})


def check_scope(scope: FeedScope, known: Choices) -> None:
    """Raise the store's own InputError for a filter that names nothing loaded."""
    check_channel(scope.channel, known.channels)
    for name, value, among in (
        ("plan", scope.plan, known.plans),
        ("agency", scope.agency, known.agencies),
        ("obligation", scope.obligation, known.obligations),
    ):
        if value and value not in among:
            allowed = ", ".join(sorted(among)) or "-"
            raise InputError(UNKNOWN[name], flag="--" + name, value=value, allowed=allowed)


def problem(error: SchedulerError, _, field: str | None = None) -> dict:
    """An error for the page, near its field: the store's messages name it as ``--agency: …``."""
    text = error.render(_)
    flag = str(error.params.get("flag", ""))
    field = field or next((f for f in FIELDS if error.message.startswith(f"--{f}: ") or flag == f"--{f}"), None)
    if field and text.startswith(f"--{field}: "):
        text = text[len(field) + 4 :]
    return {"field": field, "message": text}


def options(known: Choices, lang: str, _) -> dict[str, list[tuple[str, str]]]:
    """Each filter's <option>s: (value, text), "all" first."""
    named = {"plan": known.plans, "agency": known.agencies, "obligation": known.obligations}
    found = {f: [("", _(ALL[f]))] + [(code, pick(lang, *names)) for code, names in named[f].items()] for f in named}
    found["channel"] = [("", _(ALL["channel"]))] + [(c, pick(lang, *names)) for c, names in known.channels.items()]
    return found


def describe(scope: FeedScope, known: Choices, lang: str, _) -> dict[str, str]:
    """A scope in words, field by field."""
    named = {"plan": known.plans, "agency": known.agencies, "obligation": known.obligations}
    words = {
        f: pick(lang, *named[f].get(getattr(scope, f), (getattr(scope, f), ""))) if getattr(scope, f) else _(ALL[f])
        for f in named
    }
    channel = known.channels.get(scope.channel or "", (scope.channel or "", ""))
    words["channel"] = pick(lang, *channel) if scope.channel else _(ALL["channel"])
    words["milestones"] = _("yes") if scope.milestones else _("no")
    return words


def zone_and_workdays(session, plan: str | None, known: Choices) -> tuple[ZoneInfo, WorkCalendar]:
    """The chosen plan's zone and working days; else the first plan's; else Vietnam's."""
    code = plan if plan in known.plans else next(iter(known.plans), None)
    row = session.get(PlanRow, code) if code else None
    return (ZoneInfo(row.timezone), calendar_of(row)) if row else (ZoneInfo(VN_TZ), WorkCalendar())


def day_items(
    session,
    scope: FeedScope,
    known: Choices,
    first: date,
    end: date,
    tz: ZoneInfo,
    now: datetime,
    at_risk_days: int,
    lang: str,
    _,
) -> dict[date, list[dict]]:
    """What each shown day holds: occurrences on their slot or due day, then milestones if asked."""
    start_at, end_at = day_bounds(first, end, tz)
    filters = Filters(scope.plan, scope.agency, scope.obligation, start_at, end_at)
    rows = shown_between(session, filters, scope.channel)
    found = statuses(session, rows, now, at_risk_days) if rows else {}
    zones = {code: ZoneInfo(z) for code, z in known.zones.items()}
    days: dict[date, list[dict]] = defaultdict(list)
    for r in rows:
        zone = zones.get(r.plan_code, tz)
        at = (r.slot or r.due).astimezone(zone)
        days[at.date()].append(
            {
                "kind": "occurrence",
                "id": r.id,
                "href": f"/o/{quote(r.id)}",
                "slot": at if r.slot else None,
                "text": summary(r.shown, lang, _, r.delivery, str(zone)),
                "state": found[r.id],
                "state_word": _(COLUMNS[found[r.id]]),
            }
        )
    if scope.milestones:
        for m, o in milestones_between(session, filters, scope.channel, first, end - timedelta(days=1)):
            zone = str(zones.get(o.plan_code, tz))
            days[m.day].append(
                {
                    "kind": "milestone",
                    "id": o.id,
                    "href": f"/o/{quote(o.id)}",
                    "slot": None,
                    "text": _("{step}: {summary}").format(
                        step=pick(lang, m.title, m.title_en), summary=summary(o.shown, lang, _, o.delivery, zone)
                    ),
                }
            )
    return days


def month_context(
    session, scope: FeedScope, month: Month, known: Choices, now: datetime, at_risk_days: int, lang: str, _
) -> dict:
    tz, workdays = zone_and_workdays(session, scope.plan, known)
    today = now.astimezone(tz).date()
    first, end = month.span()
    items = day_items(session, scope, known, first, end, tz, now, at_risk_days, lang, _)
    names, short = weekday_names(lang), weekday_names(lang, "abbreviated")
    weeks = [
        [
            {
                "date": d.day,
                "in_month": d.in_month,
                "weekday": names[i],
                "today": d.day == today,
                "working": workdays.is_working_day(d.day),
                "weekend": i >= 5,
                "holiday": None if workdays.is_working_day(d.day) else workdays.holiday_name(d.day),
                "listed": items.get(d.day, []),
            }
            for i, d in enumerate(week)
        ]
        for week in month.weeks()
    ]
    owed = sum(len(day["listed"]) for week in weeks for day in week if day["in_month"])
    return {
        "month": month,
        "heading": month_heading(month, lang),
        "weekdays": list(zip(names, short)),
        "weeks": weeks,
        "owed": owed,
        "today_month": Month.of(today),
    }


router = APIRouter(include_in_schema=False)
Subscriber = Annotated[Posted, Depends(form_post(back="/subscriptions"))]


@router.get("/calendar")
def calendar_page(
    request: Request, user: Person, settings: SettingsDep, db: DatabaseDep, clock: ClockDep, views: ViewsDep
):
    """The month asked (else this one) with what each day holds; a filter
    or month that cannot be read is said near its field (422)."""
    _, now, query = gettext_for(user.lang), clock.now(), request.query_params
    scope, errors = read_scope(query, False), {}
    with db.transaction() as s:
        known = choices(s)
        month = Month.of(now.astimezone(zone_and_workdays(s, scope.plan, known)[0]).date())
        try:
            if query.get("month"):
                month = parse_month(query["month"])
        except InputError as e:
            errors["month"] = problem(e, _, "month")["message"]
        try:
            check_scope(scope, known)
        except InputError as e:  # the month is still shown, unfiltered
            found = problem(e, _)
            errors[found["field"] or ""] = found["message"]
            scope = FeedScope(milestones=scope.milestones)
        context = month_context(s, scope, month, known, now, settings.at_risk_days, user.lang, _)

    def link(target: Month) -> str:
        return "/calendar?" + scope_query(scope, month=target.key)

    words = describe(scope, known, user.lang, _)
    active = [words[f] for f in FIELDS if getattr(scope, f)] + ([_("with milestones")] if scope.milestones else [])
    return views.page(
        request,
        user,
        "calendar.html",
        422 if errors else 200,
        errors=errors,
        scope=scope,
        active=active,
        options=options(known, user.lang, _),
        previous=link(month.previous()),
        next=link(month.next()),
        current=link(context["today_month"]),
        subscribe="/subscriptions?" + scope_query(scope),
        **context,
    )


def subscriptions_context(s, user: SessionUser, _) -> dict:
    known = choices(s)
    tz = zone_and_workdays(s, None, known)[0]
    return {
        "subscriptions": [
            {
                "id": r.id,
                "words": describe(people.scope_of(r), known, user.lang, _),
                "created": r.created_at.astimezone(tz),
                "revoked": r.revoked_at.astimezone(tz) if r.revoked_at else None,
            }
            for r in people.subscriptions_of(s, user.id)
        ],
        "options": options(known, user.lang, _),
    }


def show_subscriptions(
    request: Request,
    db: Database,
    views: Views,
    user: SessionUser,
    scope: FeedScope,
    status: int = 200,
    error: dict | None = None,
    notice: int | None = None,
) -> Response:
    """One's subscriptions, the form for a new one (``scope`` filled in);
    ``notice`` names the one just revoked."""
    with db.transaction() as s:
        context = subscriptions_context(s, user, gettext_for(user.lang))
    if notice is not None and not any(x["id"] == notice and x["revoked"] for x in context["subscriptions"]):
        notice = None
    return views.page(
        request,
        user,
        "subscriptions.html",
        status,
        "/subscriptions",
        scope=scope,
        error=error,
        notice=notice,
        **context,
    )


@router.get("/subscriptions")
def subscriptions_page(request: Request, user: Person, db: DatabaseDep, views: ViewsDep, revoked: str = ""):
    return show_subscriptions(
        request, db, views, user, read_scope(request.query_params, True), notice=parse_id(revoked)
    )


@router.post("/subscriptions")
async def subscribe(
    request: Request, posted: Subscriber, settings: SettingsDep, db: DatabaseDep, clock: ClockDep, views: ViewsDep
):
    """A new subscription for the form's view; its secret address is shown
    on this one answer, never stored in a URL (no-store)."""
    user, form = posted
    _ = gettext_for(user.lang)
    scope, token = read_scope(form, False), new_token()

    def create():
        with db.transaction() as s:
            known = choices(s)
            check_channel(scope.channel, known.channels)
            row = people.subscribe(s, user.email, scope, token, clock.now(), user.lang)
            return row.id, describe(scope, known, user.lang, _)

    try:
        sid, words = await run_in_threadpool(create)
    except InputError as e:
        return await run_in_threadpool(show_subscriptions, request, db, views, user, scope, 422, problem(e, _))
    https, webcal = feed_urls(settings.base_url, token)
    response = views.page(
        request,
        user,
        "subscribed.html",
        201,
        "/subscriptions",
        id=sid,
        words=words,
        https=https,
        webcal=webcal,
        google=GOOGLE_ADD + quote(webcal, safe=""),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/subscriptions/{subscription_id}/revoke")
async def revoke(
    subscription_id: str, request: Request, posted: Subscriber, db: DatabaseDep, clock: ClockDep, views: ViewsDep
):
    user, _form = posted

    def write() -> bool:
        """Only one's own; someone else's is answered as if it did not exist."""
        if not parse_id(subscription_id):
            return False
        with db.transaction() as s:
            row = s.get(SubscriptionRow, parse_id(subscription_id))
            if row is None or row.user_id != user.id:
                return False
            people.revoke(s, row.id, clock.now())
            return True

    if not await run_in_threadpool(write):
        return views.refusal(request, user, 404, gettext_for(user.lang)(NO_SUCH_SUBSCRIPTION), "/subscriptions")
    return views.redirect(request, f"/subscriptions?revoked={parse_id(subscription_id)}")
