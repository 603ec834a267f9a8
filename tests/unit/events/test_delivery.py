"""Delivery: publish now, or park on the retry queue; retries back off, then drop with a log line; a breaker."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from lib.adapters.clocks import ManualClock
from lib.adapters.memory_work_queue import MemoryWorkQueue
from lib.domain.events import OperatorEvent
from lib.events import DeliveryPolicy, EventDelivery, EventNotifier
from lib.ports.events import PublishFailed

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
POLICY = DeliveryPolicy(max_attempts=3, first_delay=timedelta(seconds=30), max_delay=timedelta(seconds=50),
                        breaker=timedelta(seconds=10))  # fmt: skip


class Topic:
    def __init__(self) -> None:
        self.up = False
        self.calls = 0
        self.got: list[str] = []

    def send(self, events: Sequence[OperatorEvent]) -> None:
        self.calls += 1
        if not self.up:
            raise PublishFailed(len(events), "HTTP 503: busy")
        self.got.extend(e.id for e in events)


def setup() -> tuple[ManualClock, Topic, MemoryWorkQueue, EventDelivery]:
    clock = ManualClock(T0)
    topic, queue = Topic(), MemoryWorkQueue(clock=clock)
    return clock, topic, queue, EventDelivery(topic, queue, clock, POLICY)


def event(i: int) -> OperatorEvent:
    return OperatorEvent(f"e{i}", "Autopilot.Run.Started", "runs/r", T0, {"runId": "r"})


def due(queue: MemoryWorkQueue, clock: ManualClock, after_s: int) -> list[str]:
    assert queue.receive(10, 60) == []  # not before its delay
    clock.advance(timedelta(seconds=after_s))
    held = queue.receive(10, 60)
    for msg in held:
        queue.delete(msg)
    return [m.body for m in held]


def test_a_healthy_topic_gets_the_events_at_once() -> None:
    _, topic, queue, delivery = setup()
    topic.up = True
    assert delivery.deliver([event(1), event(2)]) is True
    assert topic.got == ["e1", "e2"] and queue.approximate_count() == 0


def test_a_failing_topic_parks_events_and_the_breaker_skips_it() -> None:
    clock, topic, queue, delivery = setup()
    assert delivery.deliver([event(1)]) is True and topic.calls == 1
    assert delivery.deliver([event(2)]) is True and topic.calls == 1  # breaker open: straight to the queue
    clock.advance(timedelta(seconds=11))
    topic.up = True
    assert delivery.deliver([event(3)]) is True and topic.got == ["e3"]
    [first, second] = due(queue, clock, 20)  # parked ones come back after 30 s
    assert [delivery.retry(b).action for b in (first, second)] == ["published", "published"]
    assert topic.got == ["e3", "e1", "e2"]


def test_retries_back_off_then_drop_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    clock, _topic, queue, delivery = setup()
    delivery.deliver([event(1), event(2)])
    [body] = due(queue, clock, 30)
    assert delivery.retry(body).action == "requeued"  # attempt 2 failed: next in 60 s, capped at 50
    [body] = due(queue, clock, 50)
    assert json.loads(body)["attempt"] == 2
    with caplog.at_level(logging.ERROR, "autopilot.events"):
        report = delivery.retry(body)
    assert (report.action, report.attempt) == ("dropped", 3) and queue.approximate_count() == 0
    assert "dropping 2 operator events after 3 attempts" in caplog.text and "'e1', 'e2'" in caplog.text


def test_a_malformed_retry_message_is_dropped_not_raised() -> None:
    _, _, _, delivery = setup()
    assert delivery.retry("not json").action == "ignored"


def test_storage_down_too_keeps_the_events_with_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    clock, topic, _, _ = setup()

    class Broken(MemoryWorkQueue):
        def send(self, body: str, delay_s: int = 0) -> str:
            raise OSError("storage unreachable")

    delivery = EventDelivery(topic, Broken(clock=clock), clock, POLICY)
    assert delivery.deliver([event(1)]) is False  # the run's outbox keeps it for the next checkpoint
    with caplog.at_level(logging.ERROR, "autopilot.events"):
        EventNotifier(delivery, clock).publish("Autopilot.Decision.Recorded", "regions/x/decisions/1", {})
    assert "lost operator event Autopilot.Decision.Recorded" in caplog.text
