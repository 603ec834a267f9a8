"""Clocks: the system's, and one that only moves when told (in-memory backends, unit tests, demos)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """Stands still until ``advance`` or ``set`` moves it; never goes backwards. Thread-safe."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime (the engine compares UTC times)")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError(f"a clock does not go backwards (advance by {delta})")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> datetime:
        """Move to ``when`` if it is later than now (an earlier time is ignored: time only moves forward)."""
        with self._lock:
            self._now = max(self._now, when)
            return self._now
