"""``zalo token`` and ``zalo status`` through the real command line, on
SQLite and PostgreSQL: the token stored sealed (from stdin too), never
printed."""

from __future__ import annotations

import io
import sys

from scheduler.sealing import Sealer, new_key
from scheduler.store.database import Database
from scheduler.store.notifier_tables import ProviderSecretRow

TOKEN = "rt-abcDEF0123456789_-xyz"


def test_token_from_stdin_stored_sealed_and_status_never_shows_it(cli, monkeypatch, db_url, tmp_path):
    key = new_key()
    monkeypatch.setenv("NOTIFIER_KEY", key)
    monkeypatch.setenv("ZALO_APP_ID", "1234567890")
    monkeypatch.setenv("ZALO_APP_SECRET", "app-secret-xyz")
    before = cli("zalo", "status")
    assert before.code == 0, before.err
    assert "refresh token stored: no" in before.out or "refresh token" in before.out
    monkeypatch.setattr(sys, "stdin", io.StringIO(TOKEN + "\n"))
    stored = cli("zalo", "token", "-", "--lang", "en")
    assert stored.code == 0, stored.err
    assert "stored" in stored.out and TOKEN not in stored.out + stored.err
    db = Database(db_url)
    try:
        with db.transaction() as s:
            row = s.get(ProviderSecretRow, "zalo_refresh_token")
            assert row is not None and TOKEN not in row.sealed
            assert Sealer([key]).open(row.sealed) == TOKEN
    finally:
        db.close()
    after = cli("zalo", "status", "--lang", "en")
    assert after.code == 0 and TOKEN not in after.out + after.err
    assert "refresh token stored: yes" in after.out and "app secret (ZALO_APP_SECRET): yes" in after.out
    assert "access token expires: none yet" in after.out and "app-secret-xyz" not in after.out


def test_token_refused_in_words(cli, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("  \n"))
    empty = cli("zalo", "token", "-", "--lang", "en")
    assert empty.code == 1 and "REFRESH_TOKEN: empty" in empty.err
    odd = cli("zalo", "token", "two words", "--lang", "en")
    assert odd.code == 1 and "not a Zalo refresh token" in odd.err and "two words" not in odd.err
    vi = cli("zalo", "token", "two words")
    assert vi.code == 1 and "REFRESH_TOKEN" in vi.err and "not a Zalo" not in vi.err
