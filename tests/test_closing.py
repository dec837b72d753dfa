"""Closed periods on SQLite and PostgreSQL: ``periods close`` writes a
"closing" ledger entry, a signed checkpoint and the kept report files; every
refusal says why; the ledger still verifies; a closed period's report counts
as of its closing (later records listed apart) and recomputes byte for byte
after late records and a reload that would have changed it; the page, its
close form and the kept downloads over real HTTP; the marks on later records."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from html_tree import html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.compliance.report_files import FORMATS
from scheduler.evidence.checkpoints import Checkpoint
from scheduler.i18n import gettext_for
from scheduler.settings import Settings
from scheduler.store import checkpoints
from scheduler.store.closed_periods import AFTER_CLOSING, HELD
from scheduler.store.compliance import Scope
from scheduler.store.database import Database
from scheduler.store.files import EvidenceStore
from scheduler.store.people import find_user
from scheduler.store.reporting import REPORT_POLICY, period_report, report_file
from scheduler.store.tables import ClosedPeriodRow, LedgerRow, OccurrenceRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password
from web_session import signed_in

PLAN = "phu-tho-2024"
EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.1"
SECOND = "phu-tho-2024.cchc-radio-tv.2024-03.2"
APRIL = "phu-tho-2024.cchc-radio-tv.2024-04.1"
DHA, PRODUCER, ADMIN = "dha@snv.example", "prod@dai.example", "admin@x.example"
PASSWORD = "mat-khau-du-dai"
CLOSED = "2024-04-02 09:00"
LATER = "2024-04-10 10:00"
RECORDING = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 3000
vi = gettext_for("vi")


class Closed:
    """Q1 2024 closed on 02/04/2024 09:00, with March's episode no. 1 delivered on time before it."""

    def __init__(self, cli, db_url, outputs):
        self.cli, self.outputs = cli, outputs
        self.db = Database(db_url)
        self.settings = Settings.load()
        self.store = EvidenceStore(outputs / "evidence", self.settings.evidence_limit)

    def closing(self, closing_id: int = 1) -> ClosedPeriodRow:
        with self.db.transaction() as s:
            row = s.get(ClosedPeriodRow, closing_id)
            s.expunge(row)
            return row

    def kept(self, fmt: str, closing_id: int = 1) -> bytes:
        return self.store.path(self.closing(closing_id).files[PLAN][fmt]).read_bytes()

    def report(self, now: datetime, period: str = "2024-Q1") -> dict:
        with self.db.transaction() as s:
            s_ = self.settings
            return period_report(s, period, False, now, Scope(PLAN), s_.at_risk_days, s_.report_agency, "vi")

    def app(self, at: str = LATER):
        return create_app(self.settings, self.db, Clock(DEFAULT_TZ, parse_now(at, DEFAULT_TZ)))

    def occurrences(self, before: datetime) -> dict:
        with self.db.transaction() as s:
            rows = s.scalars(select(OccurrenceRow).where(OccurrenceRow.window_end <= before))
            return {r.id: (r.revision, r.fingerprint, r.window_end, r.cancelled_at) for r in rows}


@pytest.fixture
def closed(cli, db_url, tmp_path):
    assert cli("load", "--now", "2024-01-02").code == 0
    for email, role, agency in ((PRODUCER, "producer", "dai-ptth"), (DHA, "dha", "so-noi-vu"), (ADMIN, "admin", "")):
        assert cli("users", "add", email, "--role", role, *(["--agency", agency] if agency else [])).code == 0
    recording = tmp_path / "Phóng sự tháng 3.mp4"
    recording.write_bytes(RECORDING)
    delivered = cli(
        "deliver", EPISODE, "--by", PRODUCER, "--at", "2024-03-14 19:30", "--duration", "00:12:00",
        "--file", str(recording), "--now", "2024-03-20 10:00",
    )  # fmt: skip
    assert delivered.code == 0, delivered.err
    result = cli("periods", "close", "2024-Q1", "--by", DHA, "--now", CLOSED)
    assert result.code == 0, result.err
    site = Closed(cli, db_url, tmp_path / "outputs")
    with site.db.transaction() as s:
        for email in (PRODUCER, DHA, ADMIN):
            set_password(s, find_user(s, email), PASSWORD, parse_now(CLOSED, DEFAULT_TZ))
    yield site
    site.db.close()


def test_closing_is_a_ledger_entry_a_signed_checkpoint_and_kept_files(closed, cli):
    row = closed.closing()
    at = parse_now(CLOSED, DEFAULT_TZ)
    assert (row.province, row.label, row.cutoff, row.plans, row.closed_by) == ("phu-tho", "2024-Q1", False, [PLAN], DHA)
    assert (row.first_day.isoformat(), row.last_day.isoformat(), row.closed_at) == ("2024-01-01", "2024-03-31", at)
    with closed.db.transaction() as s:
        entry = s.get(LedgerRow, row.ledger_seq)
        assert (entry.kind, entry.occurrence_id, entry.recorded_by) == ("closing", "period:phu-tho:2024-Q1", DHA)
        payload = json.loads(entry.content)["payload"]
    assert payload["reports"] == {PLAN: row.files[PLAN]["json"]}
    assert (payload["label"], payload["cutoff"], payload["province"], payload["plans"]) == (
        "2024-Q1",
        False,
        "phu-tho",
        [PLAN],
    )
    assert datetime.fromisoformat(payload["closed_at"]) == at
    assert set(row.files[PLAN]) == set(FORMATS)
    for fmt, sha256 in row.files[PLAN].items():  # kept by content, and listed in the entry so verify re-hashes them
        assert hashlib.sha256(closed.kept(fmt)).hexdigest() == sha256
        assert sha256 in {f["sha256"] for f in payload["files"]}
    assert json.loads(closed.kept("json"))["totals"]["on_time"] == 1
    signed = Checkpoint.from_text(row.checkpoint)
    assert (signed.count, signed.head, signed.at) == (row.ledger_seq, entry.hash, at)
    kept = [cp.to_text() for _path, cp in checkpoints.kept(closed.outputs)]
    assert kept == [row.checkpoint]  # kept where `verify` looks, once the closing committed
    verified = cli("verify", "--now", "2024-04-03")
    assert verified.code == 0, verified.err
    listed = json.loads(cli("periods", "list", "--format", "json").out)
    assert [(c["id"], c["label"], c["ledger_seq"]) for c in listed] == [(1, "2024-Q1", row.ledger_seq)]
    shown = cli("periods", "show", "1").out
    for fmt, sha256 in row.files[PLAN].items():
        assert f"{sha256}\t{closed.store.path(sha256)}" in shown
        assert f"/dashboard/periods/1/report.{fmt}?plan={PLAN}" in shown
    assert "2024-Q1" in cli("periods", "list").out
    late = cli("deliver", SECOND, "--by", PRODUCER, "--at", "2024-03-28 19:30", "--duration", "12m", "--now", LATER)
    assert late.code == 0 and vi(AFTER_CLOSING) in late.out, late.err
    assert cli("verify", "--now", LATER).code == 0


@pytest.mark.parametrize(
    "args, message, params",
    [
        (
            ("2024-Q2", "--by", DHA, "--now", "2024-06-30 23:59"),
            "period {label} has not ended: its last day is {last} (plan {plan}); it can be closed from {first}",
            {"label": "2024-Q2", "last": "30/06/2024", "plan": PLAN, "first": "01/07/2024"},
        ),
        (
            ("2024-Q1", "--by", ADMIN, "--province", "phu-tho"),
            "period {label} ({province}) is already closed: closing #{id} on {at} by {by}",
            {"label": "2024-Q1", "province": "phu-tho", "id": 1, "at": "02/04/2024 09:00", "by": DHA},
        ),
        (
            ("2024-Q1", "--by", DHA),  # a DHA user closes for their province by default
            "period {label} ({province}) is already closed: closing #{id} on {at} by {by}",
            {"label": "2024-Q1", "province": "phu-tho", "id": 1, "at": "02/04/2024 09:00", "by": DHA},
        ),
        (
            ("2024-Q9", "--by", DHA),
            'expected a period such as 2024, 2024-Q3, 2024-H1, 2024-03 or 2024-03-01..2024-05-31, got "{value}"',
            {"value": "2024-Q9"},
        ),
        (
            ("2024-01-01..2024-02-29", "--by", DHA),
            'period "{value}": a closing is of a year, half-year, quarter or month (2024, 2024-H1, 2024-Q1, '
            "2024-03), not a range of days",
            {"value": "2024-01-01..2024-02-29"},
        ),
        (
            ("2024-03", "--by", "ai@x.example"),
            '--by: no user "{email}" (a DHA user or an administrator closes periods)',
            {"email": "ai@x.example"},
        ),
        (
            ("2024-03", "--by", PRODUCER),
            "--by: {email} is {roles}; only a DHA user or an administrator closes a period",
            {"email": PRODUCER, "roles": "producer"},
        ),
        (
            ("2024-03", "--by", DHA, "--province", "ha-noi"),
            'province "{province}": {email} sees only the plans of province "{own}"; leave it empty or give "{own}"',
            {"province": "ha-noi", "email": DHA, "own": "phu-tho"},
        ),
        (
            ("2024-03", "--by", ADMIN, "--province", "ha-noi"),
            'no plan of province "{province}" owes anything in period {label} (provinces of the loaded plans: {known})',
            {"province": "ha-noi", "label": "2024-03", "known": "phu-tho"},
        ),
        (
            ("2030-03", "--by", DHA),
            'no plan of province "{province}" owes anything in period {label} (provinces of the loaded plans: {known})',
            {"province": "phu-tho", "label": "2030-03", "known": "phu-tho"},
        ),
    ],
)
def test_what_cannot_be_closed_is_refused_with_its_reason_and_nothing_is_written(closed, cli, args, message, params):
    result = cli("periods", "close", *args, *(() if "--now" in args else ("--now", LATER)))
    assert result.code == 1
    assert vi(message).format(**params) in result.err
    with closed.db.transaction() as s:
        assert s.scalar(select(LedgerRow.seq).order_by(LedgerRow.seq.desc()).limit(1)) == closed.closing().ledger_seq
        assert len(list(s.scalars(select(ClosedPeriodRow)))) == 1
    assert len(checkpoints.kept(closed.outputs)) == 1


def test_the_cutoff_period_closes_apart_from_the_calendar_one(closed, cli):
    early = cli("periods", "close", "2024-Q2", "--cutoff", "--by", DHA, "--now", "2024-06-14 23:00")
    assert early.code == 1 and "14/06/2024" in early.err
    result = cli("periods", "close", "2024-Q2", "--cutoff", "--by", DHA, "--now", "2024-06-15 00:00")
    assert result.code == 0, result.err
    row = closed.closing(2)
    assert (row.cutoff, row.first_day.isoformat(), row.last_day.isoformat()) == (True, "2024-03-15", "2024-06-14")
    with closed.db.transaction() as s:
        assert s.get(LedgerRow, row.ledger_seq).occurrence_id == "period:phu-tho:2024-Q2:cutoff"
    assert cli("verify", "--now", "2024-06-16").code == 0


def test_a_closed_period_counts_as_of_its_closing_and_recomputes_byte_for_byte(closed, cli, tmp_path):
    kept = json.loads(closed.kept("json"))
    closed_at = parse_now(CLOSED, DEFAULT_TZ)
    assert kept["closing"] == {"id": 1, "closed_at": closed_at.isoformat(), "closed_by": DHA, "seen_at": kept["as_of"]}
    assert kept["recorded_after_closing"] == []
    # a late record for March's second episode, over the API
    token = cli("tokens", "create", "--user", PRODUCER).out.strip().splitlines()[-1]
    client = TestClient(closed.app())
    answer = client.post(
        f"/api/occurrences/{SECOND}/deliveries",
        headers={"Authorization": f"Bearer {token}"},
        data={"aired_at": "28/03/2024 19:30", "duration": "00:12:00"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["after_closing"] is True and answer.json()["note"] == vi(AFTER_CLOSING)
    late = answer.json()["seq"]
    q1_before = closed.occurrences(datetime(2024, 4, 1, tzinfo=DEFAULT_TZ))
    # the plan reloaded with a changed schedule: Q1 is left as it was closed, April changes
    source = (closed.settings.schedules_dir / f"{PLAN}.yaml").read_text(encoding="utf-8")
    changed = source.replace("    min_duration: 10m\n", "    min_duration: 15m\n", 1).replace(
        "    cadence: 2 per month\n", "    cadence: 3 per month\n", 1
    )
    assert changed.count("15m") == source.count("15m") + 1 and "3 per month" in changed
    path = tmp_path / f"{PLAN}.yaml"
    path.write_text(changed, encoding="utf-8")
    admin = signed_in(closed.app(), ADMIN, PASSWORD)  # the upload page's preview says it too
    token = html(admin.get("/admin/schedules")).all("input", name="csrf")[0].attrs["value"]
    preview = admin.post(
        "/admin/schedules/check",
        data={"csrf": token},
        files=[("files", (path.name, changed.encode("utf-8"), "application/yaml"))],
    )
    assert preview.status_code == 200, preview.text
    warning = html(preview).one("p", id="preview-1-held").text()
    assert "kỳ đã chốt" in warning and EPISODE in warning
    reloaded = cli("load", str(path), "--now", "2024-04-11")
    assert reloaded.code == 0, reloaded.err
    assert "kỳ đã chốt" in reloaded.err and EPISODE in reloaded.err
    assert vi(HELD).format(plan=PLAN, count=9, ids="").rstrip() in reloaded.err  # 6 revised, 3 new, all held
    assert closed.occurrences(datetime(2024, 4, 1, tzinfo=DEFAULT_TZ)) == q1_before
    with closed.db.transaction() as s:
        assert s.get(OccurrenceRow, APRIL).revision > 1
        assert s.get(OccurrenceRow, "phu-tho-2024.cchc-radio-tv.2024-04.3") is not None
        assert s.get(OccurrenceRow, "phu-tho-2024.cchc-radio-tv.2024-03.3") is None
    # as of its closing, at any later time: the kept bytes
    again = closed.report(closed_at)
    for fmt in FORMATS:
        assert report_file(again, fmt, closed.settings.base_url).body == closed.kept(fmt), fmt
    # later: the same figures, and the late record apart with its link
    now = parse_now("2024-04-12 08:00", DEFAULT_TZ)
    later = closed.report(now)
    assert later["totals"] == kept["totals"] and later["occurrences"] == kept["occurrences"]
    assert later["as_of"] == kept["as_of"] and later["closing"]["seen_at"] == now.isoformat()
    assert [(e["seq"], e["occurrence"], e["href"]) for e in later["recorded_after_closing"]] == [
        (late, SECOND, f"/o/{SECOND}")
    ]
    # before the closing, the period was open: no closing in that report
    assert "closing" not in closed.report(parse_now("2024-04-01 08:00", DEFAULT_TZ))
    assert cli("verify", "--now", "2024-04-12").code == 0


def test_the_page_lists_closings_closes_a_period_and_serves_the_kept_files(closed, cli):
    app = closed.app()
    client = signed_in(app, DHA, PASSWORD)
    page = html(client.get("/dashboard/periods"))
    links = {a.attrs["data-format"]: a.attrs["href"] for a in page.one("article", id="closing-1").all("a")}
    assert set(links) == set(FORMATS)
    for fmt, href in links.items():
        r = client.get(href)
        assert r.status_code == 200 and r.content == closed.kept(fmt), fmt
        assert r.headers["cache-control"] == "private, no-store"
    today = signed_in(app, DHA, PASSWORD).get("/dashboard/report.csv?period=2024-Q1&plan=" + PLAN)
    kept_csv = client.get(links["csv"])
    assert kept_csv.headers["content-disposition"] == today.headers["content-disposition"]
    assert kept_csv.headers["content-disposition"] == 'attachment; filename="compliance-phu-tho-2024-2024-Q1.csv"'
    assert client.get(links["json"]).headers["content-type"] == "application/json"
    assert client.get(links["html"]).headers["content-security-policy"] == REPORT_POLICY
    assert client.get("/dashboard/periods/1/report.json").content == closed.kept("json")  # one plan: no ?plan= needed
    assert client.get("/dashboard/periods/1/report.json?plan=ha-noi").status_code == 404
    assert client.get("/dashboard/periods/1/report.pdf").status_code == 404
    assert client.get("/dashboard/periods/7/report.json").status_code == 404
    producer = signed_in(app, PRODUCER, PASSWORD)
    assert producer.get("/dashboard/periods").status_code == 403
    assert producer.get(links["json"]).status_code == 403
    # the close form: refused with the reason, then a month by the cut-off closes
    form = page.one("form", id="close-form")
    csrf = form.one("input", name="csrf").attrs["value"]
    again = client.post("/dashboard/periods", data={"csrf": csrf, "label": "2024-Q1"})
    assert again.status_code == 422
    assert "02/04/2024 09:00" in html(again).one("p", id="close-error").text()
    assert client.post("/dashboard/periods", data={"csrf": "x", "label": "2024-03"}).status_code == 403
    assert producer.post("/dashboard/periods", data={"csrf": csrf, "label": "2024-03"}).status_code == 403
    done = client.post("/dashboard/periods", data={"csrf": csrf, "label": "2024-03", "cutoff": "1"})
    assert done.status_code == 303 and done.headers["location"].endswith("#closing-2")
    row = closed.closing(2)
    assert (row.label, row.cutoff, row.closed_by, row.last_day.isoformat()) == ("2024-03", True, DHA, "2024-03-14")
    assert len(checkpoints.kept(closed.outputs)) == 2
    listed = html(client.get("/dashboard/periods")).one("article", id="closing-2")
    assert "2024-03" in listed.text()
    assert cli("verify", "--now", "2024-04-11").code == 0


def test_later_records_are_marked_on_the_occurrence_page_and_shown_apart_on_the_dashboard(closed):
    app = closed.app()
    producer = signed_in(app, PRODUCER, PASSWORD)
    form = html(producer.get(f"/o/{SECOND}")).one("form", id="deliver")
    posted = producer.post(
        f"/o/{SECOND}/deliveries",
        data={
            "csrf": form.one("input", name="csrf").attrs["value"],
            "aired_at": "2024-03-28T19:30",
            "duration": "00:12:00",
        },
    )
    assert posted.status_code == 303, posted.text
    page = html(producer.get(posted.headers["location"]))
    assert page.one("dd", id="closed-period").one("a").text().strip() == "2024-Q1"
    assert vi(AFTER_CLOSING) in page.one("p", id="recorded").text()
    later = [li for li in page.one("ol", id="history").all("li") if li.all("span", cls="after-closing")]
    assert len(later) == 1
    seq = later[0].attrs["data-seq"]
    before = html(producer.get(f"/o/{EPISODE}")).one("ol", id="history")
    assert not before.all("span", cls="after-closing")  # recorded before the closing
    dha = signed_in(app, DHA, PASSWORD)
    section = html(dha.get(f"/dashboard?plan={PLAN}&period=2024-Q1")).one("section", id="recorded-after-closing")
    assert [tr.attrs["data-seq"] for tr in section.all("tr") if "data-seq" in tr.attrs] == [seq]
    printable = dha.get(f"/dashboard/report.html?plan={PLAN}&period=2024-Q1")
    assert vi("Recorded after closing") in printable.text and f"/o/{SECOND}" in printable.text
    # the closing's own files are not evidence of an occurrence: not found, never an error
    row = closed.closing()
    assert dha.get(f"/files/{row.ledger_seq}/{row.files[PLAN]['json']}").status_code == 404
    assert dha.get(f"/o/{EPISODE}").status_code == 200


def test_a_web_change_to_an_occurrence_of_a_closed_period_is_refused_and_an_open_one_goes_through(closed, cli):
    """The one rule (``closing_of_occurrence``): the page says "kỳ đã chốt" (422), the API answers 409."""
    app = closed.app()
    producer = signed_in(app, PRODUCER, PASSWORD)
    csrf = html(producer.get(f"/o/{SECOND}")).one("form", id="change-form").one("input", name="csrf").attrs["value"]
    posted = producer.post(f"/o/{SECOND}/changes", data={"csrf": csrf, "action": "skip", "reason": "Mất điện"})
    assert posted.status_code == 422, posted.text
    error = html(posted).one("p", id="change-error").text()
    assert "kỳ đã chốt" in error and "2024-Q1" in error and "#1" in error
    token = cli("tokens", "create", "--user", PRODUCER).out.strip().splitlines()[-1]
    api = TestClient(app)
    headers = {"Authorization": f"Bearer {token}"}
    refused = api.post(f"/api/occurrences/{SECOND}/changes", headers=headers, json={"action": "skip", "reason": "x"})
    assert refused.status_code == 409 and "kỳ đã chốt" in refused.json()["detail"], refused.text
    with closed.db.transaction() as s:
        assert s.get(OccurrenceRow, SECOND).status != "cancelled"
    done = api.post(f"/api/occurrences/{APRIL}/changes", headers=headers, json={"action": "skip", "reason": "Lễ"})
    assert done.status_code == 201 and done.json()["status"] == "cancelled", done.text


def test_a_merger_leaves_the_occurrences_of_a_closed_period_with_the_old_agency_and_says_how_many(closed, cli):
    """Merged from 01/03/2024, inside the closed Q1: March's open occurrences stay, April's move."""
    merged = cli(
        "agencies", "merge", "dai-ptth", "--into", "dai-moi", "--name", "Đài mới", "--on", "01/03/2024",
        "--by", ADMIN, "--now", LATER,
    )  # fmt: skip
    assert merged.code == 0, merged.err
    with closed.db.transaction() as s:
        march = s.get(OccurrenceRow, SECOND)
        assert (march.agency_code, march.moved_from, march.revision) == ("dai-ptth", "", 1)
        assert s.get(OccurrenceRow, APRIL).agency_code == "dai-moi"
        left = s.scalars(
            select(OccurrenceRow).where(
                OccurrenceRow.agency_code == "dai-ptth",
                OccurrenceRow.window_end > datetime(2024, 3, 1, tzinfo=DEFAULT_TZ),
                OccurrenceRow.window_end <= datetime(2024, 4, 1, tzinfo=DEFAULT_TZ),
                OccurrenceRow.status != "cancelled",
            )
        ).all()
    open_left = [r for r in left if (r.delivery or {}).get("state") not in ("on_time", "late", "excused")]
    assert SECOND in {r.id for r in open_left}
    assert (
        vi("{closed} occurrence(s) of a closed period (kỳ đã chốt) left with the old agency").format(
            closed=len(open_left)
        )
        in merged.out
    )
    assert cli("verify", "--now", "2024-04-12").code == 0


HN_DHA, NATIONAL, OTHER = "dha@hanoi.example", "national@bo.example", "ngoc-son-2024"


def test_closings_by_province_each_person_sees_theirs_and_a_national_closing_keeps_the_consolidated_report(
    closed, cli, tmp_path
):
    """A second plan of province ha-noi beside phu-tho's: its DHA user closes for ha-noi only,
    a national user closes every plan (the consolidated report kept under "*", served without
    ?plan=, recomputed byte for byte as of the closing), and each person lists only what they see."""
    text = (Path(__file__).parent / "data/plans/ngoc-son-2024.yaml").read_text(encoding="utf-8")
    other = tmp_path / "ngoc-son-2024.yaml"
    other.write_text(text.replace("  province: phu-tho", "  province: ha-noi", 1), encoding="utf-8")
    assert cli("load", str(other), "--now", "2024-01-02").code == 0
    for email, role, agency in ((HN_DHA, "dha", "phong-noi-vu"), (NATIONAL, "national", "")):
        assert cli("users", "add", email, "--role", role, *(["--agency", agency] if agency else [])).code == 0
    wrong = cli("periods", "close", "2024-Q1", "--by", HN_DHA, "--province", "phu-tho", "--now", LATER)
    assert wrong.code == 1 and '"ha-noi"' in wrong.err
    assert cli("periods", "close", "2024-Q1", "--by", HN_DHA, "--now", LATER).code == 0
    hanoi = closed.closing(2)
    assert (hanoi.province, hanoi.plans, set(hanoi.files)) == ("ha-noi", [OTHER], {OTHER})
    national = cli("periods", "close", "2024-Q1", "--by", NATIONAL, "--now", LATER)
    assert national.code == 0, national.err
    every = closed.closing(3)
    assert (every.province, every.plans, set(every.files)) == ("", [OTHER, PLAN], {OTHER, PLAN, "*"})
    kept = {fmt: closed.store.path(every.files["*"][fmt]).read_bytes() for fmt in FORMATS}
    document = json.loads(kept["json"])
    assert [s["plan"]["code"] for s in document["sections"]] == [OTHER, PLAN]
    with closed.db.transaction() as s:
        payload = json.loads(s.get(LedgerRow, every.ledger_seq).content)["payload"]
    assert payload["reports"]["*"] == every.files["*"]["json"]
    assert set(every.files["*"].values()) <= {f["sha256"] for f in payload["files"]}  # verify re-hashes them
    # each person lists what they see; the command as an operator lists all
    seen = {
        who: {c["id"]: set(c["files"]) for c in json.loads(cli("periods", "list", "--format", "json", *who).out)}
        for who in ((), ("--user", DHA), ("--user", HN_DHA), ("--user", NATIONAL))
    }
    assert seen[()] == seen[("--user", NATIONAL)] == {1: {PLAN}, 2: {OTHER}, 3: {OTHER, PLAN, "*"}}
    assert seen[("--user", DHA)] == {1: {PLAN}, 3: {PLAN}}
    assert seen[("--user", HN_DHA)] == {2: {OTHER}, 3: {OTHER}}
    assert cli("periods", "show", "1", "--user", HN_DHA).code == 1
    shown = cli("periods", "show", "3").out
    assert f"*\tjson\t{every.files['*']['json']}" in shown and "/dashboard/periods/3/report.json\n" in shown
    # the page and the downloads, as each person sees them
    app = closed.app("2024-04-11 08:00")
    with closed.db.transaction() as s:
        for email in (HN_DHA, NATIONAL):
            set_password(s, find_user(s, email), PASSWORD, parse_now(CLOSED, DEFAULT_TZ))
    hn = signed_in(app, HN_DHA, PASSWORD)
    page = html(hn.get("/dashboard/periods"))
    assert [a.attrs["data-closing"] for a in page.all("article", cls="closing")] == ["3", "2"]
    assert page.one("input", id="close-province").attrs["value"] == "ha-noi"
    assert hn.get("/dashboard/periods/1/report.json").status_code == 404  # phu-tho's: as if none
    assert hn.get(f"/dashboard/periods/3/report.json?plan={PLAN}").status_code == 404
    assert (
        hn.get("/dashboard/periods/3/report.json").content == closed.store.path(every.files[OTHER]["json"]).read_bytes()
    )
    nat = signed_in(app, NATIONAL, PASSWORD)
    article = html(nat.get("/dashboard/periods")).one("article", id="closing-3")
    links = {a.attrs["data-format"]: a.attrs["href"] for a in article.one("tr", data_plan="*").all("a")}
    assert links == {fmt: f"/dashboard/periods/3/report.{fmt}" for fmt in FORMATS}
    for fmt, href in links.items():
        answer = nat.get(href)
        assert answer.status_code == 200 and answer.content == kept[fmt], fmt
    assert nat.get(links["csv"]).headers["content-disposition"].endswith('compliance-consolidated-2024-Q1.csv"')
    # a late record and a reload later: as of the closing, the consolidated report gives the same bytes
    late = cli(
        "deliver",
        SECOND,
        "--by",
        PRODUCER,
        "--at",
        "2024-03-28 19:30",
        "--duration",
        "12m",
        "--now",
        "2024-04-10 11:00",
    )
    assert late.code == 0, late.err
    changed = (closed.settings.schedules_dir / f"{PLAN}.yaml").read_text(encoding="utf-8")
    changed = changed.replace("    min_duration: 10m\n", "    min_duration: 15m\n", 1)
    (tmp_path / f"{PLAN}.yaml").write_text(changed, encoding="utf-8")
    assert cli("load", str(tmp_path / f"{PLAN}.yaml"), "--now", "2024-04-11").code == 0
    s_ = closed.settings
    with closed.db.transaction() as s:
        again = period_report(
            s, "2024-Q1", False, every.closed_at, Scope(None), s_.at_risk_days, s_.report_agency, "vi", [OTHER, PLAN]
        )
    for fmt in FORMATS:
        assert report_file(again, fmt, s_.base_url).body == kept[fmt], fmt
    assert cli("verify", "--now", "2024-04-12").code == 0
