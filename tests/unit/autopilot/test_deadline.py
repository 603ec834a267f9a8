"""The webhook's queue send against its deadline, on a hand-written queue that stalls until told to go on."""

from __future__ import annotations

import threading
import time

import pytest

from lib.autopilot.deadline import DeadlineSender, SendTooSlow


class StallingQueue:
    def __init__(self) -> None:
        self.go = threading.Event()
        self.sent: list[str] = []
        self.landed = threading.Event()

    def send(self, body: str, delay_s: int = 0) -> str:
        self.go.wait(30)
        self.sent.append(body)
        self.landed.set()
        return str(len(self.sent))


def test_a_send_that_beats_the_deadline_returns_the_message_id() -> None:
    queue = StallingQueue()
    queue.go.set()
    assert DeadlineSender(queue).send("a", time.monotonic() + 30) == "1"


def test_past_the_deadline_the_send_is_refused_and_one_already_on_its_way_may_still_land() -> None:
    queue = StallingQueue()
    sender = DeadlineSender(queue, budget_ms=50, threads=1)
    with pytest.raises(SendTooSlow) as caught:
        sender.send("late", sender.deadline(time.monotonic()))
    assert "did not take the payload within" in str(caught.value) and queue.sent == []
    with pytest.raises(SendTooSlow):  # the only thread is busy: this one waits for it, and is cancelled
        sender.send("never", sender.deadline(time.monotonic()))
    queue.go.set()
    assert queue.landed.wait(30) and queue.sent == ["late"]  # a duplicate of the retried delivery, never lost
    assert sender.send("again", time.monotonic() + 30) == "2" and queue.sent == ["late", "again"]
