"""Operations on runs: start, cancel, approve, resume, continue, abort. Each is recorded in the run's history
(releasing a lease is not an operation on the run: it only hands the current step back to the queue).

Every write is guarded by the run's ETag and retried on a lost race. Index ordering keeps the listing
repairable after a crash: a run never exists without an index row, and the index never shows a finished
status for an active run (going from finished to active writes the index first; everything else writes
the run first), so the janitor, which inspects active index rows, finds every disagreement.
"""

from __future__ import annotations

import copy
import json
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from lib.domain.errors import ValidationError
from lib.domain.runs import (
    FINISHED,
    TRANSITIONS,
    HistoryRecord,
    IllegalTransition,
    RunEvent,
    RunRecord,
    RunStatus,
    RunSummary,
)
from lib.engine.api import CancelRefused, StopRequested, Workflow
from lib.engine.checkpoint import Checkpoint, Recorder, entering
from lib.engine.errors import (
    ContentionExceeded,
    IdempotencyConflict,
    LeaseHeld,
    LeaseNotHeld,
    OperationRefused,
    RunNotFound,
    UnknownStep,
    UnknownWorkflow,
)
from lib.engine.runtime import Runtime
from lib.ports.run_store import Lease, Loaded, RunAlreadyExists, StaleRun
from lib.ports.work_queue import WorkItem

D = TypeVar("D")
MAX_RACES = 8

# The operator operations and the event each one records; what a run accepts follows from ``TRANSITIONS``.
OPERATION_EVENTS: Mapping[str, RunEvent] = {
    "approve": RunEvent.APPROVE,
    "cancel": RunEvent.CANCEL,
    "continue": RunEvent.CONTINUE,
    "decide": RunEvent.DECIDE,
    "resume": RunEvent.RESUME,
}


def allowed_operations(status: RunStatus) -> tuple[str, ...]:
    """The operations a run with ``status`` accepts (what a refusal names as the choices)."""
    return tuple(op for op, event in OPERATION_EVENTS.items() if (status, event) in TRANSITIONS)


@dataclass(frozen=True)
class StartResult:
    run_id: str
    created: bool  # False: the idempotency key had already started this run
    run: RunRecord


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:10]}"


def workflow_of(rt: Runtime[D], name: str) -> Workflow[D]:
    workflow = rt.registry.get(name)
    if workflow is None:
        raise UnknownWorkflow(name, tuple(sorted(rt.registry)))
    return workflow


def start(
    rt: Runtime[D], workflow: str, input: Mapping[str, Any], idempotency_key: str | None, actor: str
) -> StartResult:
    wf = workflow_of(rt, workflow)
    if not wf.steps:
        raise ValidationError("workflow", f"{workflow!r} has no steps")
    payload = _json_input(input)
    now = rt.clock.now()
    run_id, created_at, existing = _identity(rt, workflow, idempotency_key, now)
    if existing is not None:
        return StartResult(run_id, False, existing)
    first = wf.steps[0].name
    run = RunRecord(
        run_id=run_id, workflow=workflow, status=RunStatus.PENDING, step=first, version=1, input=payload, state={},
        created_at=created_at, updated_at=now, step_started_at=now, due_at=now, history_seq=1,
        idempotency_key=idempotency_key or "", reason="created",
    )  # fmt: skip
    row = HistoryRecord(
        seq=1, at=now, event=RunEvent.CREATE, from_status=None, to_status=RunStatus.PENDING, step=first, version=1,
        outcome="operation", reason="created", details={"idempotency_key": idempotency_key or None}, actor=actor,
    )  # fmt: skip
    rt.store.index_put(RunSummary.of(run))
    try:
        etag = rt.store.create(run, [row])
    except RunAlreadyExists:
        loaded = rt.store.load(run_id)
        if loaded is None:  # pragma: no cover - runs are never deleted
            raise RunNotFound(run_id) from None
        return StartResult(run_id, False, loaded.run)
    rt.cache.put(Loaded(run, etag))
    rt.notify(run, [row])
    rt.queue.send(WorkItem(run_id, run.version).encode(), 0)
    return StartResult(run_id, True, run)


def _json_input(input: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return dict(json.loads(json.dumps(dict(input))))
    except (TypeError, ValueError) as exc:
        raise ValidationError("input", f"must be JSON: {exc}") from None


def _identity(
    rt: Runtime[D], workflow: str, idempotency_key: str | None, now: datetime
) -> tuple[str, datetime, RunRecord | None]:
    """The new run's id and creation time; with a key, those of its first caller, and that run if it exists."""
    run_id = new_run_id(now)
    if not idempotency_key:
        return run_id, now, None
    claim = rt.store.claim_key(idempotency_key, run_id, workflow, now)
    if claim.workflow != workflow:
        raise IdempotencyConflict(idempotency_key, claim.run_id, claim.workflow, workflow)
    if claim.claimed:
        return claim.run_id, claim.created_at, None
    # The key's first caller may not have created the run yet, or died trying: then we create it too. Every
    # caller builds the same run id and creation time, and the run's insert decides who wins.
    loaded = rt.store.load(claim.run_id)
    return claim.run_id, claim.created_at, loaded.run if loaded else None


def update(
    rt: Runtime[D],
    run_id: str,
    operation: str,
    change: Callable[[RunRecord, datetime], Checkpoint],
    *,
    enqueue: bool = False,
) -> RunRecord:
    """Load, change, save under the ETag; on a lost race start over with the fresh run. A running run that is
    due gets a work item; ``enqueue`` sends one whatever the status (``continue`` keeps a run waiting)."""
    for attempt in range(MAX_RACES):
        loaded = rt.store.load(run_id)
        if loaded is None:
            raise RunNotFound(run_id)
        cp = rt.stage(loaded.run, _changed(loaded.run, rt.clock.now(), operation, change))
        reopening = loaded.run.status in FINISHED and cp.run.status not in FINISHED
        if reopening:
            rt.store.index_put(RunSummary.of(cp.run))
        try:
            etag = rt.store.save(cp.run, loaded.etag, cp.history, previous=loaded.run)
        except StaleRun:
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
            continue
        rt.cache.put(Loaded(cp.run, etag))
        rt.notify(cp.run, cp.history)
        if not reopening:
            rt.index(loaded.run.status, cp.run)
        if cp.run.due_at is not None and (enqueue or cp.run.status is RunStatus.RUNNING):
            rt.queue.send(WorkItem(run_id, cp.run.version).encode(), 0)
        return cp.run
    raise ContentionExceeded(run_id, operation, MAX_RACES)


def _changed(
    run: RunRecord, now: datetime, operation: str, change: Callable[[RunRecord, datetime], Checkpoint]
) -> Checkpoint:
    """``change`` applied, with a refused transition reported as the operation the caller asked for."""
    try:
        return change(run, now)
    except OperationRefused:
        raise
    except IllegalTransition as exc:
        raise OperationRefused(
            run.run_id, operation, exc.from_status, allowed_operations(exc.from_status), exc.event
        ) from None


# Operations leave no lease and no responsible message behind: the old message, if any, becomes stale.
_RELEASED: dict[str, Any] = {"lease_owner": "", "lease_until": None, "msg_id": ""}


def cancel(wf: Workflow[Any] | None, run: RunRecord, now: datetime, by: str, reason: str) -> Checkpoint:
    """End an active run ``cancelled``, unless its workflow refuses in the phase reached, or takes the cancel as
    a request it carries out itself (``on_cancel``)."""
    answer = wf.on_cancel(run.state, run.step) if wf is not None and wf.on_cancel and run.active else None
    if isinstance(answer, CancelRefused):
        raise OperationRefused(run.run_id, "cancel", run.status, answer.choices, RunEvent.CANCEL, reason=answer.reason)
    if isinstance(answer, StopRequested):
        return _request_stop(run, now, by, reason, answer)
    rec = Recorder(run, now, by)
    text = reason or f"cancelled by {by}"
    rec.edge(RunEvent.CANCEL, run.step, outcome="operation", reason=text, details={"by": by})
    return rec.finish(due_at=None, reason=text, **_RELEASED)


def _request_stop(run: RunRecord, now: datetime, by: str, reason: str, answer: StopRequested) -> Checkpoint:
    """The run stays active and is due now, with the request in its state. A live lease is left alone: its
    holder's checkpoint will lose the ETag race, and the step runs again (observing first) once it is free."""
    rec = Recorder(run, now, by)
    text = f"cancel requested by {by}{': ' + reason if reason else ''}; {answer.reason}"
    rec.edge(RunEvent.CANCEL_REQUEST, run.step, outcome="operation", reason=text, details={"by": by})
    return rec.finish(due_at=now, reason=text, state=copy.deepcopy(dict(answer.state)))


def approve(
    wf: Workflow[Any], run: RunRecord, now: datetime, by: str, *, approval: str | None, comment: str
) -> Checkpoint:
    if approval and run.approval and approval != run.approval:
        raise ValidationError("approval", f"run {run.run_id} waits for approval {run.approval!r}, not {approval!r}")
    rec = Recorder(run, now, by)
    text = comment or f"approved by {by}"
    rec.edge(RunEvent.APPROVE, run.step, outcome="operation", reason=text, details={"approval": run.approval, "by": by})
    target = wf.after(run.step)
    if target is None:
        rec.edge(RunEvent.DONE, run.step, outcome="done", reason="approved on the last step")
        return rec.finish(due_at=None, approval="", approved_by=by, reason=text, **_RELEASED)
    # The step right after the pause sees who approved (``ctx.approved_by``); entering the next one clears it.
    return rec.finish(**{**entering(target, now), **_RELEASED, "approved_by": by, "reason": text})


def resume(wf: Workflow[Any], run: RunRecord, now: datetime, by: str, reason: str) -> Checkpoint:
    state = copy.deepcopy(dict(run.state))
    target = wf.on_resume(state, run.step) if wf.on_resume else run.step
    if target not in {s.name for s in wf.steps}:
        raise UnknownStep(wf.name, target)
    rec = Recorder(run, now, by)
    text = reason or f"resumed by {by}"
    details = {"from_step": run.step, "to_step": target, "previous_status": run.status.value, "error": run.error}
    rec.edge(RunEvent.RESUME, run.step, outcome="operation", reason=text, details=details)
    return rec.finish(**{**entering(target, now), **_RELEASED, "state": state, "reason": text})


def decide(run: RunRecord, now: datetime, by: str, choice: str, comment: str) -> Checkpoint:
    """Record ``by``'s ``choice`` on a run awaiting a decision; the deciding step runs again and sees it."""
    if run.status is RunStatus.AWAITING_DECISION and choice not in run.choices:
        raise ValidationError("choice", f"run {run.run_id} offers {', '.join(run.choices)}; not {choice!r}")
    rec = Recorder(run, now, by)
    text = comment or f"{by} chose {choice}"
    details = {"decision": run.approval, "choice": choice, "choices": list(run.choices), "by": by}
    rec.edge(RunEvent.DECIDE, run.step, outcome="operation", reason=text, details=details)
    changes = {"due_at": now, "decision": choice, "approved_by": by, "approval": "", "choices": (), "reason": text}
    return rec.finish(**{**_RELEASED, **changes})


def continue_run(run: RunRecord, now: datetime, by: str, reason: str) -> Checkpoint:
    """Make a pending, running or waiting run due now. A live lease means a worker is executing the step: that
    is refused. A lease whose holder is gone (expired) is taken over, and the history says from whom."""
    if run.lease_owner and run.lease_until is not None and run.lease_until > now:
        raise LeaseHeld(run.run_id, "continue", run.lease_owner, run.lease_until, run.status)
    rec = Recorder(run, now, by)
    text = reason or f"continued by {by}"
    details: dict[str, Any] = {"by": by, "was_due_at": run.due_at.isoformat() if run.due_at else None}
    if run.lease_owner:
        details |= {"took_over_lease_from": run.lease_owner, "lease_expired_at": _iso(run.lease_until)}
    rec.edge(RunEvent.CONTINUE, run.step, outcome="operation", reason=text, details=details)
    return rec.finish(due_at=now, reason=text, **_RELEASED)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def release_lease(rt: Runtime[D], run_id: str, worker: str) -> RunRecord:
    """Give up the lease ``worker`` holds (a watcher stopped mid-step, e.g. Ctrl-C), so the run's step can be
    executed again at once instead of after the lease lapses. Leaving on purpose is not a crash: the claim
    it made does not count towards the crash-loop limit."""
    for _ in range(MAX_RACES):
        loaded = rt.store.load(run_id)
        if loaded is None:
            raise RunNotFound(run_id)
        run = loaded.run
        if not worker or run.lease_owner != worker:
            raise LeaseNotHeld(run_id, worker, run.lease_owner)
        lease = Lease("", None, run.msg_id, max(0, run.claims - 1))
        try:
            etag = rt.store.save_lease(run_id, loaded.etag, lease)
        except StaleRun:
            continue
        released = replace(run, lease_owner="", lease_until=None, claims=lease.claims)
        rt.cache.put(Loaded(released, etag))
        return released
    raise ContentionExceeded(run_id, "release-lease", MAX_RACES)


def abort(run: RunRecord, now: datetime, actor: str, reason: str, code: str) -> Checkpoint:
    rec = Recorder(run, now, actor)
    rec.edge(RunEvent.ABORT, run.step, outcome="operation", reason=reason, error=reason, code=code)
    return rec.finish(due_at=None, reason=reason, error=reason, error_code=code, **_RELEASED)
