"""What the DR workflows need from the outside world, wired by ``lib.bootstrap``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lib.ports.locks import ItemLocks
from lib.ports.notifier import Notifier
from lib.ports.probe import HttpProbe
from lib.ports.site_recovery import SiteRecovery

log = logging.getLogger("autopilot.events")


class LogNotifier:
    """Writes events to the log only (used when no Event Grid topic is configured)."""

    def publish(self, event_type: str, subject: str, data: Mapping[str, Any]) -> None:
        log.info("event %s %s %s", event_type, subject, dict(data))


@dataclass(frozen=True)
class DrDeps:
    asr: SiteRecovery
    locks: ItemLocks
    notifier: Notifier
    probe: HttpProbe
