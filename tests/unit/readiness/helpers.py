"""Hand-built domain values for the readiness checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lib.domain.asr import AgentStatus, ProtectedItem, RecoveryPlan

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
PROTECTED_OPS = frozenset({"UnplannedFailover", "TestFailover", "DisableProtection"})


def vm(name: str, **kw: Any) -> ProtectedItem:
    fields: dict[str, Any] = {
        "id": f"/Subscriptions/s/.../replicationProtectedItems/item-{name}",
        "name": f"item-{name}",
        "vm_name": name,
        "fabric": "asr-a2a-default-eastus",
        "container": "asr-a2a-default-eastus-container",
        "protection_state": "Protected",
        "protection_state_description": "Protected",
        "active_location": "Primary",
        "allowed_operations": PROTECTED_OPS,
        "replication_health": "Normal",
        "failover_health": "Normal",
        "primary_location": "eastus",
        "recovery_location": "westus",
        "initial_primary_location": "eastus",
        "initial_recovery_location": "westus",
        "rpo_seconds": 60,
        "last_successful_test_failover_time": NOW - timedelta(days=10),
        "recovery_vm_size": "Standard_D4s_v3",
        "agent": AgentStatus(version="9.65"),
    }
    fields.update(kw)
    return ProtectedItem(**fields)


def failed_over(name: str, **kw: Any) -> ProtectedItem:
    return vm(name, active_location="Recovery", protection_state="UnplannedFailoverCommitted",
              protection_state_description="Failover committed",
              allowed_operations=frozenset({"SwitchProtection"}), **kw)  # fmt: skip


def plan(name: str, *members: str, ops: frozenset[str] = frozenset({"UnplannedFailover", "TestFailover"})) -> (
    RecoveryPlan
):  # fmt: skip
    return RecoveryPlan(name, f"/plans/{name}", ops, "/fabrics/east", "/fabrics/west",
                        ((tuple(f"item-{m}" for m in members)),))  # fmt: skip
