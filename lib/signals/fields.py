"""Lenient readers for third-party JSON: any shape reads as a value or as "absent", never as an exception.

Payloads from Azure vary between documentation pages, schema versions and forwarders (integers where strings were
documented, escaped JSON where arrays were, null where a value was expected), so every reader here accepts what
it can and answers None for the rest; the classifiers decide what a missing value means.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import cast

__all__ = ["at", "digest", "flag", "items", "mapping", "parse_time", "text", "word"]

_TRUE = frozenset({"true", "1", "yes"})


def mapping(value: object) -> Mapping[str, object]:
    """The value as a JSON object, or an empty one."""
    return cast(Mapping[str, object], value) if isinstance(value, Mapping) else {}


def at(value: object, *path: str) -> object:
    """The value at ``path`` inside nested objects; None as soon as a step is missing or not an object."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def text(value: object) -> str | None:
    """An enum-like or identifier field as stripped text: strings as they are, integers as their digits (Azure
    sends ``channels``/``eventSource``/``level`` as ints or strings); empty text, null and anything else: None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def word(value: object) -> str:
    """An enum-like value for comparison, without case or spacing: "In Progress" == "InProgress",
    "Resource Health" == "resourcehealth"; anything unreadable is the empty word."""
    return "".join((text(value) or "").split()).casefold()


def flag(value: object) -> bool:
    """A boolean that may arrive as ``true``, ``"True"``, ``"true"`` or ``1``."""
    if isinstance(value, bool):
        return value
    word = text(value)
    return word is not None and word.lower() in _TRUE


def items(value: object) -> Sequence[object]:
    """A JSON array, or an empty one (text is not a sequence of items here)."""
    return cast(Sequence[object], value) if isinstance(value, list | tuple) else ()


def parse_time(value: object) -> datetime | None:
    """An ISO-8601 time (``Z`` and 7-digit fractions accepted) in UTC; a time without offset is taken as UTC."""
    raw = text(value)
    if raw is None or raw.isdigit():
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or an offset that pushes it past year 1..9999
        return None


def digest(payload: object) -> str:
    """A stable key for a payload that carries no id of its own: the same JSON (in any key order) gives the
    same digest, so a redelivery deduplicates like one that has an id."""
    import hashlib  # lazily: OpenSSL's binding is the costliest import here, and most payloads carry ids

    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
