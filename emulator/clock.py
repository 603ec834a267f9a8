"""Simulated clock: emulated time runs ``scale`` times faster than the wall clock.

Emulated time starts at the real "now" so timestamps look plausible; every duration in the emulator
(jobs, initial replication, recovery points) is expressed in emulated seconds. The scale can change at
runtime (admin API) and the clock can jump forward; both keep emulated time monotonic.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

# ASR's "unset" values (asr-api.md §1.3).
UNSET_TASK_TIME = "0001-01-01T00:00:00"
IDLE_SCENARIO_TIME = "1753-01-01T01:01:01Z"


class SimClock:
    def __init__(self, scale: float = 1.0, start: datetime | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be > 0")
        self._lock = threading.Lock()
        self._scale = scale
        self._base_emulated = start or datetime.now(UTC)
        self._base_real = time.monotonic()

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> datetime:
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> datetime:
        return self._base_emulated + timedelta(seconds=(time.monotonic() - self._base_real) * self._scale)

    def set_scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError("time scale must be > 0")
        with self._lock:
            self._base_emulated = self._now_locked()
            self._base_real = time.monotonic()
            self._scale = scale

    def advance(self, seconds: float) -> None:
        """Jump emulated time forward (never backwards)."""
        with self._lock:
            self._base_emulated = self._now_locked() + timedelta(seconds=max(0.0, seconds))
            self._base_real = time.monotonic()

    def real_seconds(self, emulated_seconds: float) -> float:
        return emulated_seconds / self._scale


def iso(ts: datetime | None) -> str | None:
    """ASR style: 7 fractional digits and a ``Z``."""
    if ts is None:
        return None
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def parse_iso(value: str) -> datetime:
    text = value.strip().replace("Z", "+00:00")
    # Python's fromisoformat takes at most 6 fractional digits.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tz}"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
