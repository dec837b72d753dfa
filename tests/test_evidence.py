"""The evidence store: content-addressed, limited while streaming, typed by content, never half-written."""

from __future__ import annotations

import email.message
import hashlib
import os
import struct
import zlib
from urllib.parse import unquote

import pytest

from scheduler.bounds import parse_size
from scheduler.errors import SchedulerError
from scheduler.evidence.file_rules import TooLarge, TypeMismatch, content_disposition, sanitize_name, trusted_type
from scheduler.store.files import EvidenceStore

MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2mp41" + bytes(200)
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + bytes(200)
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(200)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


def final_files(store: EvidenceStore) -> list:
    return [p for p in store.root.rglob("*") if p.is_file() and p.parent != store.tmp]


def put(store: EvidenceStore, data: bytes, name="a.bin", declared=None, chunk=1000):
    writer = store.writer(name, declared)
    for i in range(0, len(data), chunk):
        writer.write(data[i : i + chunk])
    return store.commit(writer.finish())


def test_a_file_is_stored_under_its_sha256_with_a_two_level_fan_out(tmp_path):
    store = EvidenceStore(tmp_path / "evidence", limit=10_000)
    stored = put(store, MP4, "Phóng sự tháng 3.mp4", "video/mp4")
    sha = hashlib.sha256(MP4).hexdigest()
    assert (stored.sha256, stored.size, stored.name, stored.type) == (
        sha,
        len(MP4),
        "Phóng sự tháng 3.mp4",
        "video/mp4",
    )
    assert store.path(sha) == tmp_path / "evidence" / sha[:2] / sha[2:4] / sha
    assert store.path(sha).read_bytes() == MP4 and store.exists(sha)
    assert list(store.tmp.iterdir()) == []


def test_the_same_content_is_stored_once(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    first = put(store, PDF, "a.pdf", "application/pdf")
    second = put(store, PDF, "b.pdf", "application/pdf", chunk=7)
    assert first.sha256 == second.sha256 and second.name == "b.pdf"
    assert final_files(store) == [store.path(first.sha256)]
    assert list(store.tmp.iterdir()) == []


def test_the_write_that_would_cross_the_limit_is_refused_and_nothing_stays(tmp_path):
    store = EvidenceStore(tmp_path, limit=1000)
    writer = store.writer("big.mp4", "video/mp4")
    writer.write(b"x" * 600)
    assert writer.temporary.parent == store.tmp
    with pytest.raises(TooLarge) as refused:
        writer.write(b"x" * 401)
    assert refused.value.render() == 'file "big.mp4" is larger than the limit of 1000 B'
    assert writer.size == 600 and not writer.temporary.exists() and list(store.tmp.iterdir()) == []
    writer.abort()  # idempotent


def test_a_file_of_exactly_the_limit_is_accepted(tmp_path):
    store = EvidenceStore(tmp_path, limit=1000)
    assert put(store, b"a,b\n" * 250, "t.csv", "text/csv").size == 1000
    assert str(TooLarge("v.mp4", 2 * 2**30)) == 'file "v.mp4" is larger than the limit of 2 GiB'


def test_a_png_declared_as_pdf_is_refused_and_not_kept(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    writer = store.writer("scan.pdf", "application/pdf")
    writer.write(png())
    with pytest.raises(TypeMismatch) as refused:
        writer.finish()
    assert refused.value.render() == 'file "scan.pdf" is declared as application/pdf but its content is image/png'
    assert list(store.tmp.iterdir()) == [] and final_files(store) == []


@pytest.mark.parametrize(
    "declared, head, trusted",
    [
        ("image/png", png(), "image/png"),
        (None, png(), "image/png"),
        ("application/octet-stream", PDF, "application/pdf"),
        ("audio/mp3", MP3, "audio/mpeg"),
        ("video/mp4", MP4, "video/mp4"),
        ("text/csv; charset=utf-8", b"ngay,so\n01/03/2024,2\n", "text/csv"),
        ("text/html", b"<p>hi</p>", "text/plain"),
        ("", b"plain words", "application/octet-stream"),
        ("application/vnd.ms-excel", b"a;b\n", "application/octet-stream"),
    ],
)
def test_the_trusted_type_is_the_content(declared, head, trusted):
    assert trusted_type("f", declared, head) == trusted


@pytest.mark.parametrize(
    "declared, head",
    [
        ("video/mp4", MOV),
        ("video/quicktime", MP4),
        ("image/jpeg", png()),
        ("application/pdf", b"not a pdf at all"),
        ("text/plain", PDF),
    ],
)
def test_a_declared_type_the_content_contradicts_is_refused(declared, head):
    with pytest.raises(TypeMismatch):
        trusted_type("f", declared, head)


def test_a_crash_leaves_only_temporaries_which_abort_and_sweep_remove(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    with pytest.raises(RuntimeError):
        with store.writer("a.mp4", "video/mp4") as writer:
            writer.write(MP4[:100])
            raise RuntimeError("the disk went away")
    assert list(store.tmp.iterdir()) == [] and final_files(store) == []

    killed = store.writer("b.mp4", "video/mp4")  # the process dies here: no abort, no finish
    killed.write(MP4[:100])
    assert final_files(store) == [] and list(store.tmp.iterdir()) == [killed.temporary]
    mtime = killed.temporary.stat().st_mtime
    assert store.sweep(before=mtime - 60) == 0
    assert store.sweep(before=mtime + 60) == 1 and list(store.tmp.iterdir()) == []


def test_a_pending_file_is_kept_apart_until_committed_or_discarded(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    writer = store.writer("a.pdf", "application/pdf")
    writer.write(PDF)
    pending = writer.finish()
    writer.abort()  # after finish the temporary belongs to the pending file
    assert pending.temporary.exists() and not store.exists(pending.file.sha256)
    store.discard(pending)
    assert list(store.tmp.iterdir()) == [] and final_files(store) == []


def test_paths_take_only_a_sha256(tmp_path):
    store = EvidenceStore(tmp_path, limit=10)
    for bad in ("../../etc/passwd", "ab" * 31, "AB" * 32, "g" * 64, ""):
        with pytest.raises(ValueError):
            store.path(bad)


def test_rehash_detects_a_changed_and_a_missing_file(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    sha = put(store, PDF, "a.pdf").sha256
    assert store.rehash(sha) is None
    store.path(sha).write_bytes(PDF + b" ")
    assert store.rehash(sha).format(sha256=sha) == f"file {sha} does not match its hash"
    store.path(sha).unlink()
    assert store.rehash(sha).format(sha256=sha) == f"file {sha} is missing"
    assert store.rehash("../../etc/passwd") == "file {sha256} is missing"


@pytest.mark.parametrize(
    "name, safe",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\Báo cáo.pdf", "Báo cáo.pdf"),
        ("Phóng sự tháng 3.mp4", "Phóng sự tháng 3.mp4"),
        ("Pho\u0301ng su\u031b\u0323.mp4", "Phóng sự.mp4"),  # NFD from macOS becomes NFC
        ("a\x00b\x1fc\u202e.mp4", "abc.mp4"),
        ("báo\t\n  cáo  .pdf", "báo cáo .pdf"),
        ('x<>:"|?*y.txt', "xy.txt"),
        ("...hidden", "hidden"),
        (".htaccess", "htaccess"),
        ("name. . ", "name"),
        ("CON.txt", "_CON.txt"),
        ("", "evidence"),
        ("..", "evidence"),
        ("/", "evidence"),
        ('<>:"?*', "evidence"),
    ],
)
def test_sanitize_name(name, safe):
    assert sanitize_name(name) == safe
    assert sanitize_name(safe) == safe


def test_a_long_name_is_cut_keeping_its_extension():
    cut = sanitize_name("Phóng sự " * 40 + ".mp4")
    assert len(cut) <= 150 and cut.endswith(".mp4") and cut.startswith("Phóng sự")


def test_content_disposition_parses_back_to_the_vietnamese_name():
    name = 'Phóng sự "Đổi mới"; tháng 3.mp4'
    header = content_disposition(name)
    assert header.isascii() and "\r" not in header and "\n" not in header
    fallback, star = email.message.Message(), email.message.Message()
    fallback["Content-Disposition"] = header.split("; filename*=")[0]
    star["Content-Disposition"] = "attachment; filename*=" + header.split("; filename*=")[1]
    assert fallback.get_content_disposition() == "attachment"
    assert fallback.get_filename() == "Phong su Doi moi; thang 3.mp4"
    assert star.get_filename() == "Phóng sự Đổi mới; tháng 3.mp4"
    charset, _language, encoded = header.split("filename*=", 1)[1].split("'", 2)
    assert charset == "UTF-8" and unquote(encoded, encoding="utf-8") == "Phóng sự Đổi mới; tháng 3.mp4"


def test_content_disposition_without_any_ascii_letters_falls_back_to_evidence():
    assert content_disposition("报告.pdf").startswith('attachment; filename="evidence.pdf"; ')
    injected = content_disposition("../../etc/passwd\r\nX-Evil: 1")
    assert injected.startswith('attachment; filename="passwd X-Evil 1"; ') and "\n" not in injected


@pytest.mark.parametrize(
    "text, size",
    [
        ("2GiB", 2 * 2**30),
        ("500MiB", 500 * 2**20),
        ("10MB", 10_000_000),
        ("1024", 1024),
        ("1.5 GiB", 3 * 2**29),
        ("64kib", 65536),
        ("7B", 7),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "two GiB", "2 GB GB", "-1", "2PiB", "1.5.2MB", "GiB"])
def test_parse_size_refuses_what_it_cannot_read(text):
    with pytest.raises(SchedulerError) as refused:
        parse_size(text)
    assert "expected a size such as" in str(refused.value) and f'got "{text}"' in str(refused.value)


def test_files_are_private_to_the_owner(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    sha = put(store, PDF).sha256
    if os.name == "posix":
        assert store.path(sha).stat().st_mode & 0o077 == 0
