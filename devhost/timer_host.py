"""Timer triggers: each on its own thread, firing on its NCRONTAB schedule (UTC), never overlapping itself.

``run_on_startup`` fires once when the host starts. ``past_due`` is set when an occurrence is served later than
``PAST_DUE_S`` after it was due (a long previous run), as the host reports a late schedule.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from azure.functions.timer import TimerRequest

from devhost.discovery import TimerFunction
from devhost.invoke import invoke
from devhost.ncrontab import next_fire

__all__ = ["PAST_DUE_S", "TimerRunner"]

log = logging.getLogger("devhost.timer")

PAST_DUE_S = 1.0


class TimerRunner:
    def __init__(self, function: TimerFunction) -> None:
        self.function = function
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"timer-{function.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _fire(self, due: datetime | None, reason: str) -> None:
        now = datetime.now(UTC)
        past_due = due is not None and (now - due).total_seconds() > PAST_DUE_S
        status = {"Last": now.isoformat(), "Next": next_fire(self.function.schedule, now).isoformat()}
        request = TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": True})
        invoke(self.function.name, self.function.target, self.function.arg_name, request, f"Reason='{reason}'")

    def _loop(self) -> None:
        name, schedule = self.function.name, self.function.schedule
        if self.function.run_on_startup:
            self._fire(None, "This function was programmatically called via the host APIs (run on startup).")
        due = next_fire(schedule, datetime.now(UTC))
        log.info("timer %s (%s): next occurrence %s", name, schedule, due.isoformat())
        while not self._stop.wait(max(0.0, (due - datetime.now(UTC)).total_seconds())):
            self._fire(due, "Timer fired at " + due.isoformat())
            due = next_fire(schedule, max(due, datetime.now(UTC)))
