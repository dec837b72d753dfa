"""Streaming multipart uploads into the evidence store, through a real ASGI app.

Most tests go through TestClient; the streaming ones drive the app with a
hand-written ASGI `receive`, because TestClient hands the app the whole body
at once and could not show that reading stops at the limit.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import asdict

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.routing import Route

from scheduler.store.files import EvidenceStore, EvidenceWriter
from scheduler.web.uploads import UploadError, read_form
from test_evidence import MP4, PDF, final_files, png


class Refused(Exception):
    """The route's business check says no after the form was read."""


def make_app(store: EvidenceStore, **options) -> Starlette:
    async def upload(request):
        try:
            form = await read_form(request, store, **options)
        except UploadError as e:
            return JSONResponse({"error": e.render(), "field": e.field}, status_code=e.status)
        with form:
            if "refuse" in form.fields:
                raise Refused()
            files = form.commit()
        return JSONResponse({"fields": form.fields, "files": [asdict(f) for f in files]})

    return Starlette(routes=[Route("/upload", upload, methods=["POST"])])


def encode(data=None, files=None) -> tuple[bytes, str]:
    """A multipart body as httpx (a real client) writes it."""
    request = httpx.Request("POST", "http://test/upload", data=data, files=files)
    return request.read(), request.headers["content-type"]


def drive(app, body: bytes, content_type: str, chunk=100, content_length=False, disconnect_after=None):
    """POST through ASGI in chunks (Transfer-Encoding: chunked unless content_length); count what was read."""
    headers = [(b"content-type", content_type.encode())]
    headers += (
        [(b"content-length", str(len(body)).encode())] if content_length else [(b"transfer-encoding", b"chunked")]
    )
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/upload",
        "raw_path": b"/upload",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
    }
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    read, sent = 0, []

    async def receive():
        nonlocal read
        if disconnect_after is not None and read >= disconnect_after:
            return {"type": "http.disconnect"}
        read += 1
        return {"type": "http.request", "body": pieces[read - 1], "more_body": read < len(pieces)}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"), read, len(pieces)


class WatchedStore(EvidenceStore):
    """Records the most bytes any writer ever handed to the disk."""

    most = 0

    def writer(self, name, declared_type):
        writer = super().writer(name, declared_type)
        store, write = self, writer.write

        def watched(chunk: bytes) -> None:
            write(chunk)
            store.most = max(store.most, writer.size, writer.temporary.stat().st_size)

        writer.write = watched
        return writer


def nothing_kept(store: EvidenceStore) -> bool:
    return final_files(store) == [] and (not store.tmp.exists() or list(store.tmp.iterdir()) == [])


def test_two_files_with_vietnamese_names_and_repeated_fields(tmp_path):
    store = EvidenceStore(tmp_path / "evidence", limit=10_000)
    client = TestClient(make_app(store))
    answer = client.post(
        "/upload",
        data={"title": "Chuyên mục CCHC", "topics": ["PAR INDEX", "SIPAS"]},
        files=[
            ("files", ("Phóng sự tháng 3.mp4", MP4, "video/mp4")),
            ("files", ('Báo cáo "quý" 1.pdf', PDF, "application/pdf")),
        ],
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["fields"] == {"title": ["Chuyên mục CCHC"], "topics": ["PAR INDEX", "SIPAS"]}
    assert [(f["name"], f["type"], f["size"]) for f in body["files"]] == [
        ("Phóng sự tháng 3.mp4", "video/mp4", len(MP4)),
        ("Báo cáo quý 1.pdf", "application/pdf", len(PDF)),
    ]
    for f, content in zip(body["files"], (MP4, PDF)):
        assert f["sha256"] == hashlib.sha256(content).hexdigest()
        assert store.path(f["sha256"]).read_bytes() == content
    assert list(store.tmp.iterdir()) == []


def test_the_same_content_uploaded_twice_is_stored_once(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    client = TestClient(make_app(store))
    first = client.post("/upload", files={"files": ("a.pdf", PDF, "application/pdf")}).json()["files"][0]
    second = client.post("/upload", files={"files": ("b.pdf", PDF, "application/pdf")}).json()["files"][0]
    assert first["sha256"] == second["sha256"] and (first["name"], second["name"]) == ("a.pdf", "b.pdf")
    assert final_files(store) == [store.path(first["sha256"])]


def test_a_chunked_upload_over_the_limit_stops_at_the_limit(tmp_path):
    store = WatchedStore(tmp_path, limit=1000)
    body, content_type = encode({"title": "x"}, {"files": ("Phóng sự.mp4", MP4[:40] + bytes(4960), "video/mp4")})
    status, answer, read, chunks = drive(make_app(store), body, content_type, chunk=100)
    assert status == 413
    assert httpx.Response(413, content=answer).json() == {
        "error": 'file "Phóng sự.mp4" is larger than the limit of 1000 B',
        "field": "files",
    }
    assert 0 < store.most <= 1000  # never more than the limit's worth of the file on disk
    assert read < 15 < chunks  # reading stopped soon after the limit, not at the end of the body
    assert nothing_kept(store)


def test_a_file_in_a_later_part_over_the_limit_discards_the_earlier_ones(tmp_path):
    store = EvidenceStore(tmp_path, limit=1000)
    body, content_type = encode(
        files=[("files", ("a.pdf", PDF, "application/pdf")), ("files", ("b.mp4", MP4 + bytes(2000), "video/mp4"))]
    )
    assert drive(make_app(store), body, content_type)[0] == 413
    assert nothing_kept(store)


def test_a_content_length_over_the_limit_is_refused_before_reading(tmp_path):
    store = EvidenceStore(tmp_path, limit=1000)
    body, content_type = encode(files={"files": ("a.mp4", bytes(2_000_000), "video/mp4")})
    status, answer, read, _ = drive(make_app(store), body, content_type, content_length=True)
    assert (status, read) == (413, 0)
    assert httpx.Response(413, content=answer).json() == {
        "error": "the upload is larger than the limit of 1000 B",
        "field": "files",
    }
    assert nothing_kept(store)


def test_a_png_declared_as_pdf_is_refused(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    answer = TestClient(make_app(store)).post("/upload", files={"files": ("scan.pdf", png(), "application/pdf")})
    assert answer.status_code == 422
    assert answer.json() == {
        "field": "files",
        "error": 'file "scan.pdf" is declared as application/pdf but its content is image/png',
    }
    assert nothing_kept(store)


def test_a_client_gone_in_the_middle_leaves_nothing(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    body, content_type = encode(
        files=[("files", ("a.pdf", PDF, "application/pdf")), ("files", ("b.mp4", MP4 + bytes(3000), "video/mp4"))]
    )
    with pytest.raises(ClientDisconnect):
        drive(make_app(store), body, content_type, chunk=100, disconnect_after=10)
    assert nothing_kept(store)


def test_a_crash_in_a_writer_leaves_nothing_under_a_final_name(tmp_path, monkeypatch):
    store = EvidenceStore(tmp_path, limit=10_000)
    seen = []

    def crash(self, chunk):
        seen.append(self.temporary)
        raise OSError("disk full")

    monkeypatch.setattr(EvidenceWriter, "write", crash)
    with pytest.raises(OSError):
        TestClient(make_app(store)).post("/upload", files={"files": ("a.pdf", PDF, "application/pdf")})
    assert seen and nothing_kept(store)


def test_a_form_the_route_refuses_after_reading_leaves_nothing(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    with pytest.raises(Refused):
        TestClient(make_app(store)).post(
            "/upload", data={"refuse": "1"}, files={"files": ("a.pdf", PDF, "application/pdf")}
        )
    assert nothing_kept(store)


def test_a_body_cut_short_is_malformed(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    body, content_type = encode({"title": "x"}, {"files": ("a.pdf", PDF, "application/pdf")})
    status, answer, _, _ = drive(make_app(store), body[:-60], content_type)
    assert status == 400 and b"malformed" in answer
    assert nothing_kept(store)


@pytest.mark.parametrize("content_type, status", [("application/json", 415), ("multipart/form-data", 400)])
def test_not_multipart_or_no_boundary(tmp_path, content_type, status):
    answer = TestClient(make_app(EvidenceStore(tmp_path, limit=10))).post(
        "/upload", content=b"{}", headers={"content-type": content_type}
    )
    assert answer.status_code == status


def test_a_form_without_files_may_be_urlencoded(tmp_path):
    client = TestClient(make_app(EvidenceStore(tmp_path, limit=10)))
    answer = client.post("/upload", data={"title": "Chuyên mục", "topics": ["a", "b"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["fields"] == {"title": ["Chuyên mục"], "topics": ["a", "b"]}


def test_field_level_errors(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    client = TestClient(make_app(store, max_fields=3, max_field_bytes=10))
    too_long = client.post("/upload", data={"title": "Chuyên mục CCHC"}, files={"files": ("a.pdf", PDF)})
    assert (too_long.status_code, too_long.json()) == (
        413,
        {"field": "title", "error": 'field "title" is longer than 10 B'},
    )
    too_many = client.post("/upload", data={"topics": ["a", "b", "c", "d"]}, files={"files": ("a.pdf", PDF)})
    assert (too_many.status_code, too_many.json()["field"]) == (400, "topics")
    wrong_field = client.post("/upload", files={"photo": ("a.pdf", PDF, "application/pdf")})
    assert (wrong_field.status_code, wrong_field.json()) == (
        400,
        {"field": "photo", "error": 'field "photo" does not take files'},
    )
    assert nothing_kept(store)


def test_an_empty_file_input_is_skipped(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    answer = TestClient(make_app(store)).post(
        "/upload", data={"title": "x"}, files={"files": ("", b"", "application/octet-stream")}
    )
    assert answer.status_code == 200 and answer.json()["files"] == []
    assert nothing_kept(store)


def test_a_raw_utf8_filename_comes_through(tmp_path):
    store = EvidenceStore(tmp_path, limit=10_000)
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="Đài PT-TH tỉnh/ký.pdf"\r\n'
            f"Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + PDF
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, answer, _, _ = drive(make_app(store), body, f"multipart/form-data; boundary={boundary}")
    assert status == 200
    assert httpx.Response(200, content=answer).json()["files"][0]["name"] == "ký.pdf"
