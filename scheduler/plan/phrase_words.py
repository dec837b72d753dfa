"""The words of the plan's cadence phrases (the vocabulary ``phrases`` reads):
counting words, units, days, times and periods as regular expressions, and
the error that lists the accepted forms."""

from __future__ import annotations

import re

from scheduler.errors import N_
from scheduler.plan.periods import UNIT_WORDS

# What a string cadence may be; the Vietnamese catalog lists the plan's words.
PHRASE_ERROR = N_(
    'expected "N per week|month|quarter|half-year|year", got "{value}" (or the plan\'s own words: '
    '"02 số/tháng", "ít nhất 03 tin, bài mỗi tháng", "hằng tuần vào thứ Ba lúc 20 giờ", "Quý III/2026", '
    '"6 tháng đầu năm", "từ quý II đến quý IV", "trước ngày 31/10/2026"; see schedule-format.md, 6.0)'
)

# Counting words plans put between the number and the unit ("02 số/tháng").
COUNTING_WORDS = (
    "số", "kỳ", "lần", "buổi", "tin", "bài", "tin, bài", "tin bài", "bài viết", "chương trình",
    "cuộc", "cuộc thi", "lớp", "hội nghị", "hội thảo", "phóng sự", "chuyên mục", "chuyên trang",
    "bản tin", "tiết mục", "đợt", "tọa đàm", "toạ đàm", "sản phẩm", "ấn phẩm", "video", "clip",
    "báo cáo", "lượt", "hoạt động", "văn bản", "pa nô", "băng rôn", "tờ gấp", "tờ rơi",
)  # fmt: skip


def _words(words: tuple[str, ...] | list[str]) -> str:
    """An alternation of ``words``, longest first, spaces and commas tolerant."""
    spelled = [re.escape(w).replace(",\\ ", r"\s*,\s*").replace("\\ ", r"\s+") for w in words]
    return "(?:" + "|".join(sorted(spelled, key=len, reverse=True)) + ")"


N = r"(?P<n>\d{1,4})"
WORD = _words(COUNTING_WORDS)
UNIT = "(?P<unit>" + _words(sorted(UNIT_WORDS)) + ")"
JOIN = r"(?:\s*/\s*|\s*(?:per|an|a|each|mỗi|một|trên)\s*)"
AT_LEAST = r"(?P<min>(?:tối\s+thiểu|ít\s+nhất)\s+)"
EVERY = r"(?:hằng|hàng|mỗi)"
DAY = r"(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ\s+nhật)"
DAYS = rf"(?P<days>{DAY}(?:\s*(?:,|và)\s*{DAY})*)"
PART = r"(?:(?:buổi\s+)?(?P<part>sáng|trưa|chiều|tối)\s+)?"
WEEKS = r"(?:\s+tuần\s+thứ\s+(?P<weeks>[1-5](?:\s*(?:,|và)\s*(?:thứ\s+)?[1-5])*))?"
TIME = r"(?P<h>\d{1,2})\s*(?:giờ|h|:)\s*(?P<m>\d{1,2})?(?:\s*phút)?(?:\s+(?P<tpart>sáng|trưa|chiều|tối))?"
AT = rf"(?:\s*,?\s*(?:vào\s+)?lúc\s+{TIME})?"
PRE = r"(?:(?:thực\s+hiện|tổ\s+chức|triển\s+khai|hoàn\s+thành)\s+)?(?:(?:trong|vào)\s+)?"
YEAR = r"(?:\s*/\s*\d{4}|\s+năm\s+\d{4})?"
QUARTER = rf"(?:quý|Q)\s*(?:IV|III|II|I|[1-4]){YEAR}"
MONTH = rf"tháng\s+\d{{1,2}}{YEAR}"
HALF = r"(?:6\s+tháng|nửa)\s+(?:đầu|cuối)\s+năm(?:\s+\d{4})?"
WHOLE = r"(?:cả\s+)?năm(?:\s+\d{4})?"
PERIOD = f"(?:{QUARTER}|{MONTH}|{HALF}|{WHOLE})"
BARE = rf"(?:IV|III|II|I|\d{{1,2}}){YEAR}"  # "II/2026" after "Quý I,": the kind of the first
DATE = r"\d{1,2}/\d{1,2}(?:/\d{4})?"
WEEKDAYS = {"hai": "MO", "ba": "TU", "tư": "WE", "năm": "TH", "sáu": "FR", "bảy": "SA", "nhật": "SU"}
WEEKDAYS |= {str(n): code for n, code in zip(range(2, 8), ("MO", "TU", "WE", "TH", "FR", "SA"), strict=True)}
