"""``serve --workers N`` (N > 1): uvicorn's own supervisor runs N web
processes on PostgreSQL, and the jobs run in ONE place, the supervisor
process itself (the workers are ``--no-scheduler``). SQLite is refused: it
allows one writing process. Each worker's feed cache follows the database's
change counter (``store.feed_cache``), so a change made through one worker
is served by all within about a second."""

from __future__ import annotations

import json
import os

from scheduler.cli.context import DEFAULT_TZ, Context
from scheduler.errors import N_, InputError
from scheduler.settings import SETTINGS

MAX_WORKERS = 16
# uvicorn (0.30 and later) kills and replaces a worker that does not answer
# its supervisor's ping within ``timeout_worker_healthcheck`` (5 s by
# default), starting up included: on a busy machine (bench/workers.py, load
# average 10 on 2 cores) a new worker took longer than that to start, and
# every replacement was killed the same way, so no worker ever served.
WORKER_HEALTHCHECK_S = 60


def healthcheck_option() -> dict[str, int]:
    """``timeout_worker_healthcheck`` where this uvicorn has it."""
    import inspect

    from uvicorn import Config

    accepted = "timeout_worker_healthcheck" in inspect.signature(Config).parameters
    return {"timeout_worker_healthcheck": WORKER_HEALTHCHECK_S} if accepted else {}


def workers_count(text: str) -> int:
    """--workers: 1 to 16."""
    import argparse

    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"1..{MAX_WORKERS}")
    return n


def refuse_sqlite(ctx: Context) -> None:
    if ctx.settings.database_url.startswith("sqlite"):
        raise InputError(
            N_(
                "serve --workers needs PostgreSQL: SQLite allows one writing process "
                "(set DATABASE_URL to a PostgreSQL database, or serve with one worker)"
            )
        )


def hand_down(ctx: Context, args) -> None:
    """The parent's settings flags, zone and --now, for the workers'
    ``web.factory.app_from_environment`` (environment, not command line)."""
    from scheduler.web import factory

    flags = {s.name: str(v) for s in SETTINGS if (v := getattr(args, s.name, None)) not in (None, "")}
    os.environ[factory.FLAGS] = json.dumps(flags)
    os.environ[factory.ZONE] = DEFAULT_TZ.key
    if ctx.now_given:
        os.environ[factory.NOW] = ctx.now.isoformat()
    else:
        os.environ.pop(factory.NOW, None)


def run_workers(ctx: Context, args, config_options: dict, daemon) -> None:
    """The supervisor: the daemon here, N web workers under it; SIGTERM or
    SIGINT stops the workers, then the daemon."""
    from uvicorn import Config
    from uvicorn.supervisors import Multiprocess

    from scheduler.web.app import install_log_masks

    hand_down(ctx, args)
    config = Config(
        "scheduler.web.factory:app_from_environment",
        factory=True,
        workers=args.workers,
        **config_options,
        **healthcheck_option(),
    )
    install_log_masks()  # the parent's own log; each worker's app installs its own
    sock = config.bind_socket()  # the port is taken before the jobs start
    if daemon is not None:
        daemon.start()
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        if daemon is not None:
            daemon.stop()
