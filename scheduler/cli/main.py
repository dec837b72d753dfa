"""Command line of the media production scheduler; the only place that exits.

    python main.py load [PATH...]
    python main.py occurrences [--plan CODE] [--agency CODE] [--obligation CODE]
                               [--from DATE] [--to DATE] [--format table|json|csv]
    python main.py milestones  (same filters)
    python main.py plan roll SOURCE --year 2025 [--rename OLD=NEW ...] [--name CODE=NAME ...]
    python main.py serve [--host 127.0.0.1] [--port 8000] [--no-scheduler]
    python main.py worker | remind [--dry-run]
    python main.py users add EMAIL --role ROLE [--role ROLE ...] [--agency CODE] [--name NAME] [--lang vi|en]
    python main.py users list | users disable EMAIL | users password EMAIL  (password on standard input)
    python main.py subscribe --email ADDRESS [--plan CODE] [--agency CODE] [--obligation CODE]
                             [--channel NAME] [--milestones/--no-milestones]
    python main.py subscriptions list | subscriptions revoke ID
    python main.py feeds export
    python main.py tokens create --user EMAIL | tokens list | tokens revoke ID
    python main.py deliver OCCURRENCE_ID --by EMAIL --at DATETIME [--duration 10m] [--url URL]
                           [--title ...] [--topic CODE ...] [--file PATH ...] [--supersedes SEQ]
    python main.py excuse OCCURRENCE_ID --by EMAIL --reason TEXT
    python main.py verify [--checkpoint FILE] | ledger checkpoint
    python main.py report --period 2024-Q3 [--plan CODE] [--agency CODE] [--obligation CODE]
                          [--format json|csv|xlsx|html] [--cutoff] [--out PATH]

Every command takes --now (act as if it were that moment) and --lang vi|en.
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from pathlib import Path

from scheduler.cli import commands, ledger_commands, report_commands, service
from scheduler.bounds import check_args
from scheduler.clock import now_from
from scheduler.cli.commands import DEFAULT_TZ, Context
from scheduler.errors import SchedulerError
from scheduler.i18n import gettext_for
from scheduler.people.accounts import FeedScope
from scheduler.settings import SETTINGS, Settings

log = logging.getLogger("scheduler")


def build_parser(_) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--now", default=argparse.SUPPRESS,
                        help=_("act as if it were this moment (2024-03-15 or \"15/03/2024 09:00\")"))
    for s in SETTINGS:  # SUPPRESS: a flag given before the command is not undone by the command's parser
        common.add_argument("--" + s.name.replace("_", "-"), dest=s.name, default=argparse.SUPPRESS,
                            help=_(s.help) + f" [{s.env}]")
    parser = argparse.ArgumentParser(prog="main.py", description=_("Media production scheduler"),
                                     parents=[common])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    load = sub.add_parser("load", parents=[common], help=_("validate and load schedule files"))
    load.add_argument("paths", nargs="*", type=Path, help=_("files or folders (default: SCHEDULES_DIR)"))

    for name, text in (("occurrences", _("list owed occurrences, by due moment")),
                       ("milestones", _("list production milestones, by day"))):
        p = sub.add_parser(name, parents=[common], help=text)
        p.add_argument("--plan")
        p.add_argument("--agency")
        p.add_argument("--obligation")
        p.add_argument("--from", dest="first", metavar="DATE", help=_("first day (inclusive)"))
        p.add_argument("--to", dest="last", metavar="DATE", help=_("last day (inclusive)"))
        p.add_argument("--format", choices=("table", "json", "csv"), default="table")

    plan = sub.add_parser("plan", parents=[common], help=_("work on plans"))
    plan_sub = plan.add_subparsers(dest="plan_command", required=True, metavar="ACTION")
    roll = plan_sub.add_parser("roll", parents=[common], help=_("write next year's schedule file from this one"))
    roll.add_argument("source", type=Path)
    roll.add_argument("--year", type=int, required=True)
    roll.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                      help=_("rename an agency code; several OLD to one NEW merges them"))
    roll.add_argument("--name", action="append", default=[], metavar="CODE=NAME",
                      help=_("set an agency's Vietnamese name in the new file"))
    roll.add_argument("--out", type=Path, help=_("where to write (default: beside SOURCE, named by the new code)"))
    roll.add_argument("--force", action="store_true", help=_("replace an existing file"))

    serve = sub.add_parser("serve", parents=[common], help=_("run the web service (feeds, pages, API)"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-scheduler", action="store_true", help=_("the web alone (run `worker` elsewhere)"))
    sub.add_parser("worker", parents=[common], help=_("the scheduler alone: reminders, outbox, windows, reports"))
    remind = sub.add_parser("remind", parents=[common], help=_("one pass: plan what is owed at --now, send it"))
    remind.add_argument("--dry-run", action="store_true", help=_("only show what would go out"))

    users = sub.add_parser("users", parents=[common], help=_("people who use the service"))
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = users_sub.add_parser("add", parents=[common], help=_("add a user"))
    add.add_argument("email")
    add.add_argument("--role", action="append", required=True, metavar="ROLE",
                     help=_("admin, dha, producer or editor; repeat for several"))
    add.add_argument("--agency", help=_("the agency a producer records for"))
    add.add_argument("--name")
    users_sub.add_parser("list", parents=[common], help=_("list users"))
    disable = users_sub.add_parser("disable", parents=[common], help=_("disable a user at once"))
    disable.add_argument("email")
    password = users_sub.add_parser("password", parents=[common], help=_("set a password read from standard input"))
    password.add_argument("email")

    subscribe = sub.add_parser("subscribe", parents=[common], help=_("create a calendar feed for a person"))
    subscribe.add_argument("--email", required=True)
    for flag in ("plan", "agency", "obligation", "channel"):
        subscribe.add_argument("--" + flag)
    subscribe.add_argument("--milestones", action=argparse.BooleanOptionalAction, default=True,
                           help=_("include production milestones (default: yes)"))
    subs = sub.add_parser("subscriptions", parents=[common], help=_("list or revoke calendar feeds"))
    subs_sub = subs.add_subparsers(dest="subscriptions_command", required=True, metavar="ACTION")
    subs_sub.add_parser("list", parents=[common])
    revoke = subs_sub.add_parser("revoke", parents=[common])
    revoke.add_argument("id")

    feeds = sub.add_parser("feeds", parents=[common], help=_("calendar feeds as files"))
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    feeds_sub.add_parser("export", parents=[common], help=_("write every feed to OUTPUTS_DIR/feeds/"))

    tokens = sub.add_parser("tokens", parents=[common], help=_("API tokens (Authorization: Bearer)"))
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = tokens_sub.add_parser("create", parents=[common], help=_("a new token; shown once, last line"))
    create.add_argument("--user", required=True, metavar="EMAIL")
    tokens_sub.add_parser("list", parents=[common])
    token_revoke = tokens_sub.add_parser("revoke", parents=[common])
    token_revoke.add_argument("id")

    deliver = sub.add_parser("deliver", parents=[common], help=_("record a delivered occurrence with its evidence"))
    deliver.add_argument("occurrence")
    deliver.add_argument("--by", required=True, metavar="EMAIL", help=_("the producer recording it"))
    deliver.add_argument("--at", required=True, metavar="DATETIME", help=_("when it aired or was published"))
    deliver.add_argument("--duration", help=_("10m, 00:10:00 or seconds"))
    for flag in ("url", "title", "note", "issue-number", "page", "participants"):
        deliver.add_argument("--" + flag)
    deliver.add_argument("--topic", action="append", default=[], metavar="CODE")
    deliver.add_argument("--file", action="append", default=[], type=Path, metavar="PATH")
    deliver.add_argument("--supersedes", type=int, metavar="SEQ", help=_("the ledger entry this one corrects"))

    excuse = sub.add_parser("excuse", parents=[common], help=_("excuse an occurrence (the DHA)"))
    excuse.add_argument("occurrence")
    excuse.add_argument("--by", required=True, metavar="EMAIL")
    excuse.add_argument("--reason", required=True)
    excuse.add_argument("--supersedes", type=int, metavar="SEQ")

    verify = sub.add_parser("verify", parents=[common], help=_("check the evidence ledger and its files"))
    verify.add_argument("--checkpoint", type=Path, metavar="FILE")
    ledger = sub.add_parser("ledger", parents=[common], help=_("the evidence ledger"))
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")
    ledger_sub.add_parser("checkpoint", parents=[common], help=_("print a signed checkpoint of the ledger"))

    report = sub.add_parser("report", parents=[common], help=_("the compliance report, as of --now"))
    report.add_argument("--period", required=True, help=_("2024, 2024-Q3, 2024-H1, 2024-03 or 2024-03-01..2024-05-31"))
    for flag in ("plan", "agency", "obligation"):
        report.add_argument("--" + flag)
    report.add_argument("--format", choices=("json", "csv", "xlsx", "html"), default="json")
    report.add_argument("--cutoff", action="store_true",
                        help=_("reporting cut-off of Nghị định 09/2019/NĐ-CP: the 15th of the month before to the 14th"))
    report.add_argument("--out", type=Path, metavar="PATH")
    return parser


def dispatch(args: argparse.Namespace, ctx: Context) -> None:
    """Call the command the arguments name."""
    if args.command == "load":
        commands.load(ctx, args.paths)
    elif args.command in ("occurrences", "milestones"):
        getattr(commands, args.command)(ctx, args.format, plan=args.plan, agency=args.agency,
                                        obligation=args.obligation, first=args.first, last=args.last)
    elif args.command == "plan":
        commands.plan_roll(ctx, args.source, args.year, args.rename, args.name, args.out, args.force)
    elif args.command == "serve":
        service.serve(ctx, args.host, args.port, not args.no_scheduler)
    elif args.command == "worker":
        service.worker(ctx)
    elif args.command == "remind":
        service.remind(ctx, args.dry_run)
    elif args.command == "users" and args.users_command == "add":
        service.users_add(ctx, args.email, args.role, args.agency, args.name, getattr(args, "lang", None))
    elif args.command == "users" and args.users_command == "list":
        service.users_list(ctx)
    elif args.command == "users" and args.users_command == "password":
        service.users_password(ctx, args.email, sys.stdin)
    elif args.command == "users":
        service.users_disable(ctx, args.email)
    elif args.command == "subscribe":
        service.subscribe(ctx, args.email, FeedScope(args.plan, args.agency, args.obligation, args.channel,
                                                     args.milestones))
    elif args.command == "subscriptions" and args.subscriptions_command == "list":
        service.subscriptions_list(ctx)
    elif args.command == "subscriptions":
        service.subscriptions_revoke(ctx, args.id)
    elif args.command == "feeds":
        service.feeds_export(ctx)
    elif args.command == "tokens":
        {"create": lambda: ledger_commands.tokens_create(ctx, args.user),
         "list": lambda: ledger_commands.tokens_list(ctx),
         "revoke": lambda: ledger_commands.tokens_revoke(ctx, args.id)}[args.tokens_command]()
    elif args.command == "deliver":
        ledger_commands.deliver(ctx, args.occurrence, args.by, args.at, args.duration, args.url, args.title,
                                args.topic, args.file, args.note,
                                {"issue_number": args.issue_number, "page": args.page,
                                 "participants": args.participants}, args.supersedes)
    elif args.command == "excuse":
        ledger_commands.excuse(ctx, args.occurrence, args.by, args.reason, args.supersedes)
    elif args.command == "verify":
        ledger_commands.verify(ctx, args.checkpoint)
    elif args.command == "ledger":
        ledger_commands.checkpoint(ctx)
    elif args.command == "report":
        report_commands.report(ctx, args.period, args.plan, args.agency, args.obligation, args.format, args.out,
                               args.cutoff)


def run(argv: list[str], out=sys.stdout, err=sys.stderr) -> int:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--lang")
    known, _rest = pre.parse_known_args(argv)
    lang = known.lang if known.lang in ("vi", "en") else None
    try:
        settings = Settings.load(flags={"lang": lang})
    except SchedulerError as e:
        err.write(e.render() + "\n")
        return 1
    _ = gettext_for(settings.lang)
    args = build_parser(_).parse_args(argv)
    settings = None
    shown = logging.getLogger("scheduler.recording")
    if args.command not in ("serve", "worker"):  # the services keep refusals in their log
        shown.addFilter(_printed_here)
    try:
        check_args(vars(args))  # before anything reads them: no surrogate or megabyte reaches the store
        settings = Settings.load(flags={s.name: getattr(args, s.name, None) for s in SETTINGS})
        _ = gettext_for(settings.lang)
        now = getattr(args, "now", None)
        ctx = Context(settings, now_from(now, DEFAULT_TZ), out, err, now_given=now is not None)
        dispatch(args, ctx)
        return 0
    except SchedulerError as e:
        err.write(e.render(_) + "\n")
        if hasattr(e, "problems") and args.command == "load":  # plan roll's problems stand alone
            err.write(_("nothing was loaded: fix the problems above and load again") + "\n")
    except OSError as e:
        if not e.filename:
            _unexpected(args.command, err, _)
        else:  # an operator's path or folder: the path and what is wrong, one line
            err.write(os_problem(e, settings, _) + "\n")
    except Exception:
        _unexpected(args.command, err, _)
    finally:
        shown.removeFilter(_printed_here)
    return 1


def _printed_here(record: logging.LogRecord) -> bool:
    """A one-shot command prints its refusal as its error: not a second time as a log line."""
    return not getattr(record, "refusal", False)


def _unexpected(command: str, err, _) -> None:
    """Traceback to the log, a sentence to the person."""
    log.exception("unexpected error in %s", command)
    err.write(_("unexpected error; the log above has the details") + "\n")


def os_problem(e: OSError, settings: Settings | None, _) -> str:
    """A file system refusal as one sentence naming the path (and OUTPUTS_DIR
    when the path is in it): a file where a folder must be, no permission."""
    path = Path(e.filename)
    if e.errno in (errno.ENOTDIR, errno.EEXIST):
        blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), path)
        text = _("{path} is a file, not a folder").format(path=blocking)
    elif e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        text = _("{path}: not allowed to write here ({reason})").format(path=path, reason=e.strerror)
    else:
        text = _("{path}: {reason}").format(path=path, reason=e.strerror or e)
    folder = settings.outputs_dir if settings else None
    if folder and (path == folder or folder in path.parents):
        return _("OUTPUTS_DIR {folder}: {problem}; it must be a folder this service can write").format(
            folder=folder, problem=text)
    return text


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    sys.exit(run(sys.argv[1:]))
