"""Property-based requests generated from /openapi.json (schemathesis), for
each role's token and for no token, each on a fresh database with the
bundled plan, with valid data and with data that breaks the declared
bounds: no answer is a 5xx, and every status, content type and body is
the one the OpenAPI document declares. A fixed seed and a bounded number of
examples per operation keep it deterministic and within a few minutes."""

from __future__ import annotations

import io
import os

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.web.app import create_app

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))  # per operation and role: about 20 operations x 5 roles
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = {
    "admin": ("admin@x.example", "admin", None),
    "dha": ("dha@snv.example", "dha", "so-noi-vu"),
    "producer": ("prod@dai.example", "producer", "dai-ptth"),
    "editor": ("ed@dai.example", "editor", None),
}


def run_cli(*args: str) -> str:
    import main

    out, err = io.StringIO(), io.StringIO()
    assert main.run(list(args), out, err) == 0, err.getvalue()
    return out.getvalue()


@pytest.fixture
def world(monkeypatch, tmp_path):
    """A fresh SQLite database with the bundled plan and one user of each role,
    each with a token; the app as if it were 20/03/2024 10:00."""
    monkeypatch.setenv("OUTPUTS_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'scheduler.sqlite3'}")
    monkeypatch.delenv("SCHEDULER_LANG", raising=False)
    run_cli("load", "--now", "2024-01-02")
    tokens = {}
    for role, (email, name, agency) in ROLES.items():
        run_cli("users", "add", email, "--role", name, *(["--agency", agency] if agency else []))
        tokens[role] = run_cli("tokens", "create", "--user", email).strip().splitlines()[-1]
    db = Database(f"sqlite:///{tmp_path / 'scheduler.sqlite3'}")
    app = create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now("2024-03-20 10:00", DEFAULT_TZ)))
    yield app, tokens
    db.close()


@pytest.mark.parametrize("role", [*ROLES, None])
def test_every_operation_answers_as_declared(world, role):
    app, tokens = world
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 15
    client = TestClient(app, raise_server_exceptions=False)
    failures = []
    for operation, mode in ((o, m) for o in operations for m in GenerationMode):  # valid, then invalid data

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(mode))
        def fuzz(case):
            case.headers = {**(case.headers or {}), **headers}
            response = case.call(session=client)
            case.validate_response(response, checks=CHECKS)

        try:
            fuzz()
        except Unsatisfiable:  # nothing to break: no parameter or body with a bound
            assert mode == GenerationMode.NEGATIVE, operation.label
        except (Exception, BaseExceptionGroup) as e:  # every operation's first failure, not only the first operation's
            failures.append(f"{operation.label} ({mode.value} data): {e}")
    assert not failures, "\n\n".join(failures)


def test_range_and_back_in_time_answers_are_declared(world, tmp_path):
    """Found by the outside probe: a Range request on an evidence file answers
    206 or 416 and a delivery recorded before the last entry 409, none of
    which /openapi.json declared for those operations."""
    app, tokens = world
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 300)
    run_cli(
        "deliver",
        "phu-tho-2024.cchc-radio-tv.2024-03.1",
        "--by",
        "prod@dai.example",
        "--at",
        "2024-03-06 19:30",
        "--duration",
        "10m",
        "--file",
        str(clip),
        "--now",
        "2024-03-21 09:00",
    )  # later than the app's clock
    client = TestClient(app)
    paths = client.get("/openapi.json").json()["paths"]
    producer = {"Authorization": f"Bearer {tokens['producer']}"}
    entry = client.get("/api/occurrences/phu-tho-2024.cchc-radio-tv.2024-03.1", headers=producer).json()["entries"][0]
    answers = [
        (
            "/api/ledger/{seq}/files/{sha256}",
            "get",
            client.get(entry["files"][0]["href"], headers={**producer, "Range": r}),
        )
        for r in ("bytes=0-0", "bytes=9999-")
    ]
    answers.append(
        (
            "/api/occurrences/{occurrence_id}/deliveries",
            "post",
            client.post(
                "/api/occurrences/phu-tho-2024.cchc-radio-tv.2024-03.2/deliveries",
                headers=producer,
                files={"aired_at": (None, "14/03/2024 19:30"), "duration": (None, "10m")},
            ),
        )
    )
    answers.append(
        (
            "/api/occurrences/{occurrence_id}/excuses",
            "post",
            client.post(
                "/api/occurrences/phu-tho-2024.cchc-radio-tv.2024-04.1/excuses",
                headers={"Authorization": f"Bearer {tokens['dha']}"},
                json={"reason": "Bão"},
            ),
        )
    )
    assert [r.status_code for _, _, r in answers] == [206, 416, 409, 409]
    for path, method, r in answers:
        assert str(r.status_code) in paths[path][method]["responses"], (path, r.status_code)
