"""What the drill timer records its decisions to, and where it learns of regional incidents.

Both are ports so that the scheduler does not depend on how decisions and incidents are stored: today a log line
and "no incident"; once the decisions store of the signals work is merged, that store (see lib/drills/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class DrillLog(Protocol):
    def record(self, kind: str, subject: str, reason: str, details: Mapping[str, Any]) -> None:
        """One decision of the drill timer: ``kind`` is drill-start, drill-skip or test-failover-cleanup;
        ``subject`` the drill's name or the VM; ``reason`` in words; ``details`` as JSON."""
        ...


class IncidentView(Protocol):
    def active(self, region: str) -> bool:
        """Whether ``region`` (ARM name) has an active incident now."""
        ...
