"""The ledger's pure core: an intact chain verifies, and every tampering is
caught at the first entry it touches; checkpoints catch a rewritten chain."""

from __future__ import annotations

import base64
import hashlib
import json
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scheduler.errors import SchedulerError
from scheduler.evidence.checkpoints import (
    Checkpoint,
    check_checkpoint,
    new_private_key_pem,
    public_key_of,
    sign_checkpoint,
)
from scheduler.evidence.ledger import (
    FILE_MISMATCH,
    FILE_MISSING,
    GENESIS,
    Break,
    StoredEntry,
    canonical,
    entry_hash,
    file_hashes,
    make_entry,
    parse_content,
    stored,
    verify_chain,
)

AT = datetime(2024, 3, 14, 19, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
LATER = datetime(2024, 4, 1, 8, 0, tzinfo=UTC)
FILES = {hashlib.sha256(data).hexdigest(): data for data in (b"tap 1 cchc", b"bai bao thang 3")}
TITLE = "Cải cách hành chính: người dân và doanh nghiệp"


def no_files(sha256):
    return None


def file_check_over(store):
    """Like the evidence store: the file must exist and re-hash to its name."""

    def check(sha256):
        if sha256 not in store:
            return FILE_MISSING
        return None if hashlib.sha256(store[sha256]).hexdigest() == sha256 else FILE_MISMATCH

    return check


def build(n=5, duration=600):
    entries, prev = [], None
    for i in range(n):
        files = (
            [
                {"sha256": sha, "size": len(data), "name": f"tệp-{i}.mp4", "type": "video/mp4"}
                for sha, data in FILES.items()
            ]
            if i == 1
            else []
        )
        prev = make_entry(
            prev,
            "delivery",
            f"cchc-tv/2024-{i + 1:02d}#1",
            AT + timedelta(days=30 * i),
            "btv@ptv.vn",
            {"files": files, "duration": duration, "title": TITLE},
        )
        entries.append(prev)
    return entries


def as_rows(entries):
    """What the database would hold: the canonical text verbatim."""
    return [
        StoredEntry(
            e.seq,
            canonical(e.seq, e.kind, e.occurrence, e.recorded_at, e.recorded_by, e.payload, e.supersedes, e.prev_hash),
            e.prev_hash,
            e.hash,
        )
        for e in entries
    ]


@pytest.fixture(scope="module")
def key():
    return new_private_key_pem()


def test_intact_chain_verifies():
    entries = build()
    rows = as_rows(entries)
    assert rows == [stored(e) for e in entries]
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:]))
    assert all(r.hash == entry_hash(r.content) for r in rows)
    assert verify_chain(rows, file_check_over(FILES)) is None
    assert verify_chain([], no_files) is None


def test_canonical_text_is_stable_and_utc():
    text = canonical(1, "delivery", "o", AT, "a@b.vn", {"b": 1, "a": [True, None, 1.5]}, None, GENESIS)
    assert text == (
        '{"format":1,"kind":"delivery","occurrence":"o","payload":{"a":[true,null,1.5],"b":1},"prev_hash":"'
        + GENESIS
        + '","recorded_at":"2024-03-14T12:30:00.000000+00:00","recorded_by":"a@b.vn",'
        '"seq":1,"supersedes":null}'
    )
    assert entry_hash(text) == hashlib.sha256(text.encode()).hexdigest()
    doc = parse_content(text)
    assert doc["recorded_at"] == "2024-03-14T12:30:00.000000+00:00" and doc["payload"]["b"] == 1
    legacy = canonical(1, "delivery", "o", AT, "a@b.vn", {"b": 1, "a": [True, None, 1.5]}, None, GENESIS, format=None)
    assert legacy == text.replace('"format":1,', "") and "format" not in parse_content(legacy)


@pytest.mark.parametrize(
    "payload, where",
    [
        ({"x": float("nan")}, "payload.x"),
        ({"x": [1, float("inf")]}, "payload.x[1]"),
        ({"x": {1, 2}}, "payload.x"),
        ({"x": b"bytes"}, "payload.x"),
        ({"x": AT}, "payload.x"),
        ({1: "a"}, "payload key"),
    ],
)
def test_canonical_rejects_what_json_cannot_hold(payload, where):
    with pytest.raises(SchedulerError) as caught:
        canonical(1, "delivery", "o", AT, "a@b.vn", payload, None, GENESIS)
    assert str(caught.value).startswith(where + ":")


def test_canonical_needs_an_aware_time():
    with pytest.raises(SchedulerError, match="recorded_at: expected a date and time with a time zone"):
        canonical(1, "delivery", "o", datetime(2024, 3, 14, 12), "a@b.vn", {}, None, GENESIS)


def test_vietnamese_text_is_nfc_and_round_trips():
    decomposed = unicodedata.normalize("NFD", TITLE)
    assert decomposed != TITLE
    entry = make_entry(
        None,
        "excuse",
        "cchc-tv/2024-04#1",
        AT,
        "Sở.Nội.Vụ@phutho.gov.vn",
        {"lý do": unicodedata.normalize("NFD", "Nghỉ lễ"), "title": decomposed},
    )
    assert entry.payload == {"files": [], "lý do": "Nghỉ lễ", "title": TITLE}
    row = stored(entry)
    assert TITLE in row.content and "\\u" not in row.content
    assert parse_content(row.content)["payload"]["title"] == TITLE
    assert row.content == canonical(
        1,
        "excuse",
        "cchc-tv/2024-04#1",
        AT,
        "Sở.Nội.Vụ@phutho.gov.vn",
        {"files": [], "lý do": "Nghỉ lễ", "title": TITLE},
        None,
        GENESIS,
    )
    assert verify_chain([row], no_files) is None


def test_make_entry_validates():
    first = make_entry(None, "delivery", "o", AT, "a@b.vn", {})
    assert first.recorded_at == AT and first.recorded_at.tzinfo == UTC
    second = make_entry(first, "delivery", "o", AT, "a@b.vn", {}, supersedes=1)
    assert second.supersedes == 1 and file_hashes(second) == []
    with pytest.raises(SchedulerError, match="kind: expected delivery or excuse"):
        make_entry(None, "deliverd", "o", AT, "a@b.vn", {})
    with pytest.raises(SchedulerError, match="only an earlier entry"):
        make_entry(first, "delivery", "o", AT, "a@b.vn", {}, supersedes=2)
    with pytest.raises(SchedulerError, match=r"payload.files\[0\].sha256"):
        make_entry(
            first, "delivery", "o", AT, "a@b.vn", {"files": [{"sha256": "x", "size": 1, "name": "a", "type": "t"}]}
        )


def test_file_hashes():
    assert file_hashes(build()[1]) == list(FILES)


def test_changed_payload_inside_content():
    rows = as_rows(build())
    rows[2] = replace(rows[2], content=rows[2].content.replace('"duration":600', '"duration":900'))
    assert verify_chain(rows, no_files) == Break(3, "content does not match its hash", {})


def test_changed_hash_column():
    rows = as_rows(build())
    rows[2] = replace(rows[2], hash="f" * 64)
    found = verify_chain(rows, no_files)
    assert found.seq == 3 and found.render() == "entry 3: content does not match its hash"


def test_deleted_middle_row():
    rows = as_rows(build())
    del rows[2]
    found = verify_chain(rows, no_files)
    assert (found.seq, found.params) == (4, {"a": 2, "b": 4})
    assert found.render() == "entry 4: sequence jumps from 2 to 4 (entries removed or reordered)"


def test_deleted_first_row():
    rows = as_rows(build())[1:]
    assert verify_chain(rows, no_files).params == {"a": 0, "b": 2}


def test_swapped_rows_in_place():
    rows = as_rows(build())
    rows[1], rows[2] = rows[2], rows[1]
    assert verify_chain(rows, no_files).seq == 3


def test_swapped_rows_with_seq_columns_swapped():
    rows = as_rows(build())
    rows[1], rows[2] = replace(rows[2], seq=2), replace(rows[1], seq=3)
    found = verify_chain(rows, no_files)
    assert found.seq == 2 and found.render() == "entry 2: previous hash does not match entry 1"
    # Even with the prev_hash columns fixed too, the content still names its own place.
    rows = as_rows(build())
    rows[1], rows[2] = replace(rows[2], seq=2, prev_hash=rows[0].hash), replace(rows[1], seq=3)
    assert verify_chain(rows, no_files).render() == "entry 2: content's seq does not match its row"


def test_one_row_recomputed_consistently_is_caught_at_the_next():
    entries = build()
    rows = as_rows(entries)
    e = entries[2]
    text = canonical(
        e.seq,
        e.kind,
        e.occurrence,
        e.recorded_at,
        e.recorded_by,
        {**e.payload, "duration": 60},
        e.supersedes,
        e.prev_hash,
    )
    rows[2] = StoredEntry(3, text, e.prev_hash, entry_hash(text))
    assert verify_chain(rows, no_files) == Break(4, "previous hash does not match entry {prev}", {"prev": 3})


def test_first_row_not_from_genesis():
    rows = as_rows(build())
    rows[0] = replace(rows[0], prev_hash="1" * 64)
    assert verify_chain(rows, no_files).render() == "entry 1: the first entry does not start from the genesis hash"


def test_forged_row_appended():
    entries = build()
    forged = make_entry(replace(entries[-1], hash="a" * 64), "delivery", "o", LATER, "x@y.vn", {})
    found = verify_chain(as_rows(entries + [forged]), no_files)
    assert (found.seq, found.params) == (6, {"prev": 5})


def test_content_that_does_not_name_its_row():
    rows = as_rows(build(2))
    text = rows[1].content.replace('"seq":2', '"seq":7')
    rows[1] = StoredEntry(2, text, rows[1].prev_hash, entry_hash(text))
    assert verify_chain(rows, no_files).render() == "entry 2: content's seq does not match its row"
    rows[1] = StoredEntry(2, "{}", rows[0].hash, entry_hash("{}"))
    assert verify_chain(rows, no_files).reason == "content is not a ledger entry in canonical form"
    spaced = json.dumps(json.loads(as_rows(build(2))[1].content), sort_keys=True)  # same fields, other form
    rows[1] = StoredEntry(2, spaced, rows[0].hash, entry_hash(spaced))
    assert verify_chain(rows, no_files).reason == "content is not a ledger entry in canonical form"


def test_missing_and_mismatching_files():
    rows = as_rows(build())
    missing, changed = list(FILES)
    store = {changed: b"something else"}
    found = verify_chain(rows, file_check_over(store))
    assert found == Break(2, FILE_MISSING, {"sha256": missing})
    assert found.render() == f"entry 2: file {missing} is missing"
    store[missing] = FILES[missing]
    assert verify_chain(rows, file_check_over(store)) == Break(2, FILE_MISMATCH, {"sha256": changed})


def test_checkpoint_holds_for_the_chain_and_its_extensions(key):
    entries = build()
    rows = as_rows(entries)
    cp = sign_checkpoint(key, 5, rows[-1].hash, AT)
    assert cp.at == AT and cp.key_id == hashlib.sha256(public_key_of(key)).hexdigest()[:16]
    assert check_checkpoint(cp, public_key_of(key), rows) is None
    longer = rows + as_rows([make_entry(entries[-1], "excuse", "o", LATER, "a@b.vn", {"reason": "lễ"})])
    assert verify_chain(longer, no_files) is None and check_checkpoint(cp, public_key_of(key), longer) is None
    assert check_checkpoint(sign_checkpoint(key, 0, GENESIS, AT), public_key_of(key), []) is None


def test_fully_recomputed_chain_passes_verify_but_not_the_checkpoint(key):
    rows = as_rows(build())
    before, early = sign_checkpoint(key, 5, rows[-1].hash, AT), sign_checkpoint(key, 3, rows[2].hash, AT)
    rewritten = as_rows(build(duration=1200))  # every row recomputed consistently
    assert verify_chain(rewritten, no_files) is None
    found = check_checkpoint(before, public_key_of(key), rewritten)
    assert found.seq == 5
    assert found.render() == "entry 5: this is not the entry the checkpoint signed as head (the chain was rewritten)"
    assert check_checkpoint(early, public_key_of(key), rewritten).seq == 3


def test_checkpoint_catches_removed_last_rows(key):
    rows = as_rows(build())
    cp = sign_checkpoint(key, 5, rows[-1].hash, AT)
    assert verify_chain(rows[:-1], no_files) is None
    found = check_checkpoint(cp, public_key_of(key), rows[:-1])
    assert found == Break(
        None, "the ledger has fewer entries ({n}) than the checkpoint ({count})", {"n": 4, "count": 5}
    )
    assert (
        check_checkpoint(cp, public_key_of(key), []).render()
        == "the ledger has fewer entries (0) than the checkpoint (5)"
    )


def test_tampered_checkpoint_fails(key):
    rows = as_rows(build())
    cp = sign_checkpoint(key, 5, rows[-1].hash, AT)
    signature = bytearray(base64.b64decode(cp.signature))
    signature[0] ^= 1
    for forged in (
        replace(cp, count=4),
        replace(cp, head=rows[3].hash),
        replace(cp, at=LATER),
        replace(cp, signature=base64.b64encode(bytes(signature)).decode()),
        replace(cp, signature="x"),
    ):
        assert check_checkpoint(forged, public_key_of(key), rows) == Break(
            None, "checkpoint signature is not valid", {}
        )
    other = new_private_key_pem()
    assert (
        check_checkpoint(cp, public_key_of(other), rows).reason
        == "the checkpoint was signed with another key ({key_id})"
    )
    with pytest.raises(SchedulerError, match="needs the ledger's public key"):
        check_checkpoint(cp, None, rows)


def test_checkpoint_text_round_trips(key):
    cp = sign_checkpoint(key, 3, "ab" * 32, AT)
    text = cp.to_text()
    doc = json.loads(text)
    assert set(doc) == {"count", "head", "at", "key_id", "public_key", "signature"}
    assert base64.b64decode(doc["public_key"]) == public_key_of(key) and "\n  " in text
    assert Checkpoint.from_text(text) == cp
    doc["count"] = 4
    assert (
        check_checkpoint(Checkpoint.from_text(json.dumps(doc)), public_key_of(key), []).reason
        == "checkpoint signature is not valid"
    )


@pytest.mark.parametrize(
    "text, named",
    [
        ("not json at all", "not valid JSON"),
        ("[1, 2]", "checkpoint: expected a JSON object"),
        ('{"count": 1}', "field head is missing"),
        ('{"count": -1, "head": "", "at": "", "key_id": "", "signature": ""}', "checkpoint.count"),
        ('{"count": 1, "head": "zz", "at": "", "key_id": "", "signature": ""}', "checkpoint.head"),
        (
            '{"count": 1, "head": "'
            + "a" * 64
            + '", "at": "2024-03-14T12:00:00", "key_id": "'
            + "b" * 16
            + '", "signature": ""}',
            "checkpoint.at",
        ),
        (
            '{"count": 1, "head": "'
            + "a" * 64
            + '", "at": "2024-03-14T12:00:00+00:00", "key_id": "'
            + "b" * 16
            + '", "signature": "%%%"}',
            "checkpoint.signature",
        ),
    ],
)
def test_checkpoint_from_garbage_names_the_problem(text, named):
    with pytest.raises(SchedulerError, match=named):
        Checkpoint.from_text(text)


def test_keys():
    pem = new_private_key_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----") and len(public_key_of(pem)) == 32
    with pytest.raises(SchedulerError, match="ledger key cannot be read"):
        public_key_of(b"not a key")
    with pytest.raises(SchedulerError, match="head"):
        sign_checkpoint(pem, 2, GENESIS, AT)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    payloads=st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=4), min_size=1, max_size=5),
    data=st.data(),
)
def test_any_single_byte_change_is_caught(payloads, data):
    entries, prev = [], None
    for i, payload in enumerate(payloads):
        prev = make_entry(prev, "delivery", f"o{i}", AT, "a@b.vn", {k: v for k, v in payload.items() if k != "files"})
        entries.append(prev)
    rows = as_rows(entries)
    assert verify_chain(rows, no_files) is None
    i = data.draw(st.integers(0, len(rows) - 1), label="row")
    raw = bytearray(rows[i].content.encode("utf-8"))
    at = data.draw(st.integers(0, len(raw) - 1), label="byte")
    raw[at] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[at]), label="value")
    changed = raw.decode("utf-8", errors="replace")  # a text column cannot hold invalid UTF-8
    assume(changed != rows[i].content)
    rows[i] = replace(rows[i], content=changed)
    assert verify_chain(rows, no_files).seq == i + 1
