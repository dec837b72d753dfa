"""``agencies``: the one registry of agencies and its changes over time
(the successions are in ``cli/reorganisation.py``)."""

from __future__ import annotations

import argparse

from scheduler.cli.context import command
from scheduler.cli.reorganisation import register_succession


def register(sub: argparse._SubParsersAction, _) -> None:
    agencies = command(sub, "agencies", _("the registry of agencies and their reorganisation"))
    actions = agencies.add_subparsers(dest="agencies_command", required=True, metavar="ACTION")
    register_succession(actions, _)
