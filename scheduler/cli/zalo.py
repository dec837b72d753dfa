"""The Zalo OA channel from the command line: ``zalo token REFRESH_TOKEN``
(``-``: read from stdin, so it stays out of the shell's history) stores
the OA's first refresh token, sealed; ``zalo status`` says what is set
and when the access token expires, never a token."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import func, select

from scheduler.cli.context import Context, command
from scheduler.errors import N_, InputError
from scheduler.store import zalo_state
from scheduler.store.notifier_tables import NotifierLinkRow, ProviderSecretRow
from scheduler.store.provider_secrets import sealer_of

MAX_TOKEN = 2048  # characters; Zalo's refresh tokens are a few hundred


def register(sub: argparse._SubParsersAction, _) -> None:
    zalo = command(sub, "zalo", _("the Zalo Official Account channel: its refresh token, its state"))
    actions = zalo.add_subparsers(dest="zalo_command", required=True, metavar="ACTION")
    token = command(
        actions,
        "token",
        _("store the OA's refresh token (from its authorisation), sealed with NOTIFIER_KEY"),
        lambda ctx, a: store_token(ctx, a.refresh_token),
    )
    token.add_argument("refresh_token", metavar="REFRESH_TOKEN", help=_('the token, or "-" to read it from stdin'))
    command(
        actions, "status", _("whether Zalo is set up and when its access token expires"), lambda ctx, a: status(ctx)
    )


def _read(given: str) -> str:
    text = sys.stdin.read(MAX_TOKEN + 2) if given == "-" else given
    token = text.strip()
    if not token:
        raise InputError(N_("REFRESH_TOKEN: empty; give the token or - and the token on stdin"))
    if len(token) > MAX_TOKEN or not token.isascii() or not token.isprintable() or " " in token:
        raise InputError(
            N_("REFRESH_TOKEN: not a Zalo refresh token (one word of at most {limit} ASCII characters)"),
            limit=MAX_TOKEN,
        )
    return token


def store_token(ctx: Context, given: str) -> None:
    token = _read(given)
    sealer = sealer_of(ctx.settings)
    with ctx.session() as s:
        zalo_state.keep_first_refresh_token(s, sealer, token, ctx.now)
    ctx.out.write(ctx._("Zalo refresh token stored, sealed; the next message refreshes the access token") + "\n")


def status(ctx: Context) -> None:
    """One line per fact; the tokens themselves never."""
    _, settings = ctx._, ctx.settings
    yes, no = _("yes"), _("no")
    with ctx.session() as s:
        refresh = s.get(ProviderSecretRow, zalo_state.REFRESH)
        access = s.get(ProviderSecretRow, zalo_state.ACCESS)
        links = dict(
            s.execute(
                select(NotifierLinkRow.state, func.count())
                .where(NotifierLinkRow.channel == "zalo")
                .group_by(NotifierLinkRow.state)
            ).all()
        )
    lines = [
        (_("app id (ZALO_APP_ID)"), settings.zalo_app_id.strip() or no),
        (_("app secret (ZALO_APP_SECRET)"), yes if settings.secret("zalo_app_secret") else no),
        (_("OA secret for the webhook (ZALO_OA_SECRET)"), yes if settings.secret("zalo_oa_secret") else no),
        (_("refresh token stored"), f"{yes} ({refresh.updated_at:%Y-%m-%d %H:%M} UTC)" if refresh else no),
        (
            _("access token expires"),
            f"{access.expires_at:%Y-%m-%d %H:%M} UTC" if access and access.expires_at else _("none yet"),
        ),
        (_("transaction template (ZALO_TRANSACTION_TEMPLATE)"), settings.zalo_transaction_template or no),
        (
            _("linked followers"),
            _("{active} active, {blocked} blocked").format(
                active=links.get("active", 0), blocked=links.get("blocked", 0)
            ),
        ),
    ]
    for label, value in lines:
        ctx.out.write(f"{label}: {value}\n")
