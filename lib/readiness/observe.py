"""Observe: the reads readiness needs, each one's failure kept as text so that one bad read never hides the rest.

ARM reads: one vault-wide item listing (a page per 50 items), one plan listing and a GET per plan (the listing has
no members), the vault health, and one usages read per recovery region the targets use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import TypeVar

from lib.domain.asr import ProtectedItem
from lib.domain.errors import SiteRecoveryError
from lib.guard import Policy, PolicyErrors
from lib.ports.compute import ComputeUsages, Usage
from lib.ports.site_recovery import SiteRecovery, plans_with_members
from lib.readiness.evaluate import Observation

__all__ = ["observe"]

_T = TypeVar("_T")


def _read(fn: Callable[[], _T]) -> _T | str:
    try:
        return fn()
    except SiteRecoveryError as exc:
        return str(exc)


def _recovery_regions(items: list[ProtectedItem] | str) -> list[str]:
    if isinstance(items, str):
        return []
    return sorted({i.recovery_location.lower() for i in items if i.recovery_location and not i.failed_over})


def observe(
    asr: SiteRecovery,
    compute: ComputeUsages,
    *,
    now: datetime,
    policy: Policy | PolicyErrors,
    cache_accounts: Mapping[str, str] | str,
    app_region: str,
) -> Observation:
    items = _read(asr.list_protected_items)
    usages: dict[str, list[Usage] | str] = {}
    for region in _recovery_regions(items):
        usages[region] = _read(partial(compute.list_usages, region))
    return Observation(
        now=now,
        policy=policy,
        items=items,
        plans=_read(partial(plans_with_members, asr)),  # the plan list alone has no members
        vault_health=_read(asr.get_vault_health),
        usages=usages,
        cache_accounts=cache_accounts,
        app_region=app_region,
    )
