"""Steering a run, shared by the HTTP API and drctl: commit, retry, rollback and continue.

Each choice goes to the engine operation that fits the run's status: a run awaiting a decision gets the
choice (``Engine.decide``), a run paused before commit is approved, a failed or partial run is resumed.
Anything else is refused with ``OperationRefused`` naming why and what the run accepts now.
"""

from __future__ import annotations

from typing import Any

from lib.domain.runs import RESUMABLE, RunEvent, RunRecord, RunStatus
from lib.engine import Engine, OperationRefused, allowed_operations

__all__ = ["approve", "choices_now", "commit", "continue_run", "retry", "rollback"]

_OPERATIONS = {"approve": "approve", "cancel": "cancel", "continue": "continue", "resume": "retry"}


def choices_now(run: RunRecord) -> tuple[str, ...]:
    """The operations (in the API's and drctl's words) this run accepts now."""
    offered = list(run.choices) if run.status is RunStatus.AWAITING_DECISION else []
    if run.status is RunStatus.AWAITING_APPROVAL and run.approval == "commit":
        offered.append("commit")
    offered += [_OPERATIONS[op] for op in allowed_operations(run.status) if op in _OPERATIONS]
    return tuple(dict.fromkeys(offered))


def _refused(run: RunRecord, operation: str, reason: str) -> OperationRefused:
    return OperationRefused(run.run_id, operation, run.status, choices_now(run), RunEvent.DECIDE, reason=reason)


def _offered(run: RunRecord, choice: str) -> bool:
    return run.status is RunStatus.AWAITING_DECISION and choice in run.choices


def commit(engine: Engine[Any], run_id: str, *, by: str, comment: str = "") -> RunRecord:
    """Commit what failed over (a partial failover's choice, or the approval of a commit pause)."""
    run = engine.get(run_id).run
    if _offered(run, "commit"):
        return engine.decide(run_id, "commit", by=by, comment=comment)
    if run.status is RunStatus.AWAITING_APPROVAL and run.approval == "commit":
        return engine.approve(run_id, by=by, approval="commit", comment=comment)
    raise _refused(run, "commit", "the run is not waiting for a commit")


def approve(engine: Engine[Any], run_id: str, *, by: str, approval: str | None = None, comment: str = "") -> RunRecord:
    """Approve a paused run; on a run asking whether to commit, approving is choosing ``commit``."""
    run = engine.get(run_id).run
    if _offered(run, "commit") and approval in (None, "", run.approval):
        return engine.decide(run_id, "commit", by=by, comment=comment)
    return engine.approve(run_id, by=by, approval=approval, comment=comment)


def retry(engine: Engine[Any], run_id: str, *, by: str, reason: str = "") -> RunRecord:
    """Fail the failed VMs over again (a partial failover's choice), or resume a failed or partial run."""
    run = engine.get(run_id).run
    if _offered(run, "retry"):
        return engine.decide(run_id, "retry", by=by, comment=reason)
    if run.status in RESUMABLE or run.status is RunStatus.AWAITING_APPROVAL or _parked(run):
        return engine.resume(run_id, by=by, reason=reason)
    raise _refused(run, "retry", "nothing failed that could be tried again")


def _parked(run: RunRecord) -> bool:
    """A run waiting for a region (``waiting-for-region``): resume makes it retry now."""
    return run.status is RunStatus.WAITING and bool(run.state.get("parked"))


def rollback(engine: Engine[Any], run_id: str, *, by: str, reason: str = "") -> RunRecord:
    """Commit and reprotect what failed over, then bring it back with a linked failback run."""
    run = engine.get(run_id).run
    if _offered(run, "rollback"):
        return engine.decide(run_id, "rollback", by=by, comment=reason)
    raise _refused(run, "rollback", "a rollback is offered when a failover stops for a decision")


def continue_run(engine: Engine[Any], run_id: str, *, by: str, reason: str = "") -> RunRecord:
    """Make a pending, running or waiting run due now (a live lease is refused, an expired one taken over)."""
    return engine.continue_run(run_id, by=by, reason=reason)
