"""Users and subscriptions in the database, in the caller's transaction."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.errors import N_, InputError
from scheduler.people.accounts import FeedScope, check_lang, check_roles, normalize_email, token_digest
from scheduler.store.known_codes import check_codes
from scheduler.store.tables import ApiTokenRow, SubscriptionRow, UserRow


def _check_agency(session: Session, code: str | None) -> None:
    check_codes(session, agency=code)


def add_user(
    session: Session, email: str, roles: list[str], agency: str | None, name: str, lang: str, now: datetime
) -> UserRow:
    email = normalize_email(email)
    roles = check_roles(roles)
    _check_agency(session, agency)
    if "producer" in roles and not agency:
        raise InputError(N_("a producer records for one agency: give --agency"))
    if find_user(session, email):
        raise InputError(N_("{email} is already a user"), email=email)
    user = UserRow(
        email=email,
        name=name,
        roles=roles,
        agency_code=agency,
        lang=check_lang(lang),
        disabled=False,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, email: str) -> UserRow | None:
    return session.scalar(select(UserRow).where(UserRow.email == normalize_email(email)))


def list_users(session: Session) -> list[UserRow]:
    return list(session.scalars(select(UserRow).order_by(UserRow.email)))


def disable_user(session: Session, email: str, now: datetime) -> UserRow:
    user = find_user(session, email)
    if user is None:
        raise InputError(N_("no user {email}"), email=email)
    user.disabled, user.updated_at = True, now
    user.session_epoch = (user.session_epoch or 0) + 1  # every session ends at its next request
    return user


def update_user(
    session: Session, email: str, roles: list[str], agency: str | None, name: str, lang: str, now: datetime
) -> UserRow:
    """New roles, agency, name and language, checked as ``add_user`` checks
    them. A change of roles or agency ends every session of the user, so it
    takes effect at their next request."""
    user = find_user(session, email)
    if user is None:
        raise InputError(N_("no user {email}"), email=email)
    roles = check_roles(roles)
    _check_agency(session, agency)
    if "producer" in roles and not agency:
        raise InputError(N_("a producer records for one agency: give --agency"))
    lang = check_lang(lang)
    if list(user.roles) != roles or user.agency_code != (agency or None):
        user.session_epoch = (user.session_epoch or 0) + 1
    user.roles, user.agency_code, user.name, user.lang, user.updated_at = roles, agency or None, name, lang, now
    return user


def enable_user(session: Session, email: str, now: datetime) -> UserRow:
    """Undo ``disable_user``: they may sign in again, and their subscriptions
    that were not revoked serve again."""
    user = find_user(session, email)
    if user is None:
        raise InputError(N_("no user {email}"), email=email)
    user.disabled, user.updated_at = False, now
    return user


def subscribe(
    session: Session, email: str, scope: FeedScope, token: str, now: datetime, lang: str = "vi"
) -> SubscriptionRow:
    """A new subscription; an unknown address becomes an editor (reading ``lang``) first."""
    check_codes(session, agency=scope.agency, plan=scope.plan, obligation=scope.obligation)
    user = find_user(session, email) or add_user(session, email, ["editor"], None, "", lang, now)
    if user.disabled:
        raise InputError(N_("{email} is disabled"), email=user.email)
    row = SubscriptionRow(
        user_id=user.id,
        token_sha256=token_digest(token),
        export_name=secrets.token_hex(16),
        plan_code=scope.plan,
        agency_code=scope.agency,
        obligation_code=scope.obligation,
        channel=scope.channel,
        milestones=scope.milestones,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def list_subscriptions(session: Session) -> list[tuple[SubscriptionRow, UserRow]]:
    query = select(SubscriptionRow, UserRow).join(UserRow).order_by(SubscriptionRow.id)
    return [(s, u) for s, u in session.execute(query)]


def subscriptions_of(session: Session, user_id: int) -> list[SubscriptionRow]:
    """One person's subscriptions, newest first, revoked ones included."""
    return list(
        session.scalars(
            select(SubscriptionRow).where(SubscriptionRow.user_id == user_id).order_by(SubscriptionRow.id.desc())
        )
    )


def revoke(session: Session, subscription_id: int, now: datetime) -> SubscriptionRow:
    row = session.get(SubscriptionRow, subscription_id)
    if row is None:
        raise InputError(N_("no subscription {id}"), id=subscription_id)
    if row.revoked_at is None:
        row.revoked_at = now
    return row


def active_subscriptions(session: Session) -> list[tuple[SubscriptionRow, str]]:
    """Subscriptions that may be served, with their user's language."""
    query = (
        select(SubscriptionRow, UserRow.lang)
        .join(UserRow)
        .where(SubscriptionRow.revoked_at.is_(None), UserRow.disabled.is_(False))
    )
    return [(s, lang) for s, lang in session.execute(query)]


def scope_of(row: SubscriptionRow) -> FeedScope:
    return FeedScope(row.plan_code, row.agency_code, row.obligation_code, row.channel, row.milestones)


def create_token(session: Session, email: str, token: str, now: datetime) -> ApiTokenRow:
    user = find_user(session, email)
    if user is None:
        raise InputError(N_("no user {email}"), email=email)
    if user.disabled:
        raise InputError(N_("{email} is disabled"), email=user.email)
    row = ApiTokenRow(user_id=user.id, token_sha256=token_digest(token), created_at=now)
    session.add(row)
    session.flush()
    return row


def list_tokens(session: Session) -> list[tuple[ApiTokenRow, UserRow]]:
    return [(t, u) for t, u in session.execute(select(ApiTokenRow, UserRow).join(UserRow).order_by(ApiTokenRow.id))]


def revoke_token(session: Session, token_id: int, now: datetime) -> ApiTokenRow:
    row = session.get(ApiTokenRow, token_id)
    if row is None:
        raise InputError(N_("no token {id}"), id=token_id)
    if row.revoked_at is None:
        row.revoked_at = now
    return row


def user_by_token(session: Session, token: str) -> UserRow | None:
    """The active user a bearer token belongs to; None for unknown, revoked
    or disabled, which callers answer alike."""
    query = (
        select(UserRow)
        .join(ApiTokenRow)
        .where(
            ApiTokenRow.token_sha256 == token_digest(token),
            ApiTokenRow.revoked_at.is_(None),
            UserRow.disabled.is_(False),
        )
    )
    return session.scalar(query)
