"""What an outlet's production file says about harvesting its own records
(issue 17): how its as-run log is laid out, which feeds and sitemaps it
publishes, whether matched proposals are recorded without a person, and per
obligation how its work is recognised (``match``) or checked (``checks``).

Values only; reading them from YAML with file:line errors is
``plan/harvest_fields.py``. The shape in a production file::

    production: {plan: phu-tho-2024, owner: dai-ptth}
    harvest:
      account: thu-thap@daiptth.phutho.example   # who records automatically
      auto_record: false                         # true: matched proposals are recorded at once
      asrun:                                     # the playout system's export
        format: csv                              # csv, tsv, libretime-csv, libretime-api
        columns: {start: Giờ phát, end: Kết thúc, duration: Thời lượng, title: Tên chương trình, code: Mã}
        date_format: "%d/%m/%Y %H:%M:%S"         # strptime; empty: ISO 8601 or dd/mm/yyyy HH:MM[:SS]
        timezone: Asia/Ho_Chi_Minh               # empty: the plan's
        url: http://playout.daiptth.local        # libretime-api only: the instance
        api_key_file: /etc/lich/libretime.key    # libretime-api only: a file holding the key (never the key)
      feeds: [https://baophutho.vn/rss/cai-cach-hanh-chinh.rss]
      sitemaps: [https://baophutho.vn/sitemap-news.xml]
    obligations:
      cchc-radio-tv:
        match: {titles: ["Cải cách hành chính*"], codes: [CCHC], exclude: ["*giới thiệu*"]}
      bao-phu-tho-cchc:
        match: {categories: [Cải cách hành chính], tags: [CCHC], keywords: [cải cách hành chính]}
      cong-tttt-chuyen-trang:
        checks:
          - {url: "https://sotttt.phutho.gov.vn/cchc", expect_link: "https://dichvucong.gov.vn"}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ASRUN_FORMATS = ("csv", "tsv", "libretime-csv", "libretime-api")


@dataclass(frozen=True)
class Match:
    """How an outlet's records name an obligation's work. Every pattern is
    compared after ``harvest.titles.normal`` (case, diacritics, đ, punctuation
    folded); ``*`` stands for any run of words, and a pattern without ``*``
    matches anywhere in the title."""

    titles: tuple[str, ...] = ()  # aired or published titles
    codes: tuple[str, ...] = ()  # program codes of the as-run log (exact, case-insensitive)
    categories: tuple[str, ...] = ()  # a feed entry's categories or sections
    tags: tuple[str, ...] = ()  # a feed entry's tags
    keywords: tuple[str, ...] = ()  # words in an article's title or summary
    exclude: tuple[str, ...] = ()  # title patterns that never match (a trailer, a promo)


@dataclass(frozen=True)
class Check:
    """A URL a continuous obligation keeps up, checked once a day: it must
    answer 2xx and, when given, contain a link starting with ``expect_link``
    and the text ``expect_text`` (compared folded, as titles)."""

    url: str
    expect_link: str = ""
    expect_text: str = ""


@dataclass(frozen=True)
class AsrunLayout:
    """Where an as-run export keeps what aired. Empty column names take the
    defaults ``harvest.asrun.DEFAULT_COLUMNS`` (start, end, duration, title,
    code and their Vietnamese words)."""

    format: str = "csv"  # ASRUN_FORMATS
    start: str = ""
    end: str = ""
    duration: str = ""
    title: str = ""
    code: str = ""
    date_format: str = ""
    timezone: str = ""
    url: str = ""  # libretime-api
    api_key_file: str = ""  # libretime-api: a path; the key itself is never in a schedule file


@dataclass(frozen=True)
class OutletHarvest:
    """One production layer's ``harvest:`` section (the layer's owner is the outlet)."""

    outlet: str
    account: str = ""  # "" : "thu-thap+OUTLET" (``harvest.proposals.account_of``)
    auto_record: bool = False
    asrun: AsrunLayout | None = None
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    where: str = ""  # file:line of the section, for messages


def match_from(value: Any) -> Match | None:
    """A stored obligation definition's ``match`` (``store/schedule.py`` keeps
    dataclasses as dicts) back to its value."""
    if not isinstance(value, dict):
        return None
    return Match(**{k: tuple(value.get(k) or ()) for k in Match.__dataclass_fields__})


def checks_from(value: Any) -> tuple[Check, ...]:
    return tuple(Check(**{k: str(c.get(k) or "") for k in Check.__dataclass_fields__}) for c in value or ())


def outlet_from(value: dict[str, Any]) -> OutletHarvest:
    """A stored plan definition's ``outlets`` item back to its value."""
    asrun = value.get("asrun")
    return OutletHarvest(
        outlet=str(value["outlet"]),
        account=str(value.get("account") or ""),
        auto_record=bool(value.get("auto_record")),
        asrun=AsrunLayout(**{k: str(asrun.get(k) or "") for k in AsrunLayout.__dataclass_fields__})
        if isinstance(asrun, dict)
        else None,
        feeds=tuple(value.get("feeds") or ()),
        sitemaps=tuple(value.get("sitemaps") or ()),
        where=str(value.get("where") or ""),
    )
