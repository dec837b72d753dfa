"""Properties of expansion over generated cadences (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.plan.cadence import Continuous, Deadlines, OneOff, Quota, Span
from scheduler.plan.model import Agency, Obligation, Plan
from scheduler.plan.occurrences import expand_obligation
from scheduler.plan.periods import UNITS, Period, period_of

CHANNEL_SETS = [("radio", "tv"), ("print", "online"), ("training",), ("contest",), ("portal",)]


def plan_with(cadence, start: date, end: date, channels=("radio",)) -> tuple[Plan, Obligation]:
    ob = Obligation(code="ob", title="Nhiệm vụ", host="a", channels=channels, cadence=cadence)
    plan = Plan(
        code="p",
        title="Kế hoạch",
        issuer="UBND",
        period=Period(start, end, "span"),
        agencies=(Agency("a", "Cơ quan"),),
        obligations=(ob,),
    )
    return plan, ob


spans = st.builds(
    lambda start, days: (start, start + timedelta(days=days)),
    st.dates(min_value=date(2023, 1, 1), max_value=date(2027, 12, 31)),
    st.integers(min_value=1, max_value=3 * 366),
)


@settings(max_examples=60, deadline=None)
@given(span=spans, count=st.integers(1, 6), unit=st.sampled_from(UNITS), channels=st.sampled_from(CHANNEL_SETS))
def test_quota_owes_quota_times_periods_and_periods_tile_the_span(span, count, unit, channels):
    start, end = span
    plan, ob = plan_with(Quota(count, unit), start, end, channels)
    occurrences = expand_obligation(plan, ob)
    windows = sorted({(o.window.start, o.window.end, o.period) for o in occurrences})
    # the periods tile the span: first starts at its start, each ends where the next starts
    assert windows[0][0] == start and windows[-1][1] == end
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:]))
    assert len(occurrences) == count * len(windows)
    # each period is one calendar unit (clipped at the edges), labelled as such
    for w_start, w_end, label in windows:
        whole = period_of(unit, w_start)
        assert whole.label == label and whole.start <= w_start and w_end <= whole.end
    # occurrences of one window share it and are numbered 1..count
    for _, _, label in windows:
        assert sorted(o.number for o in occurrences if o.period == label) == list(range(1, count + 1))


@settings(max_examples=60, deadline=None)
@given(span=spans, count=st.integers(1, 4), unit=st.sampled_from(UNITS), channels=st.sampled_from(CHANNEL_SETS))
def test_due_moments_lie_in_their_window_and_milestones_on_working_days_before(span, count, unit, channels):
    start, end = span
    plan, ob = plan_with(Quota(count, unit), start, end, channels)
    calendar = plan.calendar
    for o in expand_obligation(plan, ob):
        assert o.window.start <= o.due.date() < o.window.end
        assert o.milestones
        for m in o.milestones:
            assert calendar.is_working_day(m.day)
            assert m.day <= o.due.date()
            if m.offset > 0:
                assert m.day < o.due.date()


@settings(max_examples=40, deadline=None)
@given(span=spans, count=st.integers(1, 4), unit=st.sampled_from(UNITS))
def test_expansion_is_deterministic(span, count, unit):
    start, end = span
    plan, ob = plan_with(Quota(count, unit), start, end)
    assert expand_obligation(plan, ob) == expand_obligation(plan, ob)
    ids = [o.id for o in expand_obligation(plan, ob)]
    assert len(ids) == len(set(ids))


@settings(max_examples=40, deadline=None)
@given(span=spans, attest=st.sampled_from(("month", "quarter", "half-year", "year")))
def test_continuous_attestations_tile_the_span(span, attest):
    start, end = span
    plan, ob = plan_with(Continuous(attest), start, end, ("portal",))
    occ = expand_obligation(plan, ob)
    assert occ[0].window.start == start and occ[-1].window.end == end
    assert all(a.window.end == b.window.start for a, b in zip(occ, occ[1:]))


@settings(max_examples=40, deadline=None)
@given(
    days=st.lists(
        st.dates(min_value=date(2024, 1, 1), max_value=date(2024, 12, 31)), min_size=1, max_size=8, unique=True
    )
)
def test_deadlines_split_the_plan_without_gaps(days):
    days = sorted(days)
    plan, ob = plan_with(Deadlines(tuple(days)), date(2024, 1, 1), date(2025, 1, 1))
    occ = expand_obligation(plan, ob)
    assert [o.window.last_day for o in occ] == days
    assert occ[0].window.start == date(2024, 1, 1)
    assert all(a.window.end == b.window.start for a, b in zip(occ, occ[1:]))


def test_one_off_and_span_owe_their_count_in_one_window():
    q4 = period_of("quarter", date(2024, 11, 1))
    plan, ob = plan_with(OneOff(q4, 2), date(2024, 1, 1), date(2025, 1, 1))
    occ = expand_obligation(plan, ob)
    assert [(o.period, o.number) for o in occ] == [("2024-Q4", 1), ("2024-Q4", 2)]
    q2 = period_of("quarter", date(2024, 4, 1))
    plan, ob = plan_with(Span(q2, q4), date(2024, 1, 1), date(2025, 1, 1), ("training",))
    (o,) = expand_obligation(plan, ob)
    assert (o.window.start, o.window.last_day) == (date(2024, 4, 1), date(2024, 12, 31))
    assert o.id == "p.ob.2024-Q2_2024-Q4.1"
