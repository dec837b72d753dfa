"""The month a calendar page shows: Monday-first weeks with the neighbouring
months' days marked, the months around it, its names in both languages."""

from __future__ import annotations

from datetime import date

import pytest

from scheduler.errors import InputError
from scheduler.feeds.month_grid import Month, month_heading, parse_month, weekday_names
from scheduler.i18n import gettext_for


def test_february_2024_starts_on_a_thursday_and_has_five_monday_first_weeks():
    weeks = parse_month("2024-02").weeks()
    assert len(weeks) == 5 and all(len(w) == 7 for w in weeks)
    assert all(w[0].day.weekday() == 0 and w[6].day.weekday() == 6 for w in weeks)
    first_week = weeks[0]
    assert [d.day for d in first_week[:3]] == [date(2024, 1, 29), date(2024, 1, 30), date(2024, 1, 31)]
    assert [d.in_month for d in first_week] == [False, False, False, True, True, True, True]
    assert first_week[3].day == date(2024, 2, 1) and first_week[3].day.weekday() == 3  # Thursday
    days = [d for w in weeks for d in w]
    inside = [d.day for d in days if d.in_month]
    assert inside[0] == date(2024, 2, 1) and inside[-1] == date(2024, 2, 29) and len(inside) == 29  # a leap year
    assert [d.day for d in days if not d.in_month][-3:] == [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)]
    assert parse_month("2024-02").span() == (date(2024, 1, 29), date(2024, 3, 4))


@pytest.mark.parametrize("key, count", [("2021-02", 4), ("2024-03", 5), ("2024-09", 6), ("2026-06", 5)])
def test_a_month_takes_four_to_six_weeks(key, count):
    weeks = parse_month(key).weeks()
    assert len(weeks) == count
    start, end = parse_month(key).span()
    assert weeks[0][0].day == start and (end - weeks[-1][-1].day).days == 1


def test_names_in_vietnamese_and_english():
    assert weekday_names("vi") == ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]
    assert weekday_names("en")[0] == "Monday" and weekday_names("en")[6] == "Sunday"
    assert weekday_names("vi", "abbreviated")[6] == "CN" and weekday_names("en", "abbreviated")[0] == "Mon"
    assert month_heading(Month(2024, 3), "vi") == "Tháng 3 năm 2024"
    assert month_heading(Month(2024, 12), "vi") == "Tháng 12 năm 2024"
    assert month_heading(Month(2024, 3), "en") == "March 2024"
    assert month_heading(Month(2025, 1), "en") == "January 2025"


@pytest.mark.parametrize("text", ["2024-13", "2024-00", "2024-3", "03/2024", "2024-03-01", "", "tháng 3", "0999-01"])
def test_a_month_that_cannot_be_read_says_what_was_expected(text):
    with pytest.raises(InputError) as caught:
        parse_month(text)
    english = caught.value.render()
    assert "YYYY-MM" in english and f'"{text}"' in english
    assert f'"{text}"' in caught.value.render(gettext_for("vi"))


def test_previous_and_next_cross_years():
    assert parse_month("2024-01").previous() == Month(2023, 12)
    assert parse_month("2023-12").next() == Month(2024, 1)
    assert parse_month(" 2024-06 ").next().key == "2024-07" and Month(2024, 6).previous().key == "2024-05"
    assert Month.of(date(2024, 3, 20)) == Month(2024, 3) and Month(2024, 3).first == date(2024, 3, 1)
    assert Month(2023, 12) < Month(2024, 1)  # months order as time does
