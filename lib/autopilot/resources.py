"""Resource -> region: a resource-level signal (Resource Health, HealthResources, a metric alert on a resource)
names a resource, not a region. ``ResourceRegions`` finds the region:

1. a protected VM: from the vault's items (the item's ARM ids and locations), no ARM read of the VM;
2. any other resource: one ARM read of the resource (``location``), remembered per resource id for a TTL;
3. neither: ``Ignored`` (``unresolved-region``) with the reason, never an exception.

A signal that already names regions passes unchanged.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from lib.autopilot.vault_index import VaultIndex
from lib.domain.errors import SiteRecoveryError
from lib.ports.clock import Clock
from lib.ports.resource_locations import LocationUnavailable, ResourceLocations
from lib.signals import EVERY_REGION, IgnoreCode, Ignored, RegionHealthSignal, arm_region

__all__ = ["ResourceRegions", "region_of_location"]

log = logging.getLogger("autopilot.resources")

MAX_REMEMBERED = 10_000  # resources remembered at once; expired ones are dropped first


def region_of_location(location: str) -> str | None:
    """The ARM region of a resource's ``location``; None for a global (non-regional) resource, which no region's
    failover escapes, or an empty one."""
    region = arm_region(location)
    return None if region is None or region == EVERY_REGION else region


@dataclass(frozen=True)
class _Known:
    region: str | None  # None: unresolvable, ``reason`` says why
    reason: str
    expires: datetime


class ResourceRegions:
    """``__call__(signal) -> RegionHealthSignal | Ignored``. ``ttl``: how long a resource's region is remembered
    (a resource never changes region; the TTL only bounds memory of deleted ones); ``miss_ttl``: how long a
    definite failure (404, 403, no location) is; transient failures (429, 5xx, no answer) are not remembered."""

    def __init__(
        self,
        vault: VaultIndex,
        locations: ResourceLocations,
        clock: Clock,
        *,
        ttl: timedelta = timedelta(hours=12),
        miss_ttl: timedelta = timedelta(minutes=5),
    ) -> None:
        self._vault = vault
        self._locations = locations
        self._clock = clock
        self._ttl = ttl
        self._miss_ttl = miss_ttl
        self._lock = threading.Lock()
        self._known: dict[str, _Known] = {}

    def __call__(self, signal: RegionHealthSignal) -> RegionHealthSignal | Ignored:
        if signal.regions:
            return signal
        resource = (signal.resource_id or "").strip()
        if not resource:
            return Ignored("no region and no resource to find one from", IgnoreCode.NO_REGION, signal.source,
                           signal.notification)  # fmt: skip
        region = self._from_vault(resource)
        reason = ""
        if region is None:
            region, reason = self._from_arm(resource)
        if region is None:
            why = f"the region of {resource} could not be resolved: {reason}"
            return Ignored(why, IgnoreCode.UNRESOLVED_REGION, signal.source, signal.notification)
        return replace(signal, regions=(region,))

    def _from_vault(self, resource: str) -> str | None:
        try:
            vm = self._vault.vm(resource)
        except SiteRecoveryError as exc:  # the vault is unreadable now: ARM may still know the resource
            log.warning("resolving %s: the vault's items could not be listed (%s); asking ARM", resource, exc)
            return None
        return vm.region if vm is not None else None

    def _from_arm(self, resource: str) -> tuple[str | None, str]:
        key = resource.lower()
        now = self._clock.now()
        with self._lock:
            known = self._known.get(key)
        if known is not None and now < known.expires:
            return known.region, known.reason
        try:
            location = self._locations.location_of(resource)
        except LocationUnavailable as exc:
            if not exc.transient:
                self._remember(key, _Known(None, exc.reason, now + self._miss_ttl))
            return None, exc.reason
        region = region_of_location(location)
        if region is None:
            reason = f"it is not a regional resource (location {location!r})"
            self._remember(key, _Known(None, reason, now + self._miss_ttl))
            return None, reason
        self._remember(key, _Known(region, "", now + self._ttl))
        return region, ""

    def _remember(self, key: str, known: _Known) -> None:
        with self._lock:
            if len(self._known) >= MAX_REMEMBERED:
                now = self._clock.now()
                self._known = {k: v for k, v in self._known.items() if now < v.expires}
                if len(self._known) >= MAX_REMEMBERED:
                    self._known.clear()
            self._known[key] = known
