"""The ReadBudget port: the subscription's ARM read budget, shared by every worker and every run."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class ReadBudget(Protocol):
    def book(self, reads: float, wanted: datetime, now: datetime) -> datetime:
        """Book ``reads`` ARM reads for a poll wanted at ``wanted``; returns when it may happen (never earlier)."""
        ...
