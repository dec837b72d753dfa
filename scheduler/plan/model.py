"""The plan as values: Plan, Agency, Obligation and what they refer to.

These are what a schedule file means once it has been read and checked;
nothing here knows about YAML, the database or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduler.plan.cadence import AirSlots, Cadence
from scheduler.plan.channels import CODES, Channel
from scheduler.plan.harvest_settings import Check, Match, OutletHarvest
from scheduler.plan.periods import Period
from scheduler.plan.workdays import WorkCalendar

CHANNELS = CODES  # the built-in channels (plan/channels.py); a plan may add its own
AGENCY_KINDS = (
    "government",
    "ministry",
    "department",
    "broadcaster",
    "newspaper",
    "media",
    "district",
    "commune",  # UBND xã, phường (after 1 July 2025: the level below the province)
    "division",  # a phòng or văn phòng inside an agency
    "village",  # thôn, tổ dân phố
    "organisation",  # Mặt trận Tổ quốc, đoàn thể
    "centre",
    "other",
    "group",  # several agencies owing as one: its members are listed
)


@dataclass(frozen=True)
class Named:
    """Something with a code and a Vietnamese (and English) name: a topic, an audience."""

    code: str
    title: str
    title_en: str = ""
    note: str = ""
    audiences: tuple[str, ...] = ()  # for topics: whom the plan addresses with it


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    name_en: str = ""
    kind: str = "other"
    contacts: tuple[str, ...] = ()
    members: tuple[str, ...] = ()  # a group's member agencies (plan/groups.py)
    line: int = field(default=0, compare=False)  # where the file declares it: the registry's warnings name it


@dataclass(frozen=True)
class MilestoneStep:
    """A named production step, ``offset`` working days before the due moment."""

    step: str
    title: str
    title_en: str
    offset: int


@dataclass(frozen=True)
class Adjustment:
    """Move or skip one occurrence (``period`` and ``number``), with a reason."""

    period: str
    number: int
    action: str  # "move" or "skip"
    reason: str
    slot: datetime | None = None
    due: datetime | None = None
    member: str = ""  # on a group-hosted obligation: only this member's occurrence ("": every member's)


@dataclass(frozen=True)
class Obligation:
    code: str
    title: str
    host: str
    channels: tuple[str, ...]
    cadence: Cadence
    title_en: str = ""
    coordinators: tuple[str, ...] = ()
    coordination: str = ""
    may_record: tuple[str, ...] = ()  # coordinating agencies granted the host's right to record
    min_duration: timedelta | None = None
    topics: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    milestones: tuple[MilestoneStep, ...] | None = None
    reminders: tuple[str, ...] = ()
    adjustments: tuple[Adjustment, ...] = ()
    slots: AirSlots | None = None
    note: str = ""
    reminder_policy: tuple[tuple[str, object], ...] = ()  # overrides of the plan's reminder policy
    reports_to: str = ""  # a reporting row (reporting_section.py): to whom the host reports
    reports_through: str = ""  # and through whom, if anyone
    consolidated: bool = False  # the plan's consolidated report: the daemon drafts it for each occurrence
    report_cutoff: bool = False  # its periods follow the Nghị định 09/2019 cut-off
    duration: timedelta | None = None  # the nominal length a plan states ("15 ± 2 phút")
    duration_tolerance: timedelta | None = None  # how far short of it still conforms
    max_duration: timedelta | None = None  # longer than this does not conform
    match: Match | None = None  # how the outlet's records name it (production layer, issue 17)
    checks: tuple[Check, ...] = ()  # URLs a continuous obligation keeps up, checked daily


@dataclass(frozen=True)
class Plan:
    code: str
    title: str
    issuer: str
    period: Period
    timezone: str = "Asia/Ho_Chi_Minh"
    title_en: str = ""
    number: str = ""
    issued_on: date | None = None
    legal_basis: tuple[str, ...] = ()
    due_time: time = time(17, 0)
    agencies: tuple[Agency, ...] = ()
    topics: tuple[Named, ...] = ()
    audiences: tuple[Named, ...] = ()
    obligations: tuple[Obligation, ...] = ()
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)
    reminder_policy: tuple[tuple[str, object], ...] = ()
    source: str = ""
    channels: tuple[Channel, ...] = ()  # the plan's own channels, beside the built-in ones
    outlets: tuple[OutletHarvest, ...] = ()  # production layers' harvest sections (plan/harvest_settings.py)
    province: str = ""  # the province's code (``plan.province``): what a DHA user of that province sees

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def calendar(self) -> WorkCalendar:
        return WorkCalendar(self.extra_holidays, self.extra_workdays)

    def agency(self, code: str) -> Agency:
        return next(a for a in self.agencies if a.code == code)

    def obligation(self, code: str) -> Obligation:
        return next(o for o in self.obligations if o.code == code)
