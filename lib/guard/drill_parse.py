"""Reading the policy's ``drills`` section, with every error at its JSON path (``drills.weekly.window.start: ...``).

It reuses the readers of ``lib.guard.parse`` (which imports this module when it meets a ``drills`` key).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lib.guard.drills import DAYS, Drill, DrillWindow
from lib.guard.parse import _URL, _Errors, _int, _object, _target

__all__ = ["DRILL_KEYS", "WINDOW_KEYS", "read_drills"]

DRILL_KEYS = ("target", "everyDays", "testNetworkId", "probeUrl", "window")
WINDOW_KEYS = ("days", "start", "end", "timeZone")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MAX_TEXT = 1000


def read_drills(value: object, errors: _Errors) -> dict[str, Drill]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.add("drills", "must be an object keyed by drill name")
        return {}
    drills: dict[str, Drill] = {}
    for name, body in value.items():
        path = f"drills.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            errors.add(path, "a drill name is 1 to 63 letters, digits, '-' or '_'")
            continue
        drill = _drill(name, body, path, errors)
        if drill is not None:
            drills[name] = drill
    return drills


def _drill(name: str, value: object, path: str, errors: _Errors) -> Drill | None:
    before = len(errors.found)
    body = _object(value, path, DRILL_KEYS, errors)
    if "target" not in body:
        errors.add(f"{path}.target", "is required: {'recoveryPlan': name} or {'vms': [names]}")
    target = _target(body.get("target"), f"{path}.target", errors) if "target" in body else None
    every = _int(body, "everyDays", path, (1, 3650, 30), errors)
    network = body.get("testNetworkId")
    if not isinstance(network, str) or "/virtualNetworks/" not in network or len(network) > _MAX_TEXT:
        errors.add(f"{path}.testNetworkId", "is required: the ARM id of an isolated virtual network")
    probe = body.get("probeUrl")
    if probe is not None and (not isinstance(probe, str) or not _URL.match(probe) or len(probe) > _MAX_TEXT):
        errors.add(f"{path}.probeUrl", "must be an http(s) URL or null")
    window = _window(body.get("window"), f"{path}.window", errors)
    if len(errors.found) != before or target is None:
        return None
    return Drill(name, target, every, str(network), probe if isinstance(probe, str) else None, window)


def _window(value: object, path: str, errors: _Errors) -> DrillWindow | None:
    if value is None:
        return None
    body = _object(value, path, WINDOW_KEYS, errors)
    days = body.get("days", list(DAYS))
    if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
        errors.add(f"{path}.days", f"must be a non-empty list of {', '.join(DAYS)}")
        days = list(DAYS)
    start = _clock(body, "start", path, errors)
    end = _clock(body, "end", path, errors)
    zone = _zone(body.get("timeZone", "UTC"), f"{path}.timeZone", errors)
    if start is not None and end is not None and start == end:
        errors.add(f"{path}.end", "must differ from start (a window past midnight ends before it starts)")
    return DrillWindow(tuple(d for d in DAYS if d in days), start or time(0), end or time(0), zone)


def _zone(value: object, path: str, errors: _Errors) -> str:
    try:
        if isinstance(value, str) and value:
            ZoneInfo(value)
            return value
    except (ZoneInfoNotFoundError, ValueError):
        pass
    errors.add(path, f"{value!r} is not an IANA time zone such as 'UTC' or 'Europe/Berlin'")
    return "UTC"


def _clock(body: Mapping[str, object], key: str, path: str, errors: _Errors) -> time | None:
    value = body.get(key)
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        errors.add(f"{path}.{key}", f"is required: a local time HH:MM (24 h), got {value!r}")
        return None
    return time(int(match.group(1)), int(match.group(2)))
