"""The WorkQueue contract: visibility delays and holds, dequeue counts, pop receipts, update and delete.

Needs a ``queues`` fixture: a ``QueueBackend`` on an empty queue whose ``wait`` lets time pass (a manual
clock moves; Azurite needs real seconds, so waits are kept few and short).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from lib.ports.work_queue import MessageLost, WorkQueue


@dataclass(frozen=True)
class QueueBackend:
    queue: WorkQueue
    now: Callable[[], datetime]
    wait: Callable[[float], None]  # seconds; real ones for a service, instant for a manual clock


HOLD_S = 30


class WorkQueueContract:
    def test_a_received_message_is_hidden_from_others_while_held(self, queues: QueueBackend) -> None:
        q = queues.queue
        sent = q.send('{"run_id":"r1","version":1}')
        before = queues.now()
        (got,) = q.receive(32, HOLD_S)
        assert (got.message_id, got.body, got.dequeue_count) == (sent, '{"run_id":"r1","version":1}', 1)
        assert got.pop_receipt
        assert before + timedelta(seconds=HOLD_S) <= got.hold_until <= queues.now() + timedelta(seconds=HOLD_S)
        assert q.receive(32, HOLD_S) == []
        assert q.approximate_count() == 1  # held messages count too

    def test_one_receive_returns_at_most_what_was_asked_oldest_first(self, queues: QueueBackend) -> None:
        q = queues.queue
        ids = [q.send(f"m{i}") for i in range(3)]
        first = q.receive(2, HOLD_S)
        assert [m.message_id for m in first] == ids[:2]
        assert [m.message_id for m in q.receive(32, HOLD_S)] == ids[2:]

    def test_a_delayed_message_shows_up_only_after_its_delay(self, queues: QueueBackend) -> None:
        q = queues.queue
        sent = q.send("later", delay_s=1)
        assert q.receive(32, HOLD_S) == []
        assert q.approximate_count() == 1
        queues.wait(1.5)
        assert [m.message_id for m in q.receive(32, HOLD_S)] == [sent]

    def test_an_expired_hold_redelivers_with_a_new_receipt_and_the_old_one_is_lost(self, queues: QueueBackend) -> None:
        q = queues.queue
        q.send("work")
        (first,) = q.receive(1, 1)
        queues.wait(1.5)
        (second,) = q.receive(1, HOLD_S)
        assert second.message_id == first.message_id and second.dequeue_count == 2
        assert second.pop_receipt != first.pop_receipt
        with pytest.raises(MessageLost) as caught:
            q.update(first, "stale writer", 0)
        assert caught.value.message_id == first.message_id
        with pytest.raises(MessageLost):
            q.delete(first)
        q.delete(second)  # the current holder still can
        assert q.approximate_count() == 0

    def test_update_rewrites_the_body_and_reschedules_the_message(self, queues: QueueBackend) -> None:
        q = queues.queue
        q.send("v1")
        (held,) = q.receive(1, HOLD_S)
        now = queues.now()
        updated = q.update(held, "v2", 0)
        assert (updated.message_id, updated.body, updated.dequeue_count) == (held.message_id, "v2", 1)
        assert updated.pop_receipt != held.pop_receipt and updated.hold_until >= now
        (again,) = q.receive(1, HOLD_S)  # visible again at once
        assert (again.body, again.dequeue_count) == ("v2", 2)
        with pytest.raises(MessageLost):  # receiving it again retired the update's receipt
            q.update(updated, "v3", 0)
        later = q.update(again, "v3", 1)
        assert q.receive(1, HOLD_S) == []
        queues.wait(1.5)
        (last,) = q.receive(1, HOLD_S)
        assert (last.message_id, last.body, last.dequeue_count) == (later.message_id, "v3", 3)

    def test_the_receipt_an_update_returns_is_the_one_that_counts(self, queues: QueueBackend) -> None:
        q = queues.queue
        q.send("v1")
        (held,) = q.receive(1, HOLD_S)
        updated = q.update(held, "v2", HOLD_S)
        with pytest.raises(MessageLost):
            q.delete(held)
        q.delete(updated)
        assert q.approximate_count() == 0

    def test_a_deleted_message_is_gone(self, queues: QueueBackend) -> None:
        q = queues.queue
        q.send("once")
        (held,) = q.receive(1, HOLD_S)
        q.delete(held)
        assert q.approximate_count() == 0
        with pytest.raises(MessageLost):
            q.delete(held)
        with pytest.raises(MessageLost):
            q.update(held, "again", 0)
        assert q.receive(32, HOLD_S) == []
