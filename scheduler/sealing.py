"""Sealing the secrets we must store (a webhook's signing secret, a Zalo
OA's rotating tokens): Fernet (AES-128-CBC and HMAC-SHA256, from the
``cryptography`` package) under a key from the settings, never in clear.

Several keys rotate: the first seals, any of them opens; ``reseal`` moves
a sealed value to the first key. Time is an argument (Fernet stamps each
token with the moment it was sealed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from scheduler.errors import N_, InputError


class Sealer:
    """Seals and opens text with the settings' keys (the first one seals)."""

    def __init__(self, keys: Sequence[str]):
        if not keys:
            raise InputError(N_("NOTIFIER_KEY: no key given (make one with `python main.py notifiers key`)"))
        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode("ascii")) for k in keys])
        except (ValueError, UnicodeEncodeError):
            raise InputError(
                N_("NOTIFIER_KEY: not a key (32 bytes in url-safe base64, as `python main.py notifiers key` makes)")
            ) from None

    def seal(self, text: str, now: datetime) -> str:
        return self._fernet.encrypt_at_time(text.encode("utf-8"), int(now.timestamp())).decode("ascii")

    def open(self, sealed: str) -> str:
        """The text; a value sealed with none of the keys is an InputError
        (the key was changed without keeping the old one)."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise InputError(N_("a stored secret cannot be opened with NOTIFIER_KEY (was the key changed?)")) from None

    def reseal(self, sealed: str) -> str:
        """Sealed again with the first key (its moment kept)."""
        return self._fernet.rotate(sealed.encode("ascii")).decode("ascii") if sealed else sealed


def new_key() -> str:
    """A fresh key for NOTIFIER_KEY."""
    return Fernet.generate_key().decode("ascii")
