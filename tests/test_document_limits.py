"""Documents cannot exhaust the machine: alias bombs, deep nesting, huge
files, control characters and NUL bytes are refused as problems with
``file:line``, by the command line (exit 1) and the upload page (422).

The command line runs in a subprocess under a memory and a CPU-time limit,
so a regression fails the test (MemoryError, SIGKILL, SIGXCPU) instead of
taking the machine down; the upload runs under a memory ceiling too.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from html_tree import html
from scheduler.documents import MAX_DOCUMENT_BYTES
from scheduler.errors import Problem, ScheduleError
from scheduler.i18n import gettext_for
from scheduler.plan.yaml_source import MAX_DEPTH, MAX_NODES, load_yaml
from test_admin_pages import admin, site, upload  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent
LIMITS = Path("tests") / "data" / "limits"  # relative: messages name the file as it was given
MEMORY = 600 << 20  # address space: the interpreter and its libraries take about 250 MB of it
CPU_SECONDS = 20

CONTROL = "control character {char} in column {column}; only text, tabs and line breaks are allowed"
DEEP = ("nested more than {limit} levels deep", {"limit": MAX_DEPTH})
# file: its line, the message id and its parameters
REFUSED = {
    "alias_bomb.yaml": (9, "more than {limit} values once aliases (*name) are expanded", {"limit": f"{MAX_NODES:,}"}),
    "alias_loop.yaml": (
        4,
        "alias *{anchor} is inside the value it names; a value cannot contain itself",
        {"anchor": "t"},
    ),
    "deep_nesting.yaml": (4, *DEEP),
    "deep_mapping.yaml": (4, *DEEP),
    "control_char.yaml": (4, CONTROL, {"char": "U+0001", "column": 18}),
    "nul_byte.yaml": (5, CONTROL, {"char": "U+0000", "column": 15}),
}


def expected(name: str, source: str | None = None, lang: str = "en") -> str:
    line, message, params = REFUSED[name]
    return Problem(source or str(LIMITS / name), line, "", message, params).render(gettext_for(lang))


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def limited(tmp_path: Path, *args: str, lang: str = "en") -> subprocess.CompletedProcess:
    """``python main.py ARGS`` under the limits, with its own outputs and database."""
    env = {
        **os.environ,
        "OUTPUTS_DIR": str(tmp_path / "outputs"),
        "SCHEDULER_LANG": lang,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env=env,
        preexec_fn=_limits,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_limits_bite_and_leave_room_for_a_real_load(tmp_path):
    """The harness is not vacuous: the limit stops a greedy process, and the bundled plan loads under it."""
    greedy = subprocess.run(
        [sys.executable, "-c", "b = bytearray(1 << 30)"], preexec_fn=_limits, capture_output=True, text=True, timeout=60
    )
    assert greedy.returncode != 0 and "MemoryError" in greedy.stderr
    real = limited(tmp_path, "load", "--now", "2024-01-02")
    assert real.returncode == 0, real.stderr
    assert "phu-tho-2024:" in real.stdout


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_the_command_line_refuses_each_bomb_with_its_line(tmp_path, name):
    r = limited(tmp_path, "load", str(LIMITS / name))
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])  # not -9 (killed) nor -24 (out of CPU time)
    assert r.stderr.splitlines() == [expected(name), "nothing was loaded: fix the problems above and load again"]
    assert not (tmp_path / "db.sqlite3").exists()  # refused before the database was opened


def test_generated_bombs_deep_indentation_and_a_huge_file(tmp_path):
    deep = tmp_path / "deep_indentation.yaml"  # block mappings, one more space per level
    deep.write_text("".join(" " * i + "a:\n" for i in range(1000)) + " " * 1000 + "a: 1\n", encoding="utf-8")
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"# padding\n" * (MAX_DOCUMENT_BYTES // 10 + 1))
    fifo = tmp_path / "endless.yaml"  # a file that never ends: read only up to the limit
    r = limited(tmp_path, "load", str(deep), str(huge))
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f"{huge}: the file is larger than 1 MiB",
        "nothing was loaded: fix the problems above and load again",
    ]
    r = limited(tmp_path, "load", str(deep))
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == f"{deep}:{MAX_DEPTH}: nested more than {MAX_DEPTH} levels deep"  # its keys
    os.symlink("/dev/zero", fifo)
    r = limited(tmp_path, "load", str(fifo))
    assert r.returncode == 1 and r.stderr.splitlines()[0] == f"{fifo}: the file is larger than 1 MiB"


def test_plan_roll_reads_through_the_same_limits(tmp_path):
    r = limited(tmp_path, "plan", "roll", str(LIMITS / "alias_bomb.yaml"), "--year", "2025")
    assert r.returncode == 1, r.stderr[-2000:]
    # one line: nothing is written, nothing said of loading
    assert r.stderr.splitlines() == [expected("alias_bomb.yaml")]


def test_refusals_are_in_vietnamese_for_vietnamese_readers(tmp_path):
    r = limited(tmp_path, "load", str(LIMITS / "deep_nesting.yaml"), lang="vi")
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == f"{LIMITS / 'deep_nesting.yaml'}:4: lồng sâu quá {MAX_DEPTH} cấp"


def test_the_limits_are_exact_and_aliases_count_as_what_they_expand_to():
    nest = lambda n: "[" * n + "]" * n  # noqa: E731
    assert load_yaml("ok.yaml", f"a: {nest(MAX_DEPTH - 1)}\n")  # the mapping is one level, the lists the rest
    with pytest.raises(ScheduleError, match="nested more than"):
        load_yaml("deep.yaml", f"a: {nest(MAX_DEPTH)}\n")
    # Depth through an alias: the anchor is shallow where it is written, deep where it is used.
    with pytest.raises(ScheduleError, match="nested more than"):
        load_yaml("a.yaml", f"a: &a {nest(40)}\nb: {'[' * 30}*a{']' * 30}\n")
    side = 400  # side * side values through one alias each: counted, not only the 2 * side written
    text = "a: &a [" + ", ".join(["x"] * side) + "]\nb: [" + ", ".join(["*a"] * side) + "]\n"
    assert len(load_yaml("ok.yaml", text)["b"]) == side
    text = "a: &a [" + ", ".join(["x"] * 1000) + "]\nb: [" + ", ".join(["*a"] * (MAX_NODES // 1000)) + "]\n"
    with pytest.raises(ScheduleError) as refused:
        load_yaml("wide.yaml", text)
    assert refused.value.problems[0].line == 2


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: 1\nb: " + "1" * 5000 + "\n", 2, "not valid YAML: Exceeds the limit"),
        ("a:\n  b: 2024-02-30\n", 2, "not valid YAML: day is out of range for month"),
        ("a: b\n\nc: \ufffe\n", 3, "character U+FFFE is not allowed in YAML"),
        ("a: b\x85c\n", 1, "control character U+0085 in column 5"),
    ],
)
def test_values_python_cannot_hold_are_problems_not_crashes(text, line, message):
    with pytest.raises(ScheduleError) as refused:
        load_yaml("v.yaml", text)
    (problem,) = refused.value.problems
    assert problem.line == line and problem.render().startswith(f"v.yaml:{line}: {message}")


@contextmanager
def memory_ceiling(extra: int):
    """This process may grow by ``extra`` bytes at most: a regression raises MemoryError (a 500) here."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (used + extra, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def test_the_upload_page_lists_each_refusal_with_its_line(site, admin, data):  # noqa: F811
    before = site.state()
    files = [
        (name, (data / "limits" / name).read_bytes())
        for name in ("alias_bomb.yaml", "alias_loop.yaml", "deep_nesting.yaml", "deep_mapping.yaml")
    ]
    with memory_ceiling(400 << 20):
        bombs = upload(admin, *files)
        controls = upload(
            admin, *[(n, (data / "limits" / n).read_bytes()) for n in ("control_char.yaml", "nul_byte.yaml")]
        )
    for r, names in ((bombs, [f[0] for f in files]), (controls, ["control_char.yaml", "nul_byte.yaml"])):
        assert r.status_code == 422
        problems = html(r).one("section", id="problems").all("li", cls="problem")
        shown = {p.one("p", cls="problem-text").text() for p in problems}
        assert shown == {expected(n, n, "vi") for n in names}  # the administrator reads Vietnamese
    assert site.state() == before


def test_yaml_is_parsed_only_through_load_yaml():
    """One entry point, so the limits hold for every YAML document the service reads."""
    package = ROOT / "scheduler"
    parsers = [
        p.relative_to(ROOT).as_posix()
        for p in package.rglob("*.py")
        if "YAML(" in p.read_text(encoding="utf-8") or "yaml.load(" in p.read_text(encoding="utf-8")
    ]
    assert parsers == ["scheduler/plan/yaml_source.py"]


def test_the_settings_file_is_bounded_too(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("AT_RISK_DAYS = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    big = tmp_path / "big.toml"
    big.write_bytes(b"# padding\n" * (MAX_DOCUMENT_BYTES // 10 + 1))
    for path, said in (
        (deep, f"settings file {deep}: not valid TOML ("),
        (big, f"settings file {big}: the file is larger than 1 MiB"),
    ):
        r = subprocess.run(
            [sys.executable, "main.py", "users", "list"],
            cwd=ROOT,
            preexec_fn=_limits,
            env={**os.environ, "SETTINGS_FILE": str(path), "SCHEDULER_LANG": "en"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith(said), r.stderr
