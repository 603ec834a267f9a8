"""Cancel means a safe state (``Workflow.on_cancel`` of failover, failback and drill).

Failover and failback:

- before any ASR action: the cancel goes through, every VM is as before the run;
- while failover jobs run and no VM has failed over yet: the cancel is a request the run carries out
  (``lib.workflows.stopping``): nothing more starts, a job is cancelled where ASR offers ``Cancel`` and waited
  out where it does not (A2A failover jobs). Then ``after_stop`` applies the rule of the phase reached: nothing
  moved, the run ends cancelled; something moved, the run stops for the operator's choice (commit or rollback);
- once a VM failed over (committed, reprotecting or not): A2A has no way back but commit or a return trip
  (``failoverCancel`` is not allowed on A2A items): cancel is refused, naming why and the choices.

Drill: before any test failover the cancel goes through; afterwards it is a request: running test failovers
are cancelled (or waited out), validation is skipped, every test VM is cleaned up, and the run ends cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping

from lib.engine import CancelRefused, Decide, Outcome, StepContext, Stopped, StopRequested
from lib.workflows.deps import DrDeps
from lib.workflows.partial import COMMIT_CHOICES, where
from lib.workflows.preflight import release_locks
from lib.workflows.runstate import RunState, StateLayoutError

__all__ = ["CHOICES", "DECISION", "after_stop", "drill_verdict", "on_cancel", "on_drill_cancel"]

CHOICES = COMMIT_CHOICES
DECISION = "cancelled-after-failover"


def _running(state: RunState) -> list[str]:
    vms = [vm for vm, row in state.vms.items() if row.active and "failover" in row.jobs and "failover" not in row.done]
    plan = state.plan
    if plan is not None and "failover" in plan.jobs and "failover" not in plan.processed:
        vms += [vm for vm, row in state.vms.items() if row.active and "failover" not in row.done]
    return sorted(set(vms))


def _phase_words(state: RunState, moved: list[str]) -> str:
    rows = [state.vms[vm] for vm in moved]
    if any("reprotect" in row.done or "reprotect" in row.jobs for row in rows):
        return "committed and being (or already) reprotected"
    if any("commit" in row.done or "commit" in row.jobs for row in rows):
        return "committed"
    return "running in the target region, uncommitted"


def _requested(state: RunState, reason: str) -> StopRequested:
    state.stop_requested = True
    return StopRequested(reason, state.to_json())


def on_cancel(stored: Mapping[str, object], step: str) -> CancelRefused | StopRequested | None:
    """Pure: None lets the cancel through; a request the run carries out; or a refusal saying why and what
    the operator can do."""
    try:
        state = RunState.load(stored)
    except StateLayoutError:
        return CancelRefused("the run's state cannot be read, so where its VMs are is unknown", CHOICES)
    moved = sorted(vm for vm, row in state.vms.items() if "failover" in row.done)
    if moved:
        return CancelRefused(
            f"{', '.join(moved)} failed over ({_phase_words(state, moved)}): cancel cannot bring them back;"
            " commit keeps them in the target region and protects them, rollback is a return trip",
            CHOICES,
        )
    running = _running(state)
    if running:
        return _requested(
            state,
            f"the failover job of {', '.join(running)} is running: nothing more starts, ASR is asked to cancel"
            " the job where it offers that and otherwise it is waited out; then the run ends cancelled if no VM"
            " failed over, or asks to commit or roll back the VMs that did",
        )
    return None


def after_stop(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome | None:
    """After the failover phase of a run asked to stop: end it cancelled when no VM moved, else ask the
    operator (commit or rollback). None when no stop was asked for."""
    if not state.stop_requested:
        return None
    moved = sorted(vm for vm, row in state.vms.items() if "failover" in row.done)
    if not moved:
        release_locks(ctx, deps, state)
        return Stopped(
            f"cancelled: no VM failed over ({len(state.cancelled_jobs)} ASR jobs cancelled); every VM is as"
            " before the run",
            {"vms": where(state), "cancelled_jobs": list(state.cancelled_jobs)},
        )
    state.stop_requested = False  # handled: the operator's choice below drives the run from here
    return Decide(
        DECISION,
        f"a cancel was asked for, but {', '.join(moved)} failed over before it could stop (an A2A failover"
        " job cannot be cancelled): choose commit (keep them there and reprotect) or rollback (commit,"
        " reprotect, then a return trip brings them back)",
        CHOICES,
        details={"vms": where(state)},
    )


def on_drill_cancel(stored: Mapping[str, object], step: str) -> CancelRefused | StopRequested | None:
    """Pure: a drill that started a test failover always cleans up before it ends cancelled."""
    try:
        state = RunState.load(stored)
    except StateLayoutError:
        return CancelRefused("the run's state cannot be read, so which test VMs exist is unknown", ())
    touched = any("test_failover" in row.jobs or "test_failover" in row.done for row in state.vms.values())
    plan_started = state.plan is not None and "test_failover" in state.plan.jobs
    if step in ("preflight", "report") or not (touched or plan_started):
        return None
    return _requested(
        state,
        "running test failovers are cancelled (or waited out), validation is skipped and every test VM is"
        " cleaned up; then the run ends cancelled",
    )


def drill_verdict(state: RunState, outcome: Outcome) -> Outcome:
    """A drill asked to stop ends cancelled once its test VMs are cleaned up (``outcome``: the report's)."""
    if not state.stop_requested:
        return outcome
    cleaned = sorted(vm for vm, row in state.vms.items() if "cleanup" in row.done)
    return Stopped(
        f"cancelled: {len(state.cancelled_jobs)} test failover jobs cancelled, validation skipped, test VMs"
        f" cleaned up ({', '.join(cleaned) or 'none'})",
        {"vms": where(state), "cancelled_jobs": list(state.cancelled_jobs)},
    )
