"""Where a harvested record's proof came from, for people: an as-run
file's rows, an article's URL and fetch moment, a quarter's daily checks
(the ledger entry's payload "source", ``harvest/proposals.py`` ``Proposal.source``)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def moment_text(value: object, tz: ZoneInfo) -> str:
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.strftime("%d/%m/%Y %H:%M")


def _rows(rows: list) -> str:
    """``12–13`` for a run of rows, ``12, 15`` otherwise."""
    numbers = sorted(int(r) for r in rows if isinstance(r, int) or str(r).isdigit())
    if numbers and numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 1:
        return f"{numbers[0]}–{numbers[-1]}"
    return ", ".join(str(n) for n in numbers)


def source_text(source: dict | None, tz: ZoneInfo, _) -> str:
    """Where a proposal's proof came from, in one line for people."""
    source = source or {}
    kind = source.get("type")
    if kind == "asrun":
        name = source.get("name") or str(source.get("file_sha256") or "")[:12]
        return _("As-run log, file {name} rows {rows}").format(name=name, rows=_rows(source.get("rows") or []))
    if kind in ("feed", "sitemap"):
        at = moment_text(source.get("fetched_at"), tz)
        return _("Article {url} at {at}").format(url=source.get("url", ""), at=at)
    if kind == "checks":
        total = int(source.get("checks") or 0)
        return _("Daily checks: {ok}/{total} days passed").format(
            ok=total - int(source.get("failed") or 0), total=total
        )
    return str(kind or "")


def entry_source(payload: dict, files: list[dict], tz: ZoneInfo, _) -> dict | None:
    """A ledger entry's origin (its payload's ``source``): the line, the
    proposal it came from, and the snapshot or history among its files (the
    same file dict, so a reader who may not open files gets no link)."""
    source = payload.get("source")
    if not isinstance(source, dict):
        return None
    names = [source.get(k) for k in ("snapshot_sha256", "history_sha256", "file_sha256")]
    stored = [f.get("sha256") if isinstance(f, dict) else None for f in payload.get("files") or []]
    kept = next((files[stored.index(s)] for s in names if s and s in stored and stored.index(s) < len(files)), None)
    return {
        "type": source.get("type", ""),
        "text": source_text(source, tz, _),
        "url": source.get("url") or "",
        "proposal": source.get("proposal"),
        "file": kept,
    }
