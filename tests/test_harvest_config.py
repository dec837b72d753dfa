"""The harvest configuration (issue 17), from a production file to the
database: every mistake at its file:line with what is accepted, the
warnings of what nothing would read, the stored definitions read back, and
the sources the daemon reads kept in step with the files on SQLite and
PostgreSQL, in the load's one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from scheduler.errors import ScheduleError
from scheduler.plan.harvest_settings import checks_from, match_from, outlet_from
from scheduler.plan.production import read_texts
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.harvest_sources import outlet_harvest, outlets_of
from scheduler.store.loading import save_schedules
from scheduler.store.tables import HarvestSourceRow, ObligationRow, PlanRow

FORMS = Path(__file__).parent / "data" / "forms"
NOW = datetime(2024, 3, 15, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
PLAN = ("plan.yaml", (FORMS / "production-plan.yaml").read_text(encoding="utf-8"))
CONTINUOUS = ("continuous.yaml", (FORMS / "continuous.yaml").read_text(encoding="utf-8"))


def form(name: str) -> tuple[str, str]:
    return (name, (FORMS / name).read_text(encoding="utf-8"))


def station(harvest: str = "", obligations: str = "  cchc-radio-tv: {}\n", owner: str = "dai-ptth") -> str:
    """A production layer of plan forms-production; ``harvest`` is the
    section's body (indented two spaces), ``obligations`` the layer's."""
    head = f"production:\n  plan: forms-production\n  owner: {owner}\n"
    section = f"harvest:\n{harvest}" if harvest else ""
    return f"{head}{section}obligations:\n{obligations}"


def problems(*texts: tuple[str, str]) -> list[str]:
    with pytest.raises(ScheduleError) as caught:
        read_texts(list(texts))
    return [p.render() for p in caught.value.problems]


def warnings(*texts: tuple[str, str]) -> list[str]:
    return [w.render() for w in read_texts(list(texts)).warnings]


def line(text: str, needle: str) -> int:
    return next(i for i, row in enumerate(text.splitlines(), 1) if needle in row)


LONG_URL = "https://baophutho.example/" + "a" * 2000
FEEDS_51 = "".join(f"    - https://baophutho.example/rss/{i}.rss\n" for i in range(51))
TITLES_51 = "[" + ", ".join(f"muc {i}" for i in range(51)) + "]"
BAD_URL = (
    'expected a web address starting with http:// or https://, with a host and without "user:password@", '
    "at most 2,000 characters, got"
)

# (the layer's harvest section, its obligations, the line's needle, the field, the message)
ERRORS = [
    (
        "  feed: [https://baophutho.example/rss]\n",
        "  cchc-radio-tv: {}\n",
        "feed:",
        "harvest.feed",
        "unknown field (allowed: account, auto_record, asrun, feeds, sitemaps)",
    ),
    (
        "  asrun: {format: excel}\n",
        "  cchc-radio-tv: {}\n",
        "asrun:",
        "harvest.asrun.format",
        'unknown as-run format "excel" (allowed: csv, tsv, libretime-csv, libretime-api)',
    ),
    (
        "  asrun: {timezone: GMT+7}\n",
        "  cchc-radio-tv: {}\n",
        "asrun:",
        "harvest.asrun.timezone",
        'unknown time zone "GMT+7" (an IANA name such as Asia/Ho_Chi_Minh)',
    ),
    (
        '  asrun:\n    date_format: "%d/%m %H:%M"\n',
        "  cchc-radio-tv: {}\n",
        "date_format",
        "harvest.asrun.date_format",
        'expected a date format that writes and reads back a day and time, such as "%d/%m/%Y %H:%M:%S" '
        '(Python strptime), got "%d/%m %H:%M"',
    ),
    (
        "  asrun:\n    date_format: dd/mm/yyyy hh:mm\n",
        "  cchc-radio-tv: {}\n",
        "date_format",
        "harvest.asrun.date_format",
        '(Python strptime), got "dd/mm/yyyy hh:mm"',
    ),
    (
        "  asrun:\n    columns: {start: Giờ phát, ends: Kết thúc}\n",
        "  cchc-radio-tv: {}\n",
        "columns",
        "harvest.asrun.columns.ends",
        "unknown field (allowed: start, end, duration, title, code)",
    ),
    (
        f"  asrun:\n    columns: {{title: {'x' * 201}}}\n",
        "  cchc-radio-tv: {}\n",
        "columns",
        "harvest.asrun.columns.title",
        "expected text of at most 200 characters",
    ),
    (
        "  asrun: {format: csv, api_key_file: /etc/lich/libretime.key}\n",
        "  cchc-radio-tv: {}\n",
        "asrun:",
        "harvest.asrun.api_key_file",
        '"api_key_file" is only read with format libretime-api (this layout\'s format is csv)',
    ),
    (
        "  asrun: {format: libretime-api}\n",
        "  cchc-radio-tv: {}\n",
        "asrun:",
        "harvest.asrun.url",
        'format libretime-api needs "url": the address of the LibreTime instance',
    ),
    (
        "  asrun: {format: libretime-api, url: ftp://playout.daiptth.local}\n",
        "  cchc-radio-tv: {}\n",
        "asrun:",
        "harvest.asrun.url",
        f'{BAD_URL} "ftp://playout.daiptth.local"',
    ),
    (
        "  feeds: [http://bientap:matkhau@baophutho.example/rss]\n",
        "  cchc-radio-tv: {}\n",
        "feeds:",
        "harvest.feeds[0]",
        f'{BAD_URL} "http://bientap:matkhau@baophutho.example/rss"',
    ),
    (
        "  sitemaps: ['https:///sitemap.xml']\n",
        "  cchc-radio-tv: {}\n",
        "sitemaps:",
        "harvest.sitemaps[0]",
        f'{BAD_URL} "https:///sitemap.xml"',
    ),
    (
        f"  feeds: [{LONG_URL}]\n",
        "  cchc-radio-tv: {}\n",
        "feeds:",
        "harvest.feeds[0]",
        BAD_URL,
    ),
    (
        f"  feeds:\n{FEEDS_51}",
        "  cchc-radio-tv: {}\n",
        "feeds:",
        "harvest.feeds",
        "at most 50 items, got 51",
    ),
    (
        "  account: Thu Thập\n",
        "  cchc-radio-tv: {}\n",
        "account:",
        "harvest.account",
        'expected an email address or a code (lowercase letters, digits and "-"), got "Thu Thập"',
    ),
    (
        "  auto_record: có\n",
        "  cchc-radio-tv: {}\n",
        "auto_record:",
        "harvest.auto_record",
        'expected true or false (a YAML boolean; "có" and "không" are not read as one), got "có"',
    ),
    (
        "  auto_record: false\n",
        "  cchc-radio-tv:\n    match: {title: [Cải cách hành chính]}\n",
        "title:",
        "obligations.cchc-radio-tv.match.title",
        "unknown field (allowed: titles, codes, categories, tags, keywords, exclude)",
    ),
    (
        "  auto_record: false\n",
        "  cchc-radio-tv:\n    match: {titles: ['*', Cải cách hành chính]}\n",
        "titles:",
        "obligations.cchc-radio-tv.match.titles[0]",
        'expected words to look for (at least one letter or digit; "*" stands for any words), got "*"',
    ),
    (
        "  auto_record: false\n",
        f"  cchc-radio-tv:\n    match: {{titles: {TITLES_51}}}\n",
        "titles:",
        "obligations.cchc-radio-tv.match.titles",
        "at most 50 items, got 51",
    ),
    (
        "  auto_record: false\n",
        f"  cchc-radio-tv:\n    match: {{codes: [{'C' * 201}]}}\n",
        "codes:",
        "obligations.cchc-radio-tv.match.codes[0]",
        "expected text of at most 200 characters",
    ),
    (
        "  auto_record: false\n",
        "  cchc-radio-tv:\n    match: {exclude: ['*giới thiệu*']}\n",
        "match:",
        "obligations.cchc-radio-tv.match",
        "expected at least one of titles, codes, categories, tags, keywords",
    ),
    (
        "  auto_record: false\n",
        "  toa-dam-cchc:\n    checks:\n      - {url: javascript:alert(1)}\n",
        "- {url",
        "obligations.toa-dam-cchc.checks[0].url",
        f'{BAD_URL} "javascript:alert(1)"',
    ),
    (
        "  auto_record: false\n",
        "  toa-dam-cchc:\n    checks:\n      - {expect_link: https://dichvucong.gov.vn}\n",
        "- {expect",
        "obligations.toa-dam-cchc.checks[0].url",
        'missing field "url"',
    ),
]


@pytest.mark.parametrize("harvest, obligations, needle, field, message", ERRORS)
def test_each_mistake_is_named_at_its_line_with_what_is_accepted(harvest, obligations, needle, field, message):
    text = station(harvest, obligations)
    found = problems(PLAN, ("layer.yaml", text))
    prefix = f"layer.yaml:{line(text, needle)}: {field}: "
    assert any(p.startswith(prefix) and message in p for p in found), found


def test_a_second_harvest_section_of_one_outlet_names_both_places():
    first = station("  auto_record: true\n")
    second = station("  feeds: [https://daiptth.example/rss]\n", "  toa-dam-cchc: {}\n")
    found = problems(PLAN, ("a.yaml", first), ("b.yaml", second))
    assert found == [
        "b.yaml:4: harvest: the harvest settings of dai-ptth for plan forms-production are already given in "
        "a.yaml:4; give them once"
    ]


def test_the_examples_read_into_values():
    schedules = read_texts([PLAN, form("harvest.yaml"), form("harvest-asrun.yaml")])
    assert schedules.warnings == ()
    (plan,) = schedules.plans
    by_outlet = {h.outlet: h for h in plan.outlets}
    paper, tv = by_outlet["bao-phu-tho"], by_outlet["dai-ptth"]
    assert paper.feeds == ("https://baophutho.example/rss/cai-cach-hanh-chinh.rss",)
    assert paper.account == "thu-thap@baophutho.example" and paper.auto_record is False
    assert tv.auto_record is True and tv.asrun is not None
    assert (tv.asrun.start, tv.asrun.end, tv.asrun.duration, tv.asrun.title) == (
        "Giờ phát",
        "Kết thúc",
        "",
        "Tên chương trình",
    )
    assert tv.where == "harvest-asrun.yaml:7"  # the section's file:line, for messages
    obligations = {o.code: o for o in plan.obligations}
    assert obligations["cchc-radio-tv"].match.codes == ("CCHC",)
    assert obligations["bao-phu-tho-cchc"].match.categories == ("Cải cách hành chính",)
    assert obligations["toa-dam-cchc"].match is None


# ------------------------------------------------------------------ warnings


def test_checks_on_an_obligation_not_continuous_warn():
    text = station(
        "  auto_record: false\n", "  toa-dam-cchc:\n    checks: [{url: 'https://daiptth.example/toa-dam'}]\n"
    )
    assert warnings(PLAN, ("layer.yaml", text)) == [
        f"layer.yaml:{line(text, 'checks')}: obligations.toa-dam-cchc.checks: the checks are made, but only a "
        'continuous obligation (cadence continuous) is attested from them; this one is "window 2024-Q4"'
    ]


def test_checks_on_a_continuous_obligation_do_not_warn():
    assert warnings(CONTINUOUS, form("harvest-checks.yaml")) == []


def test_a_match_nothing_reads_warns_unless_another_layer_of_the_outlet_has_the_section():
    matching = station(obligations="  cchc-radio-tv:\n    match: {titles: [Cải cách hành chính]}\n")
    said = warnings(PLAN, ("match.yaml", matching))
    assert said == [
        f"match.yaml:{line(matching, 'match:')}: obligations.cchc-radio-tv.match: nothing reads this match: "
        'dai-ptth has no "harvest:" section in any production file of plan forms-production'
    ]
    section = station("  auto_record: true\n", "  toa-dam-cchc: {}\n")
    for order in ([("a.yaml", section), ("match.yaml", matching)], [("match.yaml", matching), ("z.yaml", section)]):
        assert warnings(PLAN, *order) == []
    other_outlet = station("  auto_record: true\n", "  bao-phu-tho-cchc: {}\n", owner="bao-phu-tho")
    assert len(warnings(PLAN, ("match.yaml", matching), ("paper.yaml", other_outlet))) == 1


def test_feed_words_on_an_aired_only_obligation_warn():
    text = station("  auto_record: false\n", "  cchc-radio-tv:\n    match: {categories: [Cải cách hành chính]}\n")
    assert warnings(PLAN, ("layer.yaml", text)) == [
        f"layer.yaml:{line(text, 'match:')}: obligations.cchc-radio-tv.match: categories, tags and keywords are "
        "read from feeds, and this obligation is aired only (radio, tv): as-run logs have none, so nothing "
        "matches; add titles or codes"
    ]
    titled = station(
        "  auto_record: false\n", "  cchc-radio-tv:\n    match: {categories: [CCHC], titles: [Cải cách*]}\n"
    )
    assert warnings(PLAN, ("layer.yaml", titled)) == []
    paper = station(
        "  auto_record: false\n", "  bao-phu-tho-cchc:\n    match: {keywords: [cải cách]}\n", owner="bao-phu-tho"
    )
    assert warnings(PLAN, ("layer.yaml", paper)) == []  # print and online: its feed has categories


# ------------------------------------------------------------------- stored

PLAYOUT = station(
    "  asrun:\n    format: libretime-api\n    url: http://Playout.DaiPTTH.local:8080/\n"
    "    api_key_file: /etc/lich/libretime.key\n    timezone: Asia/Ho_Chi_Minh\n",
    "  cchc-radio-tv:\n    match: {titles: ['Cải cách hành chính*'], codes: [CCHC]}\n",
)


def load(db: Database, *files: tuple[str, str], now: datetime = NOW) -> None:
    """The files in one transaction, as ``main.py load`` does."""
    schedules = read_texts(list(files))
    with db.transaction() as s:
        save_schedules(s, schedules.plans, {}, now, Settings.load(env={}))


def sources(db: Database) -> dict[tuple[str, str, str, str, str], HarvestSourceRow]:
    with db.transaction() as s:
        rows = s.scalars(select(HarvestSourceRow)).all()
        return {(r.kind, r.url, r.outlet, r.plan_code, r.obligation_code): r for r in rows}


def snapshot(db: Database) -> list[tuple]:
    return sorted((r.id, *key, r.host, r.config, r.active, r.next_at, r.failures) for key, r in sources(db).items())


EVERYTHING = (PLAN, form("harvest.yaml"), ("playout.yaml", PLAYOUT), CONTINUOUS, form("harvest-checks.yaml"))


def test_stored_definitions_read_back_as_the_values(database):
    load(database, *EVERYTHING)
    plans = {p.code: p for p in read_texts(list(EVERYTHING)).plans}
    with database.transaction() as s:
        for row in s.scalars(select(PlanRow)):
            assert tuple(outlet_from(d) for d in row.definition["outlets"]) == plans[row.code].outlets
        for row in s.scalars(select(ObligationRow)):
            obligation = next(o for o in plans[row.plan_code].obligations if o.code == row.code)
            assert match_from(row.definition["match"]) == obligation.match
            assert checks_from(row.definition["checks"]) == obligation.checks
    assert plans["forms-production"].outlets and any(o.checks for o in plans["forms-continuous"].obligations)


def test_sources_are_what_the_files_name(database):
    load(database, *EVERYTHING)
    found = sources(database)
    assert set(found) == {
        ("feed", "https://baophutho.example/rss/cai-cach-hanh-chinh.rss", "bao-phu-tho", "forms-production", ""),
        ("sitemap", "https://baophutho.example/sitemap-news.xml", "bao-phu-tho", "forms-production", ""),
        ("playout", "http://Playout.DaiPTTH.local:8080/", "dai-ptth", "forms-production", ""),
        ("check", "https://sotttt.phutho.example/cchc", "so-tttt", "forms-continuous", "chuyen-trang-cchc"),
        ("check", "https://sotttt.phutho.example/", "so-tttt", "forms-continuous", "lien-ket-dvc"),
    }
    assert all(r.active and r.next_at == NOW and r.failures == 0 and r.last_at is None for r in found.values())
    by_kind = {k[0]: r for k, r in found.items()}
    assert by_kind["feed"].host == "baophutho.example"
    playout = by_kind["playout"]
    assert playout.host == "playout.daiptth.local:8080"
    assert playout.config["format"] == "libretime-api"
    assert playout.config["api_key_file"] == "/etc/lich/libretime.key"  # the path, never the key
    assert set(playout.config) == {
        "format", "start", "end", "duration", "title", "code", "date_format", "timezone", "url", "api_key_file"
    }  # fmt: skip
    link = found[("check", "https://sotttt.phutho.example/", "so-tttt", "forms-continuous", "lien-ket-dvc")]
    assert link.config == {"expect_link": "https://dichvucong.gov.vn", "expect_text": ""}


def test_loading_twice_changes_nothing(database):
    load(database, *EVERYTHING)
    before = snapshot(database)
    load(database, *EVERYTHING, now=NOW + timedelta(days=3))
    assert snapshot(database) == before


def test_a_source_no_longer_named_is_kept_inactive_and_comes_back(database):
    load(database, *EVERYTHING)
    feed = ("feed", "https://baophutho.example/rss/cai-cach-hanh-chinh.rss", "bao-phu-tho", "forms-production", "")
    first = sources(database)[feed].id
    with database.transaction() as s:  # the daemon has read it once
        s.get(HarvestSourceRow, first).last_at = NOW
    without = [f for f in EVERYTHING if f[0] != "harvest.yaml"]
    load(database, *without, now=NOW + timedelta(days=1))
    found = sources(database)
    assert found[feed].active is False and found[feed].last_at is not None  # kept, with its history
    sitemap = ("sitemap", "https://baophutho.example/sitemap-news.xml", *feed[2:])
    assert {k for k, r in found.items() if not r.active} == {feed, sitemap}
    assert all(r.active for k, r in found.items() if k[2] != "bao-phu-tho")
    load(database, *EVERYTHING, now=NOW + timedelta(days=2))
    again = sources(database)
    assert again[feed].active is True and again[feed].id == first
    assert len(again) == 5


def test_a_changed_check_keeps_its_row_with_the_new_expectation(database):
    load(database, *EVERYTHING)
    changed = form("harvest-checks.yaml")[1].replace("https://dichvucong.gov.vn", "https://dichvucong.phutho.gov.vn")
    files = [f if f[0] != "harvest-checks.yaml" else ("harvest-checks.yaml", changed) for f in EVERYTHING]
    before = sources(database)
    load(database, *files)
    after = sources(database)
    key = ("check", "https://sotttt.phutho.example/", "so-tttt", "forms-continuous", "lien-ket-dvc")
    assert after[key].id == before[key].id
    assert after[key].config["expect_link"] == "https://dichvucong.phutho.gov.vn"


def test_the_outlet_settings_are_the_latest_plans(database):
    later = PLAN[1].replace("code: forms-production", "code: forms-2025").replace("2024", "2025")
    later_layer = station("  auto_record: true\n  feeds: [https://daiptth.example/rss]\n").replace(
        "plan: forms-production", "plan: forms-2025"
    )
    load(database, *EVERYTHING, ("later.yaml", later), ("later-layer.yaml", later_layer))
    with database.transaction() as s:
        tv = outlet_harvest(s, "dai-ptth")
        assert tv is not None and tv.auto_record is True and tv.feeds == ("https://daiptth.example/rss",)
        assert tv.asrun is None  # 2025's section, not 2024's
        paper = outlet_harvest(s, "bao-phu-tho")
        assert paper is not None and paper.account == "thu-thap@baophutho.example"
        assert outlet_harvest(s, "so-tttt") is None  # checks only: no harvest section
        assert outlets_of(s) == ["bao-phu-tho", "dai-ptth"]


def test_a_failed_load_writes_no_source(database, monkeypatch):
    import scheduler.store.loading as loading

    def broken(*args, **kwargs):
        raise RuntimeError("the mail queue is down")

    monkeypatch.setattr(loading, "enqueue_notices", broken)
    with pytest.raises(RuntimeError):
        load(database, *EVERYTHING)
    with database.transaction() as s:
        assert s.scalar(select(func.count()).select_from(HarvestSourceRow)) == 0
        assert s.scalar(select(func.count()).select_from(PlanRow)) == 0


def test_a_bad_harvest_file_loads_nothing(cli, tmp_path):
    for name in ("production-plan.yaml", "harvest.yaml"):
        (tmp_path / name).write_text((FORMS / name).read_text(encoding="utf-8"), encoding="utf-8")
    bad = tmp_path / "playout.yaml"
    bad.write_text(PLAYOUT.replace("libretime-api", "libretime"), encoding="utf-8")
    result = cli("load", tmp_path, "--now", "2024-03-15")
    assert result.code != 0
    assert result.err.startswith(
        f'{bad}:6: harvest.asrun.format: định dạng nhật ký phát sóng "libretime" không được hỗ trợ '
        "(được phép: csv, tsv, libretime-csv, libretime-api)\n"  # the command speaks Vietnamese first
    )
    assert cli("occurrences", "--format", "json").out.strip() == "[]"  # nothing loaded
    bad.write_text(PLAYOUT, encoding="utf-8")
    good = cli("load", tmp_path, "--now", "2024-03-15")
    assert good.code == 0, good.err
    assert cli("occurrences", "--format", "json").out.strip() != "[]"


def test_addresses_and_their_hosts():
    from scheduler.plan.harvest_fields import host_of, web_address

    assert host_of("HTTPS://Bao.PhuTho.Example/rss") == "bao.phutho.example"
    assert host_of("http://127.0.0.1:8080/feed") == "127.0.0.1:8080"
    assert host_of("http://[::1]:8080/feed") == "[::1]:8080"
    assert web_address("http://[::1]:8080/feed") and web_address("https://baophutho.example")
    for bad in ("http://h:99999/", "http://a b.example/", "file:///etc/passwd", "//baophutho.example/", ""):
        assert not web_address(bad), bad
