"""Production milestones: named steps counted back in working days from an
occurrence's due moment, and the default templates the product ships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scheduler.plan.channels import BUILT_IN, TEMPLATES, Channel, channel
from scheduler.plan.model import MilestoneStep, Obligation
from scheduler.plan.workdays import WorkCalendar

# Shipped so that a plan without a production layer still has milestones and
# reminders. The outlet's own production file replaces them per obligation.
DEFAULT_TEMPLATES: dict[str, tuple[MilestoneStep, ...]] = {
    name: tuple(MilestoneStep(*s) for s in steps) for name, steps in TEMPLATES.items()
}
TEMPLATE_OF_CHANNEL = {c.code: c.template for c in BUILT_IN}


def template_for(obligation: Obligation, own: tuple[Channel, ...] = ()) -> tuple[MilestoneStep, ...]:
    """The obligation's own steps, else the default of its first channel
    (a plan's own channel brings its own steps)."""
    if obligation.milestones is not None:
        return obligation.milestones
    first = channel(obligation.channels[0], own)
    return tuple(MilestoneStep(*s) for s in first.milestones) if first else ()


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
