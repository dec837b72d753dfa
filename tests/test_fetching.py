"""The harvester's HTTP client against real servers on 127.0.0.1: private
and loopback addresses refused unless allowed (redirects too), time and
size bounded, conditional GET, redirects counted, who it says it is, and
one request per host at a time with a pause."""

from __future__ import annotations

import ipaddress
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from http_fixtures import HttpServer
from scheduler.fetching.client import Limits, fetch, limits_of, redirect_target, user_agent, vet
from scheduler.fetching.hosts import Hosts
from scheduler.harvest.proposals import FetchFailed
from scheduler.i18n import gettext_for
from scheduler.settings import Settings

NOW = datetime(2024, 3, 15, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


def limits(allow=LOOPBACK, timeout=2.0, max_bytes=10_000, pause=0.05) -> Limits:
    return Limits(timeout, max_bytes, pause, allow, user_agent("https://lich.example.vn"))


@pytest.fixture
def server():
    with HttpServer() as s:
        yield s


def get(url: str, lim: Limits | None = None, **kw):
    return fetch(url, now=NOW, limits=lim or limits(), hosts=Hosts(), **kw)


def test_loopback_is_refused_unless_allowed_and_nothing_is_asked(server):
    server.route("/", body=b"hello")
    for url in (server.url("/"), f"http://localhost:{server.port}/"):
        with pytest.raises(FetchFailed) as e:
            get(url, limits(allow=()))
        assert "127.0.0.1" in str(e.value) or "::1" in str(e.value)
        assert "HARVEST_ALLOW" in str(e.value)
    assert server.seen == []
    # the message is for people, in Vietnamese first
    with pytest.raises(FetchFailed) as e:
        get(server.url("/"), limits(allow=()))
    assert "địa chỉ" in e.value.render(gettext_for("vi"))


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "224.0.0.1", "[::1]", "[::ffff:127.0.0.1]"]
)
def test_private_link_local_multicast_and_unspecified_addresses_are_refused(address):
    with pytest.raises(FetchFailed, match="private, loopback or reserved"):
        vet(f"http://{address}/x")


def test_only_http_and_https_and_a_host_are_accepted():
    for url in ("ftp://example.com/a", "file:///etc/passwd", "gopher://x/", "http:///nohost", "http://x:99999/"):
        with pytest.raises(FetchFailed):
            vet(url)


def test_the_settings_allow_loopback_and_the_answer_is_kept_with_who_asked(server, tmp_path):
    server.route("/feed.xml", body=b"<rss/>", headers={"Content-Type": "application/rss+xml", "ETag": '"v1"'})
    settings = Settings.load(
        env={"HARVEST_ALLOW": "127.0.0.0/8", "BASE_URL": "https://lich.example.vn", "OUTPUTS_DIR": str(tmp_path)}
    )
    got = fetch(server.url("/feed.xml"), now=NOW, limits=limits_of(settings), hosts=Hosts())
    assert (got.status, got.body, got.content_type, got.etag) == (200, b"<rss/>", "application/rss+xml", '"v1"')
    assert got.url == got.final_url == server.url("/feed.xml") and got.fetched_at == NOW
    asked = server.seen[0].headers
    assert asked["user-agent"] == "LichTuyenTruyen/0.1 (+https://lich.example.vn; thu thap minh chung)"
    assert asked["accept-encoding"] == "identity"
    assert asked["host"] == server.netloc  # the name asked for, though the connection went to the vetted address


def test_a_redirect_to_a_private_address_is_refused_from_an_allowed_host(server):
    only_this = (ipaddress.ip_network("127.0.0.1/32"),)
    for target in ("http://10.0.0.1/feed", f"http://[::1]:{server.port}/feed"):
        server.route("/moved", status=302, location=target)
        with pytest.raises(FetchFailed, match="private, loopback or reserved"):
            get(server.url("/moved"), limits(allow=only_this))
    assert server.paths() == ["/moved", "/moved"]  # the redirect was asked, its target never


def test_redirects_are_followed_up_to_five(server):
    for n in range(7):
        server.route(f"/r{n}", status=301 if n % 2 else 307, location=f"/r{n + 1}")
    server.route("/r7", body=b"end")
    server.route("/s0", status=302, location=server.url("/r3"))  # absolute: s0 r3 r4 r5 r6, 5 hops to /r7
    got = get(server.url("/s0"), limits(pause=0.01))
    assert got.body == b"end" and got.final_url == server.url("/r7") and got.url == server.url("/s0")
    with pytest.raises(FetchFailed, match="more than 5 redirects"):
        get(server.url("/r0"), limits(pause=0.01))


def test_a_redirect_from_https_down_to_http_is_refused():
    with pytest.raises(FetchFailed, match="from https to plain http"):
        redirect_target("https://baophutho.vn/rss", "http://baophutho.vn/rss", 301)
    with pytest.raises(FetchFailed, match="without saying where"):
        redirect_target("https://baophutho.vn/rss", " ", 302)
    assert redirect_target("https://baophutho.vn/a/rss", "../b", 302) == "https://baophutho.vn/b"
    assert redirect_target("http://baophutho.vn/rss", "https://baophutho.vn/rss", 301) == "https://baophutho.vn/rss"


def test_an_answer_larger_than_the_limit_fails_with_or_without_its_length(server):
    server.route("/big", body=b"x" * 5000)
    server.route("/big-unsaid", body=b"x" * 5000, length=False)
    server.route("/fits", body=b"x" * 1000, length=False)
    for path in ("/big", "/big-unsaid"):
        with pytest.raises(FetchFailed, match="larger than"):
            get(server.url(path), limits(max_bytes=1000))
    assert get(server.url("/fits"), limits(max_bytes=1000)).body == b"x" * 1000


def test_a_slow_server_times_out(server):
    server.route("/slow", body=b"late", delay=1.5)
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="no answer within 0.3 seconds"):
        get(server.url("/slow"), limits(timeout=0.3))
    assert time.monotonic() - started < 1.2


def test_a_trickling_answer_stops_at_the_whole_fetchs_deadline(server):
    server.route("/drip", body=b"y" * 2000, trickle=0.1)  # each read is quick; the whole takes 2 s
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="no answer within"):
        get(server.url("/drip"), limits(timeout=0.5))
    assert time.monotonic() - started < 1.5


def test_a_conditional_get_gives_304_with_an_empty_body(server):
    server.route("/feed", body=b"<rss/>", etag='"abc"')
    first = get(server.url("/feed"))
    assert first.status == 200 and first.etag == '"abc"'
    again = get(server.url("/feed"), etag=first.etag, last_modified="Fri, 15 Mar 2024 02:00:00 GMT")
    assert (again.status, again.body, again.etag) == (304, b"", '"abc"')
    assert server.seen[1].headers["if-none-match"] == '"abc"'
    assert server.seen[1].headers["if-modified-since"] == "Fri, 15 Mar 2024 02:00:00 GMT"


def test_an_http_error_fails_with_its_status(server):
    with pytest.raises(FetchFailed) as e:
        get(server.url("/missing"))
    assert e.value.params["status"] == 404 and "404" in str(e.value)


def test_given_headers_go_to_the_first_host_only(server):
    with HttpServer() as other:
        other.route("/api", body=b"{}")
        server.route("/api", status=302, location=other.url("/api"))
        get(server.url("/api"), headers={"Authorization": "Api-Key s3cret"})
    assert server.seen[0].headers["authorization"] == "Api-Key s3cret"
    assert "authorization" not in other.seen[0].headers


def test_one_request_per_host_at_a_time_with_a_pause(server):
    server.route("/a", body=b"a", delay=0.2)
    server.route("/b", body=b"b", delay=0.2)
    hosts, lim, got = Hosts(), limits(pause=0.15), []
    threads = [
        threading.Thread(target=lambda p=p: got.append(fetch(server.url(p), now=NOW, limits=lim, hosts=hosts)))
        for p in ("/a", "/b", "/a")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 3 and server.most_at_once == 1
    seen = sorted(server.seen, key=lambda s: s.started)
    assert all(after.started - before.ended >= 0.1 for before, after in zip(seen, seen[1:]))


def test_the_pause_ends_when_the_service_stops(server):
    server.route("/a", body=b"a")
    hosts, stop = Hosts(), threading.Event()
    fetch(server.url("/a"), now=NOW, limits=limits(pause=30), hosts=hosts)
    stop.set()
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="stopping"):
        fetch(server.url("/a"), now=NOW, limits=limits(pause=30), hosts=hosts, stop=stop)
    assert time.monotonic() - started < 1


def test_the_name_is_resolved_once_and_the_vetted_address_is_the_one_asked(server, monkeypatch):
    """DNS rebinding: a second lookup answering a private address is never made."""
    import socket

    real, asked = socket.getaddrinfo, []

    def rebinding(host, port, *args, **kwargs):
        if host != "feeds.example.test":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = "127.0.0.1" if len(asked) == 1 else "10.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    server.route("/rss", body=b"<rss/>")
    got = get(f"http://feeds.example.test:{server.port}/rss")
    assert got.body == b"<rss/>" and asked == ["feeds.example.test"]
    assert server.seen[0].headers["host"] == f"feeds.example.test:{server.port}"


def test_a_vietnamese_path_is_sent_escaped(server):
    server.route("/c%E1%BA%A3i-c%C3%A1ch", body=b"ok")
    assert get(server.url("/cải-cách?x=1%202")).body == b"ok"
    assert server.paths() == ["/c%E1%BA%A3i-c%C3%A1ch?x=1%202"]
