"""Impacted services of a Service Health notification, and the services a VM workload depends on by default.

``impactedServices`` arrives as an escaped JSON string in some payloads and as a real array in others, so both
are read. Each entry names a service and the regions (display names) it is impacted in.
"""

from __future__ import annotations

import json

from lib.signals.fields import at, items, mapping, text
from lib.signals.model import Impact
from lib.signals.regions import arm_region

__all__ = ["DEFAULT_SERVICES", "impacts_from"]

# The Service Health service names a VM protected by Site Recovery (A2A) cannot run or fail over without: compute,
# its disks and storage, the network it is reached through, and Site Recovery itself. Global services (Entra ID,
# DNS, Front Door) are left out on purpose: failing over to another region does not escape their incidents.
DEFAULT_SERVICES: tuple[str, ...] = (
    "Virtual Machines",
    "Virtual Machine Scale Sets",
    "Managed Disks",
    "Storage",
    "Virtual Network",
    "Network Infrastructure",
    "Load Balancer",
    "Azure Site Recovery",
    "Site Recovery",
)


def impacts_from(properties: object) -> tuple[Impact, ...]:
    """The impacts listed in ``impactedServices``; when that is absent or unreadable, the single-valued
    ``service``/``region`` convenience fields. Regions are ARM names; unreadable region names are dropped."""
    raw = at(properties, "impactedServices")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    listed = tuple(i for i in (_impact(entry) for entry in items(raw)) if i is not None)
    return listed or _single(properties)


def _impact(entry: object) -> Impact | None:
    body = mapping(entry)
    service = text(body.get("ServiceName"))
    regions = tuple(dict.fromkeys(r for r in (_region(x) for x in items(body.get("ImpactedRegions"))) if r))
    if service is None and not regions:
        return None
    return Impact(service or "", regions)


def _region(entry: object) -> str | None:
    return arm_region(mapping(entry).get("RegionName"))


def _single(properties: object) -> tuple[Impact, ...]:
    service = text(at(properties, "service"))
    # Whether ``region`` lists several regions for a multi-region incident is undocumented: read commas too.
    listed = (text(at(properties, "region")) or "").split(",")
    regions = tuple(dict.fromkeys(r for r in (arm_region(x) for x in listed) if r))
    if service is None and not regions:
        return ()
    return (Impact(service or "", regions),)
