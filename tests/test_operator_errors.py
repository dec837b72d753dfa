"""An operator's mistake gets one line on stderr naming the setting or path
and what is wrong, exit 1, no traceback: a bad DATABASE_URL, an OUTPUTS_DIR
that is not a writable folder, ``report --out`` in a folder that is not
there. A refusal is printed once, not also echoed as a log line.

Through the real ``python main.py`` (its logging set up as in production).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OCCURRENCE = "phu-tho-2024.cchc-radio-tv.2024-01.1"


def main(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "SCHEDULER_LANG": "en",
        "OUTPUTS_DIR": str(tmp_path / "outputs"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **env,
    }
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def one_line(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "unexpected error" not in r.stderr, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("foo://host/db", 'DATABASE_URL foo://host/db: this service opens SQLite and PostgreSQL databases, not "foo"'),
        (
            "mysql://u@host/db",
            'DATABASE_URL mysql://u@host/db: this service opens SQLite and PostgreSQL databases, not "mysql"',
        ),
        (
            "not a url",
            "DATABASE_URL not a url: not a database address; expected sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST/NAME",
        ),
        (
            "postgresql://u:secret@[::1/db",
            "DATABASE_URL postgresql://u:***@[::1/db: not a database address; expected "
            "sqlite:///PATH or postgresql://USER:PASSWORD@HOST/NAME",
        ),
        ("postgresql://u:secret@127.0.0.1:1/db", "cannot open the database postgresql://u:***@127.0.0.1:1/db: "),
        (
            "postgresql://u:secret@no-such-host.invalid/db",
            "cannot open the database postgresql://u:***@no-such-host.invalid/db: ",
        ),
    ],
)
def test_a_bad_database_url_is_one_line_naming_it(tmp_path, url, said):
    line = one_line(main(tmp_path, "occurrences", DATABASE_URL=url))
    assert line.startswith(said) and "secret" not in line


def test_an_outputs_dir_that_is_not_a_folder_is_one_line_naming_it(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    env = {"DATABASE_URL": ""}  # the default: SQLite in OUTPUTS_DIR
    assert one_line(main(tmp_path, "occurrences", OUTPUTS_DIR=str(blocker), **env)) == (
        f"OUTPUTS_DIR {blocker}: {blocker} is a file, not a folder; it must be a folder this service can write"
    )
    under = blocker / "outputs"
    assert one_line(main(tmp_path, "users", "list", OUTPUTS_DIR=str(under), **env)) == (
        f"OUTPUTS_DIR {under}: {blocker} is a file, not a folder; it must be a folder this service can write"
    )


def test_report_out_in_a_folder_that_is_not_there_is_one_line(tmp_path):
    assert main(tmp_path, "load", "--now", "2024-01-02").returncode == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    report = ("report", "--period", "2024-Q1", "--now", "2024-04-05")
    assert (
        one_line(main(tmp_path, *report, "--out", str(blocker / "r.json")))
        == f"--out: {blocker} is a file, not a folder"
    )
    assert (
        one_line(main(tmp_path, *report, "--out", str(tmp_path / "nowhere" / "r.json")))
        == f"--out: the folder {tmp_path / 'nowhere'} does not exist"
    )
    assert (
        one_line(main(tmp_path, *report, "--out", str(tmp_path))) == f"--out: {tmp_path} is a folder; give a file name"
    )
    assert not (tmp_path / "nowhere").exists()  # no folder made up from a typo
    written = main(tmp_path, *report, "--out", str(tmp_path / "r.json"))
    assert written.returncode == 0 and (tmp_path / "r.json").is_file()


def test_a_schedule_file_with_a_control_character_in_vietnamese(tmp_path):
    r = main(tmp_path, "load", "tests/data/limits/control_char.yaml", SCHEDULER_LANG="vi")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == [
        "tests/data/limits/control_char.yaml:4: ký tự điều khiển U+0001 ở cột 18; chỉ được có chữ, dấu tab và "
        "xuống dòng",
        "chưa nạp được gì: hãy sửa các lỗi nêu trên rồi nạp lại",
    ]


def test_a_refusal_is_printed_once(tmp_path):
    assert main(tmp_path, "load", "--now", "2024-01-02").returncode == 0
    assert main(tmp_path, "users", "add", "p@dai.example", "--role", "producer", "--agency", "dai-ptth").returncode == 0
    r = main(tmp_path, "excuse", OCCURRENCE, "--by", "p@dai.example", "--reason", "mất điện")
    assert one_line(r) == "only the Department of Home Affairs (role dha) excuses occurrences"


def test_the_service_still_logs_each_refusal(cli, caplog):
    """Only a one-shot command leaves the refusal out of its log; the web's audit log keeps it."""
    from scheduler.people.permissions import Actor, Decision
    from scheduler.store.recording import refuse

    assert cli("load", "--now", "2024-01-02").code == 0
    assert cli("users", "add", "p@dai.example", "--role", "producer", "--agency", "dai-ptth").code == 0
    with caplog.at_level(logging.WARNING, logger="scheduler.recording"):
        r = cli("excuse", OCCURRENCE, "--by", "p@dai.example", "--reason", "x", "--lang", "en")
        assert r.code == 1 and r.err.count("excuses occurrences") == 1, r.err
        assert not [rec for rec in caplog.records if rec.name == "scheduler.recording"]
        refuse(
            Actor("p@dai.example", ("producer",), "dai-ptth"),
            "excuse",
            OCCURRENCE,
            Decision(False, "only the Department of Home Affairs (role dha) excuses occurrences"),
        )
    (logged,) = [rec for rec in caplog.records if rec.name == "scheduler.recording"]
    assert logged.getMessage().startswith(f"refused: p@dai.example may not excuse {OCCURRENCE}: ")
