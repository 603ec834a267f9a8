"""A hand-written fake of the SiteRecovery port for pure unit tests of the workflow logic.

It keeps the A2A lifecycle rules that the workflows rely on (allowed operations per state, items moving
container on switch-protection) and finishes each job after ``job_polls`` reads of it. The real behaviour
is covered by the integration tests against the HTTPS emulator.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from lib.domain.asr import ItemRef, Job, JobError, ProtectedItem, RecoveryPlan, RecoveryPoint, VaultHealth
from lib.domain.errors import OperationNotAllowed, ResourceNotFound

PROTECTED = frozenset({"UnplannedFailover", "DisableProtection", "TestFailover"})
T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


class FakeSiteRecovery:
    def __init__(self, vms: list[str], *, job_polls: int = 1, ir_polls: int = 2) -> None:
        self.items: dict[str, ProtectedItem] = {}
        for vm in vms:
            self.items[vm] = ProtectedItem(
                id=f"/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationFabrics/fa/replicationProtectionContainers/ca/replicationProtectedItems/rpi-{vm}",
                name=f"rpi-{vm}",
                vm_name=vm,
                fabric="fa",
                container="ca",
                protection_state="Protected",
                protection_state_description="Protected",
                active_location="Primary",
                allowed_operations=PROTECTED,
                replication_health="Normal",
                failover_health="Normal",
                primary_location="eastus",
                recovery_location="westus",
                initial_primary_location="eastus",
                initial_recovery_location="westus",
                rpo_seconds=60,
            )
        self.plans: dict[str, RecoveryPlan] = {}
        self.jobs: dict[str, Job] = {}
        self.pending: dict[str, tuple[str, str, int]] = {}  # job -> (vm, action, polls left)
        self.actions: list[tuple[str, str]] = []  # (action, vm) in the order they were issued
        self.fail_next: dict[tuple[str, str], str] = {}  # (action, vm) -> error code
        self.list_calls = 0
        self.job_lists = 0  # list_jobs calls
        self.job_gets = 0  # get_job calls
        self.list_jobs_since: list[datetime | None] = []  # ``since`` of every list_jobs call
        self.job_polls = job_polls
        self.slow: dict[tuple[str, str], int] = {}  # (action, vm) -> reads before its job ends (else job_polls)
        self.ir_polls = ir_polls
        self.ir_left: dict[str, int] = {}
        self._ids = itertools.count(1)

    # --- reads ---------------------------------------------------------------------------------------------
    def list_protected_items(self) -> list[ProtectedItem]:
        self.list_calls += 1
        for vm, left in list(self.ir_left.items()):
            if left <= 0:
                self._set(
                    vm,
                    protection_state="Protected",
                    protection_state_description="Protected",
                    allowed_operations=PROTECTED,
                    replication_health="Normal",
                    monitoring_percentage=100,
                )
                del self.ir_left[vm]
            else:
                self.ir_left[vm] = left - 1
                pct = 100 * (self.ir_polls - left) // max(self.ir_polls, 1)
                self._set(vm, monitoring_percentage=pct)
        return list(self.items.values())

    def get_protected_item(self, ref: ItemRef) -> ProtectedItem:
        return next(i for i in self.items.values() if i.name == ref.name)

    def list_recovery_plans(self) -> list[RecoveryPlan]:
        return list(self.plans.values())

    def get_recovery_plan(self, name: str) -> RecoveryPlan:
        if name not in self.plans:
            raise ResourceNotFound("NotFound", f"plan {name} not found", status=404)
        return self.plans[name]

    def get_job(self, job_name: str) -> Job:
        self.job_gets += 1
        if job_name in self.pending:
            vm, action, left = self.pending[job_name]
            if left <= 0:
                self._finish(job_name, vm, action)
            else:
                self.pending[job_name] = (vm, action, left - 1)
        return self.jobs[job_name]

    def list_jobs(self, *, since: datetime | None = None) -> list[Job]:
        """Every job; with ``since`` only those started at or after it, and a read of the running ones too
        (each moves on like a ``get_job``)."""
        self.job_lists += 1
        self.list_jobs_since.append(since)
        if since is None:
            return list(self.jobs.values())
        for name in list(self.pending):
            self.get_job(name)
            self.job_gets -= 1  # counted as part of this one listing
        return [j for j in self.jobs.values() if j.start_time is not None and j.start_time >= since]

    def list_recovery_points(self, ref: ItemRef) -> list[RecoveryPoint]:
        base = f"{ref.name}/recoveryPoints"
        return [
            RecoveryPoint(f"{base}/app", "app", T0 - timedelta(hours=1), "ApplicationConsistent"),
            RecoveryPoint(f"{base}/crash", "crash", T0 - timedelta(minutes=5), "CrashConsistent"),
        ]

    def get_vault_health(self) -> VaultHealth:
        return VaultHealth(item_count=len(self.items))

    # --- actions -------------------------------------------------------------------------------------------
    def _item(self, ref: ItemRef) -> tuple[str, ProtectedItem]:
        return next((vm, i) for vm, i in self.items.items() if i.name == ref.name)

    def _start(self, ref: ItemRef, action: str, needs: str, scenario: str) -> str:
        vm, item = self._item(ref)
        if needs not in item.allowed_operations:
            raise OperationNotAllowed("OperationNotAllowed", f"{needs} not allowed for {vm}", status=400)
        name = f"job-{next(self._ids)}"
        self.actions.append((action, vm))
        self.jobs[name] = Job(
            name, f"/jobs/{name}", scenario, "InProgress", "InProgress", vm, "ProtectionEntity", T0, None
        )
        self.pending[name] = (vm, action, self.slow.get((action, vm), self.job_polls))
        self._set(vm, current_scenario=scenario, current_job_name=name, allowed_operations=frozenset())
        return name

    def cancel_job(self, job_name: str) -> str:
        """Like the emulator: only a running job that offers Cancel; the item is left as before the job."""
        job = self.jobs[job_name]
        if job_name not in self.pending or "Cancel" not in job.allowed_actions:
            raise OperationNotAllowed("OperationNotAllowed", f"job {job_name} cannot be cancelled", status=400)
        vm, _action, _left = self.pending.pop(job_name)
        self.actions.append(("cancel", vm))
        self.jobs[job_name] = replace(job, state="Cancelled", state_description="Cancelled", end_time=T0)
        self._set(vm, current_scenario="None", current_job_name=None, allowed_operations=PROTECTED)
        return job_name

    def _finish(self, job_name: str, vm: str, action: str) -> None:
        del self.pending[job_name]
        job = self.jobs[job_name]
        code = self.fail_next.pop((action, vm), None)
        if code:
            self.jobs[job_name] = replace(
                job,
                state="Failed",
                state_description="Failed",
                end_time=T0,
                errors=(JobError(code, f"{action} failed for {vm}"),),
            )
            self._set(vm, current_scenario="None", current_job_name=None, allowed_operations=PROTECTED)
            return
        self.jobs[job_name] = replace(
            job, state="Succeeded", state_description="Completed", end_time=T0 + timedelta(minutes=3)
        )
        idle = {"current_scenario": "None", "current_job_name": None}
        item = self.items[vm]
        if action == "failover":
            self._set(
                vm,
                **idle,
                active_location="Recovery",
                protection_state="UnplannedFailoverCommitPendingStatesBegin",
                allowed_operations=frozenset({"Commit", "DisableProtection"}),
            )
        elif action == "commit":
            self._set(
                vm,
                **idle,
                protection_state="UnplannedFailoverCommitted",
                allowed_operations=frozenset({"SwitchProtection", "DisableProtection"}),
            )
        elif action == "reprotect":
            self._set(
                vm,
                **idle,
                active_location="Primary",
                protection_state="InitialReplicationInProgress",
                allowed_operations=frozenset({"DisableProtection"}),
                replication_health="None",
                fabric="fb" if item.fabric == "fa" else "fa",
                container="cb" if item.container == "ca" else "ca",
                primary_location=item.recovery_location,
                recovery_location=item.primary_location,
                monitoring_percentage=0,
            )
            self.ir_left[vm] = self.ir_polls
        elif action == "test":
            self._set(
                vm,
                current_scenario="TestFailover",
                current_job_name=job_name,
                test_failover_state="WaitingForCompletion",
                test_vm_name=f"{vm}-test",
                allowed_operations=frozenset({"TestFailoverCleanup"}),
            )
        elif action == "cleanup":
            self._set(
                vm,
                **idle,
                test_failover_state="None",
                test_vm_name=None,
                allowed_operations=PROTECTED,
                last_successful_test_failover_time=T0,
            )

    def _set(self, vm: str, **changes: object) -> None:
        self.items[vm] = replace(self.items[vm], **changes)  # type: ignore[arg-type]

    def unplanned_failover(self, ref: ItemRef, *, shutdown_source: bool, recovery_point_id: str | None) -> str:
        return self._start(ref, "failover", "UnplannedFailover", "UnplannedFailover")

    def test_failover(self, ref: ItemRef, *, network_id: str, recovery_point_id: str | None = None) -> str:
        return self._start(ref, "test", "TestFailover", "TestFailover")

    def test_failover_cleanup(self, ref: ItemRef, *, comments: str) -> str:
        return self._start(ref, "cleanup", "TestFailoverCleanup", "TestFailoverCleanup")

    def commit(self, ref: ItemRef) -> str:
        return self._start(ref, "commit", "Commit", "CommitFailover")

    def switch_protection(self, item: ProtectedItem) -> str:
        return self._start(item.ref, "reprotect", "SwitchProtection", "SwitchReplicationGroupProtection")

    def plan_unplanned_failover(
        self, plan: str, *, direction: str, shutdown_source: bool, recovery_point_type: str
    ) -> str:
        raise NotImplementedError("plans are covered by the emulator integration tests")

    def plan_test_failover(self, plan: str, *, network_id: str, direction: str, recovery_point_type: str) -> str:
        raise NotImplementedError("plans are covered by the emulator integration tests")

    def plan_test_failover_cleanup(self, plan: str, *, comments: str) -> str:
        raise NotImplementedError("plans are covered by the emulator integration tests")

    def plan_commit(self, plan: str) -> str:
        raise NotImplementedError("plans are covered by the emulator integration tests")
