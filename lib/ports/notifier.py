from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Notifier(Protocol):
    """Publishes operator-facing events (Event Grid in Azure). Failures must not break a run."""

    def publish(self, event_type: str, subject: str, data: Mapping[str, Any]) -> None: ...
