"""Plan documents read into numbered lines: the Phú Thọ 2024 plan as .txt, as
a .docx built here with python-docx (section III a real Word table) and as a
PDF built here with fpdf2 (section III a ruled table whose cells wrap, in
DejaVu Sans for the Vietnamese letters) give the same section-III rows and
header lines; legacy and hostile input is named."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from PIL import Image

from scheduler.bounds import MAX_PDF_PAGES, MAX_PLAN_DOCUMENT, MAX_ZIP_MEMBERS
from scheduler.errors import InputError
from scheduler.store.plan_documents import read_bytes, read_document
from scheduler.store.plan_documents.legacy import convert, encode_tcvn3, encode_vni, looks_like

DATA = Path(__file__).parent / "data"
PLAN = DATA / "plans" / "ke-hoach-tuyen-truyen-cchc-phu-tho-2024.txt"
FONT = DATA / "fonts" / "DejaVuSans.ttf"
TEXT = PLAN.read_text(encoding="utf-8")
LINES = TEXT.splitlines()
TABLE = [i for i, line in enumerate(LINES) if "\t" in line]  # the header row and rows 1-5 of section III
HEADINGS = ["KẾ HOẠCH", "I. MỤC TIÊU, YÊU CẦU, ĐỐI TƯỢNG", "III. MỘT SỐ HOẠT ĐỘNG TUYÊN TRUYỀN TRỌNG TÂM"]


def squash(text: str) -> str:
    return " ".join(text.split())


def rows(source) -> list[tuple[str, ...]]:
    return [tuple(squash(c) for c in line.cells) for line in source.lines if line.cells]


def texts(source) -> set[str]:
    return {squash(line.text) for line in source.lines}


def make_docx(path: Path) -> Path:
    document = docx.Document()
    table = None
    for i, line in enumerate(LINES):
        if i not in TABLE:
            document.add_paragraph(line)
            table = None
            continue
        cells = line.split("\t")
        if table is None:
            table = document.add_table(rows=0, cols=len(cells))
            table.style = "Table Grid"
        row = table.add_row()
        for cell, text in zip(row.cells, cells):
            parts = text.split(" - ")  # a cell holding several paragraphs, as plans write them
            cell.text = parts[0]
            for part in parts[1:]:
                cell.add_paragraph("- " + part)
    document.save(path)
    return path


def make_pdf(path: Path) -> Path:
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=8)
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    rows_ = [LINES[i].split("\t") for i in TABLE]
    for i, line in enumerate(LINES):
        if i == TABLE[0]:
            with pdf.table(col_widths=(10, 60, 30, 30, 60), line_height=4, first_row_as_headings=False) as table:
                for cells in rows_:
                    row = table.row()
                    for cell in cells:
                        row.cell(cell)
        elif i in TABLE:
            continue
        elif not line.strip():
            pdf.ln(3)  # the space between paragraphs
        elif len(line) < 110:
            pdf.cell(0, 4, line, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.multi_cell(0, 4, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_the_txt_gives_section_iii_as_rows_with_cells():
    source = read_document(PLAN)
    assert source.lines[TABLE[0]].number == TABLE[0] + 1
    assert rows(source)[0] == (
        "Số TT",
        "Hoạt động tuyên truyền CCHC",
        "Cơ quan chủ trì",
        "Cơ quan phối hợp",
        "Thời gian thực hiện",
    )
    assert [r[0] for r in rows(source)[1:]] == ["1", "2", "3", "4", "5"]
    assert len(source.lines) == len(LINES)


def test_the_docx_and_the_pdf_give_the_txt_rows_and_headings(tmp_path):
    expected = rows(read_document(PLAN))
    from_docx = read_document(make_docx(tmp_path / "plan.docx"))
    from_pdf = read_document(make_pdf(tmp_path / "plan.pdf"))
    assert rows(from_docx) == expected
    assert rows(from_pdf) == expected
    for source in (from_docx, from_pdf):
        assert set(HEADINGS) <= texts(source)
        assert "Tuyên truyền công tác cải cách hành chính" in texts(source)
        # the table's text is not repeated as plain lines
        assert not any(line.text.startswith("Các bài viết về nội dung") for line in source.lines if not line.cells)
    # a paragraph wrapped over lines in the PDF is one line again, as in the .txt and the .docx
    plain = {squash(line) for i, line in enumerate(LINES) if line.strip() and i not in TABLE}
    assert plain == {squash(line.text) for line in from_pdf.lines if not line.cells and line.text.strip()}
    # line by line as in the .txt: paragraphs spaced apart are separated by one empty line
    collapsed = [squash(line) for i, line in enumerate(LINES) if line.strip() or (i and LINES[i - 1].strip())]
    assert [squash(line.text) for line in from_pdf.lines] == collapsed
    assert plain == {squash(line.text) for line in from_docx.lines if not line.cells and line.text.strip()}
    # a wrapped PDF cell is one cell, not lines
    assert any(len(line.cells[1]) > 150 for line in from_pdf.lines if line.cells)


def test_word_numbering_and_merged_cells(tmp_path):
    document = docx.Document()
    document.add_paragraph("Mục tiêu", style="List Number").add_run().add_break()
    document.paragraphs[0].add_run("chung")
    document.add_paragraph("Yêu cầu", style="List Number")
    table = document.add_table(rows=3, cols=3)
    for r, texts_ in enumerate(
        (("1", "Phóng sự", "Đài PT-TH tỉnh"), ("2", "Tọa đàm", ""), ("3", "Bài viết", "Báo Phú Thọ"))
    ):
        for c, text in enumerate(texts_):
            table.cell(r, c).text = text
    table.cell(0, 2).merge(table.cell(1, 2))  # one host for two rows
    document.save(tmp_path / "n.docx")
    source = read_document(tmp_path / "n.docx")
    assert [line.text for line in source.lines[:2]] == ["1. Mục tiêu chung", "2. Yêu cầu"]
    assert [line.cells for line in source.lines if line.cells][:2] == [
        ("1", "Phóng sự", "Đài PT-TH tỉnh"),
        ("2", "Tọa đàm", "Đài PT-TH tỉnh"),
    ]


def message(error: InputError) -> str:
    return error.message.format(**error.params)


def refused(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        read_document(path)
    return message(caught.value)


def test_an_old_word_doc_is_named(tmp_path):
    path = tmp_path / "ke-hoach.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000)
    assert "an old Word .doc" in refused(path) and "save it as .docx" in refused(path)
    renamed = tmp_path / "ke-hoach.docx"  # the same bytes under a new name
    renamed.write_bytes(path.read_bytes())
    assert "an old Word .doc" in refused(renamed)


def test_a_scanned_pdf_is_named(tmp_path):
    picture = tmp_path / "scan.png"
    Image.new("RGB", (300, 400), "white").save(picture)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(picture), x=10, y=10, w=150)
    pdf.output(str(tmp_path / "scan.pdf"))
    text = refused(tmp_path / "scan.pdf")
    assert "scanned PDF without a text layer" in text and "OCR" in text and "scan.pdf" in text


def test_a_zip_bomb_docx_is_refused_before_it_inflates(tmp_path):
    path = make_docx(tmp_path / "bomb.docx")
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/media/padding.xml", b"\0" * (60 * 2**20))
    assert path.stat().st_size < 2**20
    text = refused(path)
    assert "bomb.docx" in text and "refused" in text and "save it again from Word" in text


def test_a_pdf_past_the_page_bound_is_refused(tmp_path):
    pdf = FPDF()
    for _ in range(MAX_PDF_PAGES + 1):
        pdf.add_page()
    pdf.output(str(tmp_path / "long.pdf"))
    assert f"has {MAX_PDF_PAGES + 1} pages, at most {MAX_PDF_PAGES}" in refused(tmp_path / "long.pdf")


def test_a_broken_pdf_is_named(tmp_path):
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n" + b"x" * 500)
    assert "broken.pdf: not a readable PDF" in refused(tmp_path / "broken.pdf")


def test_a_docx_of_too_many_parts_is_refused(tmp_path):
    path = make_docx(tmp_path / "parts.docx")
    with zipfile.ZipFile(path, "a") as z:
        for n in range(MAX_ZIP_MEMBERS):
            z.writestr(f"extra/part{n}.xml", b"<a/>")
    assert "parts.docx: refused: the .docx unpacks to" in refused(path)


def test_a_docx_typed_in_tcvn3_fonts_is_converted(tmp_path):
    document = docx.Document()
    document.add_paragraph(encode_tcvn3("kế hoạch tuyên truyền cải cách hành chính năm 2024"))
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = encode_tcvn3("sở nội vụ"), encode_tcvn3("quý ii")
    document.save(tmp_path / "vntime.docx")
    source = read_document(tmp_path / "vntime.docx")
    assert source.lines[0].text == "kế hoạch tuyên truyền cải cách hành chính năm 2024"
    assert source.lines[1].cells == ("sở nội vụ", "quý ii")


def test_an_oversized_document_is_refused(tmp_path):
    path = tmp_path / "big.txt"
    with path.open("wb") as f:
        f.truncate(MAX_PLAN_DOCUMENT + 1)
    assert "larger than 20 MiB" in refused(path)


def test_other_kinds_are_named(tmp_path):
    with pytest.raises(InputError) as caught:
        read_bytes(b"GIF89a", "plan.gif")
    assert ".docx, .pdf, .txt or .md" in message(caught.value)


def test_tcvn3_text_is_converted(tmp_path):
    original = TEXT.lower()  # TCVN3 puts toned capitals in another font: small letters only
    path = tmp_path / "tcvn3.txt"
    path.write_bytes(encode_tcvn3(original).encode("cp1252"))
    source = read_document(path)
    assert [line.text for line in source.lines] == original.splitlines()
    assert rows(source) == [tuple(c.lower() for c in row) for row in rows(read_document(PLAN))]


def test_vni_text_is_converted(tmp_path):
    path = tmp_path / "vni.txt"
    path.write_bytes(encode_vni(TEXT).encode("cp1252"))
    assert [line.text for line in read_document(path).lines] == LINES


def test_legacy_text_that_does_not_convert_is_named(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes((encode_tcvn3("kế hoạch tuyên truyền năm 2024") + " Ù").encode("cp1252"))
    text = refused(path)
    assert "TCVN3 (ABC)" in text and "Unikey" in text


@pytest.mark.parametrize("encode,name", [(encode_tcvn3, "tcvn3"), (encode_vni, "vni")])
def test_round_trips(encode, name):
    letters = "aáàảãạăắằẳẵặâấầẩẫậeéèẻẽẹêếềểễệiíìỉĩịoóòỏõọôốồổỗộơớờởỡợuúùủũụưứừửữựyýỳỷỹỵđ"
    assert convert(encode(letters), name) == letters
    assert looks_like(encode("cơ quan chủ trì, phối hợp; thời gian thực hiện")) == name
    if name == "vni":
        assert convert(encode(letters.upper()), name) == letters.upper()


def test_unicode_text_is_left_alone():
    assert looks_like(TEXT) == ""
    assert read_bytes(io.BytesIO(TEXT.encode()).getvalue(), "plan.md").lines[0].text == LINES[0]


def test_the_pdf_reader_child_cannot_take_more_memory_than_its_ceiling():
    """What stops a PDF built to inflate: the child's address space is capped."""
    import subprocess
    import sys

    grab = "from scheduler.store.plan_documents.pdf_reader import _limits; _limits(); x = bytearray(3 * 2**30)"
    done = subprocess.run([sys.executable, "-c", grab], capture_output=True, cwd=Path(__file__).parent.parent)
    assert done.returncode != 0 and b"MemoryError" in done.stderr


def test_the_docx_and_the_pdf_import_to_the_txts_draft(tmp_path):
    """Issue 15: the same plan as .txt, .docx and .pdf gives the same draft
    (comments aside: they quote the source's line numbers, which differ)."""
    from scheduler.plan.plan_import import import_plan

    def draft(path: Path) -> list[str]:
        text = import_plan(read_document(path), 2024).text
        return [line for line in text.splitlines() if not line.lstrip().startswith("#")]

    expected = draft(PLAN)
    assert any('cadence: "02 số/tháng"' in line for line in expected)
    assert draft(make_docx(tmp_path / "plan.docx")) == expected
    assert draft(make_pdf(tmp_path / "plan.pdf")) == expected
