"""The command line's parser and its one exit: each group of commands
registers its own (``plans``, ``service``, ``people``, ``ledger``,
``reports``, ``agencies``); this module adds the flags every command takes, reads the
settings and the clock once, runs the command, and turns any error into one
line on stderr and exit status 1.

Every flag that sets a setting (``--lang``, ``--database-url``...) and
``--now`` work before the command and after it, at every level
(``main.py --lang en plan roll ...``, ``main.py plan roll ... --lang en``);
help lists the settings last, in a group of their own.
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from pathlib import Path

from scheduler.bounds import check_args
from scheduler.cli import (
    agencies,
    harvest,
    ledger,
    notifiers,
    people,
    periods,
    plans,
    proposals,
    reports,
    service,
    webhooks,
    zalo,
)
from scheduler.cli.context import DEFAULT_TZ, Context
from scheduler.clock import now_from
from scheduler.errors import SchedulerError
from scheduler.i18n import gettext_for
from scheduler.settings import SETTINGS, Settings

log = logging.getLogger("scheduler")
SETTING_NAMES = frozenset(s.name for s in SETTINGS)


class _SettingsLast(argparse.HelpFormatter):
    """A usage line without the settings: help lists them in their group, last."""

    def _format_usage(self, usage, actions, groups, prefix):
        return super()._format_usage(usage, [a for a in actions if a.dest not in SETTING_NAMES], groups, prefix)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _SettingsLast)
        super().__init__(*args, **kwargs)


def build_parser(_) -> argparse.ArgumentParser:
    parser = _Parser(prog="main.py", description=_("Media production scheduler"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (
        plans,
        service,
        people,
        ledger,
        reports,
        periods,
        agencies,
        harvest,
        proposals,
        notifiers,
        webhooks,
        zalo,
    ):
        group.register(sub, _)
    for each in every_parser(parser):
        _add_shared_flags(each, _)
    return parser


def every_parser(parser: argparse.ArgumentParser):
    """The parser and every command and action under it."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from every_parser(child)


def _add_shared_flags(parser: argparse.ArgumentParser, _) -> None:
    """--now after the command's own options; the settings in a group at the
    end. SUPPRESS: a flag given before the command is not undone by the
    command's parser."""
    parser.add_argument(
        "--now", default=argparse.SUPPRESS, help=_('act as if it were this moment (2024-03-15 or "15/03/2024 09:00")')
    )
    group = parser.add_argument_group(_("settings"))
    for s in SETTINGS:
        group.add_argument(
            "--" + s.name.replace("_", "-"), dest=s.name, default=argparse.SUPPRESS, help=_(s.help) + f" [{s.env}]"
        )


def run(argv: list[str], out=sys.stdout, err=sys.stderr) -> int:
    """One command line, its exit status (0 or 1). ``--help`` and argparse's
    own refusals exit as argparse does (status 0 and 2)."""
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
        args.run(ctx, args)
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
            folder=folder, problem=text
        )
    return text


def main() -> None:
    """``python main.py``: log lines on stderr, then the exit status of ``run``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    sys.exit(run(sys.argv[1:]))
