"""``plan import``: a plan's text into a draft schedule file that loads,
with every section-III row read or flagged with its line."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from scheduler.plan.occurrences import expand
from scheduler.plan.plan_import import import_plan
from scheduler.plan.production import read_files, read_texts
from scheduler.plan.source_text import SourceLine, from_text

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "tests" / "data" / "plans"
PHU_THO_TEXT = PLANS / "ke-hoach-tuyen-truyen-cchc-phu-tho-2024.txt"
TEXTS = sorted(PLANS.glob("*.txt"))


def _draft(path: Path, agencies=()):
    return import_plan(from_text(path.name, path.read_text(encoding="utf-8")), agencies=agencies)


def _shapes(plan):
    """Per obligation: its host and what it owes (period, window, due), codes aside."""
    found = Counter()
    for ob in plan.obligations:
        owed = tuple((o.period, o.window.start, o.window.end, o.due) for o in expand(plan) if o.obligation == ob.code)
        found[(ob.host, owed)] += 1
    return found


def test_from_text_splits_tabs_into_cells():
    text = from_text("a.txt", "III. X\n1\tA\tB\n")
    assert text.lines[1] == SourceLine(2, "1\tA\tB", ("1", "A", "B"))
    assert text.lines[0].cells == ()


def test_phu_tho_imports_to_the_bundled_files_occurrences():
    (bundled,) = read_files([ROOT / "schedules" / "phu-tho-2024.yaml"]).plans
    loaded = [(a.code, a.name, a.kind) for a in bundled.agencies]
    draft = _draft(PHU_THO_TEXT, loaded)
    (plan,) = read_texts([("draft.yaml", draft.text)]).plans
    assert plan.code == "phu-tho-2024" and plan.issuer == "Ủy ban nhân dân tỉnh Phú Thọ"
    assert plan.legal_basis == bundled.legal_basis
    assert [a.title for a in plan.audiences] == [a.title for a in bundled.audiences]
    want, got = _shapes(bundled), _shapes(plan)
    assert got == want
    assert [o.min_duration.total_seconds() if o.min_duration else 0 for o in plan.obligations][0] == 600
    assert "# (line 86)" in draft.text and "attest" in draft.text


@pytest.mark.parametrize("path", TEXTS, ids=[p.stem for p in TEXTS])
def test_every_text_imports_to_a_draft_that_loads(path):
    draft = _draft(path)
    (plan,) = read_texts([("draft.yaml", draft.text)]).plans
    rows = [line for line in draft.text.splitlines() if line.startswith("  # (line")]
    flagged = {p.line for p in draft.problems}
    for row in rows:
        number = int(re.match(r"  # \(lines? (\d+)", row)[1])
        block = draft.text.split(row, 1)[1].split("  # (line", 1)[0]
        assert "  - code:" in block or number in flagged, row


def _owed(plan, groups):
    """Per obligation (reports and group-hosted rows aside): host, windows and dues."""
    found = Counter()
    for ob in plan.obligations:
        if ob.host in groups or "report" in ob.channels:
            continue
        owed = tuple((o.window.start, o.window.end, o.due) for o in expand(plan) if o.obligation == ob.code)
        found[(ob.host, owed)] += 1
    return found


@pytest.mark.parametrize(
    ("text", "yaml", "differ", "flagged"),
    [
        ("ke-hoach-huyen-2024-mau.txt", "ngoc-son-2024.yaml", 0, [36, 49]),
        # the thôn row: hosted by a group the plan does not list, proposed with no members
        ("ke-hoach-xa-2026-mau.txt", "xa-thanh-minh-2026.yaml", 1, [55]),
        # row 2's "not counted" first and last weeks are flagged, row 6 names no channel
        ("ke-hoach-so-2026-mau.txt", "so-noi-vu-2026.yaml", 3, [34, 34, 38]),
    ],
)
def test_the_sample_plans_owe_what_their_hand_written_files_owe(text, yaml, differ, flagged):
    """With the hand-written file's agencies loaded, each row read owes what
    the hand-written file owes; every difference is a row flagged or a group."""
    (hand,) = read_files([PLANS / yaml]).plans
    draft = _draft(PLANS / text, [(a.code, a.name, a.kind) for a in hand.agencies])
    (plan,) = read_texts([("d.yaml", draft.text)]).plans
    groups = {a.code for a in hand.agencies if a.kind == "group"}
    want, got = _owed(hand, groups), _owed(plan, groups)
    assert sum(((want - got) + (got - want)).values()) == differ
    assert sorted(p.line for p in draft.problems) == flagged


def test_a_list_in_other_words_flags_what_it_cannot_read():
    text = (
        "ỦY BAN NHÂN DÂN XÃ AN BÌNH          CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
        "Số: 5/KH-UBND                       An Bình, ngày 02 tháng 02 năm 2026\n\nKẾ HOẠCH\n"
        "Tuyên truyền chuyển đổi số năm 2026\n\nIII. TỔ CHỨC THỰC HIỆN\n"
        "1. Phát tin trên loa truyền thanh cơ sở: 02 lần/tháng.\n   - Chủ trì: Phòng Văn hóa - Xã hội.\n"
        "2. Đăng bài trên Trang thông tin điện tử xã: khi có chỉ đạo của cấp trên.\n"
        "   - Chủ trì: Phòng Văn hóa - Xã hội.\n"
        "3. Tổ chức hội nghị với các hộ kinh doanh: Quý II/2026.\n"
        "4. Vận động người dân cài đặt ứng dụng: hằng tháng.\n   - Chủ trì: Đoàn Thanh niên xã.\n"
    )
    draft = import_plan(from_text("an-binh.txt", text))
    (plan,) = read_texts([("d.yaml", draft.text)]).plans
    assert plan.number == "5/KH-UBND" and plan.issuer == "Ủy ban nhân dân xã An Bình"
    assert plan.issued_on.isoformat() == "2026-02-02" and plan.title == "Kế hoạch tuyên truyền chuyển đổi số năm 2026"
    assert [o.cadence.__class__.__name__ for o in plan.obligations] == ["Quota"]
    assert [(p.line, p.phrase) for p in draft.problems] == [
        (10, "khi có chỉ đạo của cấp trên"),  # no time the grammar reads
        (12, "Tổ chức hội nghị với các hộ kinh doanh: Quý II/2026."),  # no host
        (13, "Vận động người dân cài đặt ứng dụng"),  # no channel
    ]
    assert '# TODO (line 10): "khi có chỉ đạo của cấp trên"' in draft.text
    # the rows not read are in the draft, commented out whole, not dropped
    for title in ("Đăng bài trên Trang thông tin điện tử xã", "Tổ chức hội nghị với các hộ kinh doanh"):
        assert f'  #   title: "{title}"' in draft.text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_command_writes_a_draft_that_loads(cli, tmp_path):
    out = tmp_path / "draft.yaml"
    result = cli("plan", "import", PLANS / "ke-hoach-xa-2026-mau.txt", "--out", out)
    assert result.code == 0, result.err
    assert "ke-hoach-xa-2026-mau.txt:55:" in result.err
    assert cli("load", out).code == 0
    again = cli("plan", "import", PLANS / "ke-hoach-xa-2026-mau.txt", "--out", out)
    assert again.code != 0 and "--force" in again.err
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Kế hoạch".encode("cp1258", errors="replace") + b"\xff")
    assert "latin1.txt" in cli("plan", "import", bad).err
    # with Phú Thọ loaded, its agencies are matched, not proposed again
    assert cli("load", ROOT / "schedules" / "phu-tho-2024.yaml", "--now", "2024-01-02 09:00").code == 0
    matched = cli("plan", "import", PHU_THO_TEXT)
    assert matched.code == 0 and 'host: "dai-ptth"' in matched.out and "dai-phat-thanh" not in matched.out
    # --year other than the text's: the rows dated in another year are flagged and commented out
    other = cli("plan", "import", PLANS / "ke-hoach-xa-2026-mau.txt", "--year", "2027", "--out", tmp_path / "y.yaml")
    assert other.code == 0 and other.err.count("ke-hoach-xa-2026-mau.txt:") == 4, other.err
    assert cli("load", tmp_path / "y.yaml").code == 0
    docx = tmp_path / "plan.docx"
    docx.write_bytes(b"PK")
    assert cli("plan", "import", docx).code != 0


def test_the_reporting_section_gives_the_hand_written_deadlines():
    """Named deadlines read from "báo cáo 6 tháng trước ngày …"; a statement
    without dates ("trước ngày 12 của tháng cuối quý") is flagged, not guessed."""
    for text, yaml, flagged in (
        ("ke-hoach-huyen-2024-mau.txt", "ngoc-son-2024.yaml", [49]),
        ("ke-hoach-so-2026-mau.txt", "so-noi-vu-2026.yaml", []),
        ("ke-hoach-xa-2026-mau.txt", "xa-thanh-minh-2026.yaml", [55]),
    ):
        (hand,) = read_files([PLANS / yaml]).plans
        draft = _draft(PLANS / text)
        (plan,) = read_texts([("d.yaml", draft.text)]).plans

        def owed(p):
            return sorted(
                (o.due, o.name) for o in expand(p) if o.obligation in {r.code for r in p.obligations if r.consolidated}
            )

        assert owed(plan) == owed(hand), text
        assert [p.line for p in draft.problems if "reporting" in p.why or "sender" in p.why] == flagged


@pytest.mark.parametrize("path", TEXTS, ids=[p.stem for p in TEXTS])
def test_a_draft_loads_whatever_line_is_missing_or_cut(path):
    """The draft always loads: with any one line from section III on dropped,
    or cut in half (a row's cells, a date, a reporting statement broken off)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("III."))
    for i, line in enumerate(lines[start:], start=start):
        for text in (lines[:i] + lines[i + 1 :], [*lines[:i], line[: len(line) // 2], *lines[i + 1 :]]):
            draft = import_plan(from_text(path.name, "\n".join(text)))
            read_texts([(f"{path.name} without line {i + 1}", draft.text)])
