"""``agencies``: the one registry of agencies shared by code across plans
(``list``) and its changes over time (rename, merge, dissolve, apply: in
``cli/reorganisation.py``)."""

from __future__ import annotations

import argparse
from datetime import date

from scheduler.cli.context import Context, command
from scheduler.cli.listing import day, table, to_json
from scheduler.cli.reorganisation import register_succession
from scheduler.errors import N_, InputError
from scheduler.i18n import pick
from scheduler.store.registry import backfill, listing, provinces


def register(sub: argparse._SubParsersAction, _) -> argparse._SubParsersAction:
    """The ``agencies`` group and its actions; returns the group's actions
    so that another module's ``register`` may add its own to them."""
    group = command(sub, "agencies", _("the registry of agencies shared by every plan"))
    actions = group.add_subparsers(dest="agencies_command", required=True, metavar="ACTION")
    list_ = command(
        actions,
        "list",
        _("list the registry: each agency's current name, kind, province and the plans that name it"),
        lambda ctx, a: agencies_list(ctx, a.province, a.format),
    )
    list_.add_argument("--province", metavar="CODE", help=_("only the agencies of this province"))
    list_.add_argument("--format", choices=("table", "json"), default="table")
    register_succession(actions, _)
    return actions


def agencies_list(ctx: Context, province: str | None, fmt: str) -> None:
    """The registry as it stands (a database loaded before the registry
    existed is registered first, as its next load would)."""
    _ = ctx._
    with ctx.session() as s:
        backfill(s, ctx.now)
        if province and province not in provinces(s):
            raise InputError(
                N_('--province: no agency or plan of province "{value}" is loaded (known: {allowed})'),
                value=province,
                allowed=", ".join(provinces(s)) or "-",
            )
        records = listing(s, province)
    if fmt == "json":
        ctx.out.write(to_json(records))
        return
    rows = [
        [
            r["code"],
            pick(ctx.settings.lang, r["name"], r["name_en"]),
            r["kind"],
            r["province"] or "—",
            ", ".join(r["plans"]) or "—",
            day(date.fromisoformat(r["dissolved_on"])) if r["dissolved_on"] else "—",
        ]
        for r in records
    ]
    headers = [_("Code"), _("Agency"), _("Kind"), _("Province"), _("Plans"), _("Dissolved on")]
    ctx.out.write(table(headers, rows))
