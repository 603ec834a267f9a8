"""In-memory signal and decision stores: hand-written fakes for unit tests (the app uses the Table adapters)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from lib.guard.retention import closed_incidents
from lib.ports.autopilot import NO_REGION, DecisionRecord, Stored
from lib.signals import RegionHealthSignal

__all__ = ["MemoryDecisionStore", "MemorySignalStore"]


class MemorySignalStore:
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._rows: dict[tuple[str, str], tuple[RegionHealthSignal, bool, datetime]] = {}
        self.tombstones: dict[tuple[str, str], RegionHealthSignal] = {}  # (region, incident) -> its last resolve
        self._lock = threading.Lock()
        self._clock = clock

    def add(self, region: str, signal: RegionHealthSignal) -> Stored:
        key = (region, signal.notification)
        with self._lock:
            found = self._rows.get(key)
            if found is not None:
                return Stored(new=False, weighed=found[1], stored_at=found[2])
            now = self._clock()
            kept = self.tombstones.pop((region, signal.incident), None)
            if kept is not None:
                self._rows.setdefault((region, kept.notification), (kept, True, now))
            self._rows[key] = (signal, False, now)
            return Stored(new=True, weighed=False, stored_at=now)

    def mark_weighed(self, region: str, notification: str) -> None:
        with self._lock:
            signal, _, at = self._rows[(region, notification)]
            self._rows[(region, notification)] = (signal, True, at)

    def list(self, region: str) -> list[RegionHealthSignal]:
        with self._lock:
            return [row[0] for (r, _), row in sorted(self._rows.items()) if r == region]

    def prune(self, region: str, stored_before: datetime) -> int:
        with self._lock:
            rows = [(signal, at) for (r, _), (signal, _w, at) in self._rows.items() if r == region]
            dropped = 0
            for closed in closed_incidents(rows, stored_before):
                self.tombstones[(region, closed.incident)] = closed.last
                for notification in closed.notifications:
                    dropped += self._rows.pop((region, notification), None) is not None
            return dropped


class MemoryDecisionStore:
    def __init__(self) -> None:
        self._rows: list[DecisionRecord] = []
        self._claims: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def add(self, record: DecisionRecord, once: Sequence[str] = ()) -> frozenset[str]:
        claims = {(record.region or NO_REGION, key) for key in once}
        with self._lock:
            held = frozenset(key for region, key in claims & self._claims)
            if not held:
                self._claims |= claims
                self._rows.append(record)
            return held

    def list(self, region: str | None, since: datetime | None, limit: int) -> list[DecisionRecord]:
        with self._lock:
            rows = [r for r in reversed(self._rows) if region is None or (r.region or NO_REGION) == region]
        rows = [r for r in rows if since is None or r.decision.at >= since]
        return sorted(rows, key=lambda r: r.decision.at, reverse=True)[:limit]

    def latest(self, region: str) -> DecisionRecord | None:
        found = self.list(region, None, 1)
        return found[0] if found else None
