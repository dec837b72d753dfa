"""Who calls the JSON API: the user of the ``Authorization: Bearer`` token
(``Who``), in whose language errors answer from then on, and the check that
they may administer."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scheduler.errors import N_, SchedulerError
from scheduler.people.permissions import Actor, may_admin
from scheduler.store import people
from scheduler.store.recording import actor_of, refuse
from scheduler.web.deps import DatabaseDep


class Unauthenticated(SchedulerError):
    status = 401


bearer = HTTPBearer(auto_error=False, description="A token from `python main.py tokens create --user EMAIL`")


def current(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)], db: DatabaseDep
) -> Actor:
    """The token's user; errors and messages from here on in their language."""
    if credentials is None:
        raise Unauthenticated(N_("send Authorization: Bearer TOKEN"))
    with db.transaction() as s:
        user = people.user_by_token(s, credentials.credentials)
        if user is None:
            raise Unauthenticated(N_("this token is unknown, revoked, or its user is disabled"))
        request.state.lang = user.lang
        return actor_of(user)


Who = Annotated[Actor, Depends(current)]


def admin(actor: Actor, what: str) -> None:
    decision = may_admin(actor)
    if not decision:
        raise refuse(actor, "administer", what, decision)
