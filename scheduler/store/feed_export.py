"""Static feed files: every active subscription's feed (and the public ones
when switched on) under OUTPUTS_DIR/feeds/, each written atomically and only
when its bytes changed; files of revoked subscriptions are removed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scheduler.people.accounts import FeedScope
from scheduler.settings import Settings
from scheduler.store import people
from scheduler.store.database import Database
from scheduler.store.feed_cache import FeedCache
from scheduler.store.feed_items import group_members, rerender_stale, with_members
from scheduler.store.files import atomic_write


@dataclass(frozen=True)
class Exported:
    count: int
    folder: Path
    written: int
    removed: int


def export_feeds(db: Database, settings: Settings) -> Exported:
    folder = settings.outputs_dir / "feeds"
    with db.transaction() as s:
        rerender_stale(s, settings.base_url)
        groups = group_members(s)  # a group's feed holds its members' items
        subs = [
            (row.export_name, with_members(people.scope_of(row), groups), lang)
            for row, lang in people.active_subscriptions(s)
        ]
    cache = FeedCache(db)
    cache.refresh()
    wanted: dict[Path, bytes] = {folder / f"{name}.ics": cache.feed(scope, lang).body for name, scope, lang in subs}
    if settings.public_feed:
        for plan in cache.state.names.get("plan", {}):
            for lang in ("vi", "en"):
                suffix = "" if lang == "vi" else ".en"
                wanted[folder / "public" / f"{plan}{suffix}.ics"] = cache.feed(
                    FeedScope(plan=plan, milestones=False), lang
                ).body
    written = 0
    for path, body in wanted.items():
        if not path.exists() or path.read_bytes() != body:
            atomic_write(path, body)
            written += 1
    removed = 0
    for path in folder.rglob("*.ics") if folder.exists() else []:
        if path not in wanted:
            path.unlink()
            removed += 1
    return Exported(len(wanted), folder, written, removed)
