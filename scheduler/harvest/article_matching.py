"""Which articles are owed work, and for which occurrence: an article
matches an obligation when its categories or tags, its words or its title
say so (the production layer's ``match``, compared folded as
``harvest.titles.normal``), and is proposed for the occurrence whose window
holds its published moment.

The choice of occurrence, in order:

1. windows holding the moment: the lowest-numbered one not yet met and not
   already given an article in this run (ARTICLE); when every unmet one has
   its article, the article is offered beside the first one's (ARTICLE, the
   detail says to confirm one); when all are met or cancelled, it is
   shown, not recorded (NOT_OWED, the detail says which);
2. no window holds it (a gap between windows, after a deadline): the unmet
   occurrence whose window ended last before it (ARTICLE; recorded, the
   delivery rule judges it late);
3. otherwise (before the plan's first window, or nothing unmet): no proposal.

An obligation owed in print and online gets the online half: the evidence
says ``needs: [issue_number, page]`` so the confirming form asks for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from scheduler.harvest.articles import Article, canonical
from scheduler.harvest.proposals import ARTICLE, NOT_OWED, Owed, Proposal, proposal_key
from scheduler.harvest.titles import any_match, normal

PRINT_NEEDS = ("issue_number", "page")  # the print half of a print+online obligation
PRINT_DETAIL = "phần in cần số báo và trang"
CANCELLED = "cancelled"  # an occurrence's status (``Owed.status``): owed no more


def propose_articles(
    articles: Iterable[Article],
    owed: Sequence[Owed],
    outlet: str,
    now: datetime,
    fetched_at: datetime,
    feed_url: str,
    source_type: str = "feed",
    taken: Iterable[str] = (),
) -> list[Proposal]:
    """One proposal per (obligation, article) that matches, articles taken in
    published order; the same article under two URL spellings (the feed's
    and the sitemap's) is one. ``taken``: occurrences already given an
    article by an earlier run, still open."""
    groups: dict[tuple[str, str], list[Owed]] = {}
    for o in owed:
        if o.outlet == outlet and o.match is not None:
            groups.setdefault((o.plan, o.obligation), []).append(o)
    for occurrences in groups.values():
        occurrences.sort(key=lambda o: (o.window_start, o.number))
    used = set(taken)
    proposals = []
    for article in unique(articles):
        for occurrences in groups.values():
            why = reason(article, occurrences[0].match)
            if not why:
                continue
            chosen = choose(article.published, occurrences, used)
            if chosen is None:
                continue
            target, kind, note = chosen
            proposals.append(
                _proposal(article, target, kind, why, note, outlet, now, fetched_at, feed_url, source_type)
            )
    return proposals


def unique(articles: Iterable[Article]) -> list[Article]:
    """Articles by canonical URL, in published order; of two readings of one
    article the one with a title (a feed's, over a bare sitemap's) is kept."""
    kept: dict[str, Article] = {}
    for a in articles:
        key = canonical(a.url)
        if key not in kept or (not kept[key].title and a.title):
            kept[key] = a
    return sorted(kept.values(), key=lambda a: (a.published, canonical(a.url)))


def reason(article: Article, match: Any) -> str:
    """Why the article is the obligation's work, in words for people; "" when it is not."""
    if match is None or any_match(match.exclude, article.title):
        return ""
    labels = {normal(x): x for x in article.categories + article.tags}
    for wanted in match.categories + match.tags:
        if normal(wanted) and normal(wanted) in labels:
            return f"chuyên mục/thẻ «{labels[normal(wanted)]}»"
    text = f" {normal(article.title + ' ' + article.summary + ' ' + _slug(article))} "
    for word in match.keywords:
        if normal(word) and f" {normal(word)} " in text:
            return f"từ khoá «{word}»"
    for pattern in match.titles:
        if any_match((pattern,), article.title):
            return f"tiêu đề «{pattern}»"
    return ""


def choose(moment: datetime, occurrences: Sequence[Owed], used: set[str]) -> tuple[Owed, str, str] | None:
    """The occurrence an article published at ``moment`` is proposed for (the
    module's rule), its kind and what the detail adds; marks it used."""
    holding = [o for o in occurrences if o.window_start <= moment < o.window_end]
    live = [o for o in holding if o.status != CANCELLED]
    if holding and not live:
        return holding[0], NOT_OWED, f"kỳ {holding[0].period} đã bị huỷ: bài này không cần ghi"
    unmet = [o for o in live if not o.met]
    if live and not unmet:
        return live[0], NOT_OWED, f"kỳ {live[0].period} đã được ghi nhận đủ: bài này không cần ghi thêm"
    free = sorted((o for o in unmet if o.id not in used), key=lambda o: o.number)
    if free:
        used.add(free[0].id)
        return free[0], ARTICLE, ""
    if unmet:
        first = min(unmet, key=lambda o: o.number)
        return first, ARTICLE, "một bài khác cũng được đề xuất cho lần này: xác nhận một bài"
    ended = [o for o in occurrences if o.window_end <= moment and not o.met and o.status != CANCELLED]
    if ended:
        last = max(ended, key=lambda o: (o.window_end, -o.number))
        return last, ARTICLE, f"đăng sau khi kỳ {last.period} kết thúc ({last.window_end:%d/%m/%Y}): sẽ tính là trễ hạn"
    return None


def _proposal(
    article: Article,
    target: Owed,
    kind: str,
    why: str,
    note: str,
    outlet: str,
    now: datetime,
    fetched_at: datetime,
    feed_url: str,
    source_type: str,
) -> Proposal:
    evidence: dict[str, Any] = {
        "moment": article.published.isoformat(),
        "moment_kind": "published",
        "url": article.url,
        "title": article.title,
        "fields": {},
        "files": [],
    }
    parts = [f"khớp {why}", f"đăng {article.published:%d/%m/%Y %H:%M}"]
    if "print" in target.channels:
        evidence["needs"] = list(PRINT_NEEDS)
        parts.append(PRINT_DETAIL)
    if note:
        parts.append(note)
    return Proposal(
        kind=kind,
        outlet=outlet,
        plan=target.plan,
        obligation=target.obligation,
        occurrence=target.id,
        key=proposal_key("article", outlet, target.plan, target.obligation, canonical(article.url)),
        evidence=evidence,
        source={
            "type": source_type,
            "feed": article.feed or feed_url,  # a sitemap index's child, where it was read
            "url": article.url,
            "fetched_at": fetched_at.isoformat(),
            "snapshot_sha256": "",
        },
        detail="; ".join(parts),
        found_at=now,
    )


def _slug(article: Article) -> str:
    """A bare sitemap's article has no title: the words of its URL's last part stand in for it."""
    if article.title:
        return ""
    last = unquote(urlsplit(article.url).path.rstrip("/").rpartition("/")[2])
    return last.rsplit(".", 1)[0]
