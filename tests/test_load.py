"""Loading schedules into SQLite and PostgreSQL: idempotent, transactional,
revisions that only rise, nothing with a history deleted."""

from __future__ import annotations

import json
import shutil

from sqlalchemy import func, select

from scheduler.store.tables import LoadRow, MilestoneRow, OccurrenceRow


def _occurrences(cli) -> dict[str, dict]:
    result = cli("occurrences", "--format", "json")
    assert result.code == 0, result.err
    return {o["id"]: o for o in json.loads(result.out)}


def test_bundled_plan_loads_and_twice_changes_nothing(cli):
    first = cli("load", "--now", "2024-01-01")
    assert first.code == 0, first.err
    assert "phu-tho-2024: 50 " in first.out
    before = _occurrences(cli)
    second = cli("load", "--now", "2024-06-01")
    assert second.code == 0
    assert "0 " in second.out and "50 " in second.out  # 0 new ... 50 unchanged
    assert _occurrences(cli) == before
    assert all(o["revision"] == 1 for o in before.values())


def test_changed_file_revises_only_what_changed(cli, tmp_path, data):
    plan = tmp_path / "small.yaml"
    shutil.copy(data / "load" / "small-plan.yaml", plan)
    assert cli("load", plan, "--now", "2024-01-01").code == 0
    plan.write_text(
        plan.read_text(encoding="utf-8").replace("min_duration: 10m", "min_duration: 15m"), encoding="utf-8"
    )
    result = cli("load", plan, "--now", "2024-01-02")
    assert result.code == 0, result.err
    occ = _occurrences(cli)
    radio = [o for o in occ.values() if o["obligation"] == "radio"]
    assert len(radio) == 24 and all(o["revision"] == 2 and o["min_duration"] == 900 for o in radio)
    assert all(o["revision"] == 1 for o in occ.values() if o["obligation"] == "bao-chi")


def test_removed_obligation_cancels_future_occurrences_and_keeps_the_past(cli, tmp_path, data):
    plan = tmp_path / "small.yaml"
    text = (data / "load" / "small-plan.yaml").read_text(encoding="utf-8")
    plan.write_text(text, encoding="utf-8")
    assert cli("load", plan, "--now", "2024-01-01").code == 0
    plan.write_text(text.split("  - code: bao-chi")[0], encoding="utf-8")
    result = cli("load", plan, "--now", "2024-06-15")
    assert result.code == 0, result.err
    assert "7 " in result.out  # June..December are still open: 7 cancelled
    occ = [o for o in _occurrences(cli).values() if o["obligation"] == "bao-chi"]
    assert len(occ) == 12  # nothing deleted
    closed = [o for o in occ if o["window_end"] <= "2024-06-01T00:00:00+07:00"]
    assert len(closed) == 5 and all(o["status"] == "scheduled" and o["revision"] == 1 for o in closed)
    open_ = [o for o in occ if o not in closed]
    assert all(o["status"] == "cancelled" and o["revision"] == 2 for o in open_)
    # bringing it back revives them with a higher revision
    plan.write_text(text, encoding="utf-8")
    assert cli("load", plan, "--now", "2024-06-16").code == 0
    back = [o for o in _occurrences(cli).values() if o["obligation"] == "bao-chi" and o["period"] >= "2024-06"]
    assert all(o["status"] == "scheduled" and o["revision"] == 3 for o in back)


def test_quota_reduced_cancels_the_extra_occurrences(cli, tmp_path, data):
    plan = tmp_path / "small.yaml"
    text = (data / "load" / "small-plan.yaml").read_text(encoding="utf-8")
    plan.write_text(text, encoding="utf-8")
    assert cli("load", plan, "--now", "2024-01-01").code == 0
    plan.write_text(text.replace("cadence: 2 per month", "cadence: 1 per month"), encoding="utf-8")
    assert cli("load", plan, "--now", "2024-01-01").code == 0
    occ = _occurrences(cli)
    second = [o for o in occ.values() if o["obligation"] == "radio" and o["number"] == 2]
    assert len(second) == 12 and all(o["status"] == "cancelled" for o in second)
    first = [o for o in occ.values() if o["obligation"] == "radio" and o["number"] == 1]
    # one a month is now due at the month's last working day: a visible change
    assert all(o["status"] == "scheduled" and o["revision"] == 2 for o in first)


def test_broken_file_leaves_the_database_unchanged(cli, tmp_path, data, database):
    good = tmp_path / "small.yaml"
    shutil.copy(data / "load" / "small-plan.yaml", good)
    assert cli("load", good, "--now", "2024-01-01").code == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        good.read_text(encoding="utf-8")
        .replace("host: bao", "host: bao-khong-co")
        .replace("2 per month", "3 per month"),
        encoding="utf-8",
    )
    with database.transaction() as s:
        before = s.scalar(select(func.count()).select_from(OccurrenceRow))
        loads = s.scalar(select(func.count()).select_from(LoadRow))
    result = cli("load", good, broken, "--now", "2024-02-01")
    assert result.code == 1
    assert f"{broken}:" in result.err and "bao-khong-co" in result.err
    with database.transaction() as s:
        assert s.scalar(select(func.count()).select_from(OccurrenceRow)) == before
        assert s.scalar(select(func.count()).select_from(LoadRow)) == loads


def test_milestones_are_stored_with_their_occurrences(cli, database):
    assert cli("load", "--now", "2024-01-01").code == 0
    with database.transaction() as s:
        rows = s.scalars(
            select(MilestoneRow).where(MilestoneRow.occurrence_id == "phu-tho-2024.cchc-radio-tv.2024-02.1")
        ).all()
    assert {r.step: r.day.isoformat() for r in rows} == {
        "script": "2024-01-31",
        "recording": "2024-02-02",
        "handover": "2024-02-06",
    }
