"""As-run logs into proposals (issue 17, pure core): the hand-labelled month
of the Phú Thọ station (tests/data/harvest/) in every supported format, a
messy export, and the errors people get for broken files."""

from __future__ import annotations

import csv
import json
import threading
import unicodedata
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

import asrun_station as st
from scheduler.errors import ScheduleError
from scheduler.harvest import proposals as kinds
from scheduler.harvest.asrun import AiredItem, parse_duration, read_asrun
from scheduler.harvest.asrun_api import file_ids, read_libretime_api
from scheduler.harvest.asrun_matching import OTHER, RERUN, marks, match_asrun
from scheduler.plan.harvest_settings import AsrunLayout

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 4, 2, 9, 0, tzinfo=TZ)
SHORT_NAMES = {
    kinds.ON_TIME: "on_time",
    kinds.SHORT: "short",
    kinds.OUTSIDE: "outside",
    kinds.NOT_OWED: "not_owed",
    kinds.NOT_AIRED: "not_aired",
    RERUN: "rerun",
    OTHER: "other",
}
SOURCE = {"type": "asrun", "name": "dai-ptth-2024-03.csv", "file_sha256": "0" * 64}


def _labels_of(items: list[AiredItem], line_of=lambda row: row) -> dict[int, tuple[str, str]]:
    """What the matcher made of each labelled line (kind, occurrence label)."""
    owed = st.owed()
    label = {o.id: f"{o.period} #{o.number}" for o in owed}
    found = {}
    matching = match_asrun(items, owed, "dai-ptth", SOURCE, NOW)
    for outcome in matching.outcomes:
        for row in outcome.rows:
            found[line_of(row)] = (SHORT_NAMES[outcome.kind], label.get(outcome.occurrence or "", ""))
    not_aired = {(o.obligation, label[o.occurrence or ""]) for o in matching.outcomes if o.kind == kinds.NOT_AIRED}
    return found | {("not_aired", name): pair for name, pair in enumerate(sorted(not_aired))}


def _score(found: dict) -> tuple[int, int]:
    expected: dict = dict(st.labels())
    expected |= {("not_aired", n): pair for n, pair in enumerate(sorted(st.NOT_AIRED))}
    right = sum(1 for key, want in expected.items() if found.get(key) == want)
    return right, len(expected)


def test_the_labelled_month_matches_what_a_person_records(capsys):
    items = read_asrun(st.MONTH.read_bytes(), st.MONTH.name, None, TZ)
    right, total = _score(_labels_of(items))
    with capsys.disabled():
        print(f"\nmatcher: {right}/{total} rows right")
    assert (right, total) == (total, 26)


def test_the_month_proposals_carry_rows_evidence_and_details():
    items = read_asrun(st.MONTH.read_bytes(), st.MONTH.name, None, TZ)
    proposals = match_asrun(items, st.owed(), "dai-ptth", SOURCE, NOW).proposals
    by_kind = {p.kind: p for p in proposals}
    assert sorted(SHORT_NAMES[p.kind] for p in proposals) == ["not_aired", "not_owed", "on_time", "outside", "short"]
    two_parts = by_kind[kinds.ON_TIME]
    assert two_parts.source == {**SOURCE, "rows": [12, 14]}
    assert two_parts.evidence == {
        "moment": "2024-03-14T19:30:00+07:00",
        "moment_kind": "aired",
        "duration": 630,
        "title": "Cải cách hành chính số 5 (phần 1)",
    }
    assert by_kind[kinds.SHORT].detail == "9 phút 40 giây, thiếu 20 giây"
    assert by_kind[kinds.SHORT].occurrence == "phu-tho-2024.cchc-radio-tv.2024-03.2"
    assert by_kind[kinds.OUTSIDE].occurrence == "phu-tho-2024.cchc-radio-tv.2024-02.2"
    assert by_kind[kinds.NOT_OWED].occurrence is None
    assert by_kind[kinds.NOT_AIRED].detail == "không thấy phát lúc 20:00 20/03/2024"
    assert len({p.key for p in proposals}) == len(proposals)


def test_a_re_export_of_the_same_airings_gives_the_same_keys():
    items = read_asrun(st.MONTH.read_bytes(), st.MONTH.name, None, TZ)
    first = match_asrun(items, st.owed(), "dai-ptth", SOURCE, NOW).proposals
    again = match_asrun(items, st.owed(), "dai-ptth", {**SOURCE, "file_sha256": "1" * 64}, NOW).proposals
    assert [p.key for p in first] == [p.key for p in again]


def test_an_episode_already_recorded_airing_again_is_a_rerun():
    items = read_asrun(st.MONTH.read_bytes(), st.MONTH.name, None, TZ)
    owed = [o if o.period != "2024-02" else type(o)(**{**o.__dict__, "met": True}) for o in st.owed()]
    owed = [
        type(o)(**{**o.__dict__, "delivered_title": "Cải cách hành chính số 4: Một cửa liên thông"})
        if o.period == "2024-02" and o.number == 2
        else o
        for o in owed
    ]
    outcomes = match_asrun(items, owed, "dai-ptth", SOURCE, NOW).outcomes
    assert next(o.kind for o in outcomes if o.rows == (5,)) == RERUN


@pytest.mark.parametrize(
    ("title", "base", "rerun", "part"),
    [
        ("Cải cách hành chính số 5 (phần 1/2)", "cai cach hanh chinh so 5", False, True),
        ("CCHC số 5 - P2", "cchc so 5", False, True),
        ("CCHC số 5 (1/2)", "cchc so 5", False, True),
        ("Cải cách hành chính kỳ 3 - Replay", "cai cach hanh chinh", True, True),
        ("Cải cách hành chính số 5 (PL)", "cai cach hanh chinh so 5", True, False),
        ("Pháp luật và đời sống", "phap luat va doi song", False, False),
    ],
)
def test_part_and_rerun_marks(title, base, rerun, part):
    assert marks(title) == (base, rerun, part)


def _month_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(st.MONTH.read_text("utf-8").splitlines(), delimiter=";"))


def _moments(row: dict[str, str]) -> tuple[datetime, datetime]:
    day = datetime.strptime(row["Ngày"], "%d/%m/%Y").replace(tzinfo=TZ)
    h, m, s = (int(x) for x in row["Giờ phát"].split(":"))
    start = day + timedelta(hours=h, minutes=m, seconds=s)
    if row["Kết thúc"]:
        h, m, s = (int(x) for x in row["Kết thúc"].split(":"))
        return start, day + timedelta(hours=h, minutes=m, seconds=s)
    return start, start + timedelta(seconds=parse_duration(row["Thời lượng"]) or 0)


def test_the_month_as_tsv_with_english_headers(tmp_path):
    lines = ["Start\tEnd\tTitle\tCode"]
    for row in _month_rows():
        start, end = _moments(row)
        lines.append(f"{start:%Y-%m-%dT%H:%M:%S}\t{end:%Y-%m-%dT%H:%M:%S}\t{row['Tên chương trình']}\t{row['Mã']}")
    path = tmp_path / "thang-3.tsv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    items = read_asrun(path.read_bytes(), path.name, AsrunLayout(format="tsv"), TZ)
    assert _score(_labels_of(items)) == (26, 26)


def test_the_month_as_libretime_playout_history_csv(tmp_path):
    """The Log Sheet export: Start Time, End Time, Title, Creator, and here the
    station's program code kept in the Genre column (configured in the layout)."""
    out = tmp_path / "playout-history.csv"
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Start Time", "End Time", "Title", "Creator", "Genre"])
        for row in _month_rows():
            start, end = _moments(row)
            writer.writerow([f"{start:%Y-%m-%d %H:%M:%S}", f"{end:%Y-%m-%d %H:%M:%S}", row["Tên chương trình"],
                             "Đài PT-TH Phú Thọ", row["Mã"]])  # fmt: skip
    items = read_asrun(out.read_bytes(), out.name, AsrunLayout(format="libretime-csv", code="Genre"), TZ)
    assert _score(_labels_of(items)) == (26, 26)


class _Playout(BaseHTTPRequestHandler):
    """A LibreTime instance's API v2: the schedule and its files."""

    answers: dict[str, bytes] = {}
    keys: list[str] = []

    def do_GET(self):
        self.keys.append(self.headers.get("Authorization", ""))
        body = self.answers.get(self.path.split("?")[0])
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body or b"{}")

    def log_message(self, *args):
        pass


def libretime_answers() -> dict[str, bytes]:
    """The month as LibreTime's API would answer it (UTC moments, file ids)."""
    schedule, files = [], {}
    for number, row in enumerate(_month_rows(), start=1):
        start, end = _moments(row)
        utc = UTC
        files[number] = {"id": number, "track_title": row["Tên chương trình"], "genre": row["Mã"], "name": "x.mp3"}
        schedule.append({
            "id": 1000 + number, "starts_at": f"{start.astimezone(utc):%Y-%m-%dT%H:%M:%SZ}",
            "ends_at": f"{end.astimezone(utc):%Y-%m-%dT%H:%M:%SZ}", "instance": 7, "stream": None,
            "length": "00:30:00", "cue_in": "00:00:00", "cue_out": None, "position": number, "broadcasted": 1,
            "played": True,
        })  # fmt: skip
        # The older serializer names the file by id; the hyperlinked one by its URL beside file_id.
        link = {"file": f"http://playout.local/api/v2/files/{number}/", "file_id": number}
        schedule[-1].update(link if number % 2 else {"file": number})
    schedule.append({"id": 9999, "starts_at": "2024-04-01T12:30:00Z", "ends_at": "2024-04-01T12:40:00Z",
                     "file": 1, "broadcasted": 0, "played": False})  # fmt: skip
    answers = {"/api/v2/schedule": json.dumps(schedule).encode()}
    answers |= {f"/api/v2/files/{n}": json.dumps(f).encode() for n, f in files.items()}
    return answers


def test_the_month_from_a_libretime_api_on_a_local_server():
    _Playout.answers = libretime_answers()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Playout)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:

        def get(path: str) -> bytes:
            request = urllib.request.Request(base + path, headers={"Authorization": "Api-Key k"})
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.read()

        body = get("/api/v2/schedule?starts_after=2024-03-01T00:00:00Z")
        import scheduler.harvest.asrun_api as api

        files = {n: json.loads(get(f"/api/v2/files/{n}")) for n in file_ids(api.schedule_items(body, "api"))}
    finally:
        server.shutdown()
        server.server_close()
    items = read_libretime_api(body, "libretime", TZ, files)
    assert len(items) == 25  # the item LibreTime did not broadcast is not there
    assert _score(_labels_of(items, line_of=lambda n: n + 1)) == (26, 26)


MESSY = st.DATA / "messy-2024-03.csv"  # a BOM, CRLF, a blank line, NFC and NFD, 24:00, a quoted comma


def test_a_messy_export_is_read():
    data = MESSY.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    items = read_asrun(data, MESSY.name, None, TZ)
    assert [i.rows for i in items] == [(2,), (4,), (5,), (6,)]
    assert items[0].title == "Cải cách hành chính số 5, phần 1" and items[0].duration == 630
    assert items[1].title == unicodedata.normalize("NFC", "Ca nhạc: Đất Tổ vào xuân")
    assert items[1].end == datetime(2024, 3, 15, 0, 0, tzinfo=TZ) and items[1].duration == 1800
    assert items[2].duration == 600 and items[2].end == datetime(2024, 3, 15, 0, 0, tzinfo=TZ)
    assert items[3].start == datetime(2024, 3, 15, 6, 0, tzinfo=TZ)


def test_title_lines_above_the_header_are_passed_over():
    text = "NHẬT KÝ PHÁT SÓNG THÁNG 3/2024\nĐài PT-TH Phú Thọ\n\nGiờ phát;Thời lượng;Tên chương trình\n"
    text += "14/03/2024 19:30;10:30;Cải cách hành chính số 5\n"
    (item,) = read_asrun(text.encode(), "bao-cao.csv", None, TZ)
    assert item.rows == (5,) and item.duration == 630 and item.title == "Cải cách hành chính số 5"


def test_semicolons_and_a_configured_date_format():
    text = "Giờ phát;Thời lượng;Tên chương trình\n14.03.2024 19h30;600;CCHC số 5\n"
    layout = AsrunLayout(date_format="%d.%m.%Y %Hh%M")
    (item,) = read_asrun(text.encode(), "a.csv", layout, TZ)
    assert item.start == datetime(2024, 3, 14, 19, 30, tzinfo=TZ) and item.duration == 600


@pytest.mark.parametrize(
    ("text", "layout", "said"),
    [
        ("a,b\n1,2\n", None, "x.csv:1: the header names no start, title; it needs start (bắt đầu"),
        ("start,end,title\n2024-03-01 10:00,xx,T\n", None, 'x.csv:2: column 2 (end): "xx" is not a moment; use'),
        ("start,duration,title\n2024-03-01 10:00,10 phút,T\n", None, 'x.csv:2: column 2 (duration): "10 phút" is not'),
        ("start,end,title\n10:00,11:00,T\n", None, 'x.csv:2: column 1 (start): "10:00" is not a moment'),
        ("start,end,title\n2024-03-01 10:00,2024-03-01 09:00,T\n", None, "x.csv:2: column 2 (end): the end"),
        ("start,end,chủ đề\n", AsrunLayout(title="Tên"), 'x.csv:1: no column "Tên" in the header; it has: start'),
        ("", None, "x.csv: the file is empty; it needs a header naming start"),
        ("start,end,title\n2024-03-01 10:00,2024-03-01 11:00," + "x" * 1001 + "\n", None, "x.csv:2: column 3: a"),
        ("start;end;title\n2024-03-01 10:00;2024-03-01 11:00;a\x00b\n", None, "x.csv:2: control character U+0000"),
        ("start,end,title\n", AsrunLayout(format="xlsx"), 'x.csv: format: "xlsx" is not a file format'),
    ],
)
def test_broken_files_are_named_by_line_and_column(text, layout, said):
    with pytest.raises(ScheduleError) as e:
        read_asrun(text.encode(), "x.csv", layout, TZ)
    assert str(e.value).startswith(said), str(e.value)


def test_bounds_of_size_and_rows():
    with pytest.raises(ScheduleError, match="larger than"):
        read_asrun(b"start,end,title\n" + b"x" * 2000, "big.csv", None, TZ, limit=1000)
    many = "start,duration,title\n" + "2024-03-01 10:00,1,a\n" * 100_001
    with pytest.raises(ScheduleError, match="more than 100000 rows"):
        read_asrun(many.encode(), "many.csv", None, TZ)
    with pytest.raises(ScheduleError, match="this is not UTF-8"):
        read_asrun("start,end,title\n".encode("utf-16"), "u16.csv", None, TZ)
    with pytest.raises(ScheduleError, match="this is not JSON"):
        read_libretime_api(b"<html>", "api", TZ)
