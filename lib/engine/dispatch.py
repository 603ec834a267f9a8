"""What to do with a delivered work item, decided from the run alone (pure: no I/O, unit-tested).

A message ``{run_id, version}`` is *live* when the run is still at ``version``, or when it is the very
message the run last checkpointed with (``run.msg_id``): a driver reuses one message for many steps, and a
crash between a checkpoint and rewriting the message leaves that message with an old version. Any other
message is a stale duplicate and is dropped. A live message executes the step unless the step is not due
yet or another worker holds the lease; then it is postponed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from lib.domain.runs import RunEvent, RunRecord, RunStatus
from lib.engine.config import EARLY_TOLERANCE

_WAKE = {
    RunStatus.PENDING: RunEvent.START,
    RunStatus.WAITING: RunEvent.TIMER_FIRED,
    RunStatus.AWAITING_APPROVAL: RunEvent.APPROVAL_TIMEOUT,
}


class Action(StrEnum):
    EXECUTE = "execute"
    POSTPONE = "postpone"
    DROP = "drop"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    until: datetime | None = None  # POSTPONE: when to look again
    wake: RunEvent | None = None  # EXECUTE: the edge that makes the run ``running`` first, if any


def classify(run: RunRecord | None, version: int, message_id: str, now: datetime, worker: str) -> Decision:
    if run is None:
        return Decision(Action.DROP, "no such run")
    if version > run.version:
        return Decision(Action.DROP, f"message version {version} is ahead of the run ({run.version})")
    if version < run.version and message_id != run.msg_id:
        return Decision(Action.DROP, f"stale: the run moved on from version {version} to {run.version}")
    if not run.active:
        return Decision(Action.DROP, f"the run is {run.status.value}")
    if run.due_at is None:
        return Decision(Action.DROP, f"the run is {run.status.value} with nothing scheduled")
    if run.lease_held_by_other(worker, now):
        return Decision(Action.POSTPONE, f"leased by {run.lease_owner}", until=run.lease_until)
    if run.due_at > now + EARLY_TOLERANCE:
        return Decision(Action.POSTPONE, "not due yet", until=run.due_at)
    return Decision(Action.EXECUTE, "due", wake=_WAKE.get(run.status))
