"""The compliance report's files: CSV for Excel, an XLSX workbook, a printable
HTML administrative document with its heatmap, all from one report dict.

The report is a real one (``tests/data/report-sample.json``, the Phú Thọ 2024
plan as of 31/12/2024 12:00 with two episodes delivered in March, one talk
show excused and one delivery lacking its recording)."""

from __future__ import annotations

import copy
import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest

from scheduler.compliance.heatmap import colour, heatmap_svg
from scheduler.compliance.report_document import to_html
from scheduler.compliance.report_files import render
from scheduler.compliance.report_text import COLUMNS, dated, period_words, to_csv, to_json
from scheduler.compliance.report_workbook import to_xlsx
from scheduler.compliance.status import COUNTS
from scheduler.errors import SchedulerError
from scheduler.i18n import gettext_for

SAMPLE = Path(__file__).parent / "data" / "report-sample.json"
BASE = "https://baocao.example.vn/"
RADIO = "Đài Phát thanh và Truyền hình tỉnh"


@pytest.fixture
def report() -> dict:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def english(report: dict) -> dict:
    return {**report, "lang": "en"}


# ---- a small HTML tree, from the standard library's parser ----


class Node:
    def __init__(self, tag: str, attrs: dict, parent: Node | None):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, attrs, parent, [], ""

    def all(self, tag: str, **attrs):
        for child in self.children:
            if child.tag == tag and all(child.attrs.get(k) == v for k, v in attrs.items()):
                yield child
            yield from child.all(tag, **attrs)

    def content(self) -> str:
        return self.text + "".join(c.content() for c in self.children)


class Tree(HTMLParser):
    VOID = {"meta", "link", "br", "img", "col", "input", "hr"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.root = self.at = Node("#root", {}, None)
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.at)
        self.at.children.append(node)
        if tag not in self.VOID:
            self.at = node

    def handle_startendtag(self, tag, attrs):
        self.at.children.append(Node(tag, dict(attrs), self.at))

    def handle_endtag(self, tag):
        node = self.at
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None, f"</{tag}> closes nothing"
        self.at = node.parent

    def handle_data(self, data):
        if self.at.children:
            self.at.children.append(Node("#text", {}, self.at))
            self.at.children[-1].text = data
        else:
            self.at.text += data


def cells(svg_root: Node) -> dict[str, tuple[str, str]]:
    """Each heatmap cell's hover title -> (label, fill)."""
    found = {}
    for g in svg_root.all("g", **{"class": "cell"}):
        title = next(g.all("title")).content()
        found[title] = (next(g.all("text")).content(), next(g.all("rect")).attrs["fill"])
    return found


# ---- JSON and CSV ----


def test_json_keeps_vietnamese_readable(report):
    body = to_json(report)
    assert json.loads(body) == report
    assert RADIO.encode("utf-8") in body and b"\\u" not in body


def test_csv_opens_in_excel_with_vietnamese_intact(report):
    body = to_csv(report, BASE)
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM that tells Excel it is UTF-8
    text = body[3:].decode("utf-8")
    assert RADIO in text and "\r\n" in text and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    _ = gettext_for("vi")
    assert rows[0] == [_("Agency"), _("Obligation"), *(_(COLUMNS[k]) for k in COUNTS), _("Rate"), _("Extras")]
    assert rows[0][0] == "Cơ quan"
    assert len(rows) == 1 + len(report["rows"]) + 1
    radio = next(r for r in rows if r[1] == 'Chuyên mục "Cải cách hành chính"')
    assert radio[0] == RADIO and radio[-2] == "9,09%"  # a Vietnamese decimal comma
    total = rows[-1]
    assert total[0] == _("Total")
    assert [int(x) for x in total[2:-2]] == [report["totals"][k] for k in COUNTS]
    assert total[-2] == "5%" and total[-1] == "0"  # no extras in the sample
    for row, expected in zip(rows[1:-1], report["rows"]):
        assert [int(x) for x in row[2:-2]] == [expected[k] for k in COUNTS]
    assert rows[3][-2] == ""  # nothing decided: no rate


def test_csv_in_english(report):
    rows = list(csv.reader(io.StringIO(to_csv(english(report), BASE).decode("utf-8-sig"), newline="")))
    assert rows[0][:3] == ["Agency", "Obligation", "Required"] and rows[0][-2:] == ["Rate", "Extras"]
    assert rows[2][-2] == "9.09%" and rows[-1][0] == "Total"


def test_names_from_schedule_files_cannot_inject_formulas(report):
    report["rows"][0]["agency_name"] = '=HYPERLINK("http://evil.example","click")'
    report["rows"][0]["obligation_title"] = "+1+cmd|' /C calc'!A0"
    report["rows"][1]["agency_name"] = "@SUM(A1:A9)"
    report["rows"][1]["obligation_title"] = "-2+3"
    rows = list(csv.reader(io.StringIO(to_csv(report, BASE).decode("utf-8-sig"), newline="")))
    assert rows[1][:2] == ['\'=HYPERLINK("http://evil.example","click")', "'+1+cmd|' /C calc'!A0"]
    assert rows[2][:2] == ["'@SUM(A1:A9)", "'-2+3"]
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(report, BASE))).worksheets[0]
    texts = {c.value: c.data_type for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
    assert texts['=HYPERLINK("http://evil.example","click")'] == "s"  # text, not a formula


# ---- XLSX ----


def test_workbook_has_the_reports_numbers_and_links(report):
    body = to_xlsx(report, BASE)
    wb = openpyxl.load_workbook(io.BytesIO(body))
    _ = gettext_for("vi")
    assert wb.sheetnames == [_("Summary"), _("Detail"), _("Topics"), _("Evidence gaps")]
    summary = wb[_("Summary")]
    lines = [summary.cell(row=i, column=1).value for i in range(1, 4)]
    assert lines[0] == report["plan"]["title"] and "năm 2024" in lines[1] and "31/12/2024" in lines[2]
    header = next(i for i in range(1, 10) if summary.cell(row=i, column=1).value == _("Agency"))
    assert summary.freeze_panes == f"A{header + 1}"
    table = [[c.value for c in row] for row in summary.iter_rows(min_row=header + 1)]
    assert len(table) == len(report["rows"]) + 1
    for got, row in zip(table, report["rows"]):
        assert got == [row["agency_name"], row["obligation_title"], *(row[k] for k in COUNTS), row["rate"], 0]
    total = list(summary.iter_rows(min_row=summary.max_row))[0]
    assert [c.value for c in total][2:] == [*(report["totals"][k] for k in COUNTS), report["totals"]["rate"], 0]
    assert total[0].font.b and total[-2].number_format.endswith("%")
    assert summary.cell(row=header + 1, column=len(COUNTS) + 3).number_format.endswith("%")

    detail = wb[_("Detail")]
    ids = [row[0] for row in detail.iter_rows(min_row=2)]
    assert [c.value for c in ids] == [o["id"] for o in report["occurrences"]]
    for cell, o in zip(ids, report["occurrences"]):
        assert cell.hyperlink.target == BASE.rstrip("/") + o["href"]
    delivered = next(
        row for row in detail.iter_rows(min_row=2) if row[0].value == "phu-tho-2024.cchc-radio-tv.2024-03.2"
    )
    links = {c.value: c.hyperlink.target for c in delivered[1:] if c.hyperlink}
    file = report["occurrences"][[o["id"] for o in report["occurrences"]].index(delivered[0].value)]["evidence"][0]
    assert links["Phóng sự.bin"] == "https://baocao.example.vn" + file["files"][0]["href"]
    assert links["https://vod.example/2"] == "https://vod.example/2"
    assert delivered[4].value == "01/03/2024–31/03/2024" and delivered[6].value == _("on_time")

    gaps = wb[_("Evidence gaps")]
    assert gaps.cell(row=2, column=1).hyperlink.target.endswith("/o/phu-tho-2024.cchc-radio-tv.2024-03.1")
    assert gaps.cell(row=2, column=5).value == _("recording file or VOD link")
    assert wb.properties.created == wb.properties.modified == datetime(2024, 12, 31, 5, 0)  # as_of, in UTC


def test_workbook_is_the_same_bytes_for_the_same_report(report):
    assert to_xlsx(report, BASE) == to_xlsx(copy.deepcopy(report), BASE)


def test_workbook_leaves_out_empty_topics_and_gaps(report):
    report = english({**report, "gaps": [], "topics": {"covered": [], "uncovered": []}})
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(report, BASE)))
    assert wb.sheetnames == ["Summary", "Detail"]


# ---- the heatmap ----


def test_heatmap_colours_run_from_red_through_amber_to_green():
    assert colour(0.0) == "#c62828" and colour(0.5) == "#f2a900" and colour(1.0) == "#2e7d32"
    assert colour(None) == "#c8c8c8"


def test_heatmap_is_accessible_svg_with_a_cell_per_agency_and_month(report):
    svg = heatmap_svg(report)
    root = ET.fromstring(svg)  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img" and root.get("aria-label")
    assert root.find(f"{ns}title") is not None
    groups = root.findall(f"{ns}g")
    assert len(groups) == len(report["heatmap"]["agencies"]) * len(report["heatmap"]["months"]) == 4 * 12
    assert all(g.find(f"{ns}title") is not None for g in groups)
    months = [t.text for t in root.findall(f"{ns}text")]
    assert [m for m in months if m in ("T1", "T2", "T3")] == ["T1", "T2", "T3"]
    assert "Jan" in [t.text for t in ET.fromstring(heatmap_svg(english(report))).findall(f"{ns}text")]


def test_heatmap_escapes_names(report):
    report["heatmap"]["agencies"][0]["agency_name"] = '<script>alert("x")</script> & co'
    svg = heatmap_svg(report)
    assert "<script" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)


# ---- HTML ----


def test_html_is_a_printable_vietnamese_administrative_report(report):
    page = to_html(report, BASE)
    tree = Tree(page).root
    text = " ".join(tree.content().split())
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert "SỞ NỘI VỤ" in text and "ỦY BAN NHÂN DÂN TỈNH PHÚ THỌ" in text and "Số: /BC" in text
    assert "Phú Thọ, ngày 31 tháng 12 năm 2024" in text
    assert [h.content() for h in tree.all("h1")] == ["BÁO CÁO"]
    assert "Kết quả thực hiện Kế hoạch tuyên truyền cải cách hành chính nhà nước tỉnh Phú Thọ năm 2024" in text
    assert "Nơi nhận:" in text and "Lưu: VT." in text and "GIÁM ĐỐC" in text
    style = next(tree.all("style")).content()
    assert "@page { size: A4; margin: 20mm 15mm 20mm 30mm; }" in style and "Times New Roman" in style
    assert "table-header-group" in style and "break-inside: avoid" in style
    # nothing from outside: no scripts, stylesheets, images or fonts to fetch
    assert not list(tree.all("script")) and not list(tree.all("link")) and not list(tree.all("img"))
    assert "@import" not in style and "url(" not in style

    svg = next(tree.all("svg"))
    assert svg.attrs["role"] == "img"
    found = cells(svg)
    assert len(found) == 4 * 12
    radio_march = [v for k, v in found.items() if k.startswith(f"{RADIO} · T3/2024")]
    assert radio_march == [("2/2", colour(1.0))]
    paper_january = [v for k, v in found.items() if k.startswith("Báo Phú Thọ · T1/2024")]
    assert paper_january == [("0/1", colour(0.0))]

    links = {a.attrs["href"] for a in tree.all("a")}
    assert "https://baocao.example.vn/o/phu-tho-2024.cchc-radio-tv.2024-03.2" in links
    assert (
        "https://baocao.example.vn/api/ledger/4/files/3aef903f5bceb10cf79683761371113bc64c3b2458ba2e1b61bb9203b7856bdc"
    ) in links
    assert "https://vod.example/ep1" in links
    # the totals in numbers and the quota view
    assert "50" in text and "38" in text
    _ = gettext_for("vi")
    assert _("{met}/{owed} delivered, window closed").format(met=2, owed=2) in text


def test_html_escapes_names(report):
    report["rows"][0]["obligation_title"] = "<img src=x onerror=alert(1)>"
    report["occurrences"][0]["title"] = "<script>alert(1)</script>"
    page = to_html(report, BASE)
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_html_in_english(report):
    tree = Tree(to_html(english(report), BASE)).root
    assert next(tree.all("html")).attrs["lang"] == "en"
    headings = [h.content() for h in tree.all("h2")]
    assert headings == [
        "I. Overall results",
        "II. Results by agency and obligation",
        "III. Quotas by window",
        "IV. Topic coverage",
        "V. Evidence gaps",
        "VI. Occurrences and evidence",
    ]
    text = " ".join(tree.content().split())
    assert [h.content() for h in tree.all("h1")] == ["REPORT"]
    assert "SOCIALIST REPUBLIC OF VIET NAM" in text and "Recipients:" in text
    assert "Phú Thọ, 31 December 2024" in text and "Completion rate" in text
    assert "0/1 delivered, 0 working days left" in text


def test_period_and_date_in_words(report):
    def words(label, start, end, lang="vi"):
        return period_words({**report, "lang": lang, "period": {"label": label, "start": start, "end": end}})

    assert words("2024", "2024-01-01", "2024-12-31") == "năm 2024"
    assert words("2024-Q3", "2024-07-01", "2024-09-30") == "quý III năm 2024"
    assert words("2024-Q3", "2024-07-01", "2024-09-30", "en") == "Q3 2024"
    assert words("2024-H1", "2024-01-01", "2024-06-30") == "6 tháng đầu năm 2024"
    assert words("2024-03", "2024-03-01", "2024-03-31") == "tháng 3 năm 2024"
    assert words("2024-03", "2024-03-01", "2024-03-31", "en") == "March 2024"
    assert words("2024-03-01..2024-05-31", "2024-03-01", "2024-05-31") == "từ ngày 01/03/2024 đến ngày 31/05/2024"
    doc = {**report["document"], "day": 5, "month": 2}
    assert dated(doc, "vi") == "Phú Thọ, ngày 05 tháng 02 năm 2024"  # Nghị định 30: leading zeros
    assert dated({**doc, "day": 15, "month": 11}, "vi") == "Phú Thọ, ngày 15 tháng 11 năm 2024"


# ---- one entry point ----


def test_render_every_format(report):
    kinds = {fmt: render(report, fmt, BASE) for fmt in ("json", "csv", "xlsx", "html")}
    assert {fmt: (media, ext) for fmt, (_body, media, ext) in kinds.items()} == {
        "json": ("application/json", "json"),
        "csv": ("text/csv; charset=utf-8", "csv"),
        "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
        "html": ("text/html; charset=utf-8", "html"),
    }
    assert kinds["xlsx"][0].startswith(b"PK") and kinds["html"][0].startswith(b"<!doctype html>")
    with pytest.raises(SchedulerError) as raised:
        render(report, "pdf", BASE)
    assert "json, csv, xlsx, html" in str(raised.value) and "pdf" in str(raised.value)
