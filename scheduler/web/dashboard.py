"""The DHA's pages: the compliance dashboard of a period (calendar or
reporting cut-off) with its agency × month heatmap, drill-down to an agency,
an obligation and its occurrences, every report format to download, a check
of the whole ledger, and the excuse form's POST. The reports are the API's
(``reporting.period_report``); the rules are the core's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from scheduler.compliance.report_files import FORMATS
from scheduler.compliance.report_text import COLUMNS, date_range, obligation_label, period_words
from scheduler.compliance.rollup import flat
from scheduler.compliance.status import PeriodError
from scheduler.errors import N_, SchedulerError
from scheduler.i18n import gettext_for
from scheduler.store import checkpoints
from scheduler.store.compliance import Scope
from scheduler.store.recording import NotFound, Refused, record_excuse
from scheduler.store.reporting import period_report, report_file
from scheduler.web import dashboard_scope as scope
from scheduler.web import ledger_check
from scheduler.web.auth import SessionUser
from scheduler.web.compliance_view import (
    SHOWN,
    TRUE,
    Selection,
    counts,
    default_period,
    heatmap,
    occurrence_rows,
    period_choices,
)
from scheduler.web.consolidated_view import flattened, reports_back, sections
from scheduler.web.deps import (
    Answer,
    ClockDep,
    DatabaseDep,
    Posted,
    Services,
    ServicesDep,
    SettingsDep,
    StoreDep,
    ViewsDep,
    form_post,
    signed_in,
)
from scheduler.web.occurrence_view import actor_of
from scheduler.web.pages import show_occurrence
from scheduler.web.views import Views

ROLES = ("dha", "admin", "national")
DOWNLOADS = (
    ("json", N_("JSON (data)")),
    ("csv", N_("CSV (Excel)")),
    ("xlsx", N_("XLSX workbook")),
    ("html", N_("Printable report (Nghị định 30)")),
)

router = APIRouter(include_in_schema=False)
Overseer = Annotated[SessionUser, Depends(signed_in(*ROLES))]


@dataclass
class Loaded:
    """A dashboard page's selection and report (None when the period is not one)."""

    selection: Selection
    plans: list[tuple[str, str]]
    choices: list
    document: dict | None = None
    error: str = ""
    names: dict = field(default_factory=dict)
    provinces: list[str] = field(default_factory=list)
    reports_back: list[dict] = field(default_factory=list)

    @property
    def view(self) -> dict | None:
        """The document as the pages read it (a consolidated one, flattened)."""
        return None if self.document is None else flattened(self.document)


def load(
    services: Services,
    user: SessionUser,
    plan: str,
    period: str,
    cutoff: str,
    agency: str | None = None,
    obligation: str | None = None,
    province: str = "",
    counts_only: bool = False,
) -> Loaded:
    """The plans the person sees (``dashboard_scope.choose``: the asked one,
    else all of them when several run now), the period (else the current
    year) and the report (``counts_only``: what the dashboard and an agency's
    page draw, without every occurrence); NotFound for what is not there or not theirs."""
    _, now, settings = gettext_for(user.lang), services.clock.now(), services.settings
    with services.db.transaction() as s:
        chosen = scope.choose(s, user, plan, province, now, _)
        selection = Selection(
            chosen.plan,
            period.strip() or default_period(chosen.first, chosen.end, chosen.today),
            cutoff.lower() in TRUE,
            province,
        )
        loaded = Loaded(selection, chosen.options, period_choices(chosen.first, chosen.end, _))
        loaded.provinces = chosen.provinces
        loaded.names = scope.names(s, chosen.codes, user.lang, agency, obligation)
        try:
            loaded.document = period_report(
                s,
                selection.period,
                selection.cutoff,
                now,
                Scope(None, agency, obligation),
                settings.at_risk_days,
                settings.report_agency,
                user.lang,
                chosen.codes,
                counts_only,
            )
        except PeriodError as e:
            loaded.error = e.render(_)
        else:
            loaded.reports_back = scope.reports_back_of(s, loaded.document)
        return loaded


def loaded_or_404(
    request: Request,
    services: Services,
    user: SessionUser,
    plan: str,
    period: str,
    cutoff: str,
    agency: str | None = None,
    obligation: str | None = None,
    counts_only: bool = False,
) -> Loaded:
    """``load``, or the request ends with the 404 page naming what is not there
    (the province, a national user's filter, is read from the query as is)."""
    province = request.query_params.get("province", "")
    try:
        return load(services, user, plan, period, cutoff, agency, obligation, province, counts_only)
    except NotFound as e:
        raise Answer(services.views.refusal(request, user, 404, e.render(gettext_for(user.lang)))) from None


def show(request: Request, views: Views, user: SessionUser, template: str, loaded: Loaded, **values) -> Response:
    """A dashboard page: 422 with the period form when the period is not one."""
    _, sel, doc = gettext_for(user.lang), loaded.selection, loaded.view
    if doc is not None:
        values.update(
            period_words=period_words(doc),
            date_range=date_range(doc),
            as_of=datetime.fromisoformat(doc["as_of"]),
            totals=counts(doc["totals"], user.lang),
            downloads=[
                (
                    fmt,
                    _(label),
                    f"/dashboard/report.{fmt}?"
                    + sel.query(agency=doc["scope"]["agency"] or "", obligation=doc["scope"]["obligation"] or ""),
                )
                for fmt, label in DOWNLOADS
            ],
        )
    listed = any(value == sel.period for _group, options in loaded.choices for value, _text in options)
    return views.page(
        request,
        user,
        template,
        422 if loaded.error else 200,
        sel=sel,
        plans=loaded.plans,
        provinces=loaded.provinces,
        reports_back=reports_back(loaded.reports_back, dict(loaded.plans), _),
        choices=loaded.choices,
        custom_period=not listed,
        error=loaded.error,
        document=doc,
        shown=SHOWN,
        columns=COLUMNS,
        names=loaded.names,
        dashboard_href="/dashboard?" + sel.query(),
        **values,
    )


def agency_href(sel: Selection):
    return lambda code: f"/dashboard/agencies/{quote(code)}?" + sel.query()


def lineage_links(row: dict, _, href) -> list[dict]:
    """The row's successor and predecessors (store/succession_history), as links."""
    found = []
    if row.get("merged_into"):
        to = row["merged_into"]
        text = _("merged into {name} on {day}")
        found.append({"text": text.format(name=to["name"], day=_day(to["on"])), "href": href(to["code"])})
    for before in row.get("received_from", []):
        text = _("took over from {name} on {day}")
        found.append({"text": text.format(name=before["name"], day=_day(before["on"])), "href": href(before["code"])})
    return found


def _day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d/%m/%Y")


@router.get("/dashboard")
def dashboard(
    request: Request, user: Overseer, services: ServicesDep, plan: str = "", period: str = "", cutoff: str = ""
):
    loaded = loaded_or_404(request, services, user, plan, period, cutoff, counts_only=True)
    doc, _ = loaded.view, gettext_for(user.lang)
    values = {}
    if doc is not None:
        values = {
            "sections": [
                {**counts(p, user.lang), "group": ""}
                for p in sections(doc, lambda code: "/dashboard?" + loaded.selection.query(plan=code))
            ],
            "heatmap": heatmap(doc, user.lang, _, agency_href(loaded.selection)),
            "agencies": [
                {
                    **counts(a, user.lang),
                    "key": a["agency"],
                    "name": a["agency_name"],
                    "href": agency_href(loaded.selection)(a["agency"]),
                    "group": a.get("group", ""),  # a member, listed under its group
                    "lineage": lineage_links(a, _, agency_href(loaded.selection)),
                }
                for a in flat(doc["agencies"])
            ],
        }
    return show(request, services.views, user, "dashboard.html", loaded, **values)


@router.get("/dashboard/agencies/{code}")
def agency_page(
    code: str,
    request: Request,
    user: Overseer,
    services: ServicesDep,
    plan: str = "",
    period: str = "",
    cutoff: str = "",
):
    loaded = loaded_or_404(request, services, user, plan, period, cutoff, agency=code, counts_only=True)
    doc, sel, _ = loaded.view, loaded.selection, gettext_for(user.lang)
    values = {"agency": code}
    if doc is not None:
        base = f"/dashboard/agencies/{quote(code)}/obligations/"
        obligations = [
            {
                **counts(r, user.lang),
                "key": r["obligation"],
                "name": obligation_label(r, _),
                "href": base + quote(r["obligation"]) + "?" + sel.query(plan=r.get("plan", sel.plan)),
                "plan": r.get("plan", ""),
            }
            for r in doc["rows"]
        ]
        values.update(heatmap=heatmap(doc, user.lang, _, agency_href(sel), only=code), obligations=obligations)
    return show(request, services.views, user, "dashboard_agency.html", loaded, **values)


@router.get("/dashboard/agencies/{code}/obligations/{obligation}")
def obligation_page(
    code: str,
    obligation: str,
    request: Request,
    user: Overseer,
    services: ServicesDep,
    plan: str = "",
    period: str = "",
    cutoff: str = "",
):
    loaded = loaded_or_404(request, services, user, plan, period, cutoff, agency=code, obligation=obligation)
    doc, _ = loaded.view, gettext_for(user.lang)
    values = {"agency": code, "obligation": obligation, "agency_href": agency_href(loaded.selection)(code)}
    if doc is not None:
        values["occurrences"] = occurrence_rows(doc, _)
        values["windows"] = doc["windows"]
    return show(request, services.views, user, "dashboard_obligation.html", loaded, **values)


@router.get("/dashboard/report.{fmt}")
def download(
    fmt: str,
    request: Request,
    user: Overseer,
    services: ServicesDep,
    plan: str = "",
    period: str = "",
    cutoff: str = "",
    agency: str = "",
    obligation: str = "",
):
    """The report in ``fmt`` for the signed-in DHA, as the API gives it for a token."""
    views = services.views
    loaded = loaded_or_404(request, services, user, plan, period, cutoff, agency or None, obligation or None)
    if fmt not in FORMATS:
        return views.refusal(request, user, 404, gettext_for(user.lang)(N_("There is no report in that format.")))
    if loaded.document is None:
        return show(request, views, user, "dashboard.html", loaded)
    report = report_file(loaded.document, fmt, services.settings.base_url)
    return views.sessions.finish(request, Response(report.body, media_type=report.media, headers=report.headers()))


@router.post("/dashboard/ledger")
async def verify_ledger(
    request: Request,
    posted: Annotated[Posted, Depends(form_post(*ROLES, back="/dashboard"))],
    settings: SettingsDep,
    db: DatabaseDep,
    store: StoreDep,
    clock: ClockDep,
    views: ViewsDep,
):
    """Recompute the whole chain and re-hash every file: a POST, since it reads everything."""
    user, form = posted
    _ = gettext_for(user.lang)
    file = form.get("checkpoint")
    upload = await file.read(checkpoints.UPLOAD_LIMIT + 1) if hasattr(file, "read") else None
    try:
        result = (
            await run_in_threadpool(ledger_check.check, settings, db, store, clock.now(), upload or None)
        ).as_json(_)
        if result["checkpoint"]:
            at = datetime.fromisoformat(result["checkpoint"]["at"])
            result["checkpoint"]["at_local"] = at.astimezone(clock.tz)
    except SchedulerError as e:  # the uploaded file is not a checkpoint
        result = {"ok": False, "entries": None, "head": "", "problem": e.render(_), "problems": [], "checkpoint": None}
    return await run_in_threadpool(
        views.page,
        request,
        user,
        "dashboard_ledger.html",
        200,
        "/dashboard",
        result=result,
        checked_at=clock.now().astimezone(clock.tz),
    )


@router.post("/o/{occurrence_id}/excuses")
async def excuse(
    occurrence_id: str,
    request: Request,
    posted: Annotated[Posted, Depends(form_post(back="/o/{occurrence_id}"))],
    services: ServicesDep,
):
    user, form = posted
    _, back, reason = gettext_for(user.lang), f"/o/{occurrence_id}", str(form.get("reason", ""))

    def write():
        with services.db.transaction() as s:
            return record_excuse(
                s, actor_of(user), occurrence_id, reason, services.clock.now(), services.settings.base_url
            )

    try:
        result = await run_in_threadpool(write)
    except (Refused, NotFound) as e:  # recording.refuse has logged a refusal
        return services.views.refusal(request, user, e.status, e.render(_), back)
    except SchedulerError as e:  # no reason given, or the occurrence was cancelled meanwhile
        return await run_in_threadpool(
            show_occurrence, request, services, user, occurrence_id, 422, excuse_reason=reason, excuse_error=e.render(_)
        )
    return services.views.redirect(request, f"/o/{quote(result.occurrence)}?recorded={result.seq}")
