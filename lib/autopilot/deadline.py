"""The alert webhook's queue send, held to a deadline: the webhook answers within a second whatever storage does.

Per-socket timeouts are not a deadline: connecting, writing and reading each get their own allowance, and a send
can wait for a free connection first. So the send runs on a small pool of threads and the handler waits for it
until the deadline, no longer. Past the deadline the handler answers 503 with Retry-After and the sender (an
action group) delivers again. A send still waiting for a pool thread is cancelled; one already on the wire may
still land, which makes the retried delivery a duplicate of a queued one: the autopilot stores a notification once
(its key is the signals table's row key) and drops a redelivery, so nothing acts twice and nothing is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from lib.autopilot.service import Sender
from lib.domain.errors import AutopilotError

__all__ = ["DEFAULT_BUDGET_MS", "DeadlineSender", "SendTooSlow"]

log = logging.getLogger("autopilot.intake")

DEFAULT_BUDGET_MS = 750  # of the handler's time; the rest of the second is the host's own (routing, the answer)
SEND_THREADS = 8


class SendTooSlow(AutopilotError):
    """The queue did not take the message before the deadline; the caller answers 503 and the sender retries."""

    def __init__(self, waited_ms: float) -> None:
        super().__init__(f"the signals queue did not take the payload within {waited_ms:.0f} ms")
        self.waited_ms = waited_ms


@dataclass
class DeadlineSender:
    """``send(body, deadline)``: the queue's message id, or ``SendTooSlow`` at ``deadline`` (``time.monotonic``)."""

    queue: Sender
    budget_ms: float = DEFAULT_BUDGET_MS
    threads: int = SEND_THREADS
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def deadline(self, started: float) -> float:
        """The deadline of a request whose handler started at ``started`` (``time.monotonic``)."""
        return started + self.budget_ms / 1000.0

    def send(self, body: str, deadline: float) -> str:
        started = time.monotonic()
        future: Future[str] = self._executor().submit(self.queue.send, body)
        try:
            return future.result(timeout=max(0.0, deadline - started))
        except FutureTimeout:
            future.cancel()  # still waiting for a thread: it never runs; already sending: it may land (a duplicate)
            waited = (time.monotonic() - started) * 1000
            log.warning("alert webhook: the signals queue took longer than %.0f ms; answered 503", waited)
            raise SendTooSlow(waited) from None

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="alert-send")
            return self._pool
