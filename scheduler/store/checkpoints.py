"""The ledger key and the signed checkpoints kept where people verify: every checkpoint the service
signs is also written under OUTPUTS_DIR/checkpoints/, once, never replaced,
so that the page and the API can catch a truncated or recomputed chain."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from scheduler.errors import N_, InputError, SchedulerError
from scheduler.evidence.checkpoints import Checkpoint, new_private_key_pem, sign_checkpoint
from scheduler.i18n import gettext_for

FOLDER = "checkpoints"
UPLOAD_LIMIT = 16 * 1024  # a checkpoint is about 400 bytes; anything larger is not one
NAME = re.compile(r"\d{8}T\d{12}Z-\d{8,}(-\d+)?\.json")


def folder(outputs_dir: Path) -> Path:
    return Path(outputs_dir) / FOLDER


def keep(outputs_dir: Path, cp: Checkpoint) -> Path:
    """Write ``cp`` atomically under a name that sorts by signing time (then
    length); an existing file is never replaced (another statement of the same
    moment gets a suffix, the same one is kept once)."""
    where = folder(outputs_dir)
    where.mkdir(parents=True, exist_ok=True)
    stem = f"{cp.at:%Y%m%dT%H%M%S%fZ}-{cp.count:08d}"
    fd, tmp = tempfile.mkstemp(dir=where, prefix=f".{stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(cp.to_text().encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        for n in range(1000):
            path = where / (f"{stem}.json" if n == 0 else f"{stem}-{n}.json")
            try:
                os.link(tmp, path)  # atomic, and fails rather than replace
                return path
            except FileExistsError:
                if path.read_bytes() == cp.to_text().encode("utf-8"):
                    return path  # the same statement, signed twice at the same moment (Ed25519 is deterministic)
                continue
        raise SchedulerError(N_("cannot keep checkpoint {name}: too many with the same time"), name=stem)
    finally:
        Path(tmp).unlink(missing_ok=True)


def sign_and_keep(outputs_dir: Path, private_key_pem: bytes, count: int, head: str, at: datetime) -> Checkpoint:
    """Every checkpoint the service signs goes through here, so each one is kept."""
    cp = sign_checkpoint(private_key_pem, count, head, at)
    keep(outputs_dir, cp)
    return cp


def kept(outputs_dir: Path) -> list[tuple[Path, Checkpoint]]:
    """Every kept checkpoint, oldest first; one that no longer reads as a
    checkpoint is an error naming it (a damaged file is itself a finding)."""
    where = folder(outputs_dir)
    names = sorted(p.name for p in where.iterdir() if NAME.fullmatch(p.name)) if where.is_dir() else []
    found = []
    for name in names:
        path = where / name
        try:
            found.append((path, read(path.read_bytes(), str(path))))
        except OSError as e:
            raise SchedulerError(N_("cannot read {path} ({reason})"), path=str(path), reason=str(e)) from None
    return found


def latest(outputs_dir: Path) -> tuple[Path, Checkpoint] | None:
    """The last kept checkpoint by signing time, or None when none is kept."""
    found = kept(outputs_dir)
    return found[-1] if found else None


def read(data: bytes, source: str) -> Checkpoint:
    """A checkpoint from a file's bytes (kept or uploaded); errors name ``source``."""
    if len(data) > UPLOAD_LIMIT:
        raise SchedulerError(
            N_("{source}: a checkpoint is at most {limit} bytes, this is {size}"),
            source=source,
            limit=UPLOAD_LIMIT,
            size=len(data),
        )
    try:
        return Checkpoint.from_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise SchedulerError(N_("{source}: a checkpoint is UTF-8 text"), source=source) from None
    except SchedulerError as e:
        raise Unreadable(source, e) from None


class Unreadable(SchedulerError):
    """A checkpoint file that is not one: its name, then why, translated."""

    def __init__(self, source: str, problem: SchedulerError):
        super().__init__(f"{source}: {problem}")
        self.source, self.problem = source, problem

    def render(self, gettext=lambda s: s) -> str:
        return f"{self.source}: {self.problem.render(gettext)}"


def key_bytes(settings, warn: Callable[[str], object] | None, create: bool = True) -> bytes:
    """The checkpoint key; created on first use, owner-only from the first byte."""
    path = Path(settings.ledger_key_file)
    if path.exists():
        return path.read_bytes()
    if not create:
        raise InputError(N_("no ledger key at {path}; `ledger checkpoint` creates it"), path=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(new_private_key_pem())
    if warn:
        warn(
            gettext_for(settings.lang)(
                N_(
                    "warning: created the ledger key {path}; in production keep it off the database host "
                    "(LEDGER_KEY_FILE), or whoever holds both can rewrite history"
                )
            ).format(path=str(path))
        )
    return path.read_bytes()
