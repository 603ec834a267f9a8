from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str


class HttpProbe(Protocol):
    """Checks that an application answers during a drill (a URL the operator configures)."""

    def check(self, url: str) -> ProbeResult: ...
