"""Checkpoints: "the chain had COUNT entries with head HASH at TIME", signed
with the ledger's Ed25519 key, so that a rewritten chain cannot pass.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from scheduler.documents import parse_json
from scheduler.errors import N_, SchedulerError
from scheduler.evidence.ledger import GENESIS, Break, StoredEntry, bad_value, hex_digits, instant_text, whole_number


def key_id(raw: bytes) -> str:
    """The short id a checkpoint names its signing key by."""
    return hashlib.sha256(raw).hexdigest()[:16]


def _b64(value: object, where: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except binascii.Error:
        raw = b""
    if len(raw) != size:
        raise bad_value(where, f"{size} bytes in base64", value)
    return raw


def _statement(count: int, head: str, at: datetime, key_id: str) -> bytes:
    document = {"count": count, "head": head, "at": instant_text(at, "at"), "key_id": key_id}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Checkpoint:
    """A signed head; people keep its text so a rewritten chain cannot pass.

    ``public_key`` (base64, informational) travels in the text; checking
    always uses the caller's key.
    """

    count: int
    head: str
    at: datetime
    key_id: str
    signature: str
    public_key: str = ""

    def to_text(self) -> str:
        document = {
            "count": self.count,
            "head": self.head,
            "at": instant_text(self.at, "at"),
            "key_id": self.key_id,
            "public_key": self.public_key,
            "signature": self.signature,
        }
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        try:
            doc = parse_json(text)
        except ValueError as e:
            raise SchedulerError(N_("checkpoint is not valid JSON: {error}"), error=str(e)) from None
        if not isinstance(doc, dict):
            raise bad_value("checkpoint", "a JSON object", doc)
        for name in ("count", "head", "at", "key_id", "signature"):
            if name not in doc:
                raise SchedulerError(N_("checkpoint: field {field} is missing"), field=name)
        count = whole_number(doc["count"], "checkpoint.count", 0)
        head, key_id = (
            hex_digits(doc["head"], "checkpoint.head", 64),
            hex_digits(doc["key_id"], "checkpoint.key_id", 16),
        )
        try:
            at = datetime.fromisoformat(doc["at"])
        except (TypeError, ValueError):
            at = None
        if at is None or at.utcoffset() is None:
            raise bad_value("checkpoint.at", "an ISO 8601 date and time with a time zone", doc["at"])
        _b64(doc["signature"], "checkpoint.signature", 64)
        if doc.get("public_key", ""):
            _b64(doc["public_key"], "checkpoint.public_key", 32)
        return cls(count, head, at.astimezone(UTC), key_id, doc["signature"], doc.get("public_key", ""))


def new_private_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _private_key(private_key_pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (TypeError, ValueError) as e:
        raise SchedulerError(N_("the ledger key cannot be read: {error}"), error=str(e)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise bad_value("ledger key", "an Ed25519 private key", key)
    return key


def public_key_of(private_key_pem: bytes) -> bytes:
    """The raw 32-byte public key that checks this key's checkpoints."""
    return (
        _private_key(private_key_pem)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def sign_checkpoint(private_key_pem: bytes, count: int, head: str, at: datetime) -> Checkpoint:
    key, raw = _private_key(private_key_pem), public_key_of(private_key_pem)
    whole_number(count, "count", 0)
    if (count == 0) != (hex_digits(head, "head", 64) == GENESIS):
        raise bad_value("head", f"the hash of entry {count}" if count else "the genesis hash", head)
    statement = _statement(count, head, at, key_id(raw))
    return Checkpoint(
        count,
        head,
        at.astimezone(UTC),
        key_id(raw),
        base64.b64encode(key.sign(statement)).decode("ascii"),
        base64.b64encode(raw).decode("ascii"),
    )


def check_checkpoint(cp: Checkpoint, public_key: bytes | None, rows: Sequence[StoredEntry]) -> Break | None:
    """None when ``cp`` is genuine and ``rows`` still hold the head it signed."""
    if public_key is None:
        raise SchedulerError(N_("checking a checkpoint needs the ledger's public key"))
    try:
        verifier = Ed25519PublicKey.from_public_bytes(public_key)
    except (TypeError, ValueError):
        raise bad_value("public key", "32 raw Ed25519 bytes", public_key) from None
    if cp.key_id != key_id(public_key):
        return Break(None, N_("the checkpoint was signed with another key ({key_id})"), {"key_id": cp.key_id})
    try:
        verifier.verify(_b64(cp.signature, "signature", 64), _statement(cp.count, cp.head, cp.at, cp.key_id))
    except (InvalidSignature, SchedulerError):
        return Break(None, N_("checkpoint signature is not valid"))
    if len(rows) < cp.count:
        return Break(
            None,
            N_("the ledger has fewer entries ({n}) than the checkpoint ({count})"),
            {"n": len(rows), "count": cp.count},
        )
    if cp.count and rows[cp.count - 1].hash != cp.head:
        return Break(
            cp.count,
            N_("this is not the entry the checkpoint signed as head (the chain was rewritten)"),
            {"seq": cp.count, "head": cp.head},
        )
    return None
