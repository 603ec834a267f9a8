"""Failover and failback: preflight → failover → (approval) → commit → reprotect → await healthy → report.

Failback is the same chain on items that were failed over and reprotected: for A2A it is an unplanned
failover of the reverse-replicating item (``PrimaryToRecovery`` on the item; ``RecoveryToPrimary`` on a
recovery plan, whose direction is fixed at creation).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lib.domain.asr import Operation, ProtectedItem, RecoveryPointType
from lib.domain.dr import DrRequest
from lib.domain.errors import OperationNotAllowed
from lib.engine.api import Next, Outcome, Pause, Step, StepContext, Wait, Workflow
from lib.ports.site_recovery import by_vm_name
from lib.workflows import vmstate as vs
from lib.workflows.deps import DrDeps
from lib.workflows.evidence import report
from lib.workflows.phases import ActionPhase, request, ride_out, run_phase
from lib.workflows.preflight import preflight, renew_locks


def _recovery_point(deps: DrDeps, item: ProtectedItem, row: dict[str, Any], req: DrRequest) -> str | None:
    """Pick the point for an item-level failover and remember it (its age is the VM's RPO)."""
    if req.recovery_point_id:
        row["rp"] = {"id": req.recovery_point_id, "kind": "Custom", "time": None}
        return req.recovery_point_id
    if req.recovery_point == RecoveryPointType.LATEST.value:
        return None  # ASR processes all pending data first: lowest RPO, no point to choose
    kind = {
        RecoveryPointType.LATEST_APP_CONSISTENT.value: "ApplicationConsistent",
        RecoveryPointType.LATEST_CRASH_CONSISTENT.value: "CrashConsistent",
    }.get(req.recovery_point)
    points = [p for p in deps.asr.list_recovery_points(item.ref) if kind is None or p.kind == kind]
    if not points:
        raise OperationNotAllowed(
            "NoRecoveryPoint", f"no {kind or 'processed'} recovery point exists for {item.vm_name}"
        )
    point = max(points, key=lambda p: p.time)
    row["rp"] = {"id": point.id, "kind": point.kind, "time": point.time.isoformat()}
    return point.id


def _start_failover(deps: DrDeps, item: ProtectedItem, row: dict[str, Any], req: DrRequest) -> str:
    point = _recovery_point(deps, item, row, req)
    return deps.asr.unplanned_failover(item.ref, shutdown_source=req.shutdown_source, recovery_point_id=point)


def _start_plan_failover(deps: DrDeps, req: DrRequest, state: dict[str, Any]) -> str:
    assert req.plan
    direction = "PrimaryToRecovery" if req.kind == "failover" else "RecoveryToPrimary"
    return deps.asr.plan_unplanned_failover(
        req.plan, direction=direction, shutdown_source=req.shutdown_source, recovery_point_type=req.recovery_point
    )


FAILOVER = ActionPhase(
    name="failover",
    operation=Operation.UNPLANNED_FAILOVER,
    scenario="UnplannedFailover",
    completed=lambda item, row: item.failed_over,
    start_item=_start_failover,
    start_plan=_start_plan_failover,
    ordered=True,
)
COMMIT = ActionPhase(
    name="commit",
    operation=Operation.COMMIT,
    scenario="CommitFailover",
    completed=lambda item, row: item.protection_state == "UnplannedFailoverCommitted",
    start_item=lambda deps, item, row, req: deps.asr.commit(item.ref),
    start_plan=lambda deps, req, state: deps.asr.plan_commit(str(req.plan)),
)
REPROTECT = ActionPhase(
    name="reprotect",
    operation=Operation.SWITCH_PROTECTION,
    scenario="SwitchReplicationGroupProtection",
    completed=lambda item, row: not item.failed_over and item.primary_location.lower() == str(row["to"]).lower(),
    start_item=lambda deps, item, row, req: deps.asr.switch_protection(item),
)


def _phase_step(phase: ActionPhase) -> Step[DrDeps]:
    def step(ctx: StepContext, deps: DrDeps) -> Outcome:
        renew_locks(ctx, deps)
        if not any(True for _ in vs.pending(ctx.state, phase.name)):
            return Next(f"{phase.name}: no VM left to handle", goto="report")
        return run_phase(phase, ctx, deps)

    return Step(phase.name, ride_out(step))


def await_commit(ctx: StepContext, deps: DrDeps) -> Outcome:
    req = request(ctx)
    if req.auto_commit or ctx.approved_by:
        return Next("commit approved" if ctx.approved_by else "auto-commit is on")
    ready = sorted(vm for vm, _row in vs.pending(ctx.state, "commit"))
    return Pause(
        "commit",
        f"{len(ready)} VMs are running in the target region; validate them, then approve to commit the failover"
        " (a commit cannot be undone)",
        details={"vms": ready},
    )


def maybe_reprotect(ctx: StepContext, deps: DrDeps) -> Outcome:
    if request(ctx).auto_reprotect:
        return Next("auto-reprotect is on")
    return Next("auto-reprotect is off: VMs stay unprotected until someone reprotects them", goto="report")


def await_healthy(ctx: StepContext, deps: DrDeps) -> Outcome:
    """Poll VM-level reprotect state with ONE vault-wide listing per poll, whatever the number of VMs."""
    renew_locks(ctx, deps)
    req = request(ctx)
    waiting = [(vm, row) for vm, row in vs.pending(ctx.state, "healthy") if "reprotect" in row["done"]]
    if not waiting:
        return Next("no VM left to watch")
    items = by_vm_name(deps.asr.list_protected_items())
    progress: dict[str, Any] = {}
    for vm, row in waiting:
        item = items.get(vm.lower())
        if item is None:
            progress[vm] = "missing"
            continue
        reversed_ok = item.primary_location.lower() == str(row["to"]).lower()
        if reversed_ok and item.healthy_and_protected:
            vs.mark_done(row, "healthy")
            row["healthy_at"] = ctx.now.isoformat()
            row["progress"] = 100
            progress[vm] = "healthy"
            continue
        if item.protection_state == "InitialReplicationInProgress":
            row["progress"] = item.monitoring_percentage
        row["health"] = item.replication_health
        progress[vm] = {"state": item.protection_state, "pct": row["progress"], "health": item.replication_health}
    left = [(vm, row) for vm, row in waiting if "healthy" not in row["done"]]
    watched = [row for row in vs.vm_table(ctx.state).values() if "reprotect" in row["done"]]
    if not left:
        return Next(f"all {len(watched)} VMs protected and healthy in the new direction", {"progress": progress})

    elapsed = (ctx.now - ctx.step_started_at).total_seconds()
    timing = req.timing
    if elapsed >= timing.reprotect_max_s:
        for vm, row in left:
            vs.mark_failed(
                row,
                "healthy",
                "ReprotectTimeout",
                f"reprotect of {vm} did not reach Protected/Normal within {timing.reprotect_max_s / 3600:g} h"
                f" (last progress {row['progress']}%)",
            )
        return Next(f"gave up waiting on {len(left)} VMs after {elapsed / 3600:.1f} h", {"progress": progress})
    details: dict[str, Any] = {"progress": progress}
    if elapsed >= timing.reprotect_warn_s and not ctx.state.get("reprotect_warned"):
        ctx.state["reprotect_warned"] = True
        slow = {vm: row["progress"] for vm, row in left}
        details["warning"] = f"reprotect still running after {elapsed / 3600:.1f} h on {len(left)} VMs"
        deps.notifier.publish(
            "Autopilot.ReprotectSlow",
            f"runs/{ctx.run_id}",
            {"runId": ctx.run_id, "elapsedSeconds": elapsed, "vms": slow},
        )
    interval = float(ctx.state.get("health_poll_s", timing.health_poll_s))
    ctx.state["health_poll_s"] = min(interval * timing.health_poll_backoff, timing.health_poll_max_s)
    pcts = ", ".join(f"{vm} {row['progress'] if row['progress'] is not None else '?'}%" for vm, row in left[:5])
    more = f" and {len(left) - 5} more" if len(left) > 5 else ""
    return Wait(
        timedelta(seconds=interval),
        f"reprotect: {len(waiting) - len(left)}/{len(waiting)} healthy; {pcts}{more}",
        details,
    )


def _on_resume(state: dict[str, Any], failed_step: str) -> str:
    order = ["failover", "commit", "reprotect", "healthy"]
    phases = []
    for row in vs.vm_table(state).values():
        if row["status"] == vs.FAILED and row["error"] and row["error"]["phase"] in order:
            phases.append(order.index(row["error"]["phase"]))
            row["jobs"].pop(row["error"]["phase"], None)  # the failed job is evidence, not something to poll again
            row["status"], row["error"] = vs.ACTIVE, None
    if not phases:
        return failed_step
    first = order[min(phases)]
    return "await_healthy" if first == "healthy" else first


def _workflow(name: str) -> Workflow[DrDeps]:
    return Workflow(
        name=name,
        steps=(
            Step("preflight", ride_out(preflight)),
            _phase_step(FAILOVER),
            Step("await_commit", await_commit),
            _phase_step(COMMIT),
            Step("maybe_reprotect", maybe_reprotect),
            _phase_step(REPROTECT),
            Step("await_healthy", ride_out(await_healthy)),
            Step("report", report),
        ),
        on_resume=_on_resume,
    )


FAILOVER_WORKFLOW = _workflow("failover")
FAILBACK_WORKFLOW = _workflow("failback")

__all__ = ["FAILBACK_WORKFLOW", "FAILOVER_WORKFLOW"]
