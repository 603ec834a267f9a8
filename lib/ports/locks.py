from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol


class ItemLocks(Protocol):
    """Which run holds which protected items, so two runs never drive the same VM.

    A lock expires after ``ttl`` unless renewed, and a lock whose holder run is no longer active counts as
    free: a crashed or failed run cannot keep items forever.
    """

    def acquire(self, names: Sequence[str], run_id: str, ttl: timedelta) -> dict[str, str]:
        """Take (or renew) every name for ``run_id``; all or nothing. Returns {name: holder} on conflict."""
        ...

    def release(self, names: Sequence[str], run_id: str) -> None: ...
