"""Production milestones: named steps counted back in working days from an
occurrence's due moment, and the default templates the product ships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scheduler.plan.model import MilestoneStep, Obligation
from scheduler.plan.workdays import WorkCalendar

_S = MilestoneStep

# Shipped so that a plan without a production layer still has milestones and
# reminders. The outlet's own production file replaces them per obligation.
DEFAULT_TEMPLATES: dict[str, tuple[MilestoneStep, ...]] = {
    "broadcast": (
        _S("script", "Duyệt kịch bản", "Script approved", 5),
        _S("recording", "Ghi hình, thu âm", "Recording", 3),
        _S("handover", "Bàn giao phát sóng", "Hand-over for broadcast", 1),
    ),
    "newspaper": (
        _S("draft", "Nộp bản thảo", "Draft submitted", 5),
        _S("edit", "Biên tập, duyệt bài", "Editing and approval", 2),
        _S("publication", "Đăng bài", "Publication", 0),
    ),
    "event": (
        _S("invitation", "Gửi giấy mời, thông báo", "Invitations sent", 15),
        _S("venue", "Chuẩn bị địa điểm", "Venue ready", 10),
        _S("materials", "Hoàn thiện tài liệu", "Materials ready", 5),
    ),
    "portal": (_S("review", "Rà soát chuyên trang, liên kết", "Review of the section and links", 2),),
    "report": (
        _S("draft", "Dự thảo báo cáo", "Report drafted", 3),
        _S("signature", "Trình ký báo cáo", "Report submitted for signature", 1),
    ),
}

TEMPLATE_OF_CHANNEL = {
    "radio": "broadcast",
    "tv": "broadcast",
    "print": "newspaper",
    "online": "newspaper",
    "training": "event",
    "contest": "event",
    "portal": "portal",
    "report": "report",
}


def template_for(obligation: Obligation) -> tuple[MilestoneStep, ...]:
    """The obligation's own steps, else the default of its first channel."""
    if obligation.milestones is not None:
        return obligation.milestones
    return DEFAULT_TEMPLATES[TEMPLATE_OF_CHANNEL[obligation.channels[0]]]


@dataclass(frozen=True)
class Milestone:
    occurrence: str
    step: str
    title: str
    title_en: str
    day: date
    offset: int


def milestones_of(
    occurrence_id: str, due_day: date, steps: tuple[MilestoneStep, ...], calendar: WorkCalendar
) -> tuple[Milestone, ...]:
    """Each step on the working day ``offset`` working days before ``due_day``."""
    return tuple(
        Milestone(occurrence_id, s.step, s.title, s.title_en, calendar.working_days_before(due_day, s.offset), s.offset)
        for s in steps
    )
