"""Where run reports are kept (a Blob container): create-only writes, reads, and names by prefix."""

from __future__ import annotations

from typing import Protocol


class ReportStore(Protocol):
    def ensure(self) -> None:
        """Create the container if it does not exist (idempotent)."""
        ...

    def put_once(self, name: str, data: bytes, content_type: str) -> bool:
        """Write ``name`` only if it does not exist yet: True when written, False when it existed (left intact)."""
        ...

    def get(self, name: str) -> bytes | None:
        """The content of ``name``, or None when there is no such report."""
        ...

    def names(self, prefix: str) -> set[str]:
        """Every name starting with ``prefix``."""
        ...
