"""Runs of a workflow: their statuses, the events that move them, and what is recorded about them.

The state machine is a declarative table: every legal (status, event) pair is listed once in ``TRANSITIONS``
and anything else is an ``IllegalTransition``. The engine applies events only through ``transition``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from lib.domain.errors import AutopilotError


class RunStatus(StrEnum):
    PENDING = "pending"  # created; its first step has not run yet
    RUNNING = "running"  # a step is due now (or being executed)
    WAITING = "waiting"  # a durable timer: the current step runs again at ``due_at``
    AWAITING_APPROVAL = "awaiting-approval"  # paused until an operator approves (or the pause times out)
    AWAITING_DECISION = "awaiting-decision"  # paused until an operator picks one of the offered choices
    SUCCEEDED = "succeeded"
    PARTIALLY_SUCCEEDED = "partially-succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RunEvent(StrEnum):
    CREATE = "create"  # not an edge: a run is born ``pending`` (recorded in history all the same)
    START = "start"  # the engine picks up a pending run
    STEP_NEXT = "step-next"
    STEP_WAIT = "step-wait"
    STEP_RETRY = "step-retry"  # the step raised; it runs again after a backoff
    STEP_PAUSE = "step-pause"
    STEP_DECIDE = "step-decide"  # the step needs an operator's choice (e.g. commit, retry or rollback)
    TIMER_FIRED = "timer-fired"  # a wait or retry backoff is over
    APPROVAL_TIMEOUT = "approval-timeout"  # a pause with a timeout expired: the paused step runs again
    APPROVE = "approve"
    DONE = "done"
    DONE_PARTIAL = "done-partial"
    FAIL = "fail"  # the step gave up (``Fail``), or it raised more often than the retry policy allows
    ABORT = "abort"  # the engine gave up on the run (poison message, unknown workflow or step)
    CANCEL = "cancel"
    RESUME = "resume"
    DECIDE = "decide"  # an operator chose: the deciding step runs again and sees the choice
    CONTINUE = "continue"  # an operator makes a waiting or running run due now (the status stays)
    CANCEL_REQUEST = "cancel-request"  # a cancel the run carries out itself (it stops its ASR jobs first)


S, E = RunStatus, RunEvent

TRANSITIONS: Mapping[tuple[RunStatus, RunEvent], RunStatus] = {
    (S.PENDING, E.START): S.RUNNING,
    (S.PENDING, E.CANCEL): S.CANCELLED,
    (S.PENDING, E.ABORT): S.FAILED,
    (S.RUNNING, E.STEP_NEXT): S.RUNNING,
    (S.RUNNING, E.STEP_WAIT): S.WAITING,
    (S.RUNNING, E.STEP_RETRY): S.WAITING,
    (S.RUNNING, E.STEP_PAUSE): S.AWAITING_APPROVAL,
    (S.RUNNING, E.STEP_DECIDE): S.AWAITING_DECISION,
    (S.RUNNING, E.DONE): S.SUCCEEDED,
    (S.RUNNING, E.DONE_PARTIAL): S.PARTIALLY_SUCCEEDED,
    (S.RUNNING, E.FAIL): S.FAILED,
    (S.RUNNING, E.ABORT): S.FAILED,
    (S.RUNNING, E.CANCEL): S.CANCELLED,
    (S.WAITING, E.TIMER_FIRED): S.RUNNING,
    (S.WAITING, E.CANCEL): S.CANCELLED,
    (S.WAITING, E.ABORT): S.FAILED,
    # A waiting run may be resumed: its step is entered afresh now (e.g. a run parked waiting for a region).
    (S.WAITING, E.RESUME): S.RUNNING,
    (S.AWAITING_APPROVAL, E.APPROVE): S.RUNNING,
    (S.AWAITING_APPROVAL, E.APPROVAL_TIMEOUT): S.RUNNING,
    (S.AWAITING_APPROVAL, E.RESUME): S.RUNNING,
    (S.AWAITING_APPROVAL, E.CANCEL): S.CANCELLED,
    (S.AWAITING_APPROVAL, E.ABORT): S.FAILED,
    (S.AWAITING_DECISION, E.DECIDE): S.RUNNING,
    (S.AWAITING_DECISION, E.CANCEL): S.CANCELLED,
    (S.AWAITING_DECISION, E.ABORT): S.FAILED,
    (S.PENDING, E.CONTINUE): S.PENDING,
    (S.RUNNING, E.CONTINUE): S.RUNNING,
    (S.WAITING, E.CONTINUE): S.WAITING,
    (S.RUNNING, E.CANCEL_REQUEST): S.RUNNING,
    (S.WAITING, E.CANCEL_REQUEST): S.WAITING,
    (S.FAILED, E.RESUME): S.RUNNING,
    (S.PARTIALLY_SUCCEEDED, E.RESUME): S.RUNNING,
}

ACTIVE: frozenset[RunStatus] = frozenset({S.PENDING, S.RUNNING, S.WAITING, S.AWAITING_APPROVAL, S.AWAITING_DECISION})
FINISHED: frozenset[RunStatus] = frozenset(set(RunStatus) - ACTIVE)
# ``finished`` but may be resumed; succeeded and cancelled are final.
# A waiting run accepts ``resume`` too, but only the workflows know when that means something (a parked run).
RESUMABLE: frozenset[RunStatus] = frozenset(s for (s, e) in TRANSITIONS if e is E.RESUME and s is not S.WAITING)


def listed_status(status: RunStatus) -> RunStatus:
    """The status the run index records. A waiting run is listed as running: a run polling ASR flips between
    the two on every poll and phase, and keeping that exact in the index would cost a write per flip. The
    listing reads the exact status of the (few) active runs back from the runs themselves."""
    return RunStatus.RUNNING if status is RunStatus.WAITING else status


class IllegalTransition(AutopilotError):
    """``event`` is not allowed while a run is ``from_status`` (e.g. approving a run that is not paused)."""

    def __init__(self, from_status: RunStatus, event: RunEvent, run_id: str = "") -> None:
        where = f"run {run_id}: " if run_id else ""
        super().__init__(f"{where}{event.value!r} is not allowed while the run is {from_status.value!r}")
        self.from_status = from_status
        self.event = event
        self.run_id = run_id


def transition(status: RunStatus, event: RunEvent, run_id: str = "") -> RunStatus:
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition(status, event, run_id) from None


@dataclass(frozen=True)
class RunRecord:
    """Everything the engine persists about one run (one table entity). Never mutated: use ``replace``.

    ``version`` grows by one at every checkpoint; queue messages carry it so stale ones can be recognised.
    ``due_at`` is when the current step should run (None while paused without timeout, or finished).
    ``lease_owner``/``lease_until`` say which worker may execute the current step and until when.
    ``msg_id`` is the queue message that carries the run's work (a redelivery of it is never stale).
    """

    run_id: str
    workflow: str
    status: RunStatus
    step: str
    version: int
    input: Mapping[str, Any]
    state: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    step_started_at: datetime
    attempt: int = 1
    due_at: datetime | None = None
    lease_owner: str = ""
    lease_until: datetime | None = None
    msg_id: str = ""
    claims: int = 0  # lease claims since the last checkpoint: each one is a worker that started the step
    history_seq: int = 0
    idempotency_key: str = ""
    approval: str = ""  # what a paused run waits for
    approved_by: str = ""  # who approved; visible to the step right after the pause only
    approval_timed_out: bool = False
    choices: tuple[str, ...] = ()  # what an operator may choose while the run is awaiting a decision
    decision: str = ""  # the choice made; visible to the deciding step until the run enters another step
    reason: str = ""  # the last outcome's reason, for listings
    error: str = ""  # the last error ("Type: message") or Fail message
    error_code: str = ""
    # Operator events this checkpoint raised (``lib.domain.events.OperatorEvent`` as JSON), published after it is
    # saved; entries this process saw delivered (or queued for retry) are dropped at the next checkpoint.
    outbox: tuple[Mapping[str, Any], ...] = ()

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def lease_held_by_other(self, owner: str, now: datetime) -> bool:
        return (
            bool(self.lease_owner)
            and self.lease_owner != owner
            and self.lease_until is not None
            and (self.lease_until > now)
        )


@dataclass(frozen=True)
class HistoryRecord:
    """One transition (or operation) of a run, stored next to the run and written in the same transaction."""

    seq: int
    at: datetime
    event: RunEvent
    from_status: RunStatus | None  # None for ``create``
    to_status: RunStatus
    step: str
    version: int  # the run's version once this transition is saved
    outcome: str = ""  # next | wait | pause | done | fail | error | operation
    reason: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    actor: str = ""  # who asked (operations), or the engine worker that executed the step
    attempt: int = 1
    error: str = ""
    code: str = ""


@dataclass(frozen=True)
class RunSummary:
    """A run as listed by the index table (newest first; filterable by status)."""

    run_id: str
    workflow: str
    status: RunStatus
    created_at: datetime
    updated_at: datetime
    step: str = ""
    reason: str = ""
    idempotency_key: str = ""

    @classmethod
    def of(cls, run: RunRecord) -> RunSummary:
        return cls(
            run_id=run.run_id,
            workflow=run.workflow,
            status=listed_status(run.status),
            created_at=run.created_at,
            updated_at=run.updated_at,
            step=run.step,
            reason=run.error or run.reason,
            idempotency_key=run.idempotency_key,
        )
