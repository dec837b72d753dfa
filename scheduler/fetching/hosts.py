"""One request per host at a time in this process, with a pause between two
requests to the same host: an outlet's small web server is never hammered,
whatever number of its feeds and pages are due together. Across processes
the lease on the host (``store/harvest_leases.py``) does the same."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from scheduler.clock import elapsed
from scheduler.errors import N_
from scheduler.harvest.proposals import FetchFailed


class Hosts:
    """A lock and the moment of the last request (monotonic seconds), per host."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}

    def _lock(self, host: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())

    @contextmanager
    def turn(self, host: str, pause: float, stop: threading.Event | None = None) -> Iterator[None]:
        """Wait for the host to be free and ``pause`` seconds after its last
        request (a stop of the daemon ends the wait), then hold it while the
        request runs."""
        with self._lock(host):
            last = self._last.get(host)
            if last is not None:
                wait = last + pause - elapsed()
                if wait > 0 and (stop or threading.Event()).wait(wait):
                    raise FetchFailed(N_("{host}: not fetched, the service is stopping"), host=host)
            try:
                yield
            finally:
                self._last[host] = elapsed()


HOSTS = Hosts()  # the process's one
