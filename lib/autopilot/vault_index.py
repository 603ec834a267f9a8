"""The vault's protected VMs by ARM id, listed at most once per TTL: a storm of resource-level signals costs one
vault-wide list (a few paged calls), not one per signal (ARM throttles reads per subscription)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from lib.domain.asr import ProtectedItem
from lib.ports.clock import Clock

__all__ = ["ProtectedItems", "ProtectedVm", "VaultIndex"]


class ProtectedItems(Protocol):
    """The one read of the SiteRecovery port the index needs."""

    def list_protected_items(self) -> list[ProtectedItem]: ...


@dataclass(frozen=True)
class ProtectedVm:
    """A VM resource of a protected item: ``name`` (lower case) is the VM, ``region`` where this resource lives,
    ``protected_from`` the item's current primary region (the region whose share it counts toward)."""

    name: str
    region: str
    protected_from: str

    @property
    def is_primary(self) -> bool:
        return self.region == self.protected_from


def vms_by_id(items: list[ProtectedItem]) -> dict[str, ProtectedVm]:
    """{ARM id (lower case): the VM} for the primary VM of every item and, once failed over, its recovery VM."""
    found: dict[str, ProtectedVm] = {}
    for item in items:
        name, primary = item.vm_name.lower(), item.primary_location.lower()
        if item.vm_id:
            found[item.vm_id.lower()] = ProtectedVm(name, primary, primary)
        if item.recovery_vm_id:
            found[item.recovery_vm_id.lower()] = ProtectedVm(name, item.recovery_location.lower(), primary)
    return found


class VaultIndex:
    def __init__(self, asr: ProtectedItems, clock: Clock, ttl: timedelta = timedelta(minutes=5)) -> None:
        self._asr = asr
        self._clock = clock
        self._ttl = ttl
        self._lock = threading.Lock()
        self._items: list[ProtectedItem] = []
        self._by_id: dict[str, ProtectedVm] = {}
        self._expires: datetime | None = None

    def _refresh(self) -> None:
        now = self._clock.now()
        with self._lock:
            if self._expires is not None and now < self._expires:
                return
        items = self._asr.list_protected_items()  # outside the lock: a slow list never blocks readers of a fresh one
        with self._lock:
            self._items, self._by_id, self._expires = items, vms_by_id(items), now + self._ttl

    def vm(self, resource_id: str) -> ProtectedVm | None:
        """The protected VM with this ARM id (any case), or None. Raises ``SiteRecoveryError`` if the vault
        cannot be listed."""
        self._refresh()
        return self._by_id.get(resource_id.strip().lower())

    def protected_from(self, region: str) -> list[str]:
        """The names (lower case) of the VMs protected from ``region`` (their item's primary region)."""
        self._refresh()
        wanted = region.lower()
        return sorted({i.vm_name.lower() for i in self._items if i.primary_location.lower() == wanted})
