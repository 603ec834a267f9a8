"""Deliver operator events: publish now, or park them on a retry queue that publishes them later with backoff.

A failing topic costs a run nothing: the first failure opens a breaker, and while it is open events go straight
to the retry queue (one storage write) without calling the topic. A queued batch is retried after 30 s, 1 min,
2 min ... (capped), and dropped after ``max_attempts`` publishes with an error log line naming every event id.
Queue messages are the retry timers (a visibility delay), so nothing sleeps and nothing is kept in memory.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from lib.domain.errors import ValidationError
from lib.domain.events import OperatorEvent
from lib.ports.clock import Clock
from lib.ports.events import EventPublisher, PublishFailed
from lib.ports.work_queue import WorkQueue

log = logging.getLogger("autopilot.events")

MESSAGE_LIMIT = 40_000  # characters of JSON per retry message (a queue message holds 64 KiB, Base64-encoded)


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 8  # publishes in all, the first included, before a batch is dropped
    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(minutes=15)
    breaker: timedelta = timedelta(seconds=30)  # after a failure, skip the topic for this long

    def delay_s(self, attempt: int) -> int:
        """Visibility delay before publish number ``attempt + 1``."""
        seconds = self.first_delay.total_seconds() * 2 ** max(0, attempt - 1)
        return max(1, int(min(seconds, self.max_delay.total_seconds())))


@dataclass(frozen=True)
class RetryReport:
    action: str  # published | requeued | dropped | ignored
    count: int
    attempt: int
    reason: str = ""


def _encode(attempt: int, events: Sequence[OperatorEvent]) -> str:
    return json.dumps({"attempt": attempt, "events": [e.to_json() for e in events]}, separators=(",", ":"))


def decode(body: str) -> tuple[int, list[OperatorEvent]]:
    try:
        raw = json.loads(body)
        attempt, items = int(raw["attempt"]), raw["events"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError("body", f"not an event retry message: {exc}") from None
    if not isinstance(items, list):
        raise ValidationError("events", "must be a list")
    return attempt, [OperatorEvent.from_json(e) for e in items]


class EventDelivery:
    """The ``EventSink`` the app uses: publisher first (unless its breaker is open), else the retry queue."""

    def __init__(
        self, publisher: EventPublisher, retries: WorkQueue, clock: Clock, policy: DeliveryPolicy | None = None
    ) -> None:
        self.publisher = publisher
        self.retries = retries
        self.clock = clock
        self.policy = policy or DeliveryPolicy()
        self._open_until: datetime | None = None
        self._lock = threading.Lock()

    def deliver(self, events: Sequence[OperatorEvent]) -> bool:
        if not events:
            return True
        if not self._breaker_open():
            try:
                self.publisher.send(events)
                return True
            except PublishFailed as exc:
                self._trip(exc)
        return self._park(events, attempt=1, why="topic unavailable")

    def retry(self, body: str) -> RetryReport:
        """One retry message (the events queue trigger): publish, requeue with a longer delay, or drop."""
        try:
            attempt, events = decode(body)
        except ValidationError as exc:
            log.error("dropping a malformed event retry message: %s", exc)
            return RetryReport("ignored", 0, 0, str(exc))
        try:
            self.publisher.send(events)
        except PublishFailed as exc:
            return self._after_failed_retry(attempt + 1, events, exc)
        log.info("published %d events on attempt %d", len(events), attempt + 1)
        return RetryReport("published", len(events), attempt + 1)

    def _after_failed_retry(self, attempt: int, events: list[OperatorEvent], exc: PublishFailed) -> RetryReport:
        ids = [e.id for e in events]
        if attempt >= self.policy.max_attempts:
            log.error("dropping %d operator events after %d attempts (%s): %s", len(events), attempt, exc.reason, ids)
            return RetryReport("dropped", len(events), attempt, exc.reason)
        if not self._park(events, attempt, why=exc.reason):
            raise exc  # the host retries this message; nothing is lost
        return RetryReport("requeued", len(events), attempt, exc.reason)

    def _park(self, events: Sequence[OperatorEvent], attempt: int, why: str) -> bool:
        delay = self.policy.delay_s(attempt)
        try:
            for batch in _batches(attempt, events):
                self.retries.send(batch, delay_s=delay)
        except Exception as exc:  # storage trouble: the caller keeps the events (the run's outbox)
            log.warning("could not queue %d operator events for retry: %s", len(events), exc)
            return False
        log.warning("queued %d operator events for retry in %d s (attempt %d failed: %s)", len(events), delay,
                    attempt, why)  # fmt: skip
        return True

    def _breaker_open(self) -> bool:
        with self._lock:
            return self._open_until is not None and self.clock.now() < self._open_until

    def _trip(self, exc: PublishFailed) -> None:
        with self._lock:
            self._open_until = self.clock.now() + self.policy.breaker
        log.warning("event topic failed (%s); events go to the retry queue for %s", exc.reason, self.policy.breaker)


def _batches(attempt: int, events: Sequence[OperatorEvent]) -> list[str]:
    whole = _encode(attempt, events)
    if len(whole) <= MESSAGE_LIMIT or len(events) == 1:
        return [whole]
    return [_encode(attempt, [e]) for e in events]
