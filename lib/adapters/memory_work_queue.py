"""WorkQueue in process memory, for unit tests and demos: the same contract as ``StorageWorkQueue``.

Time comes from a ``Clock``: with a ``ManualClock`` a delayed message shows up exactly when the test moves
the clock past its time. As on the storage service, receiving a message hides it for ``hold_s`` seconds,
counts the delivery and issues a new pop receipt; ``update`` and ``delete`` need the latest receipt (a
message received again by someone else is no longer ours) and raise ``MessageLost`` otherwise.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from lib.adapters.clocks import SystemClock
from lib.ports.clock import Clock
from lib.ports.work_queue import MessageLost, Received

MAX_BATCH = 32  # the service's limit for one Get Messages request
MAX_VISIBILITY_S = 7 * 24 * 3600  # the service refuses a visibility timeout above 7 days


@dataclass
class _Message:
    message_id: str
    seq: int  # arrival order: receive hands out visible messages oldest first
    body: str
    visible_at: datetime
    pop_receipt: str = ""
    dequeue_count: int = 0


def _seconds(name: str, value: int) -> int:
    if not 0 <= value <= MAX_VISIBILITY_S:
        raise ValueError(f"{name} must be between 0 and {MAX_VISIBILITY_S} seconds, not {value}")
    return value


class MemoryWorkQueue:
    def __init__(self, name: str = "work", clock: Clock | None = None) -> None:
        self._name = name
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._messages: dict[str, _Message] = {}
        self._seq = itertools.count(1)

    @property
    def name(self) -> str:
        return self._name

    def send(self, body: str, delay_s: int = 0) -> str:
        delay = _seconds("delay_s", max(0, delay_s))
        message = _Message(uuid.uuid4().hex, next(self._seq), body, self._clock.now() + timedelta(seconds=delay))
        with self._lock:
            self._messages[message.message_id] = message
        return message.message_id

    def receive(self, max_messages: int, hold_s: int) -> list[Received]:
        hold = timedelta(seconds=_seconds("hold_s", hold_s))
        with self._lock:
            now = self._clock.now()
            visible = sorted((m for m in self._messages.values() if m.visible_at <= now), key=lambda m: m.seq)
            taken = visible[: min(max(max_messages, 1), MAX_BATCH)]
            for m in taken:
                m.visible_at, m.pop_receipt = now + hold, uuid.uuid4().hex
                m.dequeue_count += 1
            return [Received(m.message_id, m.pop_receipt, m.body, m.dequeue_count, now + hold) for m in taken]

    def update(self, held: Received, body: str, visible_in_s: int) -> Received:
        visible_in = timedelta(seconds=_seconds("visible_in_s", max(0, visible_in_s)))
        with self._lock:
            m = self._held(held)
            now = self._clock.now()
            m.body, m.visible_at, m.pop_receipt = body, now + visible_in, uuid.uuid4().hex
            return Received(m.message_id, m.pop_receipt, body, held.dequeue_count, now + visible_in)

    def delete(self, held: Received) -> None:
        with self._lock:
            del self._messages[self._held(held).message_id]

    def approximate_count(self) -> int:
        with self._lock:
            return len(self._messages)

    def next_visible_at(self) -> datetime | None:
        """When the next message shows up (now, if one is visible); None when the queue is empty. Lets a
        test with a ``ManualClock`` jump straight to the next due timer instead of sleeping."""
        with self._lock:
            return min((m.visible_at for m in self._messages.values()), default=None)

    def _held(self, held: Received) -> _Message:
        m = self._messages.get(held.message_id)
        if m is None:
            raise MessageLost(held.message_id, "MessageNotFound")
        if m.pop_receipt != held.pop_receipt:
            raise MessageLost(held.message_id, "PopReceiptMismatch")
        return m
