"""What every command gets (settings, the moment ``now``, its two streams and
the database) and how a command is declared: its parser, and the function
it runs, side by side."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from scheduler.errors import N_, InputError
from scheduler.i18n import gettext_for
from scheduler.settings import Settings
from scheduler.store.database import Database, UnusableUrl

DEFAULT_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class Context:
    settings: Settings
    now: datetime
    out: TextIO
    err: TextIO
    now_given: bool = False

    @property
    def _(self):
        return gettext_for(self.settings.lang)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction on a database opened for it, then closed."""
        db = self.database()
        try:
            with db.transaction() as session:
                yield session
        finally:
            db.close()

    def database(self) -> Database:
        url = self.settings.masked_database_url()
        try:
            return Database(self.settings.database_url)
        except OperationalError as e:
            reason = str(e.orig or e).splitlines()[0]
            raise InputError(N_("cannot open the database {url}: {reason}"), url=url, reason=reason) from None
        except UnusableUrl as e:
            raise InputError(
                N_('DATABASE_URL {url}: this service opens SQLite and PostgreSQL databases, not "{kind}"')
                if e.unknown
                else N_(
                    "DATABASE_URL {url}: not a database address; expected sqlite:///PATH or "
                    "postgresql://USER:PASSWORD@HOST/NAME"
                ),
                url=url,
                kind=url.split(":", 1)[0],
            ) from None


Run = Callable[[Context, argparse.Namespace], None]


def command(
    sub: argparse._SubParsersAction, name: str, text: str | None = None, run: Run | None = None
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` starts with what it does; ``run`` is
    called with the context and the parsed arguments."""
    parser = sub.add_parser(name, help=text, description=text)
    if run is not None:
        parser.set_defaults(run=run)
    return parser
