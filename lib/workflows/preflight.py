"""Resolve a request to protected items and refuse, with a reason per VM, what ASR would not allow."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lib.domain.asr import Operation, ProtectedItem
from lib.domain.dr import DrRequest
from lib.engine.api import Fail, Next, Outcome, StepContext
from lib.ports.site_recovery import by_vm_name
from lib.workflows import vmstate as vs
from lib.workflows.deps import DrDeps
from lib.workflows.phases import request

LOCK_TTL = timedelta(hours=1)
LOCK_RENEW_EVERY = timedelta(minutes=15)


def _readiness(req: DrRequest, item: ProtectedItem) -> str | None:
    """Why this item cannot take part, or None when it can."""
    where = f"{item.primary_location} → {item.recovery_location}"
    if item.protection_state == "InitialReplicationInProgress":
        pct = f" ({item.monitoring_percentage}% done)" if item.monitoring_percentage is not None else ""
        return f"replication is still being established{pct}; it must reach Protected first"
    if item.test_failover_state == "WaitingForCompletion":
        return f"a test failover ({item.test_vm_name or 'test VM'}) is waiting for cleanup; clean it up first"
    if item.current_job_name:
        return f"ASR job {item.current_job_name} ({item.current_scenario}) is running on it"
    if req.kind == "failback" and item.in_original_direction:
        return f"it replicates in its original direction ({where}); there is nothing to fail back"
    if req.kind == "failover" and not item.in_original_direction:
        return f"it is already failed over and replicates in reverse ({where}); use failback"
    wanted = Operation.TEST_FAILOVER if req.kind == "drill" else Operation.UNPLANNED_FAILOVER
    if not item.allows(wanted):
        return (
            f"ASR does not allow {wanted.value} now: state {item.protection_state}"
            f" ({item.protection_state_description}), allowed {sorted(item.allowed_operations)}"
        )
    return None


def preflight(ctx: StepContext, deps: DrDeps) -> Outcome:
    req = request(ctx)
    items = deps.asr.list_protected_items()
    named = by_vm_name(items)
    groups: list[list[str]]
    if req.plan:
        plan = deps.asr.get_recovery_plan(req.plan)
        by_item = {i.name.lower(): i for i in items}
        groups = []
        for plan_group in plan.groups:
            members = [by_item[n.lower()].vm_name for n in plan_group if n.lower() in by_item]
            if members:
                groups.append(members)
        if not groups:
            return Fail(f"recovery plan {req.plan} has no protected items", code="PreflightFailed")
    else:
        groups = [list(g) for g in req.groups]

    problems: dict[str, str] = {}
    for index, group in enumerate(groups):
        for vm in group:
            item = named.get(vm.lower())
            if item is None:
                problems[vm] = "not found among the vault's protected items"
                continue
            vs.init_vm(ctx.state, item.vm_name, item, index)
            row = vs.vm_table(ctx.state)[item.vm_name]
            row["from"], row["to"] = item.primary_location, item.recovery_location
            row["reverse"] = not item.in_original_direction
            reason = _readiness(req, item)
            if reason:
                problems[vm] = reason
    health = {vm: row["health"] for vm, row in vs.vm_table(ctx.state).items()}
    if problems:
        text = "; ".join(f"{vm}: {why}" for vm, why in problems.items())
        return Fail(f"refused {req.kind} of {req.target_label}: {text}", "PreflightFailed", {"refused": problems})

    names = sorted(vs.vm_table(ctx.state))
    conflicts = deps.locks.acquire(names, ctx.run_id, LOCK_TTL)
    if conflicts:
        held = "; ".join(f"{vm} by run {holder}" for vm, holder in sorted(conflicts.items()))
        return Fail(f"another run is working on these VMs: {held}", "ItemsLocked", {"locked": conflicts})
    ctx.state["locked_at"] = ctx.now.isoformat()
    ctx.state.setdefault("trigger_at", str(ctx.input.get("triggered_at") or ctx.run_started_at.isoformat()))
    critical = sorted(vm for vm, h in health.items() if h == "Critical")
    reason = f"{len(names)} VMs ready for {req.kind}"
    if critical:
        reason += f"; replication health Critical on {', '.join(critical)} (recovery points may be old)"
    return Next(reason, {"replication_health": health, "groups": groups})


def renew_locks(ctx: StepContext, deps: DrDeps) -> None:
    """Keep the run's item locks alive during long waits (they expire if a run dies)."""
    last = ctx.state.get("locked_at")
    if last is not None and ctx.now < datetime.fromisoformat(last) + LOCK_RENEW_EVERY:
        return
    mine = sorted(vm for vm, row in vs.vm_table(ctx.state).items() if row["status"] == vs.ACTIVE)
    if mine:
        deps.locks.acquire(mine, ctx.run_id, LOCK_TTL)
    ctx.state["locked_at"] = ctx.now.isoformat()


def release_locks(ctx: StepContext, deps: DrDeps) -> None:
    deps.locks.release(sorted(vs.vm_table(ctx.state)), ctx.run_id)


def target_regions(state: dict[str, Any]) -> dict[str, str]:
    return {vm: row["to"] for vm, row in vs.vm_table(state).items()}
