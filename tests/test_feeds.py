"""Calendar feeds through the real app: RFC 5545 shape, client safety (see
shared/reference/ical-feeds.md), HTTP validators, and a schedule change end
to end, parsed by icalendar and by an independent parser (vobject)."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
import vobject
from fastapi.testclient import TestClient

from scheduler.clock import Clock
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.web.app import create_app
from scheduler.web.conditional import http_date


def _token(result) -> str:
    assert result.code == 0, result.err
    return re.search(r"/feeds/([A-Za-z0-9_-]+)\.ics", result.out)[1]


@pytest.fixture
def service(cli, db_url, monkeypatch):
    """The bundled plan loaded, and the real app over the same database."""
    assert cli("load", "--now", "2024-01-02").code == 0

    def make(**env):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        db = Database(db_url)
        app = create_app(Settings.load(), db, Clock(UTC))
        return TestClient(app), db

    made = []

    def factory(**env):
        client, db = make(**env)
        made.append(db)
        return client

    yield factory
    for db in made:
        db.close()


def _events(body: bytes) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(body)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_feed_is_valid_rfc5545_for_every_client(cli, service):
    token = _token(cli("subscribe", "--email", "bientap@dai.example", "--agency", "dai-ptth"))
    r = service().get(f"/feeds/{token}.ics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert r.headers["referrer-policy"] == "no-referrer" and "private" in r.headers["cache-control"]
    body = r.content
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")  # CRLF only
    for line in body.split(b"\r\n"):
        assert len(line) <= 75, line  # octets
        line.decode("utf-8")  # folding never splits a UTF-8 character
    text = body.decode("utf-8")
    assert text.count("BEGIN:VCALENDAR") == 1 and "\r\nVERSION:2.0\r\n" in text and "PRODID:" in text
    assert "METHOD" not in text
    unfolded = text.replace("\r\n ", "")
    assert "\r\nNAME:Lịch sản xuất tuyên truyền – Đài Phát thanh và Truyền hình tỉnh\r\n" in unfolded
    assert "\r\nX-WR-CALNAME:Lịch sản xuất tuyên truyền – Đài Phát thanh và Truyền hình tỉnh\r\n" in unfolded
    assert "\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text and "\r\nX-PUBLISHED-TTL:PT1H\r\n" in text
    events = _events(body)
    # 24 episodes + 2 yearly programs x2 + Chuyển đổi số + talk show = 28 occurrences, 3 milestones each
    assert len(events) == 28 * 4
    episode = events["occurrence-phu-tho-2024.cchc-radio-tv.2024-03.2@media-production-scheduler"]
    assert str(episode["SUMMARY"]) == 'Chuyên mục "Cải cách hành chính" – số 2, tháng 03/2024 (10 phút)'
    assert episode["DTSTART"].dt == date(2024, 3, 29) and episode["DTEND"].dt == date(2024, 3, 30)
    assert episode["SEQUENCE"] == 1 and str(episode["STATUS"]) == "CONFIRMED"
    assert episode["DTSTAMP"].dt == episode["LAST-MODIFIED"].dt  # the item's last change, not the request
    description = str(episode["DESCRIPTION"])
    for expected in (
        "Đài Phát thanh và Truyền hình tỉnh",
        "Các cơ quan, đơn vị liên quan",
        "01/03/2024 – 31/03/2024",
        "10 phút",
        "/o/phu-tho-2024.cchc-radio-tv.2024-03.2",
    ):
        assert expected in description
    (alarm,) = episode.walk("VALARM")
    assert alarm["TRIGGER"].dt == timedelta(hours=8)
    talk = events["occurrence-phu-tho-2024.toa-dam-cchc.2024-Q4.1@media-production-scheduler"]
    assert str(talk["SUMMARY"]) == "Tọa đàm về cải cách hành chính – quý IV/2024"
    # the independent parser reads the same calendar
    parsed = vobject.readOne(body.decode("utf-8"))
    uids = {e.uid.value for e in parsed.vevent_list}
    assert uids == set(events)
    v_episode = next(e for e in parsed.vevent_list if e.uid.value == str(episode["UID"]))
    assert v_episode.summary.value == str(episode["SUMMARY"])


def test_english_users_read_english(cli, service):
    assert cli("users", "add", "en@x.example", "--role", "editor", "--lang", "en").code == 0
    token = _token(cli("subscribe", "--email", "en@x.example", "--obligation", "cchc-radio-tv", "--no-milestones"))
    events = _events(service().get(f"/feeds/{token}.ics").content)
    assert len(events) == 24
    summary = str(events["occurrence-phu-tho-2024.cchc-radio-tv.2024-03.2@media-production-scheduler"]["SUMMARY"])
    assert summary == '"Administrative Reform" program – no. 2, month 03/2024 (10 min)'


def test_validators_and_conditional_requests(cli, service):
    token = _token(cli("subscribe", "--email", "a@x.example", "--obligation", "toa-dam-cchc"))
    client = service()
    first = client.get(f"/feeds/{token}.ics")
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert re.fullmatch(r'"[0-9a-f]{40}"', etag)  # strong
    again = client.get(f"/feeds/{token}.ics")
    assert again.content == first.content and again.headers["etag"] == etag
    not_modified = client.get(f"/feeds/{token}.ics", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag and not_modified.headers["last-modified"] == last_modified
    assert client.get(f"/feeds/{token}.ics", headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert client.get(f"/feeds/{token}.ics", headers={"If-None-Match": '"foreign"'}).status_code == 200
    assert client.get(f"/feeds/{token}.ics", headers={"If-None-Match": "garbage"}).status_code == 200
    # If-None-Match wins over If-Modified-Since
    both = {"If-None-Match": '"foreign"', "If-Modified-Since": last_modified}
    assert client.get(f"/feeds/{token}.ics", headers=both).status_code == 200
    assert client.get(f"/feeds/{token}.ics", headers={"If-Modified-Since": last_modified}).status_code == 304
    old = http_date(datetime(2000, 1, 1, tzinfo=UTC))
    assert client.get(f"/feeds/{token}.ics", headers={"If-Modified-Since": old}).status_code == 200
    assert client.get(f"/feeds/{token}.ics", headers={"If-Modified-Since": "yesterday"}).status_code == 200
    head = client.head(f"/feeds/{token}.ics")
    assert head.status_code == 200 and head.headers["etag"] == etag and head.content == b""
    # Google sends no Accept, Thunderbird its own: the same calendar either way
    thunderbird = client.get(f"/feeds/{token}.ics", headers={"Accept": "text/calendar,text/plain;q=0.8,*/*;q=0.5"})
    assert thunderbird.content == first.content


def test_unknown_revoked_and_disabled_are_the_same_404_within_a_second(cli, service):
    token = _token(cli("subscribe", "--email", "a@x.example", "--agency", "bao-phu-tho"))
    other = _token(cli("subscribe", "--email", "b@x.example", "--agency", "bao-phu-tho"))
    client = service()
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    never = client.get("/feeds/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics")
    assert never.status_code == 404
    assert cli("subscriptions", "revoke", "1").code == 0
    assert cli("users", "disable", "b@x.example").code == 0
    time.sleep(1.05)
    revoked, disabled = client.get(f"/feeds/{token}.ics"), client.get(f"/feeds/{other}.ics")
    assert (revoked.status_code, revoked.content) == (404, never.content)
    assert (disabled.status_code, disabled.content) == (404, never.content)
    listed = cli("subscriptions", "list", "--lang", "en").out
    assert "revoked" in listed and "user disabled" in listed
    assert token not in listed and other not in listed  # only hashes are kept


def test_schedule_change_end_to_end(cli, service, tmp_path, data):
    plan = tmp_path / "small.yaml"
    text = (data / "load" / "small-plan.yaml").read_text(encoding="utf-8")
    plan.write_text(text, encoding="utf-8")
    assert cli("load", plan, "--now", "2024-01-01").code == 0
    token = _token(cli("subscribe", "--email", "a@x.example", "--plan", "small-2024"))
    client = service()
    before = client.get(f"/feeds/{token}.ics")
    old = _events(before.content)
    assert len(old) == (24 + 12) * 4
    plan.write_text(
        text.replace("min_duration: 10m", "min_duration: 15m").split("  - code: bao-chi")[0], encoding="utf-8"
    )
    assert cli("load", plan, "--now", "2024-06-15 10:00").code == 0
    time.sleep(1.05)
    after = client.get(f"/feeds/{token}.ics", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert after.headers["last-modified"] != before.headers["last-modified"]
    new = _events(after.content)
    assert set(new) == set(old)  # same UIDs: nothing vanished, nothing duplicated
    radio = "occurrence-small-2024.radio.2024-03.1@media-production-scheduler"
    assert new[radio]["SEQUENCE"] == 2 and "(15 phút)" in str(new[radio]["SUMMARY"])
    assert new[radio]["DTSTAMP"].dt > old[radio]["DTSTAMP"].dt
    removed = "occurrence-small-2024.bao-chi.2024-09.1@media-production-scheduler"
    assert str(new[removed]["STATUS"]) == "CANCELLED" and new[removed]["SEQUENCE"] == 2
    past = "occurrence-small-2024.bao-chi.2024-02.1@media-production-scheduler"
    assert str(new[past]["STATUS"]) == "CONFIRMED" and new[past]["SEQUENCE"] == 1
    again = client.get(f"/feeds/{token}.ics", headers={"If-None-Match": after.headers["etag"]})
    assert again.status_code == 304
    vobject.readOne(after.content.decode("utf-8"))  # still parses elsewhere


def test_same_data_gives_byte_identical_feeds_in_a_fresh_process(cli, service):
    token = _token(cli("subscribe", "--email", "a@x.example"))
    first = service().get(f"/feeds/{token}.ics")
    second = service().get(f"/feeds/{token}.ics")  # a new app: nothing cached
    assert first.content == second.content and first.headers["etag"] == second.headers["etag"]


def test_slots_are_timed_with_a_vtimezone(cli, service, data):
    forms = data / "forms"
    assert cli("load", forms / "production-plan.yaml", forms / "production-layer.yaml", "--now", "2024-01-01").code == 0
    token = _token(cli("subscribe", "--email", "a@x.example", "--plan", "forms-production"))
    body = service().get(f"/feeds/{token}.ics").content
    cal = icalendar.Calendar.from_ical(body)
    timed = [e for e in cal.walk("VEVENT") if isinstance(e["DTSTART"].dt, datetime)]
    assert timed
    tzids = {e["DTSTART"].params.get("TZID") for e in timed}
    assert tzids == {"Asia/Ho_Chi_Minh"}
    (zone,) = cal.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Asia/Ho_Chi_Minh" and len(zone.subcomponents) == 1
    for e in timed:
        assert e["DTSTART"].dt.utcoffset() == timedelta(hours=7)
        alarm = e.walk("VALARM")[0]
        assert alarm["TRIGGER"].params.get("VALUE") == "DATE-TIME"
        assert alarm["TRIGGER"].dt.tzinfo is not None and alarm["TRIGGER"].dt.utcoffset() == timedelta(0)
    parsed = vobject.readOne(body.decode("utf-8"))
    assert any(
        e.dtstart.value.utcoffset() == timedelta(hours=7)
        for e in parsed.vevent_list
        if isinstance(e.dtstart.value, datetime)
    )


def test_public_feed_is_off_by_default(cli, service):
    assert service().get("/feeds/public/phu-tho-2024.ics").status_code == 404
    r = service(PUBLIC_FEED="on").get("/feeds/public/phu-tho-2024.ics")
    assert r.status_code == 200
    events = _events(r.content)
    assert len(events) == 50 and not any(uid.startswith("milestone-") for uid in events)


def test_occurrence_page_and_health(service):
    client = service()
    page = client.get("/o/phu-tho-2024.cchc-radio-tv.2024-03.2", follow_redirects=False)
    assert page.status_code == 303  # the link in every feed: sign in, then come back to it
    assert page.headers["location"] == "/login?next=/o/phu-tho-2024.cchc-radio-tv.2024-03.2"
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["database"]["occurrences"] == 50
    assert client.get("/docs").status_code == 200 and client.get("/openapi.json").json()["paths"]


def test_feeds_export_writes_the_same_bytes_and_removes_revoked(cli, service, tmp_path):
    token = _token(cli("subscribe", "--email", "a@x.example", "--agency", "so-noi-vu"))
    served = service().get(f"/feeds/{token}.ics").content
    assert cli("feeds", "export").code == 0
    files = list((tmp_path / "outputs" / "feeds").glob("*.ics"))
    assert len(files) == 1 and files[0].read_bytes() == served
    assert token not in files[0].name
    assert cli("subscriptions", "revoke", "1").code == 0
    assert cli("feeds", "export").code == 0
    assert not files[0].exists()


def test_over_a_real_socket_tokens_never_reach_the_log(cli, db_url):
    import http.client
    import logging
    import socket
    import threading

    import uvicorn

    from scheduler.web.app import install_log_masks

    assert cli("load", "--now", "2024-01-02").code == 0
    token = _token(cli("subscribe", "--email", "a@x.example", "--agency", "so-tttt"))
    db = Database(db_url)
    app = create_app(Settings.load(), db, Clock(UTC))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="info", access_log=True))
    install_log_masks()  # after uvicorn configured its loggers, as `serve` does

    class Collect(logging.Handler):
        lines: list[str] = []

        def emit(self, record):
            self.lines.append(self.format(record))

    collect = Collect()
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addHandler(collect)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"/feeds/{token}.ics")  # no Accept header, like Google's fetcher
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200 and body.startswith(b"BEGIN:VCALENDAR")
        assert response.getheader("Content-Length") == str(len(body))
        conn.request("GET", f"/feeds/{token}x.ics")
        assert conn.getresponse().status == 404
        conn.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        db.close()
        for name in ("uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).removeHandler(collect)
    access = [line for line in collect.lines if "HTTP/1.1" in line]
    assert len(access) == 2 and all("/feeds/***.ics" in line for line in access)
    assert not any(token in line for line in collect.lines)
