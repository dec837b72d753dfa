"""``deliver``, ``excuse``, ``verify`` and ``ledger checkpoint``: the
evidence ledger from the command line, each entry recorded as a person
whose rights apply."""

from __future__ import annotations

import argparse
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from scheduler.cli.context import DEFAULT_TZ, Context, command
from scheduler.errors import N_, InputError, SchedulerError
from scheduler.evidence.checkpoints import public_key_of
from scheduler.evidence.deliveries import CHANNEL_FIELDS, Evidence, FileRef, moment_kind_for
from scheduler.evidence.file_rules import PendingFile
from scheduler.plan.channels import Channel, from_definition
from scheduler.plan.durations import parse_duration
from scheduler.plan.periods import parse_moment
from scheduler.store import checkpoints
from scheduler.store import ledger as stored_ledger
from scheduler.store.checkpoints import key_bytes
from scheduler.store.closed_periods import AFTER_CLOSING
from scheduler.store.files import EvidenceStore
from scheduler.store.known_codes import check_codes
from scheduler.store.ledger_audit import audit
from scheduler.store.recording import actor_by_email, record_delivery, record_excuse
from scheduler.store.tables import OccurrenceRow, PlanRow


def register(sub: argparse._SubParsersAction, _) -> None:
    deliver_ = command(
        sub,
        "deliver",
        _("record a delivered occurrence with its evidence"),
        lambda ctx, a: deliver(
            ctx,
            _target_of(a),
            a.by,
            a.at,
            a.duration,
            a.url,
            a.title,
            a.topic,
            a.file,
            a.note,
            {name: getattr(a, name) for name in CHANNEL_FIELDS},
            a.supersedes,
        ),
    )
    # Twenty flags would make a nine-line usage: say the shape, the options list them all.
    deliver_.usage = "\n".join(
        (
            "%(prog)s [-h] --by EMAIL --at DATETIME",
            " " * 23 + "(OCCURRENCE | --obligation CODE --period LABEL [--plan CODE])",
            " " * 23 + "[" + _("evidence options") + "]",
        )
    )
    deliver_.add_argument(
        "occurrence", nargs="?", metavar="OCCURRENCE", help=_("the occurrence's id (or give --obligation and --period)")
    )
    deliver_.add_argument("--by", required=True, metavar="EMAIL", help=_("the producer recording it"))
    deliver_.add_argument("--at", required=True, metavar="DATETIME", help=_("when it aired or was published"))
    deliver_.add_argument("--obligation", metavar="CODE", help=_("record by period: the obligation"))
    deliver_.add_argument("--period", metavar="LABEL", help=_("the period of --obligation, e.g. 2024-03"))
    deliver_.add_argument("--plan", metavar="CODE", help=_("the plan of --obligation"))
    deliver_.add_argument("--duration", help=_("10m, 00:10:00 or seconds"))
    for flag in ("url", "title", "note"):
        deliver_.add_argument("--" + flag)
    for name in CHANNEL_FIELDS:  # the evidence fields channels ask for (plan/channels.py)
        deliver_.add_argument("--" + name.replace("_", "-"), metavar="TEXT")
    deliver_.add_argument("--topic", action="append", default=[], metavar="CODE")
    deliver_.add_argument("--file", action="append", default=[], type=Path, metavar="PATH")
    deliver_.add_argument("--supersedes", type=int, metavar="SEQ", help=_("the ledger entry this one corrects"))

    excuse_ = command(
        sub,
        "excuse",
        _("excuse an occurrence (the DHA)"),
        lambda ctx, a: excuse(ctx, a.occurrence, a.by, a.reason, a.supersedes),
    )
    excuse_.add_argument("occurrence")
    excuse_.add_argument("--by", required=True, metavar="EMAIL")
    excuse_.add_argument("--reason", required=True)
    excuse_.add_argument("--supersedes", type=int, metavar="SEQ")

    verify_ = command(
        sub, "verify", _("check the evidence ledger and its files"), lambda ctx, a: verify(ctx, a.checkpoint)
    )
    verify_.add_argument("--checkpoint", type=Path, metavar="FILE")
    ledger = command(sub, "ledger", _("the evidence ledger"))
    actions = ledger.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")
    command(actions, "checkpoint", _("print a signed checkpoint of the ledger"), lambda ctx, a: checkpoint(ctx))


def evidence_store(ctx: Context) -> EvidenceStore:
    return EvidenceStore(ctx.settings.outputs_dir / "evidence", ctx.settings.evidence_limit)


def _stream_file(store: EvidenceStore, path: Path) -> PendingFile:
    if not path.is_file():
        raise InputError(N_("--file: cannot read {path}"), path=str(path))
    declared = mimetypes.guess_type(path.name)[0]
    with store.writer(path.name, declared) as writer, path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            writer.write(block)
        return writer.finish()


@dataclass(frozen=True)
class DeliverTo:
    """What a delivery is recorded against: one occurrence, or an obligation's
    period (its lowest-numbered open occurrence; an extra once all are met)."""

    occurrence: str | None = None
    obligation: str | None = None
    period: str | None = None
    plan: str | None = None


def _target_of(a: argparse.Namespace) -> DeliverTo:
    """One occurrence, or --obligation with --period: never both, never half."""
    if a.occurrence and (a.obligation or a.period or a.plan):
        raise InputError(N_("give either an occurrence or --obligation and --period, not both"))
    if a.occurrence:
        return DeliverTo(a.occurrence)
    if not a.obligation or not a.period:
        raise InputError(N_("give the occurrence delivered, or --obligation CODE and --period LABEL"))
    return DeliverTo(None, a.obligation, a.period, a.plan)


def _channels(s, to: DeliverTo) -> tuple[tuple[str, ...], tuple[Channel, ...]]:
    """The channels of what is delivered (and the plan's own), to know whether its moment aired or was published."""
    query = select(OccurrenceRow)
    if to.occurrence:
        query = query.where(OccurrenceRow.id == to.occurrence)
    else:
        query = query.where(OccurrenceRow.obligation_code == to.obligation, OccurrenceRow.period == to.period)
        if to.plan:
            query = query.where(OccurrenceRow.plan_code == to.plan)
    row = s.scalars(query.limit(1)).first()
    if row is None:
        return (), ()
    return tuple(row.shown.get("channels", [])), from_definition(s.get(PlanRow, row.plan_code).definition)


def deliver(
    ctx: Context,
    to: DeliverTo,
    by: str,
    at: str,
    duration: str | None,
    url: str | None,
    title: str | None,
    topics: list[str],
    files: list[Path],
    note: str | None,
    fields: dict[str, str | None],
    supersedes: int | None,
) -> None:
    """Record one delivery with its evidence, as ``by`` (whose rights apply)."""
    try:
        moment = parse_moment(at, DEFAULT_TZ)
    except SchedulerError as e:
        raise InputError(N_("--at: {problem}"), problem=e.render(ctx._)) from None
    try:
        seconds = int(parse_duration(duration).total_seconds()) if duration else None
    except SchedulerError as e:
        raise InputError(N_("--duration: {problem}"), problem=e.render(ctx._)) from None
    store = evidence_store(ctx)
    pending: list[PendingFile] = []
    try:
        for path in files:
            pending.append(_stream_file(store, path))
        with ctx.session() as s:
            check_codes(s, plan=to.plan, obligation=to.obligation)
            evidence = Evidence(
                moment,
                moment_kind_for(*_channels(s, to)),
                seconds,
                url or "",
                title or "",
                tuple(topics),
                note or "",
                {k: v for k, v in fields.items() if v},
                tuple(FileRef(p.file.sha256, p.file.size, p.file.name, p.file.type) for p in pending),
                supersedes,
            )
            result = record_delivery(
                s,
                actor_by_email(s, by),
                evidence,
                ctx.now,
                ctx.settings.base_url,
                occurrence_id=to.occurrence,
                obligation=to.obligation,
                period=to.period,
                plan=to.plan,
            )
            for p in pending:
                store.commit(p)
    finally:
        for p in pending:
            store.discard(p)
    _ = ctx._
    ctx.out.write(_("entry {seq}: delivery for {id} recorded").format(seq=result.seq, id=result.occurrence) + "\n")
    if result.extra:
        ctx.out.write(_("an extra: every occurrence of this period was already met") + "\n")
    if result.after_closing:  # its period was closed: shown apart in reports
        ctx.out.write(_(AFTER_CLOSING) + "\n")
    if result.state:
        ctx.out.write(_("state: {state}").format(state=_(result.state)) + "\n")
    for message, params in result.reasons:
        ctx.out.write(_("not conforming: {reason}").format(reason=_(message).format(**params)) + "\n")
    if result.gaps:
        ctx.out.write(_("evidence still missing: {gaps}").format(gaps=", ".join(_(g) for g in result.gaps)) + "\n")


def excuse(ctx: Context, occurrence_id: str, by: str, reason: str, supersedes: int | None) -> None:
    with ctx.session() as s:
        result = record_excuse(
            s, actor_by_email(s, by), occurrence_id, reason, ctx.now, ctx.settings.base_url, supersedes
        )
    ctx.out.write(ctx._("entry {seq}: {id} excused").format(seq=result.seq, id=occurrence_id) + "\n")


def _key(ctx: Context, create: bool) -> bytes:
    return key_bytes(ctx.settings, lambda text: ctx.err.write(text + "\n"), create)


def checkpoint(ctx: Context) -> None:
    """Print a signed statement of the chain's length and head, and keep it
    under OUTPUTS_DIR/checkpoints/ (the page and the API verify against it)."""
    key = _key(ctx, create=True)
    with ctx.session() as s:
        count, head = stored_ledger.head(s)
    cp = checkpoints.sign_and_keep(ctx.settings.outputs_dir, key, count, head, ctx.now)
    ctx.out.write(cp.to_text())


def verify(ctx: Context, checkpoint_file: Path | None) -> None:
    """Recompute the chain and re-hash every file, compare every column with
    the hashed content; prove the chain extends a checkpoint (the file given,
    else the latest kept) and every earlier kept one signed with today's key.
    Exits 1 listing every problem found."""
    _ = ctx._
    if checkpoint_file:
        try:
            data = checkpoint_file.read_bytes()
        except OSError as e:
            raise InputError(N_("cannot read {path} ({reason})"), path=str(checkpoint_file), reason=str(e)) from None
        cp, source = checkpoints.read(data, str(checkpoint_file)), str(checkpoint_file)
    found = checkpoints.kept(ctx.settings.outputs_dir)
    if not checkpoint_file:
        cp, source = (found[-1][1], str(found[-1][0])) if found else (None, "")
    earlier = [c for _path, c in found]
    with ctx.session() as s:
        result = audit(
            s,
            evidence_store(ctx),
            ctx.now.astimezone(DEFAULT_TZ),
            cp,
            lambda: public_key_of(_key(ctx, create=False)),
            source,
            earlier=earlier,
        )
    if not result.ok:
        lines = result.lines(_)
        problem = lines[0] if len(lines) == 1 else "".join("\n  " + line for line in lines)
        raise InputError(N_("the ledger does not verify: {problem}"), problem=problem)
    ctx.out.write(
        _("the ledger verifies: {count} entries, head {head}").format(count=result.entries, head=result.head or "-")
        + "\n"
    )
    if cp is not None:
        ctx.out.write(
            _("it extends the checkpoint of {count} entries signed at {at}").format(
                count=cp.count, at=cp.at.astimezone(DEFAULT_TZ).strftime("%d/%m/%Y %H:%M")
            )
            + "\n"
        )
