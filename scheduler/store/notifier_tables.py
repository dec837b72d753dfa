"""The notifier tables (issue 19): where a person is reached besides email,
which channels each kind of message goes to, one-time link codes, a team's
group chat, webhook endpoints, and the providers' rotating secrets.
``tables`` re-exports them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.store.table_types import Base, UTCDateTime


class NotifierLinkRow(Base):
    """A person's address on a chat channel: a Telegram chat id, a Zalo
    follower id. One per (person, channel); ``state`` 'blocked' once the
    provider says the person can no longer be reached (shown to admins)."""

    __tablename__ = "notifier_links"
    __table_args__ = (UniqueConstraint("user_id", "channel"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16))  # telegram, zalo
    address: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(Text, default="")  # what the provider calls them (@username, display name)
    state: Mapped[str] = mapped_column(String(16), default="active")  # active, blocked
    last_error: Mapped[str] = mapped_column(Text, default="")
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    linked_by: Mapped[str] = mapped_column(String(320), default="")  # the person, or the admin who set it
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GroupChatRow(Base):
    """A team's group chat (a Telegram group the bot is in) that gets an
    agency's shared reminders."""

    __tablename__ = "group_chats"
    __table_args__ = (UniqueConstraint("channel", "address"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency_code: Mapped[str] = mapped_column(String(100), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(Text, default="")
    kinds: Mapped[list] = mapped_column(JSON)  # preference groups it gets (reminders.outbox.PREFERENCES)
    state: Mapped[str] = mapped_column(String(16), default="active")
    last_error: Mapped[str] = mapped_column(Text, default="")
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    linked_by: Mapped[str] = mapped_column(String(320), default="")


class LinkCodeRow(Base):
    """A one-time code that links a chat: ``/start CODE`` to the bot, or the
    code sent to the Zalo OA. Only its SHA-256 is kept; a person's code
    names the person, a group's code names the agency."""

    __tablename__ = "link_codes"
    code_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    agency_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class NotifierChoiceRow(Base):
    """Which channels one kind of message goes to, for one person. No row:
    email only (the default)."""

    __tablename__ = "notifier_choices"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # reminders.outbox.PREFERENCES
    channels: Mapped[list] = mapped_column(JSON)


class WebhookRow(Base):
    """An endpoint that receives signed events. Its signing secret is kept
    sealed (``scheduler.sealing``), never in clear."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list] = mapped_column(JSON)
    secret_sealed: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ProviderSecretRow(Base):
    """A provider's secret that must be stored because it rotates (the Zalo
    OA's refresh and access tokens): sealed, with when it expires."""

    __tablename__ = "provider_secrets"
    __table_args__ = (Index("ix_provider_secrets_expiry", "expires_at"),)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ZaloFollowerRow(Base):
    """A Zalo follower as the OA's webhook last told us: when they last
    wrote (the consultation window runs from it) and whether they follow."""

    __tablename__ = "zalo_followers"
    address: Mapped[str] = mapped_column(String(100), primary_key=True)  # the follower's id for our OA
    following: Mapped[bool] = mapped_column(Boolean, default=True)
    last_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
