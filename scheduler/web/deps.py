"""What a web handler needs, the FastAPI way: declared as a parameter, never
closed over. ``create_app`` builds the services once and keeps them on
``app.state.services``; each dependency reaches them from the request.

How a handler gets each thing (a parameter with one of these types)::

    settings: SettingsDep        db: DatabaseDep        clock: ClockDep
    store: StoreDep (evidence)   sessions: SessionsDep  views: ViewsDep
    feeds: FeedCacheDep          services: ServicesDep  (all of them, and the daemon)
    user: Annotated[SessionUser, Depends(signed_in("admin"))]       # a page for admins
    user: Person                                                     # any signed-in person
    posted: Annotated[Posted, Depends(form_post("admin", back="/admin/users/{user_id}"))]
    user, form = posted                                              # a form POST, CSRF checked

``signed_in`` gives the person or ends the request with the answer
``Views.gate`` gives: to sign-in, or the 403 page. ``form_post`` gives the
person and the form once the role, then the CSRF token and the form's bounds
hold (``Views.form_post``): the role is checked before the body is read.
``back`` is the page a refused request returns to (never a POST's own path);
it may name the path's values, as ``{user_id}``.

There is no database-session dependency on purpose: handlers open
``db.transaction()`` where they do today, so a refusal raised at commit is
still theirs to answer and a page renders after the commit; and they read
``clock.now()`` where they do today (a delivery's moment comes after its
upload, not before). A sync handler runs in the threadpool, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple

from fastapi import Depends, Request
from fastapi.responses import Response

from scheduler.clock import Clock
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.feed_cache import FeedCache
from scheduler.store.files import EvidenceStore
from scheduler.web.auth import Sessions, SessionUser
from scheduler.web.views import Views


@dataclass(frozen=True)
class Services:
    """Everything the app holds for the length of its life, made once by ``create_app``."""

    settings: Settings
    db: Database
    clock: Clock
    store: EvidenceStore
    sessions: Sessions
    feeds: FeedCache
    views: Views
    daemon: Any = None  # the reminder daemon when the app runs it (``daemon.runner``), else None


class Answer(Exception):
    """Ends a request with this response (sign in, not allowed, the form
    expired); ``create_app`` sends it as it is."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


async def answer(_request: Request, exc: Answer) -> Response:
    return exc.response


async def services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(services)]


async def settings(s: ServicesDep) -> Settings:
    return s.settings


async def database(s: ServicesDep) -> Database:
    return s.db


async def clock(s: ServicesDep) -> Clock:
    return s.clock


async def evidence_store(s: ServicesDep) -> EvidenceStore:
    return s.store


async def sessions(s: ServicesDep) -> Sessions:
    return s.sessions


async def views(s: ServicesDep) -> Views:
    return s.views


async def feed_cache(s: ServicesDep) -> FeedCache:
    return s.feeds


SettingsDep = Annotated[Settings, Depends(settings)]
DatabaseDep = Annotated[Database, Depends(database)]
ClockDep = Annotated[Clock, Depends(clock)]
StoreDep = Annotated[EvidenceStore, Depends(evidence_store)]
SessionsDep = Annotated[Sessions, Depends(sessions)]
ViewsDep = Annotated[Views, Depends(views)]
FeedCacheDep = Annotated[FeedCache, Depends(feed_cache)]


def _back(request: Request, back: str | None) -> str | None:
    return back.format(**request.path_params) if back else back


def signed_in(*roles: str, back: str | None = None):
    """The signed-in person holding one of ``roles`` (any role when none
    are named); otherwise the request ends with sign-in or the 403 page.
    Sync, so the session's database read runs in the threadpool."""

    def gate(request: Request, views: ViewsDep) -> SessionUser:
        found = views.gate(request, roles, _back(request, back))
        if isinstance(found, Response):
            raise Answer(found)
        return found

    return gate


class Posted(NamedTuple):
    user: SessionUser
    form: Any  # starlette's FormData


def form_post(*roles: str, back: str | None = None):
    """A form POST's sender and form (``Posted``): the role checked before
    the body is read, then the CSRF token and the bounds of every field."""

    async def posted(request: Request, views: ViewsDep) -> Posted:
        found = await views.form_post(request, roles, _back(request, back))
        if isinstance(found, Response):
            raise Answer(found)
        return Posted(*found)

    return posted


Person = Annotated[SessionUser, Depends(signed_in())]  # any signed-in person
