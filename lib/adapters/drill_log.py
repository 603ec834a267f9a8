"""Stand-ins for the drill timer's ports until the decisions store and the incident view are wired (see
lib/drills/README.md): decisions as structured log lines, and no region ever in an incident."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

__all__ = ["LogDrillLog", "NoIncidents"]

log = logging.getLogger("autopilot.drills")


class LogDrillLog:
    def record(self, kind: str, subject: str, reason: str, details: Mapping[str, Any]) -> None:
        line = {"kind": kind, "subject": subject, "reason": reason, "details": dict(details)}
        log.info("decision %s", json.dumps(line, sort_keys=True, default=str))


class NoIncidents:
    # TODO(merge with the signals work): answer from the recorded region-health signals (lib.guard.region_state
    # over the signals store), so that a drill never starts in a region with an active incident.
    def active(self, region: str) -> bool:
        return False
