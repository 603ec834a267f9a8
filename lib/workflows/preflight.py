"""Resolve a request to protected items and refuse, with a reason per VM, what ASR would not allow."""

from __future__ import annotations

from datetime import timedelta

from lib.domain.asr import Operation, ProtectedItem
from lib.domain.dr import DrRequest
from lib.engine import Fail, Next, Outcome, StepContext
from lib.ports.site_recovery import by_vm_name
from lib.workflows.deps import DrDeps
from lib.workflows.json_fields import parse_time
from lib.workflows.runstate import RunState
from lib.workflows.steps import request
from lib.workflows.vmstate import VmProgress

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


def _plan_groups(req: DrRequest, deps: DrDeps, items: list[ProtectedItem]) -> list[list[str]]:
    """The run's VM groups in boot order: the plan's groups (its protected items only), or the request's."""
    if not req.plan:
        return [list(g) for g in req.groups]
    plan = deps.asr.get_recovery_plan(req.plan)
    by_item = {i.name.lower(): i for i in items}
    groups = [[by_item[n.lower()].vm_name for n in group if n.lower() in by_item] for group in plan.groups]
    return [members for members in groups if members]


def _register(req: DrRequest, state: RunState, groups: list[list[str]], items: list[ProtectedItem]) -> dict[str, str]:
    """Record every VM found; return why each VM that cannot take part cannot."""
    named = by_vm_name(items)
    problems: dict[str, str] = {}
    for index, group in enumerate(groups):
        for vm in group:
            item = named.get(vm.lower())
            if item is None:
                problems[vm] = "not found among the vault's protected items"
                continue
            state.vms[item.vm_name] = VmProgress.new(item, index)
            reason = _readiness(req, item)
            if reason:
                problems[vm] = reason
    return problems


def preflight(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
    req = request(ctx)
    items = deps.asr.list_protected_items()
    groups = _plan_groups(req, deps, items)
    if req.plan and not groups:
        return Fail(f"recovery plan {req.plan} has no protected items", code="PreflightFailed")
    problems = _register(req, state, groups, items)
    health = {vm: row.health for vm, row in state.vms.items()}
    if problems:
        text = "; ".join(f"{vm}: {why}" for vm, why in problems.items())
        return Fail(f"refused {req.kind} of {req.target_label}: {text}", "PreflightFailed", {"refused": problems})

    names = sorted(state.vms)
    conflicts = deps.locks.acquire(names, ctx.run_id, LOCK_TTL)
    if conflicts:
        held = "; ".join(f"{vm} by run {holder}" for vm, holder in sorted(conflicts.items()))
        return Fail(f"another run is working on these VMs: {held}", "ItemsLocked", {"locked": conflicts})
    state.locked_at = ctx.now
    if state.trigger_at is None:
        state.trigger_at = parse_time(ctx.input.get("triggered_at")) or ctx.run_started_at
    critical = sorted(vm for vm, h in health.items() if h == "Critical")
    reason = f"{len(names)} VMs ready for {req.kind}"
    if critical:
        reason += f"; replication health Critical on {', '.join(critical)} (recovery points may be old)"
    details: dict[str, object] = {"replication_health": health, "groups": groups}
    uncached = missing_cache_accounts(req, deps, state)
    if uncached:
        details["missing_cache_accounts"] = uncached
        reason += (
            f"; no reprotect cache storage account configured for {', '.join(uncached)} (ASR_CACHE_STORAGE_ACCOUNTS):"
            " reprotect will send no per-disk input and ASR may refuse it"
        )
    return Next(reason, details)


def missing_cache_accounts(req: DrRequest, deps: DrDeps, state: RunState) -> list[str]:
    """Regions the run's VMs will run in with no cache account for their reprotect: said before any failover
    starts, not found out at reprotect time (a drill, or a run without auto-reprotect, needs none)."""
    if deps.cache_accounts is None or req.kind == "drill" or not req.auto_reprotect:
        return []
    known = {region.lower() for region in deps.cache_accounts}
    return sorted({row.to_region for row in state.vms.values() if row.to_region.lower() not in known})


def renew_locks(ctx: StepContext, deps: DrDeps, state: RunState) -> None:
    """Keep the run's item locks alive during long waits (they expire if a run dies)."""
    if state.locked_at is not None and ctx.now < state.locked_at + LOCK_RENEW_EVERY:
        return
    mine = sorted(vm for vm, row in state.vms.items() if row.active)
    if mine:
        deps.locks.acquire(mine, ctx.run_id, LOCK_TTL)
    state.locked_at = ctx.now


def release_locks(ctx: StepContext, deps: DrDeps, state: RunState) -> None:
    deps.locks.release(sorted(state.vms), ctx.run_id)
