"""The README documents every setting and the two Quick start commands that CI runs."""

from __future__ import annotations

from pathlib import Path

from scheduler.settings import SETTINGS, Settings

ROOT = Path(__file__).resolve().parent.parent


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for s in SETTINGS:
        assert f"`{s.env}`" in readme, f"README.md does not document {s.env}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start")[1].split("\n## ")[0]
    commands = [line.strip() for line in quick.splitlines() if line.startswith("    ")]
    assert len(commands) == 2
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_settings_remember_where_they_came_from(tmp_path):
    s = Settings.load(env={"OUTPUTS_DIR": str(tmp_path)}, flags={"lang": "en"})
    assert s.sources["outputs_dir"] == "environment OUTPUTS_DIR" and s.sources["lang"] == "flag --lang"
    assert set(s.sources) == {x.name for x in SETTINGS}
    assert all(v == "default" for k, v in s.sources.items() if k not in ("outputs_dir", "lang"))
    assert s.ledger_key_file == str(tmp_path / "ledger-key.pem")
    assert s.database_url == f"sqlite:///{tmp_path / 'scheduler.sqlite3'}"
    masked = Settings.load(env={"DATABASE_URL": "postgresql://app:s3cret@db/x"}).masked_database_url()
    assert "s3cret" not in masked and masked.startswith("postgresql://app:")
