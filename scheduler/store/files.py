"""Files on disk, never half-written: atomic writes, and the evidence store,
files under their SHA-256 in OUTPUTS_DIR/evidence.

A file is streamed into a temporary in ``root/tmp/`` (counted against the
size limit as it arrives, its type checked against its first bytes), then
committed by a rename to ``root/ab/cd/<sha256>``: stored once however often
uploaded, and never a partial file under a final name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from scheduler.errors import N_
from scheduler.evidence.file_rules import (
    HEAD_BYTES,
    SHA256,
    PendingFile,
    StoredFile,
    TooLarge,
    sanitize_name,
    trusted_type,
)


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Readers see the old file or the new one, never a part of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class EvidenceStore:
    def __init__(self, root: Path, limit: int):
        self.root = Path(root)
        self.limit = limit
        self.tmp = self.root / "tmp"

    def writer(self, name: str, declared_type: str | None) -> EvidenceWriter:
        """Begin a streamed file; the caller must finish() or abort() it."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        return EvidenceWriter(self, sanitize_name(name), declared_type)

    def path(self, sha256: str) -> Path:
        if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
            raise ValueError(f"expected a SHA-256 of 64 lowercase hex digits, got {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def commit(self, pending: PendingFile) -> StoredFile:
        """Rename into the content address; idempotent; a file already there is kept."""
        final = self.path(pending.file.sha256)
        if not pending.temporary.exists():
            if final.is_file():
                return pending.file  # committed before
            raise FileNotFoundError(pending.temporary)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.is_file() and final.stat().st_size == pending.file.size:
            pending.temporary.unlink(missing_ok=True)  # stored once: same hash, same bytes
        else:
            os.replace(pending.temporary, final)
            _fsync_dir(final.parent)
        return pending.file

    def discard(self, pending: PendingFile) -> None:
        pending.temporary.unlink(missing_ok=True)

    def rehash(self, sha256: str) -> str | None:
        """None if the file still hashes to its name, else a message id taking {sha256}.

        A malformed hash (from a damaged ledger) names no file: it is reported missing."""
        try:
            path = self.path(sha256)
        except ValueError:
            return N_("file {sha256} is missing")
        if not path.is_file():
            return N_("file {sha256} is missing")
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return None if digest.hexdigest() == sha256 else N_("file {sha256} does not match its hash")

    def sweep(self, before: float) -> int:
        """Delete temporaries left by a crash, last written before `before` (a POSIX time)."""
        removed = 0
        for path in self.tmp.glob("*") if self.tmp.is_dir() else ():
            if path.is_file() and path.stat().st_mtime < before:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


class EvidenceWriter:
    """One file on its way in: counted, hashed, and kept in the temporary area."""

    def __init__(self, store: EvidenceStore, name: str, declared_type: str | None):
        self.store = store
        self.name = name
        self.declared_type = declared_type
        self.size = 0
        self._hash = hashlib.sha256()
        self._head = bytearray()
        fd, tmp = tempfile.mkstemp(dir=store.tmp, prefix="upload-", suffix=".part")
        self.temporary = Path(tmp)
        self._file = os.fdopen(fd, "wb")
        self._done = False

    def write(self, chunk: bytes) -> None:
        """Refuses (and deletes the temporary) before the limit's worth is exceeded on disk."""
        if self._done:
            raise ValueError("write to a finished or aborted evidence file")
        if self.size + len(chunk) > self.store.limit:
            self.abort()
            raise TooLarge(self.name, self.store.limit)
        self._file.write(chunk)
        self.size += len(chunk)
        self._hash.update(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]

    def finish(self) -> PendingFile:
        """Flush to disk and check the type; the temporary then belongs to the PendingFile."""
        if self._done:
            raise ValueError("finish of a finished or aborted evidence file")
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            kind = trusted_type(self.name, self.declared_type, bytes(self._head))
        except BaseException:
            self.abort()
            raise
        self._done = True
        return PendingFile(StoredFile(self._hash.hexdigest(), self.size, self.name, kind), self.temporary)

    def abort(self) -> None:
        """Delete the temporary of an unfinished file; idempotent, a no-op after finish()."""
        if self._done:
            return
        self._done = True
        self._file.close()
        self.temporary.unlink(missing_ok=True)

    def __enter__(self) -> EvidenceWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def _fsync_dir(path: Path) -> None:
    """Make a rename durable; not every platform can open a directory."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
