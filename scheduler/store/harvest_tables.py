"""The harvest's tables (issue 17): proposals awaiting a person, the URLs and
APIs the daemon reads (with their host's lease), and every fetch or check
kept as history. Re-exported by ``tables.py``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.store.table_types import Base, UTCDateTime


class ProposalRow(Base):
    """What an outlet's records say about an occurrence (``harvest/proposals.py``).
    Never deleted: a decision is kept with who made it and the ledger entry it gave."""

    __tablename__ = "proposals"
    __table_args__ = (
        Index("ix_proposals_open", "state", "outlet"),
        Index("ix_proposals_occurrence", "occurrence_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # harvest.proposals.proposal_key
    kind: Mapped[str] = mapped_column(String(40))  # harvest.proposals.KINDS
    outlet: Mapped[str] = mapped_column(String(100))
    plan_code: Mapped[str] = mapped_column(String(100))
    obligation_code: Mapped[str] = mapped_column(String(100))
    occurrence_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    evidence: Mapped[dict] = mapped_column(JSON)
    source: Mapped[dict] = mapped_column(JSON)
    detail: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16))  # harvest.proposals.STATES
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str] = mapped_column(String(320), default="")
    reason: Mapped[str] = mapped_column(Text, default="")  # why rejected
    ledger_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the entry a confirmation made


class HarvestSourceRow(Base):
    """One thing the daemon reads: a feed, a sitemap, a playout API, a page to
    check. Written on load from the production files (``store/harvest_sources.py``);
    a source no longer named is kept inactive, with its history."""

    __tablename__ = "harvest_sources"
    __table_args__ = (Index("ix_harvest_sources_due", "active", "next_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # feed, sitemap, playout, check
    url: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(255))  # lower-case host[:port]: the unit of the lease
    outlet: Mapped[str] = mapped_column(String(100))
    plan_code: Mapped[str] = mapped_column(String(100))
    obligation_code: Mapped[str] = mapped_column(String(100), default="")  # checks: the obligation kept up
    config: Mapped[dict] = mapped_column(JSON)  # checks: expect_link, expect_text; playout: the layout
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)  # due from this moment
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    etag: Mapped[str] = mapped_column(Text, default="")
    last_modified: Mapped[str] = mapped_column(Text, default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row


class HarvestHostRow(Base):
    """The lease on a host: one worker fetches from it at a time, so two
    workers never fetch the same thing twice and a host gets one request at
    a time, with a pause."""

    __tablename__ = "harvest_hosts"
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_request_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class HarvestFetchRow(Base):
    """Every fetch and check, kept: a portal check's history is the evidence
    of its quarter's attestation; a failed fetch says why."""

    __tablename__ = "harvest_fetches"
    __table_args__ = (Index("ix_harvest_fetches_source", "source_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("harvest_sources.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # HTTP status; None: no answer
    error: Mapped[str] = mapped_column(Text, default="")  # why not ok, for people
    sha256: Mapped[str] = mapped_column(String(64), default="")  # the body, when kept in the evidence store
    size: Mapped[int] = mapped_column(Integer, default=0)
    found: Mapped[int] = mapped_column(Integer, default=0)  # proposals it made
    detail: Mapped[dict] = mapped_column(JSON)  # checks: link_found, text_found, final_url
