"""The newspaper online (issue 17, part 2): Báo Phú Thọ's RSS and Atom feeds
and its news sitemap, served by a real HTTP server on 127.0.0.1, read into
article proposals for its monthly obligation ``bao-phu-tho-cchc`` (print and
online), each new article's page kept by its SHA-256; on SQLite and
PostgreSQL.

The safe fetcher (``scheduler.fetching``) is built beside this; these tests
pass their own small ``fetch`` (urllib to 127.0.0.1, answers as ``Fetched``),
the shape the harvest job passes."""

from __future__ import annotations

import gzip
import hashlib
import threading
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.errors import N_
from scheduler.harvest.article_matching import choose, propose_articles
from scheduler.harvest.articles import MAX_ENTRIES, MAX_URLS, Article, FeedError, canonical, read_feed, read_sitemap
from scheduler.harvest.proposals import ARTICLE, NOT_OWED, Fetched, FetchFailed, Owed
from scheduler.plan.harvest_settings import Match
from scheduler.plan.production import read_files
from scheduler.settings import Settings
from scheduler.store.files import EvidenceStore
from scheduler.store.harvest_feeds import process_feed, process_sitemap
from scheduler.store.loading import save_schedules
from scheduler.store.tables import HarvestSourceRow, ProposalRow

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).parent / "data" / "harvest"
SITE = HERE / "bao-phu-tho"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LOADED = datetime(2024, 1, 2, 9, 0, tzinfo=TZ)
FETCHED = datetime(2024, 4, 2, 6, 0, tzinfo=TZ)
OUTLET, PLAN, OBLIGATION = "bao-phu-tho", "phu-tho-2024", "bao-phu-tho-cchc"
FILES = {
    "/rss/thoi-su.rss": ("thoi-su.rss", "application/rss+xml"),
    "/atom/xa-hoi.xml": ("xa-hoi.xml", "application/atom+xml"),
    "/sitemap-index.xml": ("sitemap-index.xml", "application/xml"),
    "/sitemap-news-2024-03.xml": ("sitemap-news-2024-03.xml", "application/xml"),
    "/sitemap-pages.xml": ("sitemap-pages.xml", "application/xml"),
}
GONE = {"/cchc/cai-cach-hanh-chinh-xa-thanh-ba.html"}  # its page answers 404


def occurrence(month: int) -> str:
    return f"{PLAN}.{OBLIGATION}.2024-{month:02d}.1"


# What a person would record from March 2024's feeds and sitemap, article by
# article: (occurrence, first) — first: the one to confirm; the others are
# offered beside it (one a month is owed) — or None: not the obligation's work.
LABELS: dict[str, tuple[str, bool] | None] = {
    "/cchc/day-manh-cai-cach-hanh-chinh-thanh-son.html": (occurrence(3), True),  # category; also in the sitemap
    "/the-thao/giai-bong-da-thieu-nien.html": None,
    "/xa-hoi/lam-thao-hai-long.html": (occurrence(3), False),  # by its tag CCHC only
    "/kinh-te/gia-lua-vu-xuan.html": None,
    "/quang-cao/dich-vu-ho-so.html": None,  # an advertisement: excluded
    "/cchc/lich-tiep-cong-dan.html": None,  # no date: skipped
    "/cchc/tong-ket-thang-2.html": (occurrence(2), True),  # published in February
    "/cchc/ket-qua-quy-1.html": (occurrence(4), True),  # 31/03 18:30 UTC is 1 April in Phú Thọ
    "/xa-hoi/giam-thoi-gian-ho-so-dat-dai.html": (occurrence(3), False),  # keyword written without diacritics
    "/xa-hoi/le-hoi-den-hung.html": None,
    "/xa-hoi/viet-tri-mot-cua.html": (occurrence(3), False),  # keyword, dated by <updated> only
    "/cchc/so-hoa-ho-so.html": (occurrence(3), False),  # sitemap only, news:keywords CCHC
    "/the-thao/vo-dich-vat.html": None,
    "/gioi-thieu.html": None,
    "/lien-he.html": None,
    "/cchc/cai-cach-hanh-chinh-xa-thanh-ba.html": (occurrence(3), False),  # a bare sitemap's URL words
}


@dataclass
class Site:
    base: str
    hits: Counter = field(default_factory=Counter)
    extra: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str) -> bytes:
        return f"<!doctype html><html lang=vi><meta charset=utf-8><title>{path}</title><h1>{path}</h1></html>".encode()


@pytest.fixture
def site():
    """Báo Phú Thọ's website on 127.0.0.1: its feeds, sitemaps and article pages."""
    state = Site("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            path = self.path
            state.hits[path] += 1
            if path in state.extra:
                body, kind = state.extra[path]
            elif path in FILES:
                name, kind = FILES[path]
                body = (SITE / name).read_bytes().replace(b"BASE", state.base.encode())
            elif path.endswith(".html") and path not in GONE:
                body, kind = state.page(path), "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def fetch(url: str) -> Fetched:
    """A plain fetch to the local server, answering as the safe fetcher does."""
    assert url.startswith("http://127.0.0.1:"), url
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            body = answer.read()
            return Fetched(url, answer.geturl(), answer.status, answer.headers.get("Content-Type", ""), body, FETCHED)
    except urllib.error.HTTPError as e:
        raise FetchFailed(N_("the server answered HTTP {status}"), status=e.code) from None


@pytest.fixture
def world(database, tmp_path):
    """The Phú Thọ 2024 plan loaded with Báo Phú Thọ's production layer
    (tests/data/harvest/bao-phu-tho-layer.yaml: its ``match``), and the
    evidence store."""
    plans = read_files([ROOT / "schedules" / "phu-tho-2024.yaml", HERE / "bao-phu-tho-layer.yaml"]).plans
    [paper] = [o for o in plans[0].obligations if o.code == OBLIGATION]
    assert paper.match is not None and paper.match.tags == ("CCHC",)
    settings = Settings.load(env={"OUTPUTS_DIR": str(tmp_path / "outputs"), "HARVEST_ALLOW": "127.0.0.0/8"})
    with database.transaction() as s:
        save_schedules(s, plans, {}, LOADED, settings)
    return database, settings, EvidenceStore(tmp_path / "outputs" / "evidence", settings.evidence_limit)


def source(site: Site, kind: str, path: str) -> HarvestSourceRow:
    return HarvestSourceRow(
        kind=kind,
        url=site.url(path),
        host=site.base.removeprefix("http://"),
        outlet=OUTLET,
        plan_code=PLAN,
        obligation_code="",
        config={},
        active=True,
        next_at=LOADED,
    )


def harvest(world, site: Site) -> int:
    """One pass over the newspaper's sources, as the daemon's job makes it."""
    database, settings, store = world
    made = 0
    for kind, path, process in (
        ("feed", "/rss/thoi-su.rss", process_feed),
        ("feed", "/atom/xa-hoi.xml", process_feed),
        ("sitemap", "/sitemap-index.xml", process_sitemap),
    ):
        with database.transaction() as s:
            src = source(site, kind, path)
            s.add(src)
            made += process(s, src, fetch(src.url), fetch, store, settings)
    return made


def proposals(database) -> list[ProposalRow]:
    with database.transaction() as s:
        return list(s.scalars(select(ProposalRow).order_by(ProposalRow.id)))


def test_a_month_of_the_newspaper_gives_what_a_person_would_record(world, site):
    database, _settings, store = world
    assert harvest(world, site) == 8
    rows = proposals(database)
    by_path: dict[str, list[ProposalRow]] = {}
    for row in rows:
        by_path.setdefault(canonical(row.evidence["url"]).removeprefix(site.base), []).append(row)
    assert set(by_path) <= set(LABELS), set(by_path) - set(LABELS)
    right = 0
    for path, label in LABELS.items():
        found = by_path.get(path, [])
        if label is None:
            right += not found
            continue
        occ, first = label
        right += (
            len(found) == 1
            and found[0].kind == ARTICLE
            and found[0].occurrence_id == occ
            and ("xác nhận một bài" not in found[0].detail) == first
        )
    print(f"articles: {right}/{len(LABELS)} right")
    assert right == len(LABELS)

    first = by_path["/cchc/day-manh-cai-cach-hanh-chinh-thanh-son.html"][0]
    page = site.page("/cchc/day-manh-cai-cach-hanh-chinh-thanh-son.html")
    digest = hashlib.sha256(page).hexdigest()
    assert first.evidence["moment"] == "2024-03-05T08:00:00+07:00"
    assert first.evidence["moment_kind"] == "published"
    assert first.evidence["title"] == "Đẩy mạnh cải cách hành chính ở huyện Thanh Sơn"
    assert first.evidence["needs"] == ["issue_number", "page"]  # print and online: the print half
    assert "phần in cần số báo và trang" in first.detail
    assert first.evidence["files"] == [
        {"sha256": digest, "size": len(page), "name": "bai-viet-2024-03-05.html", "type": "text/plain"}
    ]
    assert first.source == {
        "type": "feed",
        "feed": site.url("/rss/thoi-su.rss"),
        "url": site.url("/cchc/day-manh-cai-cach-hanh-chinh-thanh-son.html"),
        "fetched_at": FETCHED.isoformat(),
        "snapshot_sha256": digest,
    }
    assert store.path(digest).read_bytes() == page  # kept by its SHA-256
    assert store.rehash(digest) is None
    # The duplicate from the sitemap was neither proposed again nor fetched again.
    assert site.hits["/cchc/day-manh-cai-cach-hanh-chinh-thanh-son.html"] == 1
    sitemap_only = by_path["/cchc/so-hoa-ho-so.html"][0]
    assert sitemap_only.source["type"] == "sitemap"
    assert sitemap_only.source["feed"] == site.url("/sitemap-news-2024-03.xml")
    assert "thẻ «CCHC»" in sitemap_only.detail
    gone = by_path["/cchc/cai-cach-hanh-chinh-xa-thanh-ba.html"][0]
    assert gone.evidence["files"] == [] and gone.source["snapshot_sha256"] == ""
    assert "không lưu được trang" in gone.detail
    # Unrelated and excluded articles were never fetched.
    assert site.hits["/quang-cao/dich-vu-ho-so.html"] == 0
    assert site.hits["/the-thao/giai-bong-da-thieu-nien.html"] == 0


def test_a_second_run_proposes_nothing_new_and_fetches_no_page_again(world, site):
    database, _settings, _store = world
    assert harvest(world, site) == 8
    pages = {p: n for p, n in site.hits.items() if p.endswith(".html")}
    assert harvest(world, site) == 0
    assert {p: n for p, n in site.hits.items() if p.endswith(".html")} == pages
    assert len(proposals(database)) == 8


def test_a_malformed_feed_is_an_error_naming_its_url(world, site):
    database, settings, store = world
    site.extra["/rss/hong.rss"] = (
        b"<rss version='2.0'><channel><item><title>x</item></channel>",
        "application/rss+xml",
    )
    src = source(site, "feed", "/rss/hong.rss")
    with pytest.raises(FeedError) as caught, database.transaction() as s:
        process_feed(s, src, fetch(src.url), fetch, store, settings)
    assert site.url("/rss/hong.rss") in caught.value.render()
    assert "mismatched tag" in caught.value.render()
    assert proposals(database) == []


def test_a_feed_larger_than_the_limit_is_refused(world, site, tmp_path):
    database, _settings, store = world
    small = Settings.load(env={"OUTPUTS_DIR": str(tmp_path / "outputs"), "HARVEST_MAX_BYTES": "2KiB"})
    src = source(site, "feed", "/rss/thoi-su.rss")
    with pytest.raises(FeedError) as caught, database.transaction() as s:
        process_feed(s, src, fetch(src.url), fetch, store, small)
    assert caught.value.render() == f"{src.url} is larger than the limit of 2 KiB: not read"
    assert proposals(database) == [] and not any(p.endswith(".html") for p in site.hits)


# The core, without a database.


def owed(month: int, met: bool = False, number: int = 1) -> Owed:
    start = datetime(2024, month, 1, tzinfo=TZ)
    end = datetime(2024, month + 1, 1, tzinfo=TZ)
    return Owed(
        id=f"{PLAN}.{OBLIGATION}.2024-{month:02d}.{number}",
        plan=PLAN,
        obligation=OBLIGATION,
        outlet=OUTLET,
        period=f"2024-{month:02d}",
        number=number,
        window_start=start,
        window_end=end,
        due=end,
        slot=None,
        channels=("online",),
        match=Match(tags=("CCHC",)),
        met=met,
    )


def test_an_article_of_a_met_month_is_shown_not_recorded_and_a_late_one_is_proposed_late():
    march = owed(3, met=True)
    moment = datetime(2024, 3, 9, tzinfo=TZ)
    target, kind, note = choose(moment, [march], set())
    assert (target, kind) == (march, NOT_OWED) and "đã được ghi nhận đủ" in note
    # February's window ended unmet and no window holds the moment: late for February.
    february = owed(2)
    target, kind, note = choose(moment, [february], set())
    assert (target, kind) == (february, ARTICLE) and "trễ hạn" in note
    assert choose(datetime(2023, 12, 31, tzinfo=TZ), [february], set()) is None
    cancelled = replace(owed(3), status="cancelled")
    target, kind, note = choose(moment, [february, cancelled], set())
    assert (target, kind) == (cancelled, NOT_OWED) and "đã bị huỷ" in note
    article = Article("https://baophutho.vn/a.html", "Bài", moment, tags=("cchc",))
    made = propose_articles([article], [owed(3)], OUTLET, moment, moment, "https://baophutho.vn/rss")
    assert [p.kind for p in made] == [ARTICLE] and "needs" not in made[0].evidence  # owed online only
    assert (
        made[0].key
        == propose_articles(
            [replace(article, url="HTTPS://BaoPhuTho.vn/a.html?utm_campaign=x#top")],
            [owed(3)],
            OUTLET,
            moment,
            moment,
            "https://baophutho.vn/sitemap.xml",
            source_type="sitemap",
        )[0].key
    )


def test_feeds_and_sitemaps_are_read_within_their_bounds():
    rss = (SITE / "thoi-su.rss").read_bytes().replace(b"BASE", b"https://baophutho.vn")
    reading = read_feed(rss, "https://baophutho.vn/rss/thoi-su.rss", TZ)
    assert reading.undated == 1 and len(reading.articles) == 7
    tagged = next(a for a in reading.articles if a.url.endswith("lam-thao-hai-long.html"))
    assert tagged.tags == ("CCHC", "Lâm Thao") and tagged.categories == ("Xã hội", "Hành chính công")
    first = reading.articles[0]
    assert first.summary == "Huyện Thanh Sơn rút ngắn thời gian giải quyết thủ tục & tăng dịch vụ công trực tuyến."
    index = read_sitemap(
        (SITE / "sitemap-index.xml").read_bytes().replace(b"BASE", b"https://baophutho.vn"), "https://x/s.xml", TZ
    )
    assert [url for url, _ in index.children] == [
        "https://baophutho.vn/sitemap-news-2024-03.xml",
        "https://baophutho.vn/sitemap-pages.xml",
    ]
    many = b"".join(b"<url><loc>https://baophutho.vn/%d</loc></url>" % i for i in range(MAX_URLS + 1))
    body = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + many + b"</urlset>"
    with pytest.raises(FeedError, match="more than the limit of 50000"):
        read_sitemap(body, "https://baophutho.vn/big.xml", TZ)
    items = b"".join(
        b"<item><title>t</title><link>https://baophutho.vn/%d</link></item>" % i for i in range(MAX_ENTRIES + 1)
    )
    with pytest.raises(FeedError, match="lists 5001 entries, more than the limit of 5000"):
        read_feed(b'<rss version="2.0"><channel><title>x</title>' + items + b"</channel></rss>", "https://b/r", TZ)
    packed = gzip.compress((SITE / "sitemap-pages.xml").read_bytes().replace(b"BASE", b"https://baophutho.vn"))
    pages = read_sitemap(packed, "https://baophutho.vn/sitemap-pages.xml.gz", TZ)
    assert [a.url for a in pages.articles][-1] == "https://baophutho.vn/cchc/cai-cach-hanh-chinh-xa-thanh-ba.html"
    assert pages.undated == 1
    inflated_bomb = gzip.compress(b"<urlset>" + b" " * 2_000_000 + b"</urlset>")
    with pytest.raises(FeedError, match="larger than the limit of 1 MiB"):
        read_sitemap(inflated_bomb, "https://baophutho.vn/z.xml.gz", TZ, limit=2**20)
    bomb = b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><urlset>&a;</urlset>"
    with pytest.raises(FeedError, match="the sitemap https://baophutho.vn/b.xml cannot be read"):
        read_sitemap(bomb, "https://baophutho.vn/b.xml", TZ)
    with pytest.raises(FeedError, match="neither RSS nor Atom"):
        read_feed(b"<html><body>not a feed</body></html>", "https://baophutho.vn/x", TZ)
    assert timedelta(0) == reading.articles[-1].published.utcoffset() - timedelta(hours=7)


def test_an_article_for_a_month_already_recorded_is_shown_not_proposed_for_recording(world, site):
    from scheduler.evidence.deliveries import Evidence
    from scheduler.people.permissions import Actor
    from scheduler.store.recording import record_delivery

    database, settings, _store = world
    producer = Actor("toasoan@baophutho.example", ("producer",), OUTLET)
    typed = Evidence(
        datetime(2024, 2, 20, 8, 0, tzinfo=TZ),
        "published",
        url="https://baophutho.vn/cchc/thang-2.html",
        title="Cải cách hành chính tháng 2",
        fields={"issue_number": "4012", "page": "3"},
    )
    with database.transaction() as s:
        record_delivery(s, producer, typed, datetime(2024, 2, 20, 9, 0, tzinfo=TZ), settings.base_url, occurrence(2))
    harvest(world, site)
    february = [r for r in proposals(database) if r.occurrence_id == occurrence(2)]
    assert [(r.kind, r.evidence["url"]) for r in february] == [(NOT_OWED, site.url("/cchc/tong-ket-thang-2.html"))]
    assert "kỳ 2024-02 đã được ghi nhận đủ" in february[0].detail
    assert february[0].evidence["files"] == [] and site.hits["/cchc/tong-ket-thang-2.html"] == 0
