"""Operator events to the log only (no Event Grid topic configured)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from lib.domain.events import OperatorEvent

log = logging.getLogger("autopilot.events")


class LogPublisher:
    def send(self, events: Sequence[OperatorEvent]) -> None:
        for event in events:
            log.info("event %s %s %s", event.type, event.subject, json.dumps(dict(event.data), default=str))
