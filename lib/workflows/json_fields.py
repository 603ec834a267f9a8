"""Reading fields of stored JSON leniently, and writing times as ISO-8601 text."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import cast

Json = dict[str, object]


def parse_time(value: object) -> datetime | None:
    """An ISO-8601 time from stored JSON (``Z`` accepted); anything else reads as unknown."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


MESSAGE_LIMIT = 1_000  # characters of an error message kept in the run state (one per VM and job: keep it bounded)


def bounded(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, marked with "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def times_by_phase(value: object) -> dict[str, datetime]:
    """A ``{phase: time}`` map; entries without a readable time are dropped (layout 1 could store null)."""
    found = {str(k): parse_time(v) for k, v in as_mapping(value).items()}
    return {k: v for k, v in found.items() if v is not None}


def as_mapping(value: object) -> Mapping[str, object]:
    return cast(Mapping[str, object], value) if isinstance(value, Mapping) else {}


def opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def opt_float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
