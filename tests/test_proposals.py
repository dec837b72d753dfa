"""Proposals become records (issue 17, part 4), on SQLite and PostgreSQL:
confirming one records a delivery whose hashed entry names its source and
who confirmed it; a month of confirmed proposals gives the same compliance
as the same deliveries typed by hand; an outlet set to ``auto_record``
records as its harvesting account; decisions happen once; the CLI."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduler.compliance.status import report_period
from scheduler.errors import SchedulerError
from scheduler.evidence.ledger import parse_content
from scheduler.harvest.proposals import (
    ARTICLE,
    ATTESTATION,
    CONFIRMED,
    NOT_OWED,
    ON_TIME,
    OPEN,
    RECORDED,
    REJECTED,
    SHORT,
    Proposal,
    proposal_key,
)
from scheduler.store.compliance import Scope, totals
from scheduler.store.database import Database
from scheduler.store.proposal_decisions import (
    Conflict,
    confirm,
    for_occurrence,
    list_proposals,
    open_for_agency,
    reject,
)
from scheduler.store.proposals import save_proposals
from scheduler.store.recording import NotFound, Refused, actor_by_email
from scheduler.store.tables import LedgerRow, PlanRow, ProposalRow

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 4, 5, 10, 0, tzinfo=TZ)
BASE = "http://lich.example"
FIRST = "phu-tho-2024.cchc-radio-tv.2024-03.1"
SECOND = "phu-tho-2024.cchc-radio-tv.2024-03.2"
PAPER = "phu-tho-2024.bao-phu-tho-cchc.2024-03.1"
PORTAL = "phu-tho-2024.cong-tttt-chuyen-trang.2024-Q1.1"
ASRUN_SHA = "a" * 64
PEOPLE = {
    "prod@dai.example": ("producer", "dai-ptth"),
    "prod@bao.example": ("producer", "bao-phu-tho"),
    "web@tttt.example": ("producer", "so-tttt"),
    "dha@snv.example": ("dha", "so-noi-vu"),
}


def _p(kind, outlet, obligation, occurrence, key, evidence, source, detail=""):
    return Proposal(
        kind, outlet, "phu-tho-2024", obligation, occurrence, proposal_key(key), evidence, source, detail, NOW
    )


def month() -> list[Proposal]:
    """What the harvesters would propose for March 2024: two airings (one
    short), the online half of the newspaper's article, the portal's quarter,
    and an airing nobody owes."""
    return [
        _p(
            ON_TIME,
            "dai-ptth",
            "cchc-radio-tv",
            FIRST,
            "asrun-12",
            {"moment": "2024-03-05T19:30:00+07:00", "moment_kind": "aired", "duration": 630, "title": "CCHC số 1"},
            {"type": "asrun", "file_sha256": ASRUN_SHA, "rows": [12, 13], "name": "asrun-03.csv"},
        ),
        _p(
            SHORT,
            "dai-ptth",
            "cchc-radio-tv",
            SECOND,
            "asrun-40",
            {"moment": "2024-03-19T19:30:00+07:00", "moment_kind": "aired", "duration": 480, "title": "CCHC số 2"},
            {"type": "asrun", "file_sha256": ASRUN_SHA, "rows": [40], "name": "asrun-03.csv"},
            "8 phút, thiếu 2 phút",
        ),
        _p(
            ARTICLE,
            "bao-phu-tho",
            "bao-phu-tho-cchc",
            PAPER,
            "https://baophutho.vn/cchc-thang-3",
            {
                "moment": "2024-03-10T08:00:00+07:00",
                "moment_kind": "published",
                "url": "https://baophutho.vn/cchc-thang-3",
                "title": "Đẩy mạnh cải cách hành chính",
                "needs": ["issue_number", "page"],
            },
            {
                "type": "feed",
                "url": "https://baophutho.vn/cchc-thang-3",
                "feed": "https://baophutho.vn/rss",
                "fetched_at": "2024-03-10T09:00:00+07:00",
            },
        ),
        _p(
            ATTESTATION,
            "so-tttt",
            "cong-tttt-chuyen-trang",
            PORTAL,
            "checks-2024-Q1",
            {
                "moment": "2024-03-31T09:00:00+07:00",
                "moment_kind": "published",
                "url": "https://sotttt.phutho.gov.vn/cchc",
            },
            {"type": "checks", "urls": ["https://sotttt.phutho.gov.vn/cchc"], "checks": 91, "failed": 3},
        ),
        _p(
            NOT_OWED,
            "dai-ptth",
            "cchc-radio-tv",
            None,
            "asrun-77",
            {"moment": "2024-03-22T06:00:00+07:00", "moment_kind": "aired", "duration": 600, "title": "CCHC phát lại"},
            {"type": "asrun", "file_sha256": ASRUN_SHA, "rows": [77], "name": "asrun-03.csv"},
        ),
    ]


@pytest.fixture
def world(cli, db_url):
    assert cli("load", "--now", "2024-01-02").code == 0
    for email, (role, agency) in PEOPLE.items():
        assert cli("users", "add", email, "--role", role, "--agency", agency).code == 0
    db = Database(db_url)
    yield db
    db.close()


def _save(db, proposals=None) -> dict[str, int]:
    with db.transaction() as s:
        rows = save_proposals(s, proposals if proposals is not None else month(), NOW, BASE)
        return {r.occurrence_id or r.kind: r.id for r in rows}


def _entry(db, seq: int) -> tuple[LedgerRow, dict]:
    with db.transaction() as s:
        row = s.get(LedgerRow, seq)
        s.expunge(row)
    return row, parse_content(row.content)["payload"]


def test_confirming_records_the_delivery_with_its_source_and_who_confirmed(world):
    ids = _save(world)
    with world.transaction() as s:
        result = confirm(s, actor_by_email(s, "prod@dai.example"), ids[FIRST], NOW, BASE)
    assert result.state == "on_time" and result.occurrence == FIRST
    row, payload = _entry(world, result.seq)
    assert row.recorded_by == "prod@dai.example"
    assert payload["source"] == {
        "type": "asrun",
        "file_sha256": ASRUN_SHA,
        "rows": [12, 13],
        "name": "asrun-03.csv",
        "proposal": ids[FIRST],
    }
    assert payload["duration"] == 630 and payload["moment"] == "2024-03-05T19:30:00+07:00"
    with world.transaction() as s:
        p = s.get(ProposalRow, ids[FIRST])
        assert (p.state, p.decided_by, p.ledger_seq) == (CONFIRMED, "prod@dai.example", result.seq)
        assert p.decided_at is not None
        assert {x.id for x in open_for_agency(s, "dai-ptth", 10)} == {ids[SECOND], ids[NOT_OWED]}
        assert [x.state for x in for_occurrence(s, FIRST)] == [CONFIRMED]


def test_the_print_half_takes_its_issue_and_page_from_the_form(world):
    ids = _save(world)
    with world.transaction() as s, pytest.raises(SchedulerError) as unknown:
        confirm(s, actor_by_email(s, "prod@bao.example"), ids[PAPER], NOW, BASE, {"colour": "x"})
    assert unknown.value.field == "colour" and "issue_number" in unknown.value.render()
    with world.transaction() as s:
        result = confirm(
            s, actor_by_email(s, "prod@bao.example"), ids[PAPER], NOW, BASE, {"issue_number": "12", "page": "3"}, "ok"
        )
    _, payload = _entry(world, result.seq)
    assert payload["fields"] == {"issue_number": "12", "page": "3"} and payload["note"] == "ok"
    assert payload["url"] == "https://baophutho.vn/cchc-thang-3" and payload["moment_kind"] == "published"
    assert payload["source"]["type"] == "feed" and payload["source"]["proposal"] == ids[PAPER]


def test_a_decision_happens_once_and_a_refusal_writes_nothing(world):
    ids = _save(world)
    with world.transaction() as s:
        confirm(s, actor_by_email(s, "prod@dai.example"), ids[FIRST], NOW, BASE)
    with world.transaction() as s, pytest.raises(Conflict) as twice:
        confirm(s, actor_by_email(s, "prod@dai.example"), ids[FIRST], NOW, BASE)
    assert twice.value.status == 409 and "prod@dai.example" in twice.value.render()
    assert "05/04/2024 10:00" in twice.value.render()  # when, in the plan's zone

    with world.transaction() as s, pytest.raises(Refused) as other:  # the DHA records nothing
        confirm(s, actor_by_email(s, "dha@snv.example"), ids[SECOND], NOW, BASE)
    assert other.value.status == 403
    with world.transaction() as s, pytest.raises(NotFound):  # another agency's proposal is private
        confirm(s, actor_by_email(s, "prod@bao.example"), ids[SECOND], NOW, BASE)
    with world.transaction() as s, pytest.raises(SchedulerError) as shown:
        confirm(s, actor_by_email(s, "prod@dai.example"), ids[NOT_OWED], NOW, BASE)
    assert getattr(shown.value, "field", None) == "proposal"
    with world.transaction() as s:
        assert s.query(LedgerRow).count() == 1
        assert s.get(ProposalRow, ids[SECOND]).state == OPEN

    with world.transaction() as s, pytest.raises(SchedulerError) as bare:
        reject(s, actor_by_email(s, "prod@dai.example"), ids[SECOND], "  ", NOW)
    assert bare.value.field == "reason"
    with world.transaction() as s, pytest.raises(SchedulerError) as long:
        reject(s, actor_by_email(s, "prod@dai.example"), ids[SECOND], "x" * 1001, NOW)
    assert long.value.field == "reason"
    with world.transaction() as s:
        row = reject(s, actor_by_email(s, "prod@dai.example"), ids[SECOND], "Phát lại, không phải số mới", NOW)
        assert (row.state, row.reason) == (REJECTED, "Phát lại, không phải số mới")
    with world.transaction() as s, pytest.raises(Conflict) as again:
        confirm(s, actor_by_email(s, "prod@dai.example"), ids[SECOND], NOW, BASE)
    assert "rejected" in again.value.render()


def test_confirming_for_an_occurrence_already_met_says_by_which_entry(world):
    ids = _save(world)
    with world.transaction() as s:
        typed = confirm(s, actor_by_email(s, "prod@dai.example"), ids[FIRST], NOW, BASE)
    other = _p(
        ON_TIME,
        "dai-ptth",
        "cchc-radio-tv",
        FIRST,
        "asrun-99",
        {"moment": "2024-03-06T19:30:00+07:00", "moment_kind": "aired", "duration": 600},
        {"type": "asrun", "file_sha256": ASRUN_SHA, "rows": [99]},
    )
    (new,) = _save(world, [other]).values()
    with world.transaction() as s, pytest.raises(Conflict) as met:
        confirm(s, actor_by_email(s, "prod@dai.example"), new, NOW, BASE)
    assert f"entry {typed.seq}" in met.value.render() and FIRST in met.value.render()


def _fresh(request, db_url: str, tmp_path: Path) -> None:
    """An empty database at the same address, for the same month typed the other way."""
    if db_url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(db_url[len("sqlite:///") :] + suffix).unlink(missing_ok=True)
    else:
        request.getfixturevalue("postgres").reset()


def _totals(db_url: str) -> tuple[dict, dict]:
    db = Database(db_url)
    try:
        with db.transaction() as s:
            found = {}
            for label in ("2024-03", "2024-Q1"):
                found[label] = totals(s, Scope("phu-tho-2024"), report_period(label), TZ, NOW, NOW)
            states = {o: d for o, d in s.execute(_delivery_states()) if d}
        return found, states
    finally:
        db.close()


def _delivery_states():
    from sqlalchemy import select

    from scheduler.store.tables import OccurrenceRow

    return select(OccurrenceRow.id, OccurrenceRow.delivery)


def test_a_month_confirmed_gives_the_compliance_of_the_same_month_typed_by_hand(request, cli, db_url, tmp_path):
    """The issue's "done when": the same totals, status by status, and the same occurrence states."""

    def people():
        assert cli("load", "--now", "2024-01-02").code == 0
        for email, (role, agency) in PEOPLE.items():
            assert cli("users", "add", email, "--role", role, "--agency", agency).code == 0

    people()
    now = ["--now", "2024-04-05 10:00"]
    typed = [
        (
            "deliver",
            FIRST,
            "--by",
            "prod@dai.example",
            "--at",
            "05/03/2024 19:30",
            "--duration",
            "630",
            "--title",
            "CCHC số 1",
        ),
        ("deliver", SECOND, "--by", "prod@dai.example", "--at", "19/03/2024 19:30", "--duration", "480"),
        (
            "deliver",
            PAPER,
            "--by",
            "prod@bao.example",
            "--at",
            "10/03/2024 08:00",
            "--url",
            "https://baophutho.vn/cchc-thang-3",
            "--issue-number",
            "12",
            "--page",
            "3",
        ),
        (
            "deliver",
            PORTAL,
            "--by",
            "web@tttt.example",
            "--at",
            "31/03/2024 09:00",
            "--url",
            "https://sotttt.phutho.gov.vn/cchc",
        ),
    ]
    for args in typed:
        result = cli(*args, *now)
        assert result.code == 0, result.err
    by_hand = _totals(db_url)

    _fresh(request, db_url, tmp_path)
    people()
    db = Database(db_url)
    try:
        ids = _save(db)
    finally:
        db.close()
    deciders = {
        FIRST: "prod@dai.example",
        SECOND: "prod@dai.example",
        PAPER: "prod@bao.example",
        PORTAL: "web@tttt.example",
    }
    for occurrence, who in deciders.items():
        extra = ["--field", "issue_number=12", "--field", "page=3"] if occurrence == PAPER else []
        result = cli("proposals", "confirm", ids[occurrence], "--by", who, *extra, *now)
        assert result.code == 0, result.err
    confirmed = _totals(db_url)

    assert confirmed[0] == by_hand[0]
    assert {o: d["state"] for o, d in confirmed[1].items()} == {o: d["state"] for o, d in by_hand[1].items()}
    assert by_hand[1][SECOND]["state"] == "non_conforming" and by_hand[1][FIRST]["state"] == "on_time"
    march = confirmed[0]["2024-03"]
    assert march[("dai-ptth", "cchc-radio-tv")]["on_time"] == 1
    assert march[("dai-ptth", "cchc-radio-tv")]["non_conforming"] == 1

    verify = cli("verify", *now)
    assert verify.code == 0, verify.err  # entries carrying a source verify like any other


def _auto(db, account: str = "thu-thap@dai.example") -> None:
    with db.transaction() as s:
        plan = s.get(PlanRow, "phu-tho-2024")
        outlets = [{"outlet": "dai-ptth", "auto_record": True, "account": account}, {"outlet": "bao-phu-tho"}]
        plan.definition = {**plan.definition, "outlets": outlets}


def test_an_outlet_set_to_auto_record_records_as_its_account(world, cli):
    with world.transaction() as s:
        confirm_first = _p(
            ON_TIME,
            "dai-ptth",
            "cchc-radio-tv",
            SECOND,
            "asrun-1",
            {"moment": "2024-03-02T19:30:00+07:00", "moment_kind": "aired", "duration": 600},
            {"type": "asrun", "file_sha256": ASRUN_SHA, "rows": [1]},
        )
        save_proposals(s, [confirm_first], NOW, BASE)  # before auto_record: stays open
    _auto(world)
    ids = _save(world)
    with world.transaction() as s:
        before = s.query(ProposalRow).filter_by(key=confirm_first.key).one()
        assert before.state == OPEN  # kept before the outlet recorded automatically: a person decides
    with world.transaction() as s:
        first = s.get(ProposalRow, ids[FIRST])
        assert (first.state, first.decided_by) == (RECORDED, "thu-thap@dai.example")
        seq = first.ledger_seq
        short = s.get(ProposalRow, ids[SECOND])
        assert short.state == RECORDED  # a short airing is recorded too, as non-conforming
        assert s.get(ProposalRow, ids[NOT_OWED]).state == OPEN  # shown, never recorded
        assert s.get(ProposalRow, ids[PAPER]).state == OPEN  # its outlet does not record automatically
    row, payload = _entry(world, seq)
    assert row.recorded_by == "thu-thap@dai.example" and payload["source"]["proposal"] == ids[FIRST]

    late = _p(
        ON_TIME,
        "dai-ptth",
        "cchc-radio-tv",
        FIRST,
        "asrun-50",
        {"moment": "2024-03-25T19:30:00+07:00", "moment_kind": "aired", "duration": 600},
        {"type": "asrun", "file_sha256": ASRUN_SHA, "rows": [50]},
    )
    (again,) = _save(world, [late]).values()
    with world.transaction() as s:
        kept = s.get(ProposalRow, again)
        assert kept.state == OPEN and f"({seq})" not in kept.detail and FIRST in kept.detail and str(seq) in kept.detail
    assert cli("verify", "--now", "2024-04-05 10:00").code == 0


def test_an_outlet_without_an_account_records_as_thu_thap(world):
    _auto(world, account="")
    ids = _save(world)
    with world.transaction() as s:
        assert s.get(ProposalRow, ids[FIRST]).decided_by == "thu-thap+dai-ptth"


def test_lists_are_bounded_and_narrowed(world):
    ids = _save(world)
    with world.transaction() as s:
        assert len(list_proposals(s, limit=2)) == 2
        assert {r.id for r in list_proposals(s, outlet="bao-phu-tho")} == {ids[PAPER]}
        assert list_proposals(s, state=CONFIRMED) == []
        assert len(list_proposals(s, plan="phu-tho-2024", limit=10_000)) == 5
        with pytest.raises(SchedulerError) as bad:
            list_proposals(s, state="maybe")
        assert bad.value.field == "state"


def test_the_cli_lists_confirms_and_rejects(world, cli):
    ids = _save(world)
    listed = cli("proposals", "list", "--outlet", "dai-ptth", "--format", "json", "--lang", "en")
    assert listed.code == 0, listed.err
    rows = json.loads(listed.out)
    assert {r["id"] for r in rows} == {ids[FIRST], ids[SECOND], ids[NOT_OWED]}
    assert all(r["state"] == "open" for r in rows)
    table = cli("proposals", "list", "--state", "open")
    assert table.code == 0 and "phát đúng khung giờ" in table.out and "đang chờ quyết định" in table.out

    now = ["--now", "2024-04-05 10:00", "--lang", "en"]
    done = cli("proposals", "confirm", ids[FIRST], "--by", "prod@dai.example", *now)
    assert done.code == 0, done.err
    assert f"proposal {ids[FIRST]} confirmed" in done.out and "state: " in done.out
    twice = cli("proposals", "confirm", ids[FIRST], "--by", "prod@dai.example", *now)
    assert twice.code == 1 and "already confirmed by prod@dai.example" in twice.err
    bad_field = cli("proposals", "confirm", ids[PAPER], "--by", "prod@bao.example", "--field", "page", *now)
    assert bad_field.code == 1 and "--field" in bad_field.err
    other = cli("proposals", "confirm", ids[SECOND], "--by", "prod@bao.example", *now)
    assert other.code == 1 and f"no proposal {ids[SECOND]}" in other.err

    rejected = cli("proposals", "reject", ids[SECOND], "--by", "prod@dai.example", "--reason", "phát lại", *now)
    assert rejected.code == 0 and "rejected at 05/04/2024 10:00" in rejected.out
    listed = json.loads(cli("proposals", "list", "--state", "rejected", "--format", "json").out)
    assert [(r["id"], r["reason"], r["decided_by"]) for r in listed] == [(ids[SECOND], "phát lại", "prod@dai.example")]
    assert cli("proposals", "list", "--limit", "0").code == 1
