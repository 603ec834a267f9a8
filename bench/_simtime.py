"""Simulated time shared by the app and the ASR emulator: both run at real speed and jump together when idle.

The emulator runs at time scale 1 and the app's clock is real time plus the same jumps, so every figure is in
ASR seconds with the app's timers *exactly* as scaled as ASR's clock (not at all): the time the app spends
working (storage calls, HTTPS to ASR) counts at its real length, and only idle waits are skipped.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from emulator.clock import parse_iso
from emulator.launcher import EmulatorInfo
from lib.adapters.memory_work_queue import MemoryWorkQueue


class JumpClock:
    """Real time from the emulator's 'now', plus every jump made through ``jump``."""

    def __init__(self, emu: EmulatorInfo) -> None:
        self._emu = emu
        self._lock = threading.Lock()
        answer: dict[str, Any] = emu.admin("POST", "advance", {"seconds": 0})
        self._base = parse_iso(answer["now"])
        self._mono = time.monotonic()
        self._jumped = timedelta(0)

    def now(self) -> datetime:
        with self._lock:
            return (self._base + timedelta(seconds=time.monotonic() - self._mono) + self._jumped).astimezone(UTC)

    def jump(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self._emu.advance(seconds)
        with self._lock:
            self._jumped += timedelta(seconds=seconds)

    def sleep_until(self, when: datetime) -> None:
        self.jump((when - self.now()).total_seconds())


class QueueSleeper:
    """The driver's ``sleep``: jump to the queue's next due message instead of sleeping."""

    def __init__(self, clock: JumpClock, queue: MemoryWorkQueue) -> None:
        self._clock = clock
        self._queue = queue

    def __call__(self, seconds: float) -> None:
        due = self._queue.next_visible_at()
        if due is None:
            time.sleep(min(seconds, 0.01))
        else:
            self._clock.sleep_until(due)
