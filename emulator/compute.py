"""Compute usages per region (``GET /subscriptions/{sub}/providers/Microsoft.Compute/locations/{region}/usages``).

State lives in ``Backend.usages`` (limits injected through the admin API); the JSON follows the real ``Usage``
body: ``{"unit": "Count", "currentValue", "limit", "name": {"value", "localizedValue"}}``. The vCPUs in use are
those of the vault's VMs running in the region (test VMs included) plus ``extra_used`` for VMs outside the vault.
"""

from __future__ import annotations

from typing import Any

from emulator.backend import Backend
from emulator.models import Usage

DEFAULT_LIMIT = 100  # vCPUs per counter unless the topology ("coresLimit") or the admin API says otherwise

# size -> (vCPUs, family usage name). The sizes the tests and demo use; an unknown size counts 2 vCPUs in
# "standardDSv2Family", enough for the emulator to answer something plausible.
SIZES: dict[str, tuple[int, str]] = {
    "standard_ds1_v2": (1, "standardDSv2Family"),
    "standard_ds2_v2": (2, "standardDSv2Family"),
    "standard_ds3_v2": (4, "standardDSv2Family"),
    "standard_ds4_v2": (8, "standardDSv2Family"),
    "standard_d2s_v3": (2, "standardDSv3Family"),
    "standard_d4s_v3": (4, "standardDSv3Family"),
    "standard_d8s_v3": (8, "standardDSv3Family"),
    "standard_d16s_v3": (16, "standardDSv3Family"),
    "standard_d2s_v5": (2, "standardDSv5Family"),
    "standard_d4s_v5": (4, "standardDSv5Family"),
    "standard_d8s_v5": (8, "standardDSv5Family"),
    "standard_e4s_v3": (4, "standardESv3Family"),
    "standard_b2s": (2, "standardBSFamily"),
}
_FALLBACK = (2, "standardDSv2Family")


def size_info(size: str) -> tuple[int, str]:
    return SIZES.get(size.lower(), _FALLBACK)


def localized(name: str) -> str:
    if name == "cores":
        return "Total Regional vCPUs"
    family = name.removeprefix("standard").removesuffix("Family")
    return f"Standard {family} Family vCPUs"


def counters(b: Backend, region: str) -> dict[str, Usage]:
    """The region's counters: every family of the vault's VM sizes plus ``cores``, created on first use."""
    region = region.lower()
    table = b.usages.setdefault(region, {})
    limit = int(b.topology.extra.get("coresLimit") or DEFAULT_LIMIT)
    for name in ["cores", *sorted({size_info(i.vm_size)[1] for i in b.items.values()})]:
        table.setdefault(name, Usage(name, localized(name), limit))
    return table


def used_vcpus(b: Backend, region: str) -> dict[str, int]:
    used: dict[str, int] = {}
    for item in b.items.values():
        running = int(item.vm_running.get(region, False))
        running += int(item.test_vm_running and item.recovery == region)
        vcpus, family = size_info(item.vm_size)
        used[family] = used.get(family, 0) + running * vcpus
    used["cores"] = sum(used.values())
    return used


def usages_json(b: Backend, region: str) -> list[dict[str, Any]]:
    used = used_vcpus(b, region.lower())
    return [
        {
            "unit": "Count",
            "currentValue": used.get(u.name, 0) + u.extra_used,
            "limit": u.limit,
            "name": {"value": u.name, "localizedValue": u.localized},
        }
        for u in counters(b, region).values()
    ]


def set_usage(b: Backend, region: str, name: str, *, limit: int | None, extra_used: int | None) -> dict[str, Any]:
    """Admin: change one counter's limit and/or the vCPUs used outside the vault (a new family is added)."""
    table = counters(b, region)
    usage = table.setdefault(name, Usage(name, localized(name), DEFAULT_LIMIT))
    if limit is not None:
        usage.limit = limit
    if extra_used is not None:
        usage.extra_used = extra_used
    return {"region": region.lower(), "usages": usages_json(b, region)}
