"""``agencies rename|merge|dissolve|apply``: the 2025 reorganisation, one
succession per command or a list file of thousands, each one transaction
(``store.succession``). ``register_succession`` adds them to the
``agencies`` group."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from sqlalchemy import select

from scheduler.cli.context import Context, command
from scheduler.documents import read_document
from scheduler.errors import N_, InputError, SchedulerError
from scheduler.people.accounts import normalize_email
from scheduler.plan.periods import parse_date
from scheduler.plan.production import read_texts
from scheduler.plan.rolling import roll
from scheduler.plan.succession import DISSOLVE, MERGE, RENAME, Succession, renames_at
from scheduler.plan.succession_file import read_list
from scheduler.store.recording import actor_by_email
from scheduler.store.succession import Applied, apply_successions, recorded
from scheduler.store.tables import RegistryAgencyRow


def register_succession(actions: argparse._SubParsersAction, _) -> None:
    rename = command(actions, "rename", _("rename an agency from a day on"), lambda ctx, a: rename_(ctx, a))
    rename.add_argument("code")
    rename.add_argument("--name", required=True)
    rename.add_argument("--name-en", default="")
    merge = command(actions, "merge", _("merge agencies into one from a day on; what they still owe moves"), merge_)
    merge.add_argument("old", nargs="+", metavar="OLD")
    merge.add_argument("--into", required=True, metavar="NEW")
    merge.add_argument("--name", default="", help=_("the new agency's name, when it is new"))
    merge.add_argument("--name-en", default="")
    merge.add_argument("--reason", default="")
    dissolve = command(
        actions, "dissolve", _("dissolve an agency: a successor takes what it owes, or it is cancelled"), dissolve_
    )
    dissolve.add_argument("code")
    choice = dissolve.add_mutually_exclusive_group(required=True)
    choice.add_argument("--successor", metavar="CODE")
    choice.add_argument("--cancel-reason", metavar="TEXT")
    apply = command(actions, "apply", _("record a list file of successions (CSV or YAML), all or nothing"), apply_)
    apply.add_argument("file", type=Path)
    for parser in (rename, merge, dissolve):
        parser.add_argument("--on", required=True, metavar="DATE", help=_("dd/mm/yyyy or yyyy-mm-dd"))
    for parser in (rename, merge, dissolve, apply):
        parser.add_argument("--by", required=True, metavar="EMAIL")


def _on(text: str) -> date:
    try:
        return parse_date(text)
    except SchedulerError:
        raise InputError(N_('--on: expected a date as dd/mm/yyyy or yyyy-mm-dd, got "{value}"'), value=text) from None


def _record(ctx: Context, successions: list[Succession], by: str) -> None:
    by = normalize_email(by)
    with ctx.session() as session:
        actor = actor_by_email(session, by)
        if actor.disabled or not {"admin", "dha"} & set(actor.roles):
            raise InputError(N_("{email} may not reorganise agencies: it takes the admin or dha role"), email=by)
        done = apply_successions(session, successions, by, ctx.now, ctx.settings)
    report_applied(ctx, done)


def report_applied(ctx: Context, done: Applied) -> None:
    _ = ctx._
    ctx.out.write(
        _(
            "{recorded} succession(s) recorded ({already} already recorded); {moved} occurrence(s) moved, "
            "{cancelled} cancelled; {users} user(s) and {subscriptions} feed(s) follow; {notices} notice(s) queued"
        ).format(
            recorded=len(done.recorded),
            already=done.already,
            moved=done.moved,
            cancelled=done.cancelled,
            users=done.users,
            subscriptions=done.subscriptions,
            notices=done.notices,
        )
        + "\n"
    )
    if done.closed:
        ctx.out.write(
            _("{closed} occurrence(s) of a closed period (kỳ đã chốt) left with the old agency").format(
                closed=done.closed
            )
            + "\n"
        )


def rename_(ctx: Context, a: argparse.Namespace) -> None:
    _record(ctx, [Succession(RENAME, a.code, _on(a.on), "", a.name, a.name_en, "", "agencies rename")], a.by)


def merge_(ctx: Context, a: argparse.Namespace) -> None:
    on = _on(a.on)
    found = [Succession(MERGE, old, on, a.into, a.name, a.name_en, a.reason, "agencies merge") for old in a.old]
    _record(ctx, found, a.by)


def dissolve_(ctx: Context, a: argparse.Namespace) -> None:
    s = Succession(DISSOLVE, a.code, _on(a.on), a.successor or "", "", "", a.cancel_reason or "", "agencies dissolve")
    _record(ctx, [s], a.by)


def apply_(ctx: Context, a: argparse.Namespace) -> None:
    _record(ctx, read_list(str(a.file), read_document(a.file)), a.by)


def successors_for_roll(
    ctx: Context, text: str, source: str, year: int, pairs: dict[str, str], titles: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """``plan roll``'s renames, completed from the recorded successions: each
    host that has merged or been dissolved by the new plan's start is replaced
    by its successor (named from the registry), and each replacement is said."""
    first = roll(text, source, year, pairs, titles)
    plan = read_texts([(source, first.text)]).plans
    if not plan:
        return pairs, titles  # a production layer: its owner follows --rename
    with ctx.session() as session:
        every = recorded(session)
        registry = {r.code: r for r in session.scalars(select(RegistryAgencyRow))}
    start = plan[0].period.start
    original = {a.code for a in plan[0].agencies} - set(pairs.values()) | set(pairs)
    codes = [c for c in sorted(original) if c not in pairs]
    replaced = renames_at(codes, start, every)
    pairs, titles = dict(pairs), dict(titles)
    for old, new in sorted(replaced.items()):
        if new is None:
            ctx.err.write(
                ctx._("note: {old} was dissolved before {day} without a successor: give its obligations a host").format(
                    old=old, day=start.strftime("%d/%m/%Y")
                )
                + "\n"
            )
            continue
        pairs[old] = new
        if new not in original and new in registry and new not in titles:
            titles[new] = registry[new].name
        ctx.err.write(ctx._("note: replaced {old} by its successor {new}").format(old=old, new=new) + "\n")
    return pairs, titles
