"""``harvest run``: one pass of the daemon's harvest job now (or at
``--now``), printing each source read. ``register_run`` adds ``run`` to the
``harvest`` group; ``register`` makes the group itself when no other module
does (``cli/harvest.py`` calls ``register_run`` once it exists)."""

from __future__ import annotations

import argparse

from scheduler.cli.context import DEFAULT_TZ, Context, command
from scheduler.errors import N_, InputError

KINDS = ("feed", "sitemap", "playout", "check")
LABELS = {"feed": N_("feed"), "sitemap": N_("sitemap"), "playout": N_("playout API"), "check": N_("page check")}


def register_run(actions: argparse._SubParsersAction, _) -> None:
    run = command(
        actions,
        "run",
        _("read the due feeds, sitemaps, playout APIs and checked pages once, now"),
        lambda ctx, a: harvest_run(ctx, a.only),
    )
    run.add_argument(
        "--only", metavar="KINDS", help=_("only these kinds, comma-separated: feed, sitemap, playout, check")
    )


def kinds_of(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    found = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in found if k not in KINDS]
    if unknown or not found:
        raise InputError(
            N_('--only: unknown kind "{value}" (known: {allowed})'),
            value=unknown[0] if unknown else text,
            allowed=", ".join(KINDS),
        )
    return found


def harvest_run(ctx: Context, only: str | None) -> None:
    from scheduler.clock import Clock
    from scheduler.daemon.harvest_jobs import harvest
    from scheduler.daemon.jobs import runtime

    _ = ctx._
    kinds = kinds_of(only)
    db = ctx.database()
    try:
        rt = runtime(ctx.settings, db, Clock(DEFAULT_TZ, ctx.now if ctx.now_given else None))
        seen: list[dict] = []
        harvest(rt, kinds, seen=seen)
        for line in seen:
            if line["outcome"] == "failed":
                what = _("failed: {error}").format(error=line["error"])
            elif line["outcome"] == "unchanged":
                what = _("unchanged since the last read")
            else:
                what = _("read, {count} new proposals").format(count=line["found"])
            ctx.out.write(f"{_(LABELS.get(line['kind'], line['kind']))} {line['url']}: {what}\n")
        if not seen:
            ctx.out.write(_("nothing to read now") + "\n")
    finally:
        db.close()
