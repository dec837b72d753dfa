"""The channels a plan delivers through, in one registry: for each code its
names, the words plans write for it, the evidence it usually has, whether its
moment airs or is published (held), and its default milestones.

Everything that branches on a channel reads it here, so a new family is one
row. A plan file may add channels of its own (``channel_file.py`` reads
them); they are looked up beside the built-in ones, by plan.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scheduler.errors import N_

Step = tuple[str, str, str, int]  # step, title, title_en, working days before the due moment


@dataclass(frozen=True)
class EvidenceItem:
    """One piece of evidence a channel asks for; ``check`` says how it is found:
    ``duration``, ``url``, ``recording`` (a media file or a URL), ``file`` (any
    file), ``image`` (a photo), or ``field`` (a short text kept in the payload's
    ``fields``, under the item's name)."""

    name: str
    check: str
    label: str  # message id: the form's label
    gap: str  # message id: how a missing one is named


EVIDENCE = {
    e.name: e
    for e in (
        EvidenceItem("duration", "duration", N_("Duration"), N_("duration")),
        EvidenceItem("recording", "recording", N_("Files"), N_("recording file or VOD link")),
        EvidenceItem("url", "url", N_("Link (URL)"), N_("URL")),
        EvidenceItem("issue_number", "field", N_("Issue number"), N_("issue number")),
        EvidenceItem("page", "field", N_("Page"), N_("page")),
        EvidenceItem("participants", "field", N_("Participants"), N_("number of participants")),
        EvidenceItem("attendance", "file", N_("Files"), N_("attendance list or photos")),
        EvidenceItem("minutes", "file", N_("Files"), N_("minutes or attendance list")),
        EvidenceItem("photos", "image", N_("Files"), N_("photos")),
        EvidenceItem("place", "field", N_("Place"), N_("place")),
        EvidenceItem("document_number", "field", N_("Document number"), N_("document number")),
        EvidenceItem("document_date", "field", N_("Document date"), N_("document date")),
        EvidenceItem("file", "file", N_("Files"), N_("file")),
    )
}
# The text fields a delivery may carry beyond moment, duration, URL, title and note.
EVIDENCE_FIELDS = tuple(name for name, e in EVIDENCE.items() if e.check == "field")
MOMENTS = ("aired", "published")


@dataclass(frozen=True)
class Channel:
    code: str
    name: str  # Vietnamese
    name_en: str  # English; for a built-in channel also its message id
    words: tuple[str, ...] = ()  # what plans write for it, Vietnamese first
    evidence: tuple[str, ...] = ()  # names in EVIDENCE
    moment: str = "published"  # "aired" or "published" (held, put up, issued)
    template: str = ""  # the default milestones' name
    milestones: tuple[Step, ...] = ()
    done: str = N_("delivered")  # message id: the verb a delivered occurrence shows


TEMPLATES: dict[str, tuple[Step, ...]] = {
    "broadcast": (
        ("script", "Duyệt kịch bản", "Script approved", 5),
        ("recording", "Ghi hình, thu âm", "Recording", 3),
        ("handover", "Bàn giao phát sóng", "Hand-over for broadcast", 1),
    ),
    "newspaper": (
        ("draft", "Nộp bản thảo", "Draft submitted", 5),
        ("edit", "Biên tập, duyệt bài", "Editing and approval", 2),
        ("publication", "Đăng bài", "Publication", 0),
    ),
    "event": (
        ("invitation", "Gửi giấy mời, thông báo", "Invitations sent", 15),
        ("venue", "Chuẩn bị địa điểm", "Venue ready", 10),
        ("materials", "Hoàn thiện tài liệu", "Materials ready", 5),
    ),
    "portal": (("review", "Rà soát chuyên trang, liên kết", "Review of the section and links", 2),),
    "meeting": (
        ("invitation", "Gửi giấy mời, thông báo", "Invitations sent", 10),
        ("venue", "Chuẩn bị địa điểm", "Venue ready", 5),
        ("materials", "Hoàn thiện tài liệu", "Materials ready", 2),
    ),
    "display": (
        ("design", "Duyệt maket, nội dung", "Design approved", 10),
        ("print", "In ấn, sản xuất", "Printing", 5),
        ("put-up", "Treo, lắp đặt", "Put up", 0),
    ),
    "report": (
        ("draft", "Hoàn thành dự thảo", "Draft ready", 5),
        ("sign", "Trình ký", "Submitted for signature", 1),
    ),
    "social": (("draft", "Duyệt nội dung bài đăng", "Post approved", 2),),
    "loudspeaker": (("script", "Duyệt nội dung, kịch bản", "Script approved", 3),),
}


def _c(
    code: str,
    name: str,
    name_en: str,
    words: tuple[str, ...],
    evidence: tuple[str, ...],
    done: str,
    template: str = "",
    moment: str = "published",
) -> Channel:
    """A built-in row: its Vietnamese name is one of its words; its template names its milestones."""
    template = template or code
    return Channel(code, name, name_en, (name, *words), evidence, moment, template, TEMPLATES[template], done)


BROADCAST = ("duration", "recording")
EVENT = ("participants", "attendance")
BUILT_IN = (
    _c("radio", "phát thanh", N_("radio"), ("đài phát thanh",), BROADCAST, N_("aired"), "broadcast", "aired"),
    _c(
        "tv",
        "truyền hình",
        N_("television"),
        ("đài truyền hình", "television"),
        BROADCAST,
        N_("aired"),
        "broadcast",
        "aired",
    ),
    _c("print", "báo in", N_("print"), ("print newspaper",), ("issue_number", "page"), N_("published"), "newspaper"),
    _c("online", "báo điện tử", N_("online newspaper"), ("online newspaper",), ("url",), N_("published"), "newspaper"),
    _c("portal", "cổng thông tin điện tử", N_("portal"), ("trang thông tin điện tử",), ("url",), N_("checked")),
    _c("training", "tập huấn", N_("training"), ("lớp tập huấn", "bồi dưỡng"), EVENT, N_("held"), "event"),
    _c("contest", "cuộc thi", N_("contest"), ("hội thi",), EVENT, N_("held"), "event"),
    _c(
        "meeting",
        "hội nghị, đối thoại",
        N_("meeting or dialogue"),
        (
            "hội nghị",
            "đối thoại",
            "hội nghị đối thoại",
            "tọa đàm trực tiếp",
            "toạ đàm trực tiếp",
            "sinh hoạt thôn",
            "sinh hoạt tổ dân phố",
            "sinh hoạt định kỳ",
            "dialogue",
            "conference",
        ),
        ("participants", "minutes"),
        N_("held"),
    ),
    _c(
        "display",
        "tuyên truyền trực quan",
        N_("visual display"),
        ("pa nô", "pano", "áp phích", "băng rôn", "khẩu hiệu", "màn hình LED", "tranh cổ động", "poster", "banner"),
        ("photos", "place"),
        N_("put up"),
    ),
    _c(
        "report",
        "báo cáo, văn bản",
        N_("report or document"),
        ("báo cáo", "văn bản", "document"),
        ("document_number", "document_date", "file"),
        N_("issued"),
    ),
    _c(
        "social",
        "mạng xã hội",
        N_("social media"),
        ("fanpage", "Zalo OA", "trang Zalo OA", "YouTube", "trang mạng xã hội", "social media"),
        ("url",),
        N_("posted"),
    ),
    _c(
        "loudspeaker",
        "loa truyền thanh cơ sở",
        N_("loudspeaker"),
        (
            "loa truyền thanh",
            "loa thông minh",
            "loa truyền thanh thông minh",
            "đài truyền thanh xã",
            "đài truyền thanh cơ sở",
            "loudspeakers",
        ),
        BROADCAST,
        N_("aired"),
        moment="aired",
    ),
)
# In errors: a word of each family beyond broadcast and print.
EXAMPLE_WORDS = ("hội nghị", "pa nô", "báo cáo", "Zalo OA", "loa truyền thanh cơ sở")
CODES = tuple(c.code for c in BUILT_IN)
_BY_CODE = {c.code: c for c in BUILT_IN}


def key(text: str) -> str:
    """How words are compared: case and extra spaces ignored, diacritics kept.

    >>> key("  Loa  truyền thanh CƠ SỞ ") == key("loa truyền thanh cơ sở")
    True
    """
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


def _words(channels: Iterable[Channel]) -> dict[str, str]:
    found: dict[str, str] = {}
    for c in channels:
        for word in (c.code, *c.words):
            found.setdefault(key(word), c.code)
    return found


_WORDS = _words(BUILT_IN)


def code_of(word: str, own: Iterable[Channel] = ()) -> str | None:
    """The channel code a plan's word (or code) means; None when none does.

    >>> code_of("Zalo OA"), code_of("loa thông minh"), code_of("TV"), code_of("facebook")
    ('social', 'loudspeaker', 'tv', None)
    """
    own = tuple(own)
    return _WORDS.get(key(word)) or (_words(own).get(key(word)) if own else None)


def channel(code: str, own: Iterable[Channel] = ()) -> Channel | None:
    """A built-in channel, else one of the plan's own."""
    return _BY_CODE.get(code) or next((c for c in own if c.code == code), None)


def channels_of(codes: Iterable[str], own: Iterable[Channel] = ()) -> list[Channel]:
    """The known channels among ``codes``: built-ins in the registry's order, then the plan's own."""
    wanted = set(codes)
    return [c for c in (*BUILT_IN, *own) if c.code in wanted]


def moment_kind(codes: Iterable[str], own: Iterable[Channel] = ()) -> str:
    """``aired`` when any of the channels airs, else ``published``."""
    return "aired" if any(c.moment == "aired" for c in channels_of(codes, own)) else "published"


def evidence_of(codes: Iterable[str], own: Iterable[Channel] = ()) -> tuple[EvidenceItem, ...]:
    """The evidence the channels usually have, each once, in the registry's order."""
    names = dict.fromkeys(n for c in channels_of(codes, own) for n in c.evidence)
    return tuple(EVIDENCE[n] for n in names if n in EVIDENCE)


def as_definition(channels: Iterable[Channel]) -> list[dict[str, Any]]:
    """A plan's own channels as the stored plan definition keeps them (JSON)."""
    return [
        {
            **c.__dict__,
            "words": list(c.words),
            "evidence": list(c.evidence),
            "milestones": [list(s) for s in c.milestones],
        }
        for c in channels
    ]


def from_definition(definition: Mapping[str, Any] | None) -> tuple[Channel, ...]:
    """A stored plan definition's own channels (none for plans stored before they existed)."""
    rows = (definition or {}).get("channels") or []
    return tuple(
        Channel(
            str(r["code"]),
            str(r.get("name", "")),
            str(r.get("name_en", "")),
            tuple(r.get("words") or ()),
            tuple(r.get("evidence") or ()),
            str(r.get("moment") or "published"),
            str(r.get("template") or ""),
            tuple((str(s[0]), str(s[1]), str(s[2]), int(s[3])) for s in r.get("milestones") or ()),
            str(r.get("done") or N_("delivered")),
        )
        for r in rows
    )
