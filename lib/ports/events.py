"""Where operator events go: a publisher (the Event Grid topic, or the log) and the sink the app hands them to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from lib.domain.errors import AutopilotError
from lib.domain.events import OperatorEvent


class PublishFailed(AutopilotError):
    """The topic did not take the events (unreachable, 5xx, 429, refused): they are retried later."""

    def __init__(self, count: int, reason: str) -> None:
        super().__init__(f"could not publish {count} event(s): {reason}")
        self.count = count
        self.reason = reason


class EventPublisher(Protocol):
    def send(self, events: Sequence[OperatorEvent]) -> None:
        """Publish all of ``events`` in one request, or raise ``PublishFailed``."""
        ...


class EventSink(Protocol):
    def deliver(self, events: Sequence[OperatorEvent]) -> bool:
        """Publish now, or queue for a later retry. True when the events are settled (published or safely
        queued); False when neither worked and the caller should keep them and offer them again. Never raises."""
        ...
