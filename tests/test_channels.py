"""Channels beyond broadcast and print: the registry's words read into codes,
each family's evidence and default milestones, and a commune's plan
(tests/data/forms/channels.yaml) recorded through the page, the API and the
command line, its own channel included. The web and CLI tests run on SQLite."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import web_session
from html_tree import html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.errors import ScheduleError
from scheduler.evidence.deliveries import Evidence, FileRef, evidence_gaps, moment_kind_for
from scheduler.evidence.ledger import parse_content
from scheduler.feeds.ical import CHANNEL_NAMES, DONE_VERBS
from scheduler.i18n import gettext_for
from scheduler.plan import channels as registry
from scheduler.plan.channels import BUILT_IN, EVIDENCE, EVIDENCE_FIELDS, code_of, from_definition, key
from scheduler.plan.milestones import template_for
from scheduler.plan.model import CHANNELS
from scheduler.plan.occurrences import expand
from scheduler.plan.production import read_files, read_texts
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.store.tables import LedgerRow, PlanRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "data" / "forms" / "channels.yaml"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = "2026-03-31 10:00"
PASSWORD = "mat-khau-du-dai"
MEETING = "forms-channels.doi-thoai.2026-01-01_2026-11-15.1"
LOUDSPEAKER = "forms-channels.loa-cchc.2026-03.1"
REPORT = "forms-channels.bao-cao-quy.2026-Q1.1"
VAN = "forms-channels.xe-luu-dong.2026-Q1.1"
SOCIAL = "forms-channels.tin-bai-zalo.2026-03.1"
PDF = b"%PDF-1.4\n" + b"0" * 500
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"0" * 500
PLAN_HEAD = """plan: {code: p, title: Kế hoạch, issuer: UBND xã, period: 2026}
agencies: [{code: xa, name: UBND xã, kind: commune}]
"""


# ------------------------------------------------------------ the registry


WORDS = [(word, c.code) for c in BUILT_IN for word in (c.code, *c.words)]


@pytest.mark.parametrize(("word", "code"), WORDS, ids=[w for w, _ in WORDS])
def test_every_word_of_the_registry_reads_as_its_code(word, code):
    assert code_of(word) == code
    assert code_of(f"  {word.upper()}  ") == code, "case and extra spaces do not matter"
    assert code_of(word.replace(" ", "   ")) == code


def test_words_name_one_channel_each_and_diacritics_count():
    keys = [key(w) for w, _ in WORDS]
    assert len(keys) == len(set(keys)), "no word names two channels"
    assert code_of("loa truyen thanh co so") is None  # diacritics are kept: a word without them is another word
    assert code_of("facebook") is None


def test_the_existing_codes_stay_and_the_new_families_follow():
    assert CHANNELS == registry.CODES
    assert CHANNELS[:7] == ("radio", "tv", "print", "online", "portal", "training", "contest")
    assert set(CHANNELS[7:]) == {"meeting", "display", "report", "social", "loudspeaker"}


def test_built_in_names_are_the_catalog_s_and_every_evidence_has_a_label():
    vi = gettext_for("vi")
    for c in BUILT_IN:
        assert vi(c.name_en) == c.name, f"{c.code}: the catalog names it as the registry does"
        assert CHANNEL_NAMES[c.code] == c.name_en and DONE_VERBS[c.code] == c.done
        assert vi(c.done) != c.done
        assert c.milestones, f"{c.code} has default milestones"
        for name in c.evidence:
            gap = EVIDENCE[name].gap
            assert (vi(gap) != gap or gap == "URL") and vi(EVIDENCE[name].label) != EVIDENCE[name].label
    assert set(EVIDENCE_FIELDS) == {"issue_number", "page", "participants", "place", "document_number", "document_date"}


def test_moment_kinds():
    assert moment_kind_for(("loudspeaker",)) == "aired" == moment_kind_for(("radio",)) == moment_kind_for(("tv",))
    for code in ("print", "online", "portal", "training", "contest", "meeting", "display", "report", "social"):
        assert moment_kind_for((code,)) == "published", code


# -------------------------------------------------------- evidence gaps


MOMENT = datetime(2026, 3, 2, 6, 30, tzinfo=TZ)
VIDEO = FileRef("a" * 64, 10, "loa.mp3", "audio/mpeg")
PHOTO = FileRef("b" * 64, 10, "pano.jpg", "image/jpeg")
SCAN = FileRef("c" * 64, 10, "bien-ban.pdf", "application/pdf")


def bare(kind: str = "published") -> Evidence:
    return Evidence(MOMENT, kind)


def complete() -> Evidence:
    return Evidence(
        MOMENT,
        "published",
        duration=600,
        url="https://xa.example/bai",
        fields=dict.fromkeys(EVIDENCE_FIELDS, "1"),
        files=(VIDEO, PHOTO, SCAN),
    )


@pytest.mark.parametrize("channel", BUILT_IN, ids=lambda c: c.code)
def test_each_family_names_its_missing_evidence_and_none_when_all_is_there(channel):
    assert evidence_gaps((channel.code,), bare()) == tuple(EVIDENCE[n].gap for n in channel.evidence)
    assert evidence_gaps((channel.code,), complete()) == ()


def test_the_families_gaps_in_words():
    assert evidence_gaps(("meeting",), bare()) == ("number of participants", "minutes or attendance list")
    assert (
        evidence_gaps(("meeting",), Evidence(MOMENT, "published", fields={"participants": "80"}, files=(SCAN,))) == ()
    )
    assert evidence_gaps(("display",), bare()) == ("photos", "place")
    assert evidence_gaps(("display",), Evidence(MOMENT, "published", files=(SCAN,), fields={"place": "x"})) == (
        "photos",
    ), "a scan is not a photo"
    assert evidence_gaps(("report",), bare()) == ("document number", "document date", "file")
    assert evidence_gaps(("social",), bare()) == ("URL",)
    assert evidence_gaps(("loudspeaker",), bare("aired")) == ("duration", "recording file or VOD link")
    assert evidence_gaps(("loudspeaker",), Evidence(MOMENT, "aired", duration=600, files=(VIDEO,))) == ()
    # several channels: each piece once, in the registry's order
    assert evidence_gaps(("social", "portal"), bare()) == ("URL",)


# ------------------------------------------------- reading schedule files


def test_an_obligation_s_words_are_stored_as_codes():
    (plan,) = read_files([EXAMPLE]).plans
    assert {o.code: o.channels for o in plan.obligations} == {
        "loa-cchc": ("loudspeaker",),
        "tin-bai-zalo": ("social", "portal"),
        "bang-ron": ("display",),
        "doi-thoai": ("meeting",),
        "bao-cao-quy": ("report",),
        "xe-luu-dong": ("xe-thong-tin",),
    }
    text = (
        PLAN_HEAD + "obligations: [{code: a, title: A, host: xa, channels: [radio, tv, print], cadence: 1 per month}]"
    )
    (same,) = read_texts([("codes.yaml", text)]).plans
    assert same.obligations[0].channels == ("radio", "tv", "print"), "codes stay as they are, in order"


def test_default_milestones_per_family():
    (plan,) = read_files([EXAMPLE]).plans
    steps = {o.code: [(s.step, s.offset) for s in template_for(o, plan.channels)] for o in plan.obligations}
    assert steps == {
        "loa-cchc": [("script", 3)],
        "tin-bai-zalo": [("draft", 2)],
        "bang-ron": [("design", 10), ("print", 5), ("put-up", 0)],
        "doi-thoai": [("invitation", 10), ("venue", 5), ("materials", 2)],
        "bao-cao-quy": [("draft", 5), ("sign", 1)],
        "xe-luu-dong": [("route", 3)],
    }
    occ = {o.id: o for o in expand(plan)}
    meeting = occ[MEETING]
    assert meeting.due.date().isoformat() == "2026-11-13"
    assert [(m.step, m.day.isoformat()) for m in meeting.milestones] == [
        ("invitation", "2026-10-30"),
        ("venue", "2026-11-06"),
        ("materials", "2026-11-11"),
    ]


def test_a_plan_s_own_channel_is_read_with_its_evidence_moment_and_steps():
    (plan,) = read_files([EXAMPLE]).plans
    (own,) = plan.channels
    assert (own.code, own.name, own.name_en, own.moment) == (
        "xe-thong-tin",
        "xe thông tin lưu động",
        "mobile information van",
        "aired",
    )
    assert own.words == ("xe thông tin lưu động", "xe tuyên truyền lưu động")
    assert own.evidence == ("photos", "place", "duration")
    assert code_of("Xe Tuyên Truyền Lưu Động", plan.channels) == "xe-thong-tin"
    assert from_definition({"channels": registry.as_definition(plan.channels)}) == plan.channels
    assert moment_kind_for(("xe-thong-tin",), plan.channels) == "aired"
    assert evidence_gaps(("xe-thong-tin",), bare(), plan.channels) == ("photos", "place", "duration")


def _problems(text: str) -> list[str]:
    with pytest.raises(ScheduleError) as caught:
        read_texts([("p.yaml", PLAN_HEAD + text)])
    return [p.render() for p in caught.value.problems]


def test_a_plan_s_own_channel_is_checked():
    assert _problems("channels: [{code: zalo, name: Zalo OA}]\nobligations: []") == [
        'p.yaml:3: channels[0].name: "Zalo OA" already names the channel social'
    ]
    assert _problems("channels: [{code: bang-tin, name: bảng tin, evidence: [video]}]\nobligations: []") == [
        'p.yaml:3: channels[0].evidence[0]: unknown evidence "video" (allowed: ' + ", ".join(EVIDENCE) + ")"
    ]
    assert _problems("channels: [{code: bang-tin, name: bảng tin, moment: held}]\nobligations: []") == [
        'p.yaml:3: channels[0].moment: expected one of aired, published, got "held"'
    ]
    (unknown,) = _problems("obligations: [{code: a, title: A, host: xa, channels: [bảng tin], cadence: 1 per month}]")
    assert 'unknown channel "bảng tin" (allowed: radio, tv,' in unknown and "loudspeaker;" in unknown
    assert "such as hội nghị, pa nô, báo cáo, Zalo OA, loa truyền thanh cơ sở" in unknown
    with pytest.raises(ScheduleError) as caught:  # and in Vietnamese
        read_texts(
            [
                (
                    "p.yaml",
                    PLAN_HEAD + "obligations: [{code: a, title: A, host: xa, channels: [x], cadence: 1 per month}]",
                )
            ]
        )
    assert 'kênh "x" không hợp lệ' in caught.value.problems[0].render(gettext_for("vi"))


# ---------------------------------------- recording: page, API, command line


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'scheduler.sqlite3'}"


@pytest.fixture
def commune(cli, db_url, monkeypatch):
    """The commune's plan loaded, a producer of each division, the app at 31/03/2026 10:00."""
    assert cli("load", EXAMPLE, "--now", "2026-01-02").code == 0
    people = {"vp@xa.example": "vp-ubnd-xa", "vh@xa.example": "phong-vhxh"}
    for email, agency in people.items():
        assert cli("users", "add", email, "--role", "producer", "--agency", agency).code == 0
    monkeypatch.setenv("EVIDENCE_LIMIT", "64KiB")
    db = Database(db_url)
    with db.transaction() as s:
        for email in people:
            set_password(s, find_user(s, email), PASSWORD, parse_now(NOW, DEFAULT_TZ))
    app = create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ)))
    yield db, app
    db.close()


def signed_in(app, email: str) -> TestClient:
    return web_session.signed_in(app, email, PASSWORD)


def payload_of(db: Database, occurrence: str) -> dict:
    with db.transaction() as s:
        (row,) = s.scalars(select(LedgerRow).where(LedgerRow.occurrence_id == occurrence))
        return parse_content(row.content)["payload"]


def form_fields(client: TestClient, occurrence: str) -> tuple[set[str], str]:
    page = html(client.get(f"/o/{occurrence}"))
    form = page.one("form", id="deliver")
    names = {e.attrs["name"] for e in form.elements() if "name" in e.attrs}
    return names, form.one("input", name="csrf").attrs["value"]


def test_the_page_asks_each_family_for_its_fields_and_records_them(commune):
    db, app = commune
    vp, vh = signed_in(app, "vp@xa.example"), signed_in(app, "vh@xa.example")
    names, csrf = form_fields(vp, MEETING)
    assert {"published_at", "participants"} <= names and not names & {"aired_at", "issue_number", "place"}
    r = vp.post(
        f"/o/{MEETING}/deliveries",
        data={"csrf": csrf, "published_at": "2026-03-20T08:00", "participants": "120", "title": "Hội nghị đối thoại"},
        files=[("files", ("Biên bản.pdf", PDF, "application/pdf"))],
    )
    assert r.status_code == 303, r.text
    payload = payload_of(db, MEETING)
    assert payload["fields"] == {"participants": "120"} and payload["gaps"] == []
    assert payload["moment_kind"] == "published"
    page = html(vp.get(f"/o/{MEETING}"))
    assert "Số người tham dự" in page.one("ol", id="history").text() and "120" in page.one("ol", id="history").text()
    assert "hội nghị, đối thoại" in page.text()

    names, csrf = form_fields(vh, REPORT)
    assert {"document_number", "document_date", "published_at"} <= names and "participants" not in names
    r = vh.post(
        f"/o/{REPORT}/deliveries",
        data={"csrf": csrf, "published_at": "2026-03-27T16:00", "document_number": "25/BC-VHXH"},
    )
    assert r.status_code == 303, r.text
    payload = payload_of(db, REPORT)
    assert payload["fields"] == {"document_number": "25/BC-VHXH"}
    assert payload["gaps"] == ["document date", "file"], "shown, never refused"
    history = html(vh.get(f"/o/{REPORT}")).one("ol", id="history").text()
    assert "Số văn bản" in history and "ngày văn bản" in history

    names, _csrf = form_fields(vp, LOUDSPEAKER)
    assert {"aired_at", "duration"} <= names and "published_at" not in names
    names, _csrf = form_fields(vh, SOCIAL)
    assert "published_at" in names and not names & set(EVIDENCE_FIELDS)


def test_a_plan_s_own_channel_on_the_page_in_the_store_and_in_gaps(commune):
    db, app = commune
    with db.transaction() as s:
        stored = from_definition(s.get(PlanRow, "forms-channels").definition)
    assert [c.code for c in stored] == ["xe-thong-tin"]
    vh = signed_in(app, "vh@xa.example")
    page = html(vh.get(f"/o/{VAN}"))
    assert "xe thông tin lưu động" in page.text()
    names, csrf = form_fields(vh, VAN)
    assert {"aired_at", "place", "duration"} <= names and "published_at" not in names
    r = vh.post(f"/o/{VAN}/deliveries", data={"csrf": csrf, "aired_at": "2026-03-10T07:00", "place": "Thôn Đồng"})
    assert r.status_code == 303, r.text
    payload = payload_of(db, VAN)
    assert payload["moment_kind"] == "aired" and payload["fields"] == {"place": "Thôn Đồng"}
    assert payload["gaps"] == ["photos", "duration"]


def test_the_api_accepts_the_new_fields_and_bounds_them(commune, cli):
    db, app = commune
    token = cli("tokens", "create", "--user", "vp@xa.example").out.strip().splitlines()[-1]
    client = TestClient(app)
    headers = {"Authorization": f"Bearer {token}"}
    too_long = client.post(
        f"/api/occurrences/{MEETING}/deliveries",
        headers=headers,
        data={"published_at": "20/03/2026 08:00", "place": "x" * 2001},
    )
    assert too_long.status_code == 422 and "place" in too_long.text
    r = client.post(
        f"/api/occurrences/{MEETING}/deliveries",
        headers=headers,
        data={"published_at": "20/03/2026 08:00", "participants": "95", "place": "Hội trường UBND xã"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["gaps"] == ["biên bản hoặc danh sách tham dự"]  # in the user's language
    assert payload_of(db, MEETING)["fields"] == {"participants": "95", "place": "Hội trường UBND xã"}
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/api/occurrences/{occurrence_id}/deliveries"]["post"]["requestBody"]
    properties = body["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"document_number", "document_date", "place"} <= set(properties)


def test_the_command_line_records_the_fields_of_a_report(commune, cli, tmp_path):
    db, _app = commune
    scan = tmp_path / "bao-cao.pdf"
    scan.write_bytes(PDF)
    result = cli(
        "deliver",
        REPORT,
        "--by",
        "vh@xa.example",
        "--at",
        "27/03/2026 16:00",
        "--document-number",
        "25/BC-VHXH",
        "--document-date",
        "27/03/2026",
        "--file",
        scan,
        "--now",
        NOW,
    )
    assert result.code == 0, result.err
    assert "evidence still missing" not in result.out
    payload = payload_of(db, REPORT)
    assert payload["fields"] == {"document_number": "25/BC-VHXH", "document_date": "27/03/2026"}
    assert payload["gaps"] == [] and payload["moment_kind"] == "published"
    aired = cli("deliver", LOUDSPEAKER, "--by", "vp@xa.example", "--at", "02/03/2026 06:30", "--now", NOW)
    assert aired.code == 0, aired.err
    assert payload_of(db, LOUDSPEAKER)["moment_kind"] == "aired"
    assert "thời lượng" in aired.out or "duration" in aired.out


def test_the_form_names_the_moment_as_the_channel_does(commune):
    _db, app = commune
    vp, vh = signed_in(app, "vp@xa.example"), signed_in(app, "vh@xa.example")

    def label(client: TestClient, occurrence: str) -> str:
        form = html(client.get(f"/o/{occurrence}")).one("form", id="deliver")
        return " ".join(form.one("label", **{"for": "published_at"}).text().split())

    assert label(vp, MEETING) == "Thời điểm tổ chức"  # a dialogue is held
    assert label(vh, REPORT) == "Ngày ban hành"  # a report is issued
    assert label(vh, SOCIAL) == "Thời điểm đăng bài"  # a post is posted


def test_a_plans_own_channel_can_be_subscribed_to_and_names_the_feed(cli, commune):
    import time

    import icalendar

    _db, app = commune
    refused = cli("subscribe", "--email", "xem@xa.example", "--channel", "xe-cho-hang")
    assert refused.code == 1 and "xe-thong-tin" in refused.err  # the plan's own code is among the known
    made = cli("subscribe", "--email", "xem@xa.example", "--channel", "xe-thong-tin", "--no-milestones")
    assert made.code == 0, made.err
    token = made.out.split("/feeds/")[1].split(".ics")[0]
    time.sleep(1.05)  # the feed cache looks at the database at most once a second
    answer = TestClient(app).get(f"/feeds/{token}.ics")
    assert answer.status_code == 200
    calendar = icalendar.Calendar.from_ical(answer.content)
    uids = sorted(str(e["UID"]).split("@")[0] for e in calendar.walk("VEVENT"))
    assert uids == [f"occurrence-forms-channels.xe-luu-dong.2026-Q{q}.1" for q in range(1, 5)]
    assert "xe thông tin lưu động" in str(calendar["X-WR-CALNAME"])
