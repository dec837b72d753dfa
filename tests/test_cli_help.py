"""Each command's help fits on a screen: its own usage and options first,
the settings every command shares last, in one group; and every shared flag
still works where people write it, before or after the command."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import main
from scheduler.cli.main import build_parser, every_parser
from scheduler.i18n import gettext_for
from scheduler.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
SETTING_FLAGS = ["--" + s.name.replace("_", "-") for s in SETTINGS]
# The longest today: the list of commands (30 lines) and deliver (28 lines).
MAX_OWN_LINES = 42
HEADING = {"en": "settings:", "vi": "cấu hình:"}


def _commands() -> list[list[str]]:
    """Every parser's words after main.py: [], ["load"], ["plan", "roll"]..."""
    return [p.prog.split()[1:] for p in every_parser(build_parser(gettext_for("en")))]


def _own_options(words: list[str]) -> list[str]:
    parser = next(p for p in every_parser(build_parser(gettext_for("en"))) if p.prog.split()[1:] == words)
    return [
        flag
        for action in parser._actions
        for flag in action.option_strings
        if flag not in SETTING_FLAGS and flag != "-h"
    ]


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("words", _commands(), ids=lambda words: " ".join(words) or "main.py")
def test_help_shows_the_command_first_and_the_settings_last(words, lang, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("SCHEDULER_LANG", lang)
    with pytest.raises(SystemExit) as done:
        main.run([*words, "--help"])
    assert done.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(" ".join(["usage: main.py", *words]))
    assert lines.count(HEADING[lang]) == 1
    own, settings = lines[: lines.index(HEADING[lang])], lines[lines.index(HEADING[lang]) :]
    assert len(own) <= MAX_OWN_LINES, "\n".join(own)
    for flag in _own_options(words):
        assert any(flag in line.replace(",", " ").split() for line in own if line.startswith("  -")), flag
    shown = [line.split()[0] for line in settings if line.startswith("  --")]
    assert shown == SETTING_FLAGS  # every one, after the command's own, none before
    assert not any(flag in line for line in own for flag in SETTING_FLAGS)


def test_python_main_py_deliver_help():
    env = {**os.environ, "COLUMNS": "80", "SCHEDULER_LANG": "en"}
    done = subprocess.run(
        [sys.executable, "main.py", "deliver", "--help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("usage: main.py deliver [-h] --by EMAIL --at DATETIME")
    assert lines.index("settings:") > max(i for i, line in enumerate(lines) if line.startswith("  --supersedes"))
    assert lines[-1].strip().endswith("[ZALO_TRANSACTION_TEMPLATE]")  # the last setting


def test_the_language_flag_works_before_and_after_the_command(cli):
    assert (
        cli("load", "--lang", "en", "--now", "2024-01-01").out
        == "phu-tho-2024: 50 new, 0 revised, 0 cancelled, 0 unchanged\n"
    )
    assert (
        cli("--lang", "en", "--now", "2024-01-01", "load").out
        == "phu-tho-2024: 0 new, 0 revised, 0 cancelled, 50 unchanged\n"
    )
    assert cli("load", "--now", "2024-01-01").out.startswith("phu-tho-2024: 0 mới")


def _run(*words: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main.run(list(words), out, err)
    return code, err.getvalue()


@pytest.mark.parametrize(
    "words",
    [
        ["--database-url", "nope://x", "occurrences"],
        ["occurrences", "--database-url", "nope://x"],
        ["users", "--database-url", "nope://x", "list"],
        ["users", "list", "--database-url", "nope://x"],
        ["--database-url", "sqlite:///unused", "subscriptions", "list", "--database-url", "nope://x"],
    ],
)
def test_settings_flags_work_at_every_level(words, monkeypatch, tmp_path):
    monkeypatch.setenv("OUTPUTS_DIR", str(tmp_path))
    code, err = _run(*words, "--lang", "en")
    assert code == 1
    assert err == 'DATABASE_URL nope://x: this service opens SQLite and PostgreSQL databases, not "nope"\n'


@pytest.mark.parametrize(
    "words",
    [
        ["--now", "yesterday", "plan", "roll", "x.yaml", "--year", "2025"],
        ["plan", "--now", "yesterday", "roll", "x.yaml", "--year", "2025"],
        ["plan", "roll", "x.yaml", "--year", "2025", "--now", "yesterday"],
    ],
)
def test_now_works_before_and_after_the_command_and_its_action(words, monkeypatch, tmp_path):
    monkeypatch.setenv("OUTPUTS_DIR", str(tmp_path))
    code, err = _run(*words, "--lang", "en")
    assert code == 1
    assert err.startswith("--now") and err.count("\n") == 1, err
