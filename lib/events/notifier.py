"""Events outside runs (autopilot decisions, readiness changes) through the same delivery as run events.

There is no checkpoint to carry them, so they are published at once or parked on the retry queue; only when
both fail (the topic and storage down together) is the event lost, with an error log line.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from lib.domain.events import OperatorEvent
from lib.ports.clock import Clock
from lib.ports.events import EventSink

log = logging.getLogger("autopilot.events")


class EventNotifier:
    """A ``Notifier``: ``publish`` never raises."""

    def __init__(self, sink: EventSink, clock: Clock) -> None:
        self._sink = sink
        self._clock = clock

    def publish(self, event_type: str, subject: str, data: Mapping[str, Any]) -> None:
        event = OperatorEvent(uuid.uuid4().hex, event_type, subject, self._clock.now(), dict(data))
        try:
            settled = self._sink.deliver([event])
        except Exception:
            log.exception("could not deliver %s %s", event_type, subject)
            return
        if not settled:
            log.error("lost operator event %s %s (id %s): neither the topic nor the retry queue took it",
                      event_type, subject, event.id)  # fmt: skip
