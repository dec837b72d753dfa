"""The JSON API's administration of people: users, their API tokens and
their calendar subscriptions (admin only)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from scheduler.bounds import SHORT
from scheduler.people.accounts import FeedScope, check_channel, feed_urls, new_token
from scheduler.store import people
from scheduler.store.known_codes import all_channels
from scheduler.web.bearer import Who, admin
from scheduler.web.deps import ClockDep, DatabaseDep, SettingsDep
from scheduler.web.limits import ERRORS, Id, Text

Code = Text("code", SHORT)


class User(BaseModel):
    email: Text("email")
    roles: list[Code] = Field(max_length=8)
    agency: Code | None = None
    name: Text("name") = ""
    lang: Code = "vi"


class TokenRequest(BaseModel):
    email: Text("email")


class SubscriptionRequest(BaseModel):
    email: Text("email")
    plan: Code | None = None
    agency: Code | None = None
    obligation: Code | None = None
    channel: Code | None = None
    milestones: bool = True


router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)


@router.get("/users", summary="Users (admin)")
def users(actor: Who, db: DatabaseDep):
    admin(actor, "users")
    with db.transaction() as s:
        return [
            {
                "email": u.email,
                "name": u.name,
                "roles": u.roles,
                "agency": u.agency_code,
                "lang": u.lang,
                "disabled": u.disabled,
            }
            for u in people.list_users(s)
        ]


@router.post("/users", status_code=201, summary="Add a user (admin)")
def add_user(body: User, actor: Who, db: DatabaseDep, clock: ClockDep):
    admin(actor, "users")
    with db.transaction() as s:
        user = people.add_user(s, body.email, body.roles, body.agency, body.name, body.lang, clock.now())
        return JSONResponse({"email": user.email, "roles": user.roles}, status_code=201)


@router.post("/users/{email}/disable", summary="Disable a user at once (admin)")
def disable_user(email: str, actor: Who, db: DatabaseDep, clock: ClockDep):
    admin(actor, "users")
    with db.transaction() as s:
        user = people.disable_user(s, email, clock.now())
        return {"email": user.email, "disabled": True}


@router.get("/tokens", summary="API tokens (admin)")
def tokens(actor: Who, db: DatabaseDep):
    admin(actor, "tokens")
    with db.transaction() as s:
        return [
            {"id": t.id, "email": u.email, "created_at": t.created_at.isoformat(), "revoked": t.revoked_at is not None}
            for t, u in people.list_tokens(s)
        ]


@router.post("/tokens", status_code=201, summary="Create an API token; shown once (admin)")
def create_token(body: TokenRequest, actor: Who, db: DatabaseDep, clock: ClockDep):
    admin(actor, "tokens")
    token = "mps_" + new_token()
    with db.transaction() as s:
        row = people.create_token(s, body.email, token, clock.now())
        return JSONResponse({"id": row.id, "token": token}, status_code=201)


@router.post("/tokens/{token_id}/revoke", summary="Revoke an API token (admin)")
def revoke_token(token_id: Id, actor: Who, db: DatabaseDep, clock: ClockDep):
    admin(actor, "tokens")
    with db.transaction() as s:
        people.revoke_token(s, token_id, clock.now())
    return {"id": token_id, "revoked": True}


@router.get("/subscriptions", summary="Calendar subscriptions (admin)")
def subscriptions(actor: Who, db: DatabaseDep):
    admin(actor, "subscriptions")
    with db.transaction() as s:
        return [
            {
                "id": sub.id,
                "email": u.email,
                "plan": sub.plan_code,
                "agency": sub.agency_code,
                "obligation": sub.obligation_code,
                "channel": sub.channel,
                "milestones": sub.milestones,
                "revoked": sub.revoked_at is not None,
            }
            for sub, u in people.list_subscriptions(s)
        ]


@router.post("/subscriptions", status_code=201, summary="Create a calendar subscription; URL shown once (admin)")
def subscribe(body: SubscriptionRequest, actor: Who, db: DatabaseDep, clock: ClockDep, settings: SettingsDep):
    admin(actor, "subscriptions")
    scope = FeedScope(body.plan, body.agency, body.obligation, body.channel, body.milestones)
    token = new_token()
    with db.transaction() as s:
        check_channel(body.channel, all_channels(s))
        row = people.subscribe(s, body.email, scope, token, clock.now(), settings.lang)
        https, webcal = feed_urls(settings.base_url, token)
        return JSONResponse({"id": row.id, "https": https, "webcal": webcal}, status_code=201)


@router.post("/subscriptions/{subscription_id}/revoke", summary="Revoke a calendar subscription (admin)")
def revoke_subscription(subscription_id: Id, actor: Who, db: DatabaseDep, clock: ClockDep):
    admin(actor, "subscriptions")
    with db.transaction() as s:
        people.revoke(s, subscription_id, clock.now())
    return {"id": subscription_id, "revoked": True}
