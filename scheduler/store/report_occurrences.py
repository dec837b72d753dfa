"""A report's occurrences as its document lists them: each with its status
and its evidence links (active or superseded, files to download), the topics
the active deliveries covered and the gaps they noted."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from scheduler.evidence.ledger import parse_content
from scheduler.i18n import pick
from scheduler.store.tables import LedgerRow, OccurrenceRow


def occurrence_documents(
    listed: list[tuple[OccurrenceRow, str]], entries: dict[str, list[LedgerRow]], tz: ZoneInfo, lang: str
) -> tuple[list[dict], set[str], list[dict]]:
    """The occurrences (with their links), the topics covered, the gaps."""
    superseded = {e.supersedes for rows in entries.values() for e in rows if e.supersedes}
    covered: set[str] = set()
    gaps, occurrences = [], []
    for o, status in listed:
        links = []
        for e in entries.get(o.id, []):
            payload = parse_content(e.content)["payload"]
            active = e.seq not in superseded
            if active and e.kind == "delivery":
                covered.update(payload.get("topics", []))
                if payload.get("gaps"):
                    gaps.append(
                        {
                            "occurrence": o.id,
                            "entry": e.seq,
                            "agency": o.agency_code,
                            "obligation": o.obligation_code,
                            "missing": payload["gaps"],
                        }
                    )
            links.append(
                {
                    "seq": e.seq,
                    "kind": e.kind,
                    "active": active,
                    "recorded_at": e.recorded_at.astimezone(tz).isoformat(),
                    "recorded_by": e.recorded_by,
                    "moment": payload.get("moment"),
                    "url": payload.get("url", ""),
                    "reason": payload.get("reason", ""),
                    "conforming": e.conforming,
                    "late": e.late,
                    "extra": e.extra,
                    "files": [
                        {
                            "name": f["name"],
                            "sha256": f["sha256"],
                            "type": f["type"],
                            "href": f"/api/ledger/{e.seq}/files/{f['sha256']}",
                        }
                        for f in payload.get("files", [])
                    ],
                }
            )
        occurrences.append(
            {
                "id": o.id,
                "agency": o.agency_code,
                "obligation": o.obligation_code,
                "period": o.period,
                "number": o.number,
                "title": pick(lang, o.title, o.title_en),
                "name": pick(lang, (o.shown or {}).get("name", ""), (o.shown or {}).get("name_en", "")),
                "window_start": o.window_start.astimezone(tz).isoformat(),
                "window_end": o.window_end.astimezone(tz).isoformat(),
                "due": o.due.astimezone(tz).isoformat(),
                "status": status,
                "href": f"/o/{o.id}",
                "evidence": links,
            }
        )
    return occurrences, covered, gaps
