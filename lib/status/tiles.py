"""The Site Recovery dashboard's three tiles, pure, in the portal's own categories (asr-api.md §8.2 mapping).

Replicated items and Failover test success come from one vault-wide item listing; Configuration issues from the
latest readiness checks (plus the agent flags on the items, which the listing carries live).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from lib.domain.asr import Operation, ProtectedItem
from lib.readiness.model import Category, TargetReadiness

__all__ = ["CONFIGURATION_CLASSES", "configuration_issues", "failover_test_tile", "replicated_items_tile", "rpo_rows"]

NO_TEST_FAILOVER = "161011"
TEST_MAX_AGE = timedelta(days=180)
CONFIGURATION_CLASSES = {
    Category.MISSING_CONFIGURATIONS: "missingConfigurations",
    Category.MISSING_RESOURCES: "missingResources",
    Category.SUBSCRIPTION_QUOTA: "subscriptionQuota",
    Category.SOFTWARE_UPDATES: "softwareUpdates",
}


def _tile(segments: dict[str, list[str]]) -> dict[str, Any]:
    return {"counts": {k: len(v) for k, v in segments.items()}, "items": {k: sorted(v) for k, v in segments.items()}}


def replicated_items_tile(items: Sequence[ProtectedItem]) -> dict[str, Any]:
    """Healthy / Warning / Critical, and Not applicable for failed-over VMs (not expected to replicate)."""
    seg: dict[str, list[str]] = {"healthy": [], "warning": [], "critical": [], "notApplicable": []}
    for item in items:
        health = item.replication_health
        if item.failed_over or health not in ("Normal", "Warning", "Critical"):
            seg["notApplicable"].append(item.vm_name)
        else:
            seg[{"Normal": "healthy", "Warning": "warning", "Critical": "critical"}[health]].append(item.vm_name)
    return _tile(seg)


def failover_test_tile(items: Sequence[ProtectedItem], now: datetime) -> dict[str, Any]:
    """Performed successfully / Recommended / Not applicable (failed over, initial replication, a job or a test
    failover in progress: ``TestFailover`` is not allowed now)."""
    seg: dict[str, list[str]] = {"performedSuccessfully": [], "recommended": [], "notApplicable": []}
    for item in items:
        last = item.last_successful_test_failover_time
        if not item.allows(Operation.TEST_FAILOVER):
            seg["notApplicable"].append(item.vm_name)
        elif NO_TEST_FAILOVER in item.health_error_codes or last is None or now - last > TEST_MAX_AGE:
            seg["recommended"].append(item.vm_name)
        else:
            seg["performedSuccessfully"].append(item.vm_name)
    return _tile(seg)


def configuration_issues(readiness: Sequence[TargetReadiness], items: Sequence[ProtectedItem]) -> dict[str, Any]:
    """The four classes, each with the items or settings behind it and the reasons."""
    out: dict[str, dict[str, Any]] = {name: {"items": set(), "reasons": []} for name in CONFIGURATION_CLASSES.values()}
    for result in readiness:
        for check in result.checks:
            name = CONFIGURATION_CLASSES.get(check.category)
            if name is None or not check.items:
                continue
            out[name]["items"].update(check.items)
            out[name]["reasons"].append(f"{result.target}: {check.reason}")
    for item in items:
        if item.agent.update_required or item.agent.certificate_update_required:
            out["softwareUpdates"]["items"].add(item.vm_name)
    return {name: {"count": len(v["items"]), "items": sorted(v["items"]), "reasons": sorted(set(v["reasons"]))}
            for name, v in out.items()}  # fmt: skip


def rpo_rows(items: Sequence[ProtectedItem]) -> list[dict[str, Any]]:
    return [
        {"vm": i.vm_name, "rpoSeconds": i.rpo_seconds, "replicationHealth": i.replication_health,
         "protectionState": i.protection_state, "primaryRegion": i.primary_location,
         "recoveryRegion": i.recovery_location}
        for i in sorted(items, key=lambda i: i.vm_name.lower())
    ]  # fmt: skip
