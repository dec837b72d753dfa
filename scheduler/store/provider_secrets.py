"""Secrets we must store because they rotate (the Zalo OA's refresh and
access tokens), sealed with NOTIFIER_KEY, and the sealer itself."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from scheduler.sealing import Sealer, new_key
from scheduler.settings import Settings
from scheduler.store.notifier_tables import ProviderSecretRow


@dataclass(frozen=True)
class Stored:
    value: str
    expires_at: datetime | None
    updated_at: datetime


def sealer_of(settings: Settings) -> Sealer:
    """The settings' keys; with none, OUTPUTS_DIR/notifier.key, made once
    (readable by its owner only) so the embedded default works as is."""
    if settings.notifier_key.strip():
        return Sealer([k for k in settings.notifier_key.split(",") if k.strip()])
    path = Path(settings.outputs_dir) / "notifier.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made meanwhile by another process
        else:
            with os.fdopen(fd, "w") as f:
                f.write(new_key() + "\n")
    return Sealer([path.read_text().strip()])


def read_secret(session: Session, sealer: Sealer, name: str) -> Stored | None:
    row = session.get(ProviderSecretRow, name)
    if row is None:
        return None
    return Stored(sealer.open(row.sealed), row.expires_at, row.updated_at)


def keep_secret(
    session: Session, sealer: Sealer, name: str, value: str, expires_at: datetime | None, now: datetime
) -> None:
    """Store (or replace) a secret, sealed, in the caller's transaction."""
    row = session.get(ProviderSecretRow, name)
    if row is None:
        row = ProviderSecretRow(name=name)
        session.add(row)
    row.sealed, row.expires_at, row.updated_at = sealer.seal(value, now), expires_at, now
