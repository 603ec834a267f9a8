"""The approval gate of a run that asks for one (``DrRequest.approval``, set by the autopilot).

The gate sits at the end of preflight: the run has found its VMs and holds their locks (so nothing else starts on
them), and it has not asked ASR to do anything yet. ``approve`` continues with the failover; at the timeout the
engine calls preflight again with ``ctx.approval_timed_out`` and the gate expires (the run fails with code
``ApprovalExpired`` and no ASR action) or proceeds ("runs unless vetoed").
"""

from __future__ import annotations

from datetime import timedelta

from lib.engine import Fail, Next, Outcome, Pause, StepContext
from lib.workflows.deps import DrDeps
from lib.workflows.preflight import preflight, release_locks
from lib.workflows.runstate import RunState
from lib.workflows.steps import request

__all__ = ["APPROVAL", "EXPIRED_CODE", "gated_preflight"]

APPROVAL = "failover"  # what the paused run waits for (``run.approval``)
EXPIRED_CODE = "ApprovalExpired"


def gated_preflight(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
    gate = request(ctx).approval
    if gate is None:
        return preflight(ctx, deps, state)
    if ctx.approval_timed_out:
        return _timed_out(ctx, deps, state, gate.proceeds)
    outcome = preflight(ctx, deps, state)
    if not isinstance(outcome, Next):
        return outcome
    reason = f"{outcome.reason}; waiting for an operator to approve the failover (approve, or cancel to veto)"
    details = {**outcome.details, "onTimeout": gate.on_timeout}
    return Pause(APPROVAL, reason, timeout=timedelta(seconds=gate.timeout_s), details=details)


def _timed_out(ctx: StepContext, deps: DrDeps, state: RunState, proceeds: bool) -> Outcome:
    if proceeds:
        return Next("nobody vetoed before the approval timeout (onApprovalTimeout proceed): the failover starts")
    release_locks(ctx, deps, state)
    reason = "approval expired: nobody approved in time (onApprovalTimeout expire); no ASR action was taken"
    return Fail(reason, code=EXPIRED_CODE)
