"""A Notifier that writes operator events to the log only (used when no Event Grid topic is configured)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger("autopilot.events")


class LogNotifier:
    """Writes events to the log only."""

    def publish(self, event_type: str, subject: str, data: Mapping[str, object]) -> None:
        log.info("event %s %s %s", event_type, subject, dict(data))
