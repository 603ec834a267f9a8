"""Failover and failback: preflight → failover → (approval) → commit → reprotect → await healthy → report.

Failback is the same chain on items that were failed over and reprotected: for A2A it is an unplanned
failover of the reverse-replicating item (``PrimaryToRecovery`` on the item; ``RecoveryToPrimary`` on a
recovery plan, whose direction is fixed at creation).
"""

from __future__ import annotations

from lib.domain.asr import Operation, ProtectedItem, RecoveryPointType
from lib.domain.dr import DrRequest
from lib.domain.errors import OperationNotAllowed
from lib.engine import Decide, Next, Outcome, Step, StepContext, Workflow
from lib.workflows.approval import gated_preflight
from lib.workflows.cancel import after_stop, on_cancel
from lib.workflows.deps import DrDeps
from lib.workflows.evidence import report
from lib.workflows.health import await_healthy
from lib.workflows.parking import clear_retry
from lib.workflows.partial import COMMIT_CHOICES, apply_choice, decide_partial, return_trip, where
from lib.workflows.phases import ActionPhase, run_phase
from lib.workflows.pipeline import chain, moving_on, run_pipelined
from lib.workflows.preflight import renew_locks
from lib.workflows.runstate import RunState
from lib.workflows.steps import request, ride_out, with_state
from lib.workflows.vmstate import RecoveryPointUsed, VmProgress


def _recovery_point(deps: DrDeps, item: ProtectedItem, row: VmProgress, req: DrRequest) -> str | None:
    """Pick the point for an item-level failover and remember it (its age is the VM's RPO)."""
    if req.recovery_point_id:
        row.rp = RecoveryPointUsed(req.recovery_point_id, "Custom", None)
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
    row.rp = RecoveryPointUsed(point.id, point.kind, point.time)
    return point.id


def _start_failover(deps: DrDeps, item: ProtectedItem, row: VmProgress, req: DrRequest) -> str:
    point = _recovery_point(deps, item, row, req)
    return deps.asr.unplanned_failover(item.ref, shutdown_source=req.shutdown_source, recovery_point_id=point)


def _start_plan_failover(deps: DrDeps, req: DrRequest, state: RunState) -> str:
    assert req.plan  # only plan runs start plan actions
    return deps.asr.plan_unplanned_failover(
        req.plan,
        direction=state.plan_direction(),
        shutdown_source=req.shutdown_source,
        recovery_point_type=req.recovery_point,
    )


FAILOVER = ActionPhase(
    name="failover",
    operation=Operation.UNPLANNED_FAILOVER,
    scenario="UnplannedFailover",
    completed=lambda item, row: item.failed_over,
    start_item=_start_failover,
    start_plan=_start_plan_failover,
    ordered=True,
    stoppable=True,
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
    completed=lambda item, row: not item.failed_over and item.primary_location.lower() == row.to_region.lower(),
    start_item=lambda deps, item, row, req: deps.asr.switch_protection(item),
)
PHASES = {p.name: p for p in (FAILOVER, COMMIT, REPROTECT)}


def _phase_step(phase: ActionPhase) -> Step[DrDeps]:
    """A VM-list run may move VMs on to later phases inside this step's calls (``lib.workflows.pipeline``)."""

    def step(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
        renew_locks(ctx, deps, state)
        if not any(row.active for row in state.vms.values()):
            return Next(f"{phase.name}: no VM left to handle", goto="report")
        if not state.has_pending(phase.name):
            return Next(f"{phase.name}: every VM is past this step already")  # pipelined earlier
        req = request(ctx)
        names = chain(phase.name, req)
        if moving_on(req, state, names):
            return run_pipelined(ctx, deps, state, req, names, by_name=PHASES)
        return run_phase(phase, ctx, deps, state)

    return Step(phase.name, ride_out(step))


def await_commit(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
    stopped = after_stop(ctx, deps, state)
    if stopped is not None:
        return stopped  # a cancel asked for during the failover: end cancelled, or ask commit or rollback
    partial = decide_partial(ctx, state)
    if partial is not None:
        return partial  # a partial failover never commits on its own
    if ctx.decision:
        return apply_choice(ctx, state, [])
    if request(ctx).auto_commit:
        return Next("auto-commit is on")
    ready = sorted(vm for vm, _row in state.pending("commit"))
    return Decide(
        "commit",
        f"{len(ready)} VMs are running in the target region; validate them, then commit (a commit cannot be"
        " undone) or roll back (commit, reprotect, then a return trip brings them back)",
        COMMIT_CHOICES,
        details={"vms": where(state)},
    )


def maybe_reprotect(ctx: StepContext, deps: DrDeps) -> Outcome:
    if request(ctx).auto_reprotect:
        return Next("auto-reprotect is on")
    return Next("auto-reprotect is off: VMs stay unprotected until someone reprotects them", goto="report")


def finish(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
    return return_trip(ctx, deps, state, report(ctx, deps, state))


def _on_resume(stored: dict[str, object], failed_step: str) -> str:
    clear_retry(stored)  # a run parked waiting for a region retries at once
    order = ["failover", "commit", "reprotect", "healthy"]
    state = RunState.load(stored)
    phases = []
    for row in state.vms.values():
        if not row.active and row.error and row.error.phase in order:
            phases.append(order.index(row.error.phase))
            row.jobs.pop(row.error.phase, None)  # the failed job is evidence, not something to poll again
            row.reactivate()
    state.save(stored)
    if not phases:
        return failed_step
    first = order[min(phases)]
    return "await_healthy" if first == "healthy" else first


def _workflow(name: str) -> Workflow[DrDeps]:
    return Workflow(
        name=name,
        steps=(
            Step("preflight", ride_out(gated_preflight)),
            _phase_step(FAILOVER),  # a barrier unless the request asked to commit per VM (commitMode per-vm)
            Step("await_commit", with_state(await_commit)),
            _phase_step(COMMIT),
            Step("maybe_reprotect", maybe_reprotect),
            _phase_step(REPROTECT),
            Step("await_healthy", await_healthy),
            Step("report", with_state(finish)),
        ),
        on_resume=_on_resume,
        on_cancel=on_cancel,
    )


FAILOVER_WORKFLOW = _workflow("failover")
FAILBACK_WORKFLOW = _workflow("failback")

__all__ = ["FAILBACK_WORKFLOW", "FAILOVER_WORKFLOW"]
