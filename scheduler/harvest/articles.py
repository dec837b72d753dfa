"""A newspaper's website read as articles: its RSS/Atom feeds (feedparser)
and its sitemaps (defusedxml), each article with its URL, title, published
moment and the site's own categories and tags. Which of them are owed work
is ``harvest/article_matching.py``'s.

Bounded: a feed or sitemap larger than the limit, a feed of more than
``MAX_ENTRIES`` entries or a sitemap of more than 50,000 URLs (the sitemap
protocol's own limit) is refused with its URL named, never half-read.
"""

from __future__ import annotations

import html
import re
import zlib
from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeXML  # type: ignore[import-untyped]  # no stubs installed
import feedparser  # type: ignore[import-untyped]  # feedparser ships no types
from defusedxml import DefusedXmlException

from scheduler.bounds import LONG, TEXT, format_size
from scheduler.errors import N_, SchedulerError

MAX_ENTRIES = 5000  # a news site's feed holds 20-500 items
MAX_URLS = 50_000  # sitemaps.org: a sitemap lists at most 50,000 URLs
MAX_SITEMAP_BYTES = 50 * 2**20  # sitemaps.org: at most 50 MiB uncompressed
MAX_LABELS = 50  # categories and tags kept per article
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
# feedparser's complaints that leave a feed read whole (an encoding or content
# type it overrode, a prefix used undeclared); any other (XML not well formed,
# cut short) refuses the feed rather than reading part of it.
HARMLESS = (feedparser.exceptions.ThingsNobodyCaresAboutButMe, feedparser.exceptions.UndeclaredNamespace)


class FeedError(SchedulerError):
    """A feed or sitemap that cannot be read: the message names its URL and why."""


@dataclass(frozen=True)
class Article:
    """One published piece as the site lists it. ``published`` is aware, in the plan's zone."""

    url: str
    title: str
    published: datetime
    categories: tuple[str, ...] = ()  # sections and categories (RSS/Atom category, dc:subject)
    tags: tuple[str, ...] = ()  # keywords (media:keywords, news:keywords)
    summary: str = ""  # plain text
    feed: str = ""  # the feed or sitemap it was read from


@dataclass(frozen=True)
class Reading:
    """What one feed or sitemap gave: its articles, how many entries had no
    date (skipped: no moment, no proof), the child sitemaps of a sitemap
    index (url, lastmod or None) and feedparser's complaint about a feed it
    still read."""

    articles: tuple[Article, ...]
    undated: int = 0
    children: tuple[tuple[str, datetime | None], ...] = ()
    note: str = ""


def canonical(url: str) -> str:
    """The one spelling of an article's URL: scheme and host in lower case,
    no fragment, no ``utm_*`` parameters, so the feed's link and the
    sitemap's are the same article.

    >>> canonical("HTTPS://BaoPhuTho.vn/cchc/bai-1.html?utm_source=rss&id=3#top")
    'https://baophutho.vn/cchc/bai-1.html?id=3'
    """
    parts = urlsplit(url.strip())
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith("utm_")]
    )
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


def read_feed(body: bytes, url: str, tz: tzinfo, limit: int = 10 * 2**20) -> Reading:
    """An RSS 0.9x/2.0 or Atom feed's entries as articles (dated by their
    published moment, else their updated one). A feed that is not well
    formed is refused (``FeedError`` with feedparser's reason), not half read."""
    _check_size(body, url, limit)
    _check_entries(body.count(b"<item") + body.count(b"<entry"), url)  # before parsing them all
    parsed = feedparser.parse(
        body, sanitize_html=True, resolve_relative_uris=True, response_headers={"content-location": url}
    )
    note = _bozo(parsed)
    if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), HARMLESS):
        raise FeedError(N_("the feed {url} cannot be read: {reason}"), url=url, reason=note or "-")
    if not parsed.get("version"):
        raise FeedError(N_("the feed {url} is neither RSS nor Atom"), url=url)
    entries = parsed.get("entries") or []
    _check_entries(len(entries), url)
    articles, undated = [], 0
    for entry in entries:
        link = _link(entry)
        moment = _moment(entry, tz)
        if not link:
            continue  # nothing to point at: not evidence
        if moment is None:
            undated += 1
            continue
        keywords = _split(str(entry.get("media_keywords") or ""))
        labels = [str(t.get("term") or t.get("label") or "") for t in entry.get("tags") or ()]
        articles.append(
            Article(
                url=link[:TEXT],
                title=_text(str(entry.get("title") or ""), TEXT),
                published=moment,
                categories=_labels(label for label in labels if label not in keywords),
                tags=_labels(keywords),
                summary=_text(str(entry.get("summary") or ""), LONG),
                feed=url,
            )
        )
    return Reading(tuple(articles), undated, note=note if parsed.get("bozo") else "")


def read_sitemap(body: bytes, url: str, tz: tzinfo, limit: int = MAX_SITEMAP_BYTES) -> Reading:
    """A sitemap (``urlset``, with Google News tags when present) as articles,
    or a sitemap index as its child sitemaps. A gzipped sitemap is inflated
    up to the limit."""
    body = _inflate(body, url, min(limit, MAX_SITEMAP_BYTES))
    _check_urls(body.count(b"<loc"), url)  # before parsing them all
    try:
        root = SafeXML.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as e:
        raise FeedError(
            N_("the sitemap {url} cannot be read: {reason}"), url=url, reason=str(e) or type(e).__name__
        ) from None
    tag = _local(root.tag)
    if tag == "sitemapindex":
        items = [c for c in root if _local(c.tag) == "sitemap"]
        _check_count(items, url)
        children = tuple(
            (loc, _date(_child_text(c, "lastmod"), tz))
            for c in items
            if (loc := _child_text(c, "loc")).startswith(("http://", "https://"))
        )
        return Reading((), children=children)
    if tag != "urlset":
        raise FeedError(
            N_("the sitemap {url} is neither a <urlset> nor a <sitemapindex> (its root is <{tag}>)"), url=url, tag=tag
        )
    items = [c for c in root if _local(c.tag) == "url"]
    _check_count(items, url)
    articles, undated = [], 0
    for item in items:
        loc = _child_text(item, "loc")
        if not loc.startswith(("http://", "https://")):
            continue
        news = item.find(f"{NEWS}news")
        title = _child_text(news, "title", NEWS) if news is not None else ""
        moment = _date(_child_text(news, "publication_date", NEWS), tz) if news is not None else None
        moment = moment or _date(_child_text(item, "lastmod"), tz)
        if moment is None:
            undated += 1
            continue
        keywords = _split(_child_text(news, "keywords", NEWS)) if news is not None else ()
        articles.append(
            Article(url=loc[:TEXT], title=_text(title, TEXT), published=moment, tags=_labels(keywords), feed=url)
        )
    return Reading(tuple(articles), undated)


def _check_size(body: bytes, url: str, limit: int) -> None:
    if len(body) > limit:
        raise FeedError(N_("{url} is larger than the limit of {limit}: not read"), url=url, limit=format_size(limit))


def _check_entries(count: int, url: str) -> None:
    if count > MAX_ENTRIES:
        raise FeedError(
            N_("the feed {url} lists {count} entries, more than the limit of {limit}"),
            url=url,
            count=count,
            limit=MAX_ENTRIES,
        )


def _check_count(items: list[Element], url: str) -> None:
    _check_urls(len(items), url)


def _check_urls(count: int, url: str) -> None:
    if count > MAX_URLS:
        raise FeedError(
            N_("the sitemap {url} lists {count} entries, more than the limit of {limit}"),
            url=url,
            count=count,
            limit=MAX_URLS,
        )


def _inflate(body: bytes, url: str, limit: int) -> bytes:
    """A ``.xml.gz`` sitemap inflated, never beyond ``limit`` bytes (a gzip bomb is refused)."""
    if not body.startswith(b"\x1f\x8b"):
        _check_size(body, url, limit)
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as e:
        raise FeedError(N_("the sitemap {url} cannot be read: {reason}"), url=url, reason=f"gzip: {e}") from None
    _check_size(out, url, limit)
    return out


def _bozo(parsed: Any) -> str:
    problem = parsed.get("bozo_exception")
    if problem is None:
        return ""
    text = str(problem).strip() or type(problem).__name__
    return text[:200]


def _link(entry: Any) -> str:
    """The entry's page: its link, else an id that is a web address."""
    for value in (entry.get("link"), entry.get("id")):
        text = str(value or "").strip()
        if text.startswith(("http://", "https://")):
            return text
    return ""


def _moment(entry: Any, tz: tzinfo) -> datetime | None:
    """Published, else updated, read from the feed's own words so an offset
    is kept and a moment without one is the plan's local time (feedparser's
    parsed value would take it for UTC); feedparser's reading as the last resort."""
    for name in ("published", "updated", "created"):
        raw = str(entry.get(name) or "")
        if moment := _date(raw, tz):
            return moment
        parsed = entry.get(f"{name}_parsed")
        if parsed:
            return datetime.fromtimestamp(timegm(parsed), UTC).astimezone(tz)
    return None


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date(raw: str, tz: tzinfo) -> datetime | None:
    """An RFC 822 date (RSS) or a W3C/ISO 8601 one (Atom, sitemaps), aware in ``tz``."""
    raw = raw.strip()
    if not raw:
        return None
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
    if moment is None or not 1900 <= moment.year <= 2199:
        return None
    if moment.tzinfo is None:  # "2024-03-05" or a local time: the plan's zone
        return moment.replace(tzinfo=tz)
    return moment.astimezone(tz)


def _local(tag: Any) -> str:
    return str(tag).rpartition("}")[2]


def _child_text(node: Element | None, name: str, namespace: str = SITEMAP) -> str:
    if node is None:
        return ""
    child = node.find(f"{namespace}{name}")
    if child is None:  # a sitemap written without its namespace
        child = node.find(name)
    return (child.text or "").strip() if child is not None else ""


_TAG = re.compile(r"<[^>]*>")


def _text(value: str, limit: int) -> str:
    """Plain text of a title or summary (feedparser leaves sanitized HTML), bounded."""
    return " ".join(html.unescape(_TAG.sub(" ", value)).split())[:limit]


def _split(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _labels(values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_text(str(v), 200) for v in values if str(v).strip()))[:MAX_LABELS]
