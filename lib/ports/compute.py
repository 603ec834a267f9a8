"""The ComputeUsages port: vCPU quota of a region (``Microsoft.Compute/locations/{region}/usages``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["ComputeUsages", "Usage"]


@dataclass(frozen=True)
class Usage:
    """One counter: ``cores`` (total regional vCPUs) or a VM family such as ``standardDSv3Family``."""

    name: str
    current: int
    limit: int

    @property
    def free(self) -> int:
        return max(0, self.limit - self.current)


class ComputeUsages(Protocol):
    def list_usages(self, region: str) -> list[Usage]:
        """Every counter of ``region`` (ARM name). Errors are ``lib.domain.errors.SiteRecoveryError``s."""
        ...
