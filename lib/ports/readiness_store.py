"""The ReadinessStore port: the latest readiness per target, its history, and when the last evaluation ran."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from lib.readiness.model import TargetReadiness

__all__ = ["ReadinessStore"]


class ReadinessStore(Protocol):
    def latest(self) -> list[TargetReadiness]:
        """The newest result of every target evaluated so far (targets no longer evaluated drop out at save)."""
        ...

    def save(self, results: Sequence[TargetReadiness], at: datetime) -> None:
        """Replace the latest rows with ``results``, append them to the history, record ``at`` as the last
        successful evaluation."""
        ...

    def last_evaluation(self) -> datetime | None: ...

    def history(self, target: str, limit: int = 20) -> list[TargetReadiness]:
        """Newest first."""
        ...
