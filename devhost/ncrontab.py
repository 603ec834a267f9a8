"""Six-field NCRONTAB schedules (``{second} {minute} {hour} {day} {month} {day-of-week}``, UTC), via croniter."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from croniter import croniter

__all__ = ["next_fire", "parse_schedule", "resolve_schedule"]

_SETTING = re.compile(r"^%([A-Za-z0-9_.:-]+)%$")


def resolve_schedule(schedule: str, settings: Mapping[str, str]) -> str:
    """``%NAME%`` is the app setting NAME, as the Functions host resolves it; ValueError when it is not set."""
    match = _SETTING.match(schedule.strip())
    if match is None:
        return schedule
    value = settings.get(match.group(1), "").strip()
    if not value:
        raise ValueError(f"{schedule!r} does not resolve to a value: the app setting {match.group(1)} is not set")
    return value


def parse_schedule(schedule: str, start: datetime | None = None) -> Any:
    """A croniter for ``schedule``; raises ValueError saying why a schedule is not 6-field NCRONTAB."""
    fields = schedule.split()
    if len(fields) != 6:
        raise ValueError(f"{schedule!r} has {len(fields)} fields; NCRONTAB needs 6 (second minute hour day month dow)")
    try:
        # croniter puts an optional seconds field last; NCRONTAB puts it first.
        return croniter(schedule, start or datetime.now().astimezone(), second_at_beginning=True)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{schedule!r} is not a valid schedule ({exc})") from None


def next_fire(schedule: str, after: datetime) -> datetime:
    """The first occurrence strictly after ``after`` (timezone-aware in, same zone out)."""
    result: datetime = parse_schedule(schedule, after).get_next(datetime)
    return result
