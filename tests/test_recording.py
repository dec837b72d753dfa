"""Recording deliveries and excuses through the real API and the CLI, on
SQLite and PostgreSQL: permissions, rules, evidence files, the feed, and a
ledger that detects tampering."""

from __future__ import annotations

import logging
import time
from datetime import UTC
from pathlib import Path

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from scheduler.clock import Clock
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.web.app import create_app

EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.1"
SECOND = "phu-tho-2024.cchc-radio-tv.2024-03.2"
NOW = "2024-03-20 10:00"


def _token(cli, email: str) -> str:
    result = cli("tokens", "create", "--user", email)
    assert result.code == 0, result.err
    return result.out.strip().splitlines()[-1]


@pytest.fixture
def world(cli, db_url, monkeypatch):
    """The bundled plan, a producer of the station, one of the newspaper, the
    DHA (of Sở Nội vụ), an editor and an admin, each with a token; the app
    running as if it were 20/03/2024 10:00."""
    assert cli("load", "--now", "2024-01-02").code == 0
    people = {
        "prod": ("prod@dai.example", "producer", "dai-ptth"),
        "other": ("prod@bao.example", "producer", "bao-phu-tho"),
        "dha": ("dha@snv.example", "dha", "so-noi-vu"),
        "editor": ("ed@dai.example", "editor", None),
        "admin": ("admin@x.example", "admin", None),
    }
    tokens = {}
    for key, (email, role, agency) in people.items():
        args = ["users", "add", email, "--role", role] + (["--agency", agency] if agency else [])
        assert cli(*args).code == 0
        tokens[key] = {"Authorization": f"Bearer {_token(cli, email)}"}
    monkeypatch.setenv("EVIDENCE_LIMIT", "64KiB")
    db = Database(db_url)
    from scheduler.cli.context import DEFAULT_TZ
    from scheduler.clock import parse_now

    client = TestClient(create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ))))
    yield client, tokens
    db.close()


def _feed_summary(cli, client, occurrence: str) -> str:
    result = cli("subscribe", "--email", "watch@x.example", "--obligation", "cchc-radio-tv", "--no-milestones")
    token = result.out.split("/feeds/")[1].split(".ics")[0]
    time.sleep(1.05)
    cal = icalendar.Calendar.from_ical(client.get(f"/feeds/{token}.ics").content)
    event = next(e for e in cal.walk("VEVENT") if occurrence in str(e["UID"]))
    return str(event["SUMMARY"]), event["SEQUENCE"]


def test_producer_records_with_a_file_and_the_feed_shows_it(cli, world, tmp_path):
    client, tokens = world
    recording = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000  # an MP4 header: detected as video/mp4
    r = client.post(
        f"/api/occurrences/{EPISODE}/deliveries",
        headers=tokens["prod"],
        data={"aired_at": "14/03/2024 19:30", "duration": "00:10:30", "title": "Số 1 tháng 3"},
        files=[("files", ("Phóng sự tháng 3.mp4", recording, "video/mp4"))],
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "on_time" and body["conforming"] and body["gaps"] == []
    detail = client.get(f"/api/occurrences/{EPISODE}", headers=tokens["editor"]).json()
    (entry,) = detail["entries"]
    assert entry["recorded_by"] == "prod@dai.example" and entry["payload"]["moment"] == "2024-03-14T19:30:00+07:00"
    assert entry["recorded_at"].startswith("2024-03-20T03:00")  # recorded moment: the service's clock
    (f,) = entry["files"]
    assert f["type"] == "video/mp4" and f["name"] == "Phóng sự tháng 3.mp4"
    download = client.get(f["href"], headers=tokens["dha"])
    assert download.content == recording and client.get(f["href"], headers=tokens["prod"]).content == recording
    for outsider in ("editor", "other"):  # an editor of no agency, the newspaper's producer: the file stays shut
        refused = client.get(f["href"], headers=tokens[outsider])
        assert refused.status_code == 403 and refused.content != recording
    assert "filename*=UTF-8''Ph%C3%B3ng%20s%E1%BB%B1" in download.headers["content-disposition"]
    stored = list((tmp_path / "outputs" / "evidence").glob("??/??/*"))
    assert [p.name for p in stored] == [f["sha256"]]
    summary, sequence = _feed_summary(cli, client, EPISODE)
    assert summary.startswith("✓ đã phát sóng 14/03/2024: Chuyên mục") and sequence == 2


def test_cli_delivery_and_another_agency_refused(cli, world, tmp_path, caplog):
    client, tokens = world
    evidence = tmp_path / "bien-ban.pdf"
    evidence.write_bytes(b"%PDF-1.4\n" + b"x" * 100)
    result = cli(
        "deliver",
        SECOND,
        "--by",
        "prod@dai.example",
        "--at",
        "2024-03-18 19:30",
        "--duration",
        "600",
        "--url",
        "https://vod.example/2",
        "--file",
        evidence,
        "--now",
        NOW,
    )
    assert result.code == 0, result.err
    assert "on_time" in result.out or "đúng hạn" in result.out
    with caplog.at_level(logging.WARNING, logger="scheduler.recording"):
        refused = client.post(
            f"/api/occurrences/{EPISODE}/deliveries", headers=tokens["other"], data={"aired_at": "14/03/2024 19:30"}
        )
    assert refused.status_code == 403 and "dai-ptth" in refused.json()["detail"]
    assert any("prod@bao.example" in r.getMessage() and "refused" in r.getMessage() for r in caplog.records)
    by_cli = cli("deliver", EPISODE, "--by", "prod@bao.example", "--at", "2024-03-14 19:30", "--now", NOW)
    assert by_cli.code == 1 and "bao-phu-tho" in by_cli.err
    for role in ("editor", "dha", "admin"):
        assert (
            client.post(
                f"/api/occurrences/{EPISODE}/deliveries", headers=tokens[role], data={"aired_at": "14/03/2024 19:30"}
            ).status_code
            == 403
        )
    assert (
        client.post(f"/api/occurrences/{EPISODE}/deliveries", data={"aired_at": "14/03/2024 19:30"}).status_code == 401
    )


def test_rules_of_recording(world):
    client, tokens = world

    def post(path, **data):
        return client.post(path, headers=tokens["prod"], data=data)

    future = post(f"/api/occurrences/{EPISODE}/deliveries", aired_at="2024-03-25 19:30")
    assert future.status_code == 422 and future.json()["detail"][0]["loc"] == ["body", "aired_at"]
    early = post(f"/api/occurrences/{EPISODE}/deliveries", aired_at="2024-02-28 19:30")
    assert early.status_code == 422 and "01/03/2024" in early.json()["detail"][0]["msg"]
    short = post(f"/api/occurrences/{EPISODE}/deliveries", aired_at="2024-03-05 19:30", duration="8m")
    assert short.status_code == 201 and short.json()["state"] == "non_conforming"
    assert "8" in short.json()["reasons"][0] and "10" in short.json()["reasons"][0]
    fixed = post(f"/api/occurrences/{EPISODE}/deliveries", aired_at="2024-03-06 19:30", duration="10m")
    assert fixed.status_code == 201 and fixed.json()["state"] == "on_time"  # no supersedes needed
    again = post(f"/api/occurrences/{EPISODE}/deliveries", aired_at="2024-03-07 19:30", duration="10m")
    assert again.status_code == 422 and SECOND in again.json()["detail"][0]["msg"]
    corrected = post(
        f"/api/occurrences/{EPISODE}/deliveries",
        aired_at="2024-03-07 19:30",
        duration="12m",
        supersedes=str(fixed.json()["seq"]),
    )
    assert corrected.status_code == 201 and corrected.json()["state"] == "on_time"
    by_period = post(
        "/api/obligations/cchc-radio-tv/deliveries?period=2024-03", aired_at="2024-03-19 19:30", duration="10m"
    )
    assert by_period.json()["occurrence"] == SECOND and not by_period.json()["extra"]
    extra = post(
        "/api/obligations/cchc-radio-tv/deliveries?period=2024-03", aired_at="2024-03-19 20:30", duration="10m"
    )
    assert extra.status_code == 201 and extra.json()["extra"]
    late = post(
        "/api/occurrences/phu-tho-2024.cchc-radio-tv.2024-02.1/deliveries", aired_at="2024-03-02 19:30", duration="10m"
    )
    assert late.json()["state"] == "late"
    bad = post(f"/api/occurrences/{EPISODE}/deliveries", aired_at="2024-03-07", published_at="2024-03-07")
    assert bad.status_code == 422
    topic = post(f"/api/occurrences/{EPISODE}/deliveries", aired_at="2024-03-07 19:30", topics="khong-co")
    assert topic.status_code == 422 and topic.json()["detail"][0]["loc"] == ["body", "topics"]
    unknown = post(f"/api/occurrences/{EPISODE}/deliveries", aired_at="2024-03-07 19:30", colour="red")
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "colour"]
    entries = client.get(f"/api/occurrences/{EPISODE}", headers=tokens["prod"]).json()["entries"]
    assert [e["superseded"] for e in entries] == [False, True, False]  # refused ones stored nothing


def test_dha_excuses_but_not_its_own_agency(cli, world):
    client, tokens = world
    r = client.post(
        "/api/occurrences/phu-tho-2024.toa-dam-cchc.2024-Q4.1/excuses",
        headers=tokens["dha"],
        json={"reason": "Phát sóng khẩn cấp thay thế"},
    )
    assert r.status_code == 201 and r.json()["state"] == "excused"
    own = client.post(
        "/api/occurrences/phu-tho-2024.tap-huan-cchc.2024-Q2_2024-Q4.1/excuses",
        headers=tokens["dha"],
        json={"reason": "x"},
    )
    assert own.status_code == 403
    assert (
        client.post(f"/api/occurrences/{EPISODE}/excuses", headers=tokens["prod"], json={"reason": "x"}).status_code
        == 403
    )
    after = "2024-03-20 11:00"  # the API's running clock has moved on from NOW: ledger time only moves forward
    by_cli = cli("excuse", EPISODE, "--by", "dha@snv.example", "--reason", "Bão số 3", "--now", after)
    assert by_cli.code == 0, by_cli.err
    later = cli(
        "excuse", EPISODE, "--by", "dha@snv.example", "--reason", "Sửa lý do", "--supersedes", "2", "--now", after
    )
    assert later.code == 0, later.err
    detail = client.get(f"/api/occurrences/{EPISODE}", headers=tokens["editor"]).json()
    assert detail["delivery"]["state"] == "excused" and detail["delivery"]["note"] == "Sửa lý do"


def _chunks(total: int, size: int = 8192):
    boundary = b"bnd"
    yield b'--bnd\r\nContent-Disposition: form-data; name="aired_at"\r\n\r\n2024-03-14 19:30\r\n'
    yield (
        b'--bnd\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    sent = 0
    while sent < total:
        yield b"\x01" * size
        sent += size
    yield b"\r\n--" + boundary + b"--\r\n"


def test_upload_over_the_limit_is_refused_while_it_streams(world, tmp_path):
    client, tokens = world
    r = client.post(
        f"/api/occurrences/{EPISODE}/deliveries",
        content=_chunks(1 << 20),
        headers={**tokens["prod"], "Content-Type": "multipart/form-data; boundary=bnd"},
    )
    assert r.status_code == 413
    evidence = tmp_path / "outputs" / "evidence"
    assert not [p for p in evidence.rglob("*") if p.is_file()]  # nothing kept, not even a temporary
    declared = client.post(
        f"/api/occurrences/{EPISODE}/deliveries",
        headers=tokens["prod"],
        data={"aired_at": "2024-03-14 19:30"},
        files=[("files", ("big.bin", b"\x01" * (200 << 10), "application/octet-stream"))],
    )
    assert declared.status_code == 413
    assert client.get(f"/api/occurrences/{EPISODE}", headers=tokens["prod"]).json()["entries"] == []


def _tamper(db_url: str, *statements: str) -> None:
    """Write to the ledger behind the service's back (on PostgreSQL the
    append-only trigger must be switched off first, as an attacker would)."""
    db = Database(db_url)
    with db.engine.begin() as c:
        if db.engine.dialect.name == "postgresql":
            c.execute(text("ALTER TABLE ledger DISABLE TRIGGER USER"))
        for statement in statements:
            c.exec_driver_sql(statement.replace("%", "%%") if db.engine.dialect.name == "postgresql" else statement)
        if db.engine.dialect.name == "postgresql":
            c.execute(text("ALTER TABLE ledger ENABLE TRIGGER USER"))
    db.close()


@pytest.fixture
def ledger(cli):
    assert cli("load", "--now", "2024-01-02").code == 0
    assert cli("users", "add", "p@dai.example", "--role", "producer", "--agency", "dai-ptth").code == 0
    for n, day in enumerate(["05", "06", "07", "08"]):
        occurrence = f"phu-tho-2024.cchc-radio-tv.2024-0{n + 1}.1"
        result = cli(
            "deliver",
            occurrence,
            "--by",
            "p@dai.example",
            "--at",
            f"2024-0{n + 1}-{day} 19:30",
            "--duration",
            "10m",
            "--now",
            "2024-06-01",
        )
        assert result.code == 0, result.err
    assert cli("verify").code == 0
    return cli


@pytest.mark.parametrize(
    "statements,named",
    [
        (
            ["UPDATE ledger SET content = replace(content, '\"duration\":600', '\"duration\":900') WHERE seq = 2"],
            "entry 2",
        ),
        (["UPDATE ledger SET hash = '" + "a" * 64 + "' WHERE seq = 3"], "entry 3"),
        (["DELETE FROM ledger WHERE seq = 2"], "entry 3: sequence jumps from 1 to 3"),
        (["UPDATE ledger SET late = NOT late WHERE seq = 4"], "entry 4: column late does not match its content"),
        (
            [
                "UPDATE ledger SET seq = 99 WHERE seq = 2",
                "UPDATE ledger SET seq = 2 WHERE seq = 3",
                "UPDATE ledger SET seq = 3 WHERE seq = 99",
            ],
            "entry 2",
        ),
    ],
)
def test_verify_names_the_first_tampered_entry(ledger, db_url, statements, named):
    _tamper(db_url, *statements)
    result = ledger("verify", "--lang", "en")
    assert result.code == 1 and "does not verify" in result.err and named in result.err


def test_a_changed_evidence_file_is_detected(cli, tmp_path):
    assert cli("load", "--now", "2024-01-02").code == 0
    assert cli("users", "add", "p@dai.example", "--role", "producer", "--agency", "dai-ptth").code == 0
    evidence = tmp_path / "anh.jpg"
    evidence.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    assert (
        cli(
            "deliver", EPISODE, "--by", "p@dai.example", "--at", "2024-03-14 19:30", "--file", evidence, "--now", NOW
        ).code
        == 0
    )
    (stored,) = [p for p in (tmp_path / "outputs" / "evidence").rglob("*") if p.is_file()]
    stored.write_bytes(b"\xff\xd8\xff\xe0" + b"\x01" * 64)
    result = cli("verify", "--lang", "en")
    assert result.code == 1 and "entry 1" in result.err and "does not match its hash" in result.err


def test_a_fully_recomputed_chain_fails_against_a_checkpoint(ledger, db_url, tmp_path):
    from scheduler.evidence.ledger import canonical, entry_hash, parse_content

    checkpoint = tmp_path / "checkpoint.json"
    made = ledger("ledger", "checkpoint", "--now", "2024-06-02")
    assert made.code == 0 and "ledger-key.pem" in made.err  # the key was created, with a warning
    checkpoint.write_text(made.out, encoding="utf-8")
    key = tmp_path / "outputs" / "ledger-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert ledger("verify", "--checkpoint", checkpoint).code == 0
    # rewrite history consistently: change entry 2 and recompute every hash after it
    db = Database(db_url)
    with db.engine.connect() as c:
        rows = c.execute(text("SELECT seq, content FROM ledger ORDER BY seq")).all()
    db.close()
    statements, prev = [], "0" * 64
    for seq, content in rows:
        entry = parse_content(content)
        payload = entry["payload"]
        if seq == 2:
            payload["duration"] = 900
        from datetime import datetime

        body = canonical(
            seq,
            entry["kind"],
            entry["occurrence"],
            datetime.fromisoformat(entry["recorded_at"]),
            entry["recorded_by"],
            payload,
            entry["supersedes"],
            prev,
        )
        digest = entry_hash(body)
        statements.append(
            "UPDATE ledger SET content = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {}".format(
                body.replace("'", "''"), prev, digest, seq
            )
        )
        prev = digest
    _tamper(db_url, *statements)
    kept = list((tmp_path / "outputs" / "checkpoints").iterdir())
    assert [p.read_text(encoding="utf-8") for p in kept] == [made.out]  # `ledger checkpoint` kept it too
    kept[0].unlink()
    assert ledger("verify").code == 0  # consistent on its own...
    result = ledger("verify", "--checkpoint", checkpoint, "--lang", "en")
    assert result.code == 1 and "rewritten" in result.err  # ...but not the chain that was signed


def test_postgresql_ledger_refuses_change(ledger, db_url):
    if not db_url.startswith("postgresql"):
        assert Database(db_url).engine.dialect.name == "sqlite"  # SQLite has no such trigger: verify covers it
        return
    db = Database(db_url)
    for statement in (
        "UPDATE ledger SET recorded_by = 'x' WHERE seq = 1",
        "DELETE FROM ledger WHERE seq = 1",
        "TRUNCATE ledger",
    ):
        with pytest.raises(Exception, match="append-only"):
            with db.engine.begin() as c:
                c.execute(text(statement))
    db.close()


def test_tokens_are_shown_once_and_revocable(cli, world):
    client, tokens = world
    listed = cli("tokens", "list", "--lang", "en").out
    assert "prod@dai.example" in listed and tokens["prod"]["Authorization"][7:] not in listed
    assert client.get("/api/ledger/verify", headers=tokens["prod"]).status_code == 200
    assert cli("tokens", "revoke", "1").code == 0
    assert client.get("/api/ledger/verify", headers=tokens["prod"]).status_code == 401


def test_admins_manage_people_over_the_api(world):
    client, tokens = world
    assert client.get("/api/users", headers=tokens["prod"]).status_code == 403
    users = client.get("/api/users", headers=tokens["admin"]).json()
    assert {u["email"] for u in users} >= {"prod@dai.example", "dha@snv.example"}
    made = client.post(
        "/api/users",
        headers=tokens["admin"],
        json={"email": "new@dai.example", "roles": ["producer"], "agency": "dai-ptth"},
    )
    assert made.status_code == 201
    token = client.post("/api/tokens", headers=tokens["admin"], json={"email": "new@dai.example"}).json()["token"]
    assert client.get("/api/ledger/verify", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    sub = client.post("/api/subscriptions", headers=tokens["admin"], json={"email": "new@dai.example"}).json()
    assert sub["webcal"].startswith("webcal://")
    assert client.post("/api/users/new@dai.example/disable", headers=tokens["admin"]).status_code == 200
    assert client.get("/api/ledger/verify", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_evidence_path_is_never_taken_from_the_name(world, tmp_path):
    client, tokens = world
    r = client.post(
        f"/api/occurrences/{EPISODE}/deliveries",
        headers=tokens["prod"],
        data={"aired_at": "14/03/2024 19:30", "duration": "10m"},
        files=[("files", ("../../../etc/passwd", b"root:x:0:0", "text/plain"))],
    )
    assert r.status_code == 201
    entry = client.get(f"/api/occurrences/{EPISODE}", headers=tokens["prod"]).json()["entries"][0]
    assert entry["files"][0]["name"] == "passwd"
    assert not Path("/etc/passwd.sha256").exists()
    assert all(tmp_path / "outputs" in p.parents for p in (tmp_path / "outputs" / "evidence").rglob("*"))
    assert UTC  # (kept for readers: recorded moments are stored in UTC)


def test_a_reload_keeps_what_was_recorded(cli, tmp_path, data):
    plan = tmp_path / "small.yaml"
    text = (data / "load" / "small-plan.yaml").read_text(encoding="utf-8")
    plan.write_text(text, encoding="utf-8")
    assert cli("load", plan, "--now", "2024-01-01").code == 0
    assert cli("users", "add", "p@dai.example", "--role", "producer", "--agency", "dai").code == 0
    assert (
        cli(
            "deliver",
            "small-2024.radio.2024-03.1",
            "--by",
            "p@dai.example",
            "--at",
            "2024-03-05 19:30",
            "--duration",
            "10m",
            "--now",
            NOW,
        ).code
        == 0
    )
    plan.write_text(
        text.replace('title: Chuyên mục "Cải cách hành chính"', 'title: Chuyên mục "CCHC"'), encoding="utf-8"
    )
    assert cli("load", plan, "--now", "2024-03-21").code == 0
    import json as _json

    occ = {o["id"]: o for o in _json.loads(cli("occurrences", "--format", "json").out)}
    assert occ["small-2024.radio.2024-03.1"]["revision"] == 3  # created, delivered, retitled
    assert occ["small-2024.radio.2024-03.1"]["title"] == 'Chuyên mục "CCHC"'
    report = _json.loads(cli("report", "--period", "2024-03", "--now", "2024-04-02").out)
    statuses = {o["id"]: o["status"] for o in report["occurrences"]}
    assert statuses["small-2024.radio.2024-03.1"] == "on_time"
