"""VM size -> vCPUs and the compute usage family it counts against (no API call: sizes do not change).

A small table of common sizes; any other ``Standard_<letters><digits>...`` name gives its vCPUs from the digits
(D4s_v5 -> 4, E16as_v4 -> 16) with an unknown family, so only the regional total is checked for it.
"""

from __future__ import annotations

import re

__all__ = ["family_of", "vcpus_of"]

_TABLE: dict[str, tuple[int, str]] = {
    "standard_ds1_v2": (1, "standardDSv2Family"),
    "standard_ds2_v2": (2, "standardDSv2Family"),
    "standard_ds3_v2": (4, "standardDSv2Family"),
    "standard_ds4_v2": (8, "standardDSv2Family"),
    "standard_ds5_v2": (16, "standardDSv2Family"),
    "standard_d2s_v3": (2, "standardDSv3Family"),
    "standard_d4s_v3": (4, "standardDSv3Family"),
    "standard_d8s_v3": (8, "standardDSv3Family"),
    "standard_d16s_v3": (16, "standardDSv3Family"),
    "standard_d2s_v5": (2, "standardDSv5Family"),
    "standard_d4s_v5": (4, "standardDSv5Family"),
    "standard_d8s_v5": (8, "standardDSv5Family"),
    "standard_d16s_v5": (16, "standardDSv5Family"),
    "standard_e2s_v3": (2, "standardESv3Family"),
    "standard_e4s_v3": (4, "standardESv3Family"),
    "standard_e8s_v3": (8, "standardESv3Family"),
    "standard_e4s_v5": (4, "standardESv5Family"),
    "standard_f2s_v2": (2, "standardFSv2Family"),
    "standard_f4s_v2": (4, "standardFSv2Family"),
    "standard_b1s": (1, "standardBSFamily"),
    "standard_b2s": (2, "standardBSFamily"),
    "standard_b2ms": (2, "standardBSFamily"),
    "standard_b4ms": (4, "standardBSFamily"),
}
_DIGITS = re.compile(r"^standard_[a-z]+?(\d+)", re.IGNORECASE)


def vcpus_of(size: str | None) -> int | None:
    if not size:
        return None
    known = _TABLE.get(size.lower())
    if known:
        return known[0]
    found = _DIGITS.match(size)
    return int(found.group(1)) if found else None


def family_of(size: str | None) -> str | None:
    known = _TABLE.get((size or "").lower())
    return known[1] if known else None
