"""A ledger that catches every edit, on SQLite and PostgreSQL (its trigger
switched off, as an attacker would): each column changed behind the
service's back is named, with its entry, by `verify`, the API and the page;
ledger time only moves forward; signed checkpoints are kept where people
verify, so a truncated tail or a recomputed chain shows there too."""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, text, update

from html_tree import html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.errors import N_
from scheduler.evidence.ledger import GENESIS, canonical, entry_hash, parse_content
from scheduler.i18n import gettext_for
from scheduler.settings import Settings
from scheduler.store import ledger as stored_ledger
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.store.tables import EvidenceFileRow, LedgerRow, OccurrenceRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password

EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.1"
SECOND = "phu-tho-2024.cchc-radio-tv.2024-03.2"
APRIL = "phu-tho-2024.cchc-radio-tv.2024-04.1"
MAY = "phu-tho-2024.cchc-radio-tv.2024-05.1"
NOW = "2024-03-20 10:00"
PRODUCER, DHA, PASSWORD = "prod@dai.example", "dha@snv.example", "mat-khau-du-dai"
RECORDING = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 3000  # an MP4 header: detected as video/mp4
vi = gettext_for("vi")
NAME = re.compile(r"\d{8}T\d{12}Z-\d{8}(-\d+)?\.json")


class World:
    """Four entries: 1 EPISODE on time with a file; 2 SECOND too short; 3 a
    correction of 2; 4 APRIL excused by the DHA. The app as of 20/03/2024 10:00."""

    def __init__(self, cli, db_url, outputs):
        self.cli, self.db_url, self.outputs = cli, db_url, outputs
        self.db = Database(db_url)
        self.app = create_app(Settings.load(), self.db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ)))
        token = cli("tokens", "create", "--user", DHA)
        assert token.code == 0, token.err
        self.headers = {"Authorization": f"Bearer {token.out.strip().splitlines()[-1]}"}
        self.api = TestClient(self.app)

    def page(self):
        """The ledger check page as the signed-in DHA sees it after pressing the button."""
        client = TestClient(self.app, follow_redirects=False)
        form = html(client.get("/login")).one("form", id="login")
        assert (
            client.post(
                "/login",
                data={
                    "csrf": form.one("input", name="csrf").attrs["value"],
                    "email": DHA,
                    "password": PASSWORD,
                    "next": "/",
                },
            ).status_code
            == 303
        )
        csrf = html(client.get("/dashboard")).one("form", id="verify-ledger").one("input", name="csrf").attrs["value"]
        return client, csrf

    def check_page(self, files=None):
        client, csrf = self.page()
        r = client.post("/dashboard/ledger", data={"csrf": csrf}, files=files)
        assert r.status_code == 200, r.text
        return html(r)

    def tamper(self, *changes) -> None:
        """Core statements (or SQL text) in one transaction, the trigger off on PostgreSQL."""
        with self.db.engine.begin() as c:
            postgres = self.db.engine.dialect.name == "postgresql"
            if postgres:
                c.execute(text("ALTER TABLE ledger DISABLE TRIGGER USER"))
            for change in changes:
                c.exec_driver_sql(change) if isinstance(change, str) else c.execute(change)
            if postgres:
                c.execute(text("ALTER TABLE ledger ENABLE TRIGGER USER"))

    def rows(self) -> list[tuple[int, str]]:
        with self.db.transaction() as s:
            return list(s.execute(select(LedgerRow.seq, LedgerRow.content).order_by(LedgerRow.seq)))

    def rewrite(self, edit, text_edit=lambda seq, body: body) -> None:
        """History rewritten consistently: ``edit(seq, doc)`` changes a parsed
        entry, then every hash is recomputed and the columns follow the content."""
        prev, changes = GENESIS, []
        for seq, content in self.rows():
            doc = parse_content(content)
            edit(seq, doc)
            doc["recorded_at"] = datetime.fromisoformat(doc["recorded_at"])
            body = text_edit(seq, canonical(**{**doc, "prev_hash": prev}))
            changes.append(
                update(LedgerRow)
                .where(LedgerRow.seq == seq)
                .values(
                    content=body,
                    prev_hash=prev,
                    hash=entry_hash(body),
                    recorded_at=doc["recorded_at"],
                    **stored_ledger.projection(doc["kind"], doc["payload"]),
                )
            )
            prev = entry_hash(body)
        self.tamper(*changes)


@pytest.fixture
def world(cli, db_url, tmp_path):
    assert cli("load", "--now", "2024-01-02").code == 0
    assert cli("users", "add", PRODUCER, "--role", "producer", "--agency", "dai-ptth").code == 0
    assert cli("users", "add", DHA, "--role", "dha", "--agency", "so-noi-vu").code == 0
    recording = tmp_path / "Phóng sự tháng 3.mp4"
    recording.write_bytes(RECORDING)
    steps = [
        (
            "deliver",
            EPISODE,
            "--by",
            PRODUCER,
            "--at",
            "2024-03-06 19:30",
            "--duration",
            "10m",
            "--file",
            recording,
            "--now",
            "2024-03-07 09:00",
        ),
        (
            "deliver",
            SECOND,
            "--by",
            PRODUCER,
            "--at",
            "2024-03-14 19:30",
            "--duration",
            "5m",
            "--now",
            "2024-03-15 09:00",
        ),
        (
            "deliver",
            SECOND,
            "--by",
            PRODUCER,
            "--at",
            "2024-03-14 19:30",
            "--duration",
            "12m",
            "--supersedes",
            "2",
            "--now",
            "2024-03-16 09:00",
        ),
        ("excuse", APRIL, "--by", DHA, "--reason", "Nghỉ lễ", "--now", "2024-03-18 09:00"),
    ]
    for step in steps:
        result = cli(*step)
        assert result.code == 0, result.err
    w = World(cli, db_url, tmp_path / "outputs")
    with w.db.transaction() as s:
        set_password(s, find_user(s, DHA), PASSWORD, parse_now(NOW, DEFAULT_TZ))
    assert cli("verify").code == 0 and w.api.get("/api/ledger/verify", headers=w.headers).json()["ok"]
    yield w
    w.db.close()


def _file_sha256() -> str:
    import hashlib

    return hashlib.sha256(RECORDING).hexdigest()


COLUMNS = [  # (column, entry, the change)
    ("occurrence_id", 1, update(LedgerRow).where(LedgerRow.seq == 1).values(occurrence_id=APRIL)),
    ("kind", 2, update(LedgerRow).where(LedgerRow.seq == 2).values(kind="excuse")),
    (
        "recorded_at",
        2,
        update(LedgerRow).where(LedgerRow.seq == 2).values(recorded_at=datetime(2024, 3, 1, tzinfo=UTC)),
    ),
    ("recorded_by", 4, update(LedgerRow).where(LedgerRow.seq == 4).values(recorded_by="ai-do@x.example")),
    ("supersedes", 3, update(LedgerRow).where(LedgerRow.seq == 3).values(supersedes=None)),
    ("moment", 1, update(LedgerRow).where(LedgerRow.seq == 1).values(moment=datetime(2024, 2, 1, tzinfo=UTC))),
    ("conforming", 2, update(LedgerRow).where(LedgerRow.seq == 2).values(conforming=True)),
    ("late", 1, update(LedgerRow).where(LedgerRow.seq == 1).values(late=True)),
    ("extra", 1, update(LedgerRow).where(LedgerRow.seq == 1).values(extra=True)),
    ("evidence_files.size", 1, update(EvidenceFileRow).values(size=1)),
    ("evidence_files.type", 1, update(EvidenceFileRow).values(type="text/plain")),
    ("evidence_files.sha256", 1, delete(EvidenceFileRow)),
    ("occurrences.delivery", None, update(OccurrenceRow).where(OccurrenceRow.id == EPISODE).values(delivery=None)),
]


def _expected(column: str, seq: int | None) -> str:
    if column == "occurrences.delivery":
        return f"occurrence {EPISODE}: column occurrences.delivery does not match the ledger"
    if column == "evidence_files.sha256":
        return f"entry {seq}: file {_file_sha256()}: its evidence_files row is missing"
    if column.startswith("evidence_files."):
        return f"entry {seq}: file {_file_sha256()}: column {column} does not match its content"
    return f"entry {seq}: column {column} does not match its content"


@pytest.mark.parametrize("column, seq, change", COLUMNS, ids=[c[0] for c in COLUMNS])
def test_a_changed_column_is_named_with_its_entry_by_cli_api_and_page(world, column, seq, change):
    world.tamper(change)
    result = world.cli("verify", "--lang", "en")
    assert result.code == 1 and "does not verify" in result.err
    assert _expected(column, seq) in result.err
    answer = world.api.get("/api/ledger/verify", headers=world.headers).json()
    assert answer["ok"] is False
    assert {"seq": seq, "column": column} in [{"seq": p["seq"], "column": p["column"]} for p in answer["problems"]]
    page = world.check_page()
    assert "error" in page.one("p", id="ledger-result").classes
    items = page.one("ul", id="ledger-problems").all("li")
    assert (str(seq or ""), column) in [(li.attrs["data-seq"], li.attrs["data-column"]) for li in items]


CHAIN = [  # the chain's own columns: the entry is named, as before
    (
        "content",
        2,
        "UPDATE ledger SET content = replace(content, '\"duration\":300', '\"duration\":900') WHERE seq = 2",
    ),
    ("hash", 3, "UPDATE ledger SET hash = '" + "a" * 64 + "' WHERE seq = 3"),
    ("prev_hash", 4, "UPDATE ledger SET prev_hash = '" + "b" * 64 + "' WHERE seq = 4"),
    ("seq", 9, "UPDATE ledger SET seq = 9 WHERE seq = 4"),
]


@pytest.mark.parametrize("column, seq, change", CHAIN, ids=[c[0] for c in CHAIN])
def test_a_changed_chain_column_is_named_by_cli_api_and_page(world, column, seq, change):
    world.tamper(change)
    result = world.cli("verify", "--lang", "en")
    assert result.code == 1 and f"entry {seq}" in result.err
    answer = world.api.get("/api/ledger/verify", headers=world.headers).json()
    assert answer["ok"] is False and seq in [p["seq"] for p in answer["problems"]]
    page = world.check_page()
    assert str(seq) in [li.attrs["data-seq"] for li in page.one("ul", id="ledger-problems").all("li")]


def test_every_mismatch_is_reported_not_only_the_first(world):
    world.tamper(
        update(LedgerRow).where(LedgerRow.seq == 1).values(late=True, recorded_by="x@x.example"),
        update(LedgerRow).where(LedgerRow.seq == 4).values(occurrence_id=EPISODE),
    )
    answer = world.api.get("/api/ledger/verify", headers=world.headers).json()
    found = {(p["seq"], p["column"]) for p in answer["problems"]}
    assert {(1, "late"), (1, "recorded_by"), (4, "occurrence_id")} <= found
    assert answer["first_bad_entry"] == 1
    err = world.cli("verify", "--lang", "en").err
    assert all(_expected(c, s) in err for s, c in [(1, "late"), (1, "recorded_by"), (4, "occurrence_id")])


def test_the_rules_read_the_content_not_the_columns(world):
    """A moved entry still counts for the occurrence its hashed content names."""
    world.tamper(update(LedgerRow).where(LedgerRow.seq == 4).values(occurrence_id=EPISODE, kind="delivery"))
    with world.db.transaction() as s:
        rows = list(s.scalars(select(LedgerRow).order_by(LedgerRow.seq)))
        found = stored_ledger.recorded(rows)
    assert [r.seq for r in found[APRIL]] == [4] and found[APRIL][0].kind == "excuse"
    assert [r.seq for r in found[EPISODE]] == [1]


def test_postgresql_trigger_is_a_second_wall(world):
    if world.db.engine.dialect.name != "postgresql":
        return  # SQLite has no trigger: the checks above are the wall
    with pytest.raises(Exception, match="append-only"):
        with world.db.engine.begin() as c:
            c.execute(update(LedgerRow).where(LedgerRow.seq == 1).values(late=True))


# Ledger time only moves forward.


def test_an_entry_before_the_last_one_is_refused_by_the_cli(world):
    result = world.cli("excuse", MAY, "--by", DHA, "--reason", "Bão", "--now", "2024-03-17 09:00", "--lang", "en")
    assert result.code == 1 and result.out == ""
    assert result.err.count("\n") == 1 and "entry 4" in result.err and "18/03/2024 09:00" in result.err
    assert len(world.rows()) == 4
    same = world.cli("excuse", MAY, "--by", DHA, "--reason", "Bão", "--now", "2024-03-18 09:00")
    assert same.code == 0, same.err  # the same moment is not earlier


def test_an_entry_before_the_last_one_is_refused_by_the_api(world):
    early = create_app(Settings.load(), world.db, Clock(DEFAULT_TZ, parse_now("2024-03-17 09:00", DEFAULT_TZ)))
    r = TestClient(early).post(f"/api/occurrences/{MAY}/excuses", headers=world.headers, json={"reason": "Bão"})
    assert r.status_code == 409
    (detail,) = r.json()["detail"]
    assert detail["loc"] == ["body", "recorded_at"] and "18/03/2024 09:00" in detail["msg"] and "4" in detail["msg"]
    assert len(world.rows()) == 4


def test_verify_reports_a_backward_step(world):
    def earlier(seq, doc):
        if seq == 3:
            doc["recorded_at"] = "2024-03-14T00:00:00.000000+00:00"

    world.rewrite(earlier)
    result = world.cli("verify", "--lang", "en")
    assert (
        result.code == 1
        and "entry 3: recorded before entry 2 (14/03/2024 07:00:00 < 15/03/2024 09:00:00)" in result.err
    )
    answer = world.api.get("/api/ledger/verify", headers=world.headers).json()
    assert [p["seq"] for p in answer["problems"]] == [3]


def test_replaying_a_year_on_an_empty_ledger_works(cli):
    assert cli("load", "--now", "2024-01-02").code == 0
    assert cli("users", "add", PRODUCER, "--role", "producer", "--agency", "dai-ptth").code == 0
    for month in range(1, 13):
        result = cli(
            "deliver",
            f"phu-tho-2024.cchc-radio-tv.2024-{month:02d}.1",
            "--by",
            PRODUCER,
            "--at",
            f"2024-{month:02d}-05 19:30",
            "--duration",
            "10m",
            "--now",
            f"2024-{month:02d}-06 08:00",
        )
        assert result.code == 0, result.err
    assert cli("verify").code == 0


# Checkpoints where people verify.


def _kept(world) -> list:
    folder = world.outputs / "checkpoints"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_cli_checkpoints_are_kept_once_and_never_replaced(world):
    first = world.cli("ledger", "checkpoint", "--now", "2024-03-19 08:00")
    assert first.code == 0
    again = world.cli("ledger", "checkpoint", "--now", "2024-03-19 08:00")
    assert again.out == first.out and [p.read_text() for p in _kept(world)] == [first.out]
    later = world.cli("ledger", "checkpoint", "--now", "2024-03-20 08:00")
    kept = _kept(world)
    assert [p.read_text() for p in kept] == [first.out, later.out] and all(NAME.fullmatch(p.name) for p in kept)
    assert kept[0].name.startswith("20240319T010000000000Z-00000004")
    answer = world.api.get("/api/ledger/verify", headers=world.headers).json()
    assert answer["ok"] and answer["checkpoint"]["source"] == kept[1].name and answer["checkpoint"]["count"] == 4


def test_the_periodic_report_keeps_its_checkpoint(world):
    result = world.cli("remind", "--now", "2024-03-19 09:00")  # the March and Q1 cut-off reports
    assert result.code == 0, result.err
    (kept,) = _kept(world)  # the same statement for both reports: kept once
    assert json.loads(kept.read_text())["count"] == 4
    result = world.cli("verify", "--lang", "en")
    assert result.code == 0, result.err


def test_a_truncated_tail_is_caught_by_the_page_and_the_api(world):
    assert world.cli("ledger", "checkpoint", "--now", "2024-03-19 08:00").code == 0
    world.tamper("DELETE FROM ledger WHERE seq = 4")
    answer = world.api.get("/api/ledger/verify", headers=world.headers).json()
    assert answer["ok"] is False and answer["entries"] == 3
    fewer = vi(N_("the ledger has fewer entries ({n}) than the checkpoint ({count})")).format(n=3, count=4)
    assert answer["problems"][0] == {"seq": None, "column": None, "occurrence": None, "problem": fewer}
    page = world.check_page()
    assert "error" in page.one("p", id="ledger-result").classes and fewer in page.one("p", id="ledger-result").text()
    assert world.cli("verify", "--lang", "en").err.count("fewer entries (3) than the checkpoint (4)") == 1


def test_a_tail_removed_then_signed_over_is_still_caught_by_the_earlier_checkpoint(world):
    """A newer checkpoint over the shortened chain does not hide the removal:
    every kept checkpoint signed with today's key must still hold."""
    assert world.cli("ledger", "checkpoint", "--now", "2024-03-19 08:00").code == 0
    world.tamper("DELETE FROM ledger WHERE seq = 4")
    assert world.cli("ledger", "checkpoint", "--now", "2024-03-20 08:00").code == 0  # the latest now agrees
    assert len(_kept(world)) == 2
    answer = world.api.get("/api/ledger/verify", headers=world.headers).json()
    fewer = vi(N_("the ledger has fewer entries ({n}) than the checkpoint ({count})")).format(n=3, count=4)
    assert answer["ok"] is False and fewer in [p["problem"] for p in answer["problems"]]
    assert fewer in world.check_page().one("p", id="ledger-result").text()
    assert world.cli("verify", "--lang", "en").err.count("fewer entries (3) than the checkpoint (4)") == 1


def _recompute(world):
    def longer(seq, doc):
        if seq == 2:
            doc["payload"]["duration"] = 900

    world.rewrite(longer)


def test_a_recomputed_chain_is_caught_by_the_page_and_the_api(world):
    made = world.cli("ledger", "checkpoint", "--now", "2024-03-19 08:00")
    _recompute(world)
    answer = world.api.get("/api/ledger/verify", headers=world.headers).json()
    assert answer["ok"] is False and answer["first_bad_entry"] == 4
    page = world.check_page()
    assert "error" in page.one("p", id="ledger-result").classes
    assert [li.attrs["data-seq"] for li in page.one("ul", id="ledger-problems").all("li")] == ["4"]
    # an uploaded checkpoint: the same finding, however it is sent
    for p in _kept(world):
        p.unlink()
    assert world.api.get("/api/ledger/verify", headers=world.headers).json()["ok"]  # nothing kept: consistent alone
    uploads = [
        {"json": {"checkpoint": made.out}},
        {"content": made.out.encode()},
        {"files": {"checkpoint": ("cp.json", made.out.encode(), "application/json")}},
    ]
    for upload in uploads:
        r = world.api.post("/api/ledger/verify", headers=world.headers, **upload)
        assert r.status_code == 200 and r.json()["ok"] is False and r.json()["first_bad_entry"] == 4, upload
        assert r.json()["checkpoint"]["source"] == "checkpoint"
    page = world.check_page(files={"checkpoint": ("cp.json", made.out.encode(), "application/json")})
    assert "error" in page.one("p", id="ledger-result").classes
    assert page.one("ul", id="ledger-problems").one("li").attrs["data-seq"] == "4"
    assert "error" not in world.check_page().one("p", id="ledger-result").classes  # without the upload: nothing kept


def test_an_uploaded_checkpoint_is_bounded_and_checked(world):
    too_big = world.api.post("/api/ledger/verify", headers=world.headers, content=b"{" + b" " * (40 << 10) + b"}")
    assert too_big.status_code == 413
    big = world.api.post("/api/ledger/verify", headers=world.headers, content=b"{" + b" " * (20 << 10) + b"}")
    assert big.status_code == 422 and big.json()["detail"][0]["loc"] == ["body", "checkpoint"]
    garbage = world.api.post("/api/ledger/verify", headers=world.headers, json={"checkpoint": "not json"})
    assert garbage.status_code == 422 and garbage.json()["detail"][0]["loc"] == ["body", "checkpoint"]
    page = world.check_page(files={"checkpoint": ("cp.json", b"\xff\xfe", "application/json")})
    assert "error" in page.one("p", id="ledger-result").classes
    assert world.api.post("/api/ledger/verify").status_code == 401


# Entry formats.


def test_a_legacy_entry_still_verifies(world, monkeypatch):
    legacy = functools.partial(canonical, format=None)
    with monkeypatch.context() as m:
        m.setattr(stored_ledger, "canonical", legacy)  # as the version before formats wrote entries
        assert world.cli("excuse", SECOND, "--by", DHA, "--reason", "Bão", "--now", "2024-03-19 09:00").code == 0
    assert world.cli("excuse", EPISODE, "--by", DHA, "--reason", "Lũ", "--now", "2024-03-19 10:00").code == 0
    contents = [content for _, content in world.rows()]
    assert '"format"' not in contents[4] and '"format":1' in contents[5]
    assert world.cli("verify").code == 0 and world.api.get("/api/ledger/verify", headers=world.headers).json()["ok"]


def test_an_unknown_format_is_named(world):
    world.rewrite(
        lambda seq, doc: None, lambda seq, body: body.replace('"format":1', '"format":2') if seq == 4 else body
    )
    result = world.cli("verify", "--lang", "en")
    assert (
        result.code == 1 and "entry 4: ledger entry format 2 is not known (this version reads formats 1)" in result.err
    )
    with pytest.raises(Exception, match="format 2 is not known"):
        parse_content(world.rows()[3][1])


def test_a_damaged_kept_checkpoint_is_a_finding_not_a_failure(world):
    assert world.cli("ledger", "checkpoint", "--now", "2024-03-19 08:00").code == 0
    (kept,) = _kept(world)
    kept.write_text('{"count": 4}', encoding="utf-8")
    r = world.api.get("/api/ledger/verify", headers=world.headers)
    assert r.status_code == 200 and r.json()["ok"] is False and kept.name in r.json()["problem"]
    assert "error" in world.check_page().one("p", id="ledger-result").classes


def test_missing_is_a_cached_state_only_once_the_window_has_closed(world):
    """The daemon caches "missing" for a closed window with nothing recorded;
    the same words on an open window (or over a delivery) are an edit."""
    world.tamper(update(OccurrenceRow).where(OccurrenceRow.id == MAY).values(delivery={"state": "missing"}))
    result = world.cli("verify", "--lang", "en", "--now", NOW)
    assert result.code == 1 and f"occurrence {MAY}: column occurrences.delivery does not match the ledger" in result.err
    assert world.cli("verify", "--lang", "en", "--now", "2024-06-02 08:00").code == 0  # May has closed by then


DEEP = b'{"a":' * 3000 + b"1" + b"}" * 3000  # 15 KiB, under the upload limit, past Python's recursion limit


def test_a_deeply_nested_checkpoint_is_refused_not_a_500(world):
    """Found by the outside probe: json.loads raised RecursionError, the API
    answered 500 (JSON) or reset the connection (the file as the body)."""
    for kind in ("application/json", "text/plain"):
        r = world.api.post("/api/ledger/verify", headers={**world.headers, "content-type": kind}, content=DEEP)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "checkpoint"], (kind, r.text)
    r = world.api.post("/api/ledger/verify", headers=world.headers, files={"checkpoint": ("cp.json", DEEP)})
    assert r.status_code == 422, r.text
    page = world.check_page(files={"checkpoint": ("cp.json", DEEP, "application/json")})
    assert "error" in page.one("p", id="ledger-result").classes


def test_an_entry_rewritten_as_deeply_nested_json_is_named(world):
    world.tamper(update(LedgerRow).where(LedgerRow.seq == 2).values(content=DEEP.decode()))
    result = world.cli("verify", "--lang", "en")
    assert result.code == 1 and "entry 2" in result.err and "Traceback" not in result.err
    answer = world.api.get("/api/ledger/verify", headers=world.headers).json()
    assert answer["ok"] is False and 2 in [p["seq"] for p in answer["problems"]]


def test_windows_closed_by_the_daemon_still_verify(world):
    """Found by the outside probe: close_windows caches {"state": "missing"}
    on occurrences whose window closed with nothing recorded, and verify then
    reported every one of them as an edit on an untouched database."""
    from scheduler.daemon import jobs

    rt = jobs.runtime(Settings.load(), world.db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ)))
    assert jobs.close_windows(rt)["missing"] > 0
    assert world.cli("verify").code == 0
    assert world.api.get("/api/ledger/verify", headers=world.headers).json()["ok"]
    assert "error" not in world.check_page().one("p", id="ledger-result").classes
    world.tamper(update(OccurrenceRow).where(OccurrenceRow.id == EPISODE).values(delivery={"state": "missing"}))
    answer = world.api.get("/api/ledger/verify", headers=world.headers).json()  # entries say otherwise: caught
    assert answer["ok"] is False and "occurrences.delivery" in [p["column"] for p in answer["problems"]]


def test_a_date_column_rewritten_as_garbage_is_named_not_a_crash(world):
    """Found by the outside probe: SQLite keeps any text in a DATETIME column,
    and reading "garbage" back raised ValueError: verify stopped with an
    unexpected error and the API answered 500. PostgreSQL refuses the edit."""
    edits = (
        "UPDATE ledger SET recorded_at = 'garbage' WHERE seq = 2",
        "UPDATE ledger SET moment = 'not a date' WHERE seq = 1",
    )
    if world.db.engine.dialect.name == "postgresql":
        with pytest.raises(Exception, match="invalid input syntax"):
            world.tamper(*edits)
        return
    world.tamper(*edits)
    result = world.cli("verify", "--lang", "en")
    assert result.code == 1 and "unexpected" not in result.err
    assert "entry 2: column recorded_at does not match its content" in result.err
    assert "entry 1: column moment does not match its content" in result.err
    r = world.api.get("/api/ledger/verify", headers=world.headers)
    found = {(p["seq"], p["column"]) for p in r.json()["problems"]}
    assert r.status_code == 200 and {(2, "recorded_at"), (1, "moment")} <= found


def test_a_delivery_cache_rewritten_as_garbage_is_named_not_a_crash(world):
    """Found by the outside probe: occurrences.delivery set to text that is
    not JSON (SQLite keeps it) stopped verify and answered 500."""
    edit = f"UPDATE occurrences SET delivery = 'not json' WHERE id = '{EPISODE}'"
    if world.db.engine.dialect.name == "postgresql":
        with pytest.raises(Exception, match="invalid input syntax"):
            world.tamper(edit)
        return
    world.tamper(edit)
    result = world.cli("verify", "--lang", "en")
    assert result.code == 1 and "unexpected" not in result.err
    assert f"occurrence {EPISODE}: column occurrences.delivery does not match the ledger" in result.err
    r = world.api.get("/api/ledger/verify", headers=world.headers)
    assert r.status_code == 200 and "occurrences.delivery" in [p["column"] for p in r.json()["problems"]]
