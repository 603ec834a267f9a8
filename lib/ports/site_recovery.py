"""The SiteRecovery port: everything the workflows ask of ASR.

Actions start an ASR job and return its name (the GUID in the LRO URLs) without waiting: the workflow
records it and polls ``get_job`` on later steps. Errors are ``lib.domain.errors.SiteRecoveryError``
subclasses carrying ASR's code and message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from lib.domain.asr import ItemRef, Job, ProtectedItem, RecoveryPlan, RecoveryPoint, VaultHealth


class SiteRecovery(Protocol):
    # --- reads -------------------------------------------------------------------------------------------
    def list_protected_items(self) -> list[ProtectedItem]:
        """Every item in the vault (follows every ``nextLink``). One call per page."""
        ...

    def get_protected_item(self, ref: ItemRef) -> ProtectedItem: ...

    def list_recovery_plans(self) -> list[RecoveryPlan]: ...

    def get_recovery_plan(self, name: str) -> RecoveryPlan: ...

    def get_job(self, job_name: str) -> Job: ...

    def list_jobs(self, *, since: datetime | None = None) -> list[Job]:
        """The vault's jobs, or only those started at or after ``since`` (``$filter`` on ``startTime``). A vault
        keeps thousands of old jobs: hot paths pass ``since`` (one read for all of a run's running jobs instead of
        one GET per job) or read the jobs they recorded by name."""
        ...

    def list_recovery_points(self, ref: ItemRef) -> list[RecoveryPoint]: ...

    def get_vault_health(self) -> VaultHealth: ...

    # --- item actions (return the ASR job name) ----------------------------------------------------------
    def unplanned_failover(self, ref: ItemRef, *, shutdown_source: bool, recovery_point_id: str | None) -> str: ...

    def test_failover(self, ref: ItemRef, *, network_id: str, recovery_point_id: str | None = None) -> str: ...

    def test_failover_cleanup(self, ref: ItemRef, *, comments: str) -> str: ...

    def commit(self, ref: ItemRef) -> str: ...

    def switch_protection(self, item: ProtectedItem) -> str:
        """Reprotect (A2A): POST on the item's current container; the item moves to the other side."""
        ...

    # --- job actions -------------------------------------------------------------------------------------
    def cancel_job(self, job_name: str) -> str:
        """Ask ASR to cancel a running job (only where its ``allowedActions`` offers ``Cancel``). Returns the
        name the 202 gives the operation (not awaited); read the job with ``get_job`` to see it ``Cancelled``."""
        ...

    # --- recovery-plan actions ---------------------------------------------------------------------------
    def plan_unplanned_failover(
        self, plan: str, *, direction: str, shutdown_source: bool, recovery_point_type: str
    ) -> str: ...

    def plan_test_failover(self, plan: str, *, network_id: str, direction: str, recovery_point_type: str) -> str: ...

    def plan_test_failover_cleanup(self, plan: str, *, comments: str) -> str: ...

    def plan_commit(self, plan: str) -> str: ...


def plans_with_members(asr: SiteRecovery) -> list[RecoveryPlan]:
    """Every recovery plan with its members. ASR's plan LIST returns empty ``groups``; only the single-plan GET
    names the members, so each listed plan is read again (plans are few: one GET each)."""
    return [asr.get_recovery_plan(plan.name) for plan in asr.list_recovery_plans()]


def by_vm_name(items: Sequence[ProtectedItem]) -> dict[str, ProtectedItem]:
    return {item.vm_name.lower(): item for item in items}
