"""SQLAlchemy tables. Alembic migrations in ``migrations/`` create them; a
test checks that the two agree."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.store.harvest_tables import (  # noqa: F401  (one place to import every table from)
    HarvestFetchRow,
    HarvestHostRow,
    HarvestSourceRow,
    ProposalRow,
)
from scheduler.store.notifier_tables import (  # noqa: F401  (one place to import every table from)
    GroupChatRow,
    LinkCodeRow,
    NotifierChoiceRow,
    NotifierLinkRow,
    ProviderSecretRow,
    WebhookRow,
    ZaloFollowerRow,
)
from scheduler.store.people_tables import (  # noqa: F401  (one place to import every table from)
    ApiTokenRow,
    PasswordTokenRow,
    SessionRow,
    SignInFailureRow,
    SubscriptionRow,
    UserRow,
)
from scheduler.store.table_types import Base, UTCDateTime


class PlanRow(Base):
    __tablename__ = "plans"
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text, default="")
    issuer: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The province the plan belongs to (its code, as ``plan.province`` says;
    # "" when the file names none): what a DHA user of that province sees.
    province: Mapped[str] = mapped_column(String(100), default="", server_default="")


class AgencyRow(Base):
    __tablename__ = "agencies"
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"), primary_key=True)
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(32))
    contacts: Mapped[list] = mapped_column(JSON)


class RegistryAgencyRow(Base):
    """The one registry of agencies, shared by code across plans: the current
    name and kind, the province, and the day it ceased to exist. A plan's own
    ``agencies`` rows keep the name as that plan wrote it and its contacts."""

    __tablename__ = "registry_agencies"
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(32))
    province: Mapped[str] = mapped_column(String(100), default="", server_default="")
    dissolved_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SuccessionRow(Base):
    """An agency renamed, merged into another or dissolved on a day (the 2025
    reorganisation). Appended, never edited: history keeps the old names."""

    __tablename__ = "successions"
    __table_args__ = (Index("ix_successions_agency", "agency_code", "effective_on"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # rename, merge, dissolve
    agency_code: Mapped[str] = mapped_column(String(100))
    successor: Mapped[str] = mapped_column(String(100), default="")  # "" for a rename, or a dissolve that cancels
    effective_on: Mapped[date] = mapped_column(Date)
    old_name: Mapped[str] = mapped_column(Text, default="")
    old_name_en: Mapped[str] = mapped_column(Text, default="")
    new_name: Mapped[str] = mapped_column(Text, default="")
    new_name_en: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")  # the command, or the file and line it came from
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(320))


class AgencyMemberRow(Base):
    """A group's members, one row each: a table rather than a JSON list so
    that "the group's occurrences" is one SQL subquery on every database."""

    __tablename__ = "agency_members"
    __table_args__ = (Index("ix_agency_members_member", "plan_code", "member_code"),)
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"), primary_key=True)
    group_code: Mapped[str] = mapped_column(String(100), primary_key=True)
    member_code: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class ObligationRow(Base):
    __tablename__ = "obligations"
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"), primary_key=True)
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text, default="")
    host: Mapped[str] = mapped_column(String(100))
    cadence: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class OccurrenceRow(Base):
    __tablename__ = "occurrences"
    __table_args__ = (
        UniqueConstraint("plan_code", "obligation_code", "member", "period", "number", name="uq_occurrence_key"),
        Index("ix_occurrences_plan_due", "plan_code", "due"),
        # A report's window filter: the country (no plan) and a list of plans (migration 0011).
        Index("ix_occurrences_window_end", "window_end"),
        Index("ix_occurrences_plan_window_end", "plan_code", "window_end"),
    )
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"))
    obligation_code: Mapped[str] = mapped_column(String(100))
    agency_code: Mapped[str] = mapped_column(String(100))
    # The member of a group-hosted obligation it was created for ("" for any
    # other host): part of its key and id, never recomputed from agency_code.
    member: Mapped[str] = mapped_column(String(100), default="", server_default="")
    period: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text, default="")
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    due: Mapped[datetime] = mapped_column(UTCDateTime)
    slot: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    revision: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    shown: Mapped[dict] = mapped_column(JSON)
    # What the ledger makes of it (state, moment, entry): kept apart from
    # ``shown``, which only the schedule changes, so a reload never undoes it.
    delivery: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The agency that owed it before a succession moved it to agency_code ("" if never moved).
    moved_from: Mapped[str] = mapped_column(String(100), default="", server_default="")


class OccurrenceExceptionRow(Base):
    """One occurrence moved or skipped from the web, with its reason: an
    exception of a production layer kept in the database. A later load whose
    files change the same occurrence overrides it (and says so)."""

    __tablename__ = "occurrence_exceptions"
    __table_args__ = (Index("ix_occurrence_exceptions_occurrence", "occurrence_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"))
    occurrence_id: Mapped[str] = mapped_column(ForeignKey("occurrences.id"))
    action: Mapped[str] = mapped_column(String(16))  # move, skip
    slot: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)
    made_by: Mapped[str] = mapped_column(String(320))
    overridden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    overridden_by: Mapped[str] = mapped_column(Text, default="")  # the load's source that won


class ClosedPeriodRow(Base):
    """A period the DHA closed: the ledger entry that closed it, the signed
    checkpoint of that moment, and the report files as they stood (by SHA-256
    in the file store), served from then on."""

    __tablename__ = "closed_periods"
    __table_args__ = (UniqueConstraint("province", "label", "cutoff", name="uq_closed_period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    province: Mapped[str] = mapped_column(String(100), default="")  # "" : every plan
    label: Mapped[str] = mapped_column(String(64))  # "2024-Q1", as report periods are named
    cutoff: Mapped[bool] = mapped_column(Boolean, default=False)  # the Nghị định 09/2019 cut-off
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    plans: Mapped[list] = mapped_column(JSON)  # the plan codes the closing covers
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_by: Mapped[str] = mapped_column(String(320))
    ledger_seq: Mapped[int] = mapped_column(Integer)
    checkpoint: Mapped[str] = mapped_column(Text)
    files: Mapped[dict] = mapped_column(JSON)  # {plan or "*": {fmt: sha256}} ("*": the consolidated report)


class MilestoneRow(Base):
    __tablename__ = "milestones"
    occurrence_id: Mapped[str] = mapped_column(ForeignKey("occurrences.id"), primary_key=True)
    step: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text, default="")
    day: Mapped[date] = mapped_column(Date, index=True)
    offset: Mapped[int] = mapped_column(Integer)


class LoadRow(Base):
    """One line per plan per load: who can later see when the schedule changed."""

    __tablename__ = "loads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    created: Mapped[int] = mapped_column(Integer)
    revised: Mapped[int] = mapped_column(Integer)
    cancelled: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)


class FeedItemRow(Base):
    """One calendar item (an occurrence or one of its milestones), serialized
    once per revision and language so that feeds are concatenations."""

    __tablename__ = "feed_items"
    __table_args__ = (Index("ix_feed_items_change", "change"),)
    uid: Mapped[str] = mapped_column(String(320), primary_key=True)
    occurrence_id: Mapped[str] = mapped_column(ForeignKey("occurrences.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    plan_code: Mapped[str] = mapped_column(String(100))
    agency_code: Mapped[str] = mapped_column(String(100))
    obligation_code: Mapped[str] = mapped_column(String(100))
    channels: Mapped[str] = mapped_column(String(200))  # " radio tv " so LIKE '% tv %' finds one
    sort_key: Mapped[str] = mapped_column(String(400))
    revision: Mapped[int] = mapped_column(Integer)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime)
    ical_vi: Mapped[bytes] = mapped_column(LargeBinary)
    ical_en: Mapped[bytes] = mapped_column(LargeBinary)
    digest_vi: Mapped[str] = mapped_column(String(64))
    digest_en: Mapped[str] = mapped_column(String(64))
    base_url: Mapped[str] = mapped_column(Text)
    change: Mapped[int] = mapped_column(Integer)


class CounterRow(Base):
    """Named counters; ``feed_change`` numbers every write to feed_items, so a
    process can fetch only what changed since it last looked."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class LedgerRow(Base):
    """The evidence ledger: append-only, each entry's hash covering its whole
    canonical content (kept verbatim) and the previous entry's hash. On
    PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "ledger"
    __table_args__ = (
        # The statuses' read of the ledger from the index alone, and the
        # supersession anti-join on the few corrections (migration 0011).
        Index(
            "ix_ledger_status",
            "occurrence_id",
            "recorded_at",
            "kind",
            "conforming",
            "late",
            "extra",
            "supersedes",
            "seq",
        ),
        Index(
            "ix_ledger_supersedes",
            "supersedes",
            sqlite_where=text("supersedes IS NOT NULL"),
            postgresql_where=text("supersedes IS NOT NULL"),
        ),
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurrence_id: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(320))
    supersedes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    content: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # A projection of the content for compliance queries (verify checks it
    # agrees with the content, which the hash covers).
    moment: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    conforming: Mapped[bool] = mapped_column(Boolean, default=False)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    extra: Mapped[bool] = mapped_column(Boolean, default=False)


class EvidenceFileRow(Base):
    """A stored evidence file, by content; names live in ledger entries."""

    __tablename__ = "evidence_files"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(200))
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxRow(Base):
    """Every message before it is sent: claimed with a lease, sent, marked.
    A row left 'sending' by a crash is in doubt and is sent once more with
    the same Message-ID."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "send_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(700), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    about: Mapped[str] = mapped_column(String(400), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    cc: Mapped[list] = mapped_column(JSON)
    lang: Mapped[str] = mapped_column(String(8))
    context: Mapped[dict] = mapped_column(JSON)
    announces: Mapped[datetime] = mapped_column(UTCDateTime)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))  # pending, sending, sent, failed, cancelled, expired
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message_id: Mapped[str] = mapped_column(String(200))
    last_error: Mapped[str] = mapped_column(Text, default="")
    refused: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    mime: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # built once, Date stamped when sent
    # reminders.outbox.CHANNELS
    channel: Mapped[str] = mapped_column(String(16), default="email", server_default="email")
