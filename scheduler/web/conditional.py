"""HTTP validators and conditional requests (RFC 9110 8.8, 13.1, 13.2)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def not_modified(headers: Mapping[str, str], etag: str, last_modified: datetime, now: datetime) -> bool:
    """Whether a GET/HEAD may be answered 304.

    If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2); weak
    comparison for If-None-Match; a foreign tag, an unparseable or future
    date, or an older date all mean 200.

    >>> from datetime import datetime, timezone
    >>> lm = datetime(2024, 3, 1, 10, tzinfo=timezone.utc); now = datetime(2024, 3, 2, tzinfo=timezone.utc)
    >>> not_modified({"if-none-match": 'W/"abc", "x"'}, '"abc"', lm, now)
    True
    >>> not_modified({"if-none-match": '"other"', "if-modified-since": http_date(lm)}, '"abc"', lm, now)
    False
    >>> not_modified({"if-modified-since": "garbage"}, '"abc"', lm, now)
    False
    """
    match = headers.get("if-none-match")
    if match is not None:
        tags = [t.strip() for t in match.split(",")]
        return "*" in tags or any(t.removeprefix("W/") == etag for t in tags if t)
    since_text = headers.get("if-modified-since")
    if not since_text:
        return False
    try:
        since = parsedate_to_datetime(since_text)
    except (TypeError, ValueError, IndexError):
        return False
    if since is None:
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if since > now:
        return False
    return last_modified.replace(microsecond=0) <= since
