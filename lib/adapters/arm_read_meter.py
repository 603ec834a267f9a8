"""Counts the ARM reads (GET requests, retries included) each thread made: what one poll of a step cost.

It is the SDK client's response observer (``asr_client.ObserverPolicy``); the SDK pipeline runs in the
calling thread, so a per-thread count is exactly the reads of the step that thread executes.
"""

from __future__ import annotations

import threading

from lib.adapters.asr_client import ResponseObserver


class ArmReadMeter:
    def __init__(self, then: ResponseObserver | None = None) -> None:
        self._local = threading.local()
        self._then = then

    def __call__(self, method: str, url: str, status: int) -> None:
        if method.upper() == "GET":
            self._local.reads = self.reads() + 1
        if self._then is not None:
            self._then(method, url, status)

    def reads(self) -> int:
        """ARM reads made by the calling thread so far."""
        return int(getattr(self._local, "reads", 0))
