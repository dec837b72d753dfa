"""LibreTime's REST API (v2) answer read into aired items.

``GET /api/v2/schedule?starts__gte=…&ends__lte=…`` answers a JSON list of
schedule items: ``{"id", "starts_at", "ends_at", "instance", "file",
"stream", "length", "cue_in", "cue_out", "broadcasted", "played", …}`` with
UTC moments (other filters: ``broadcasted``, ``is_valid``); ``file`` is a file id (or, from the hyperlinked serializer,
its URL beside ``file_id``) whose title is in ``GET
/api/v2/files/{id}`` (``track_title``, ``name``, ``artist_name``, ``length``).
So the reader takes the schedule answer and the files it names (a mapping id
→ file object, fetched by the edge). A paginated answer (``{"results":
[…]}``), an item carrying its file object inline and a saved answer with
its files beside it (``{"schedule": […], "files": […]}``) are read too. Items
LibreTime did not broadcast (``broadcasted`` 0 and ``played`` false) did not air.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta, tzinfo
from typing import Any

from scheduler.bounds import format_size
from scheduler.errors import N_, Problem, ScheduleError
from scheduler.harvest.asrun import MAX_ASRUN_BYTES, MAX_FIELD, MAX_ROWS, AiredItem, parse_duration, parse_moment

ACCEPTED = N_('a JSON list of LibreTime schedule items with "starts_at", "ends_at" and "file"')


def _problem(name: str, line: int | None, where: str, message: str, **params: object) -> ScheduleError:
    return ScheduleError([Problem(name, line, where, message, params)])


def schedule_items(data: bytes, name: str, limit: int = MAX_ASRUN_BYTES) -> list[dict[str, Any]]:
    """The schedule items of an answer (a list, or ``results`` of a page)."""
    if len(data) > limit:
        raise _problem(name, None, "", N_("the file is larger than {size}"), size=format_size(limit))
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _problem(name, None, "", N_("this is not JSON ({error}); expected {accepted}"), error=str(e)[:200],
                       accepted=ACCEPTED) from None  # fmt: skip
    if isinstance(value, dict):
        value = value.get("results", value.get("schedule"))
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _problem(name, None, "", N_("this is not {accepted}"), accepted=ACCEPTED)
    if len(value) > MAX_ROWS:
        raise _problem(name, None, "", N_("the file has more than {limit} rows"), limit=MAX_ROWS)
    return value


def bundled_files(data: bytes) -> dict[int, Mapping[str, Any]]:
    """The files a saved answer carries beside its schedule (``{"schedule": [...],
    "files": [...]}``, as ``process_playout`` keeps it): the evidence file reads
    the same without the instance."""
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return {}
    files = value.get("files") if isinstance(value, dict) else None
    if not isinstance(files, list):
        return {}
    return {f["id"]: f for f in files if isinstance(f, dict) and isinstance(f.get("id"), int)}


def _file_id(item: Mapping[str, Any]) -> int | None:
    """``file_id`` (the hyperlinked serializer), ``file`` as an id, or the id ending ``file``'s URL."""
    for value in (item.get("file_id"), item.get("file")):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            tail = value.rstrip("/").rsplit("/", 1)[-1]
            if tail.isdigit() and len(tail) < 19:
                return int(tail)
    return None


def file_ids(items: list[dict[str, Any]]) -> list[int]:
    """The file ids whose titles the answer does not carry (to fetch one by one)."""
    return sorted({i for i in map(_file_id, items) if i is not None})


def _title(item: dict[str, Any], files: Mapping[int, Mapping[str, Any]]) -> tuple[str, str]:
    file = item.get("file")
    file_id = _file_id(item)
    info = file if isinstance(file, Mapping) else files.get(file_id, {}) if file_id is not None else {}
    title = str(info.get("track_title") or info.get("name") or item.get("title") or item.get("track_title") or "")
    code = str(info.get("genre") or info.get("code") or item.get("code") or "")  # stations tag programs by genre
    return title.strip()[:MAX_FIELD], code.strip()[:MAX_FIELD]


def read_libretime_api(
    data: bytes, name: str, tz: tzinfo, files: Mapping[int, Mapping[str, Any]] | None = None,
    limit: int = MAX_ASRUN_BYTES,
) -> list[AiredItem]:  # fmt: skip
    """The aired items of a schedule answer, numbered as the answer lists them."""
    items = schedule_items(data, name, limit)
    files = bundled_files(data) if files is None else files
    found: list[AiredItem] = []
    problems: list[Problem] = []
    for number, item in enumerate(items, start=1):
        if item.get("broadcasted") == 0 and not (item.get("played") or item.get("media_item_played")):
            continue
        start = parse_moment(str(item.get("starts_at") or item.get("starts") or ""), tz)
        end = parse_moment(str(item.get("ends_at") or item.get("ends") or ""), tz)
        title, code = _title(item, files)
        if start is None or end is None or end < start or end - start > timedelta(days=1):
            problems.append(Problem(name, None, f"item {number}", N_("no start and end moments; expected {accepted}"),
                                    {"accepted": ACCEPTED}))  # fmt: skip
            continue
        if not title:
            continue  # a stream or a deleted file: nothing to recognise
        seconds = int((end - start).total_seconds())
        cue = [parse_duration(str(item.get(k) or "")) for k in ("cue_in", "cue_out")]
        if cue[0] is not None and cue[1] is not None and 0 < cue[1] - cue[0] < seconds:
            seconds = cue[1] - cue[0]
        found.append(AiredItem((number,), start, end, seconds, title, code))
    if problems:
        raise ScheduleError(problems[:20])
    return found
