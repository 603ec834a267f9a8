"""Operator events: what the app tells the outside world (CloudEvents 1.0 on an Event Grid topic).

Pure: event types, the event record, and which events a run's checkpoint raises (``run_events``). Ids are
derived from the run and its history sequence, so an event staged twice (a step re-executed after a crash)
keeps its id and a consumer dedupes it. Every run event carries ``runId`` and ``runUrl`` (``/api/runs/{id}``,
absolute when the app knows its public host name).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lib.domain.errors import ValidationError
from lib.domain.runs import HistoryRecord, RunEvent, RunRecord, RunStatus

__all__ = [
    "APPROVAL_REQUIRED",
    "DECISION",
    "DRILL_COMPLETED",
    "EVENT_TYPES",
    "READINESS_CHANGED",
    "REPROTECT_OVERDUE",
    "RUN_CANCELLED",
    "RUN_FAILED",
    "RUN_PARTIALLY_SUCCEEDED",
    "RUN_RESUMED",
    "RUN_STARTED",
    "RUN_STEP_CHANGED",
    "RUN_SUCCEEDED",
    "OperatorEvent",
    "run_events",
    "run_link",
]

RUN_STARTED = "Autopilot.Run.Started"
RUN_STEP_CHANGED = "Autopilot.Run.StepChanged"
RUN_RESUMED = "Autopilot.Run.Resumed"
RUN_SUCCEEDED = "Autopilot.Run.Succeeded"
RUN_PARTIALLY_SUCCEEDED = "Autopilot.Run.PartiallySucceeded"
RUN_FAILED = "Autopilot.Run.Failed"
RUN_CANCELLED = "Autopilot.Run.Cancelled"
APPROVAL_REQUIRED = "Autopilot.Run.ApprovalRequired"
REPROTECT_OVERDUE = "Autopilot.Run.ReprotectOverdue"
DRILL_COMPLETED = "Autopilot.Drill.Completed"
DECISION = "Autopilot.Decision.Recorded"
READINESS_CHANGED = "Autopilot.Readiness.Changed"

# One line per type: the README's table is checked against this (tests/unit).
EVENT_TYPES: Mapping[str, str] = {
    RUN_STARTED: "a run's first step was picked up",
    RUN_STEP_CHANGED: "a run moved on to another step",
    RUN_RESUMED: "an operator resumed a failed, partial or paused run",
    RUN_SUCCEEDED: "a run ended succeeded",
    RUN_PARTIALLY_SUCCEEDED: "a run ended partially-succeeded",
    RUN_FAILED: "a run ended failed (its error and code are in data)",
    RUN_CANCELLED: "a run ended cancelled",
    APPROVAL_REQUIRED: "a run waits for an operator: an approval, or a decision among choices",
    REPROTECT_OVERDUE: "reprotect is still running past the warning threshold",
    DRILL_COMPLETED: "a drill finished its evidence: passed or not, RTO, RPO, validation",
    DECISION: "the autopilot decided on a region-health signal (with its reasons)",
    READINESS_CHANGED: "a target's readiness changed state",
}

_ENDS: Mapping[RunStatus, str] = {
    RunStatus.SUCCEEDED: RUN_SUCCEEDED,
    RunStatus.PARTIALLY_SUCCEEDED: RUN_PARTIALLY_SUCCEEDED,
    RunStatus.FAILED: RUN_FAILED,
    RunStatus.CANCELLED: RUN_CANCELLED,
}


@dataclass(frozen=True)
class OperatorEvent:
    """One CloudEvent's worth: ``id`` is stable across retries; ``subject`` names what it is about."""

    id: str
    type: str
    subject: str
    time: datetime
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "subject": self.subject, "time": self.time.isoformat(),
                "data": dict(self.data)}  # fmt: skip

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> OperatorEvent:
        try:
            return cls(str(raw["id"]), str(raw["type"]), str(raw["subject"]),
                       datetime.fromisoformat(str(raw["time"])), dict(raw.get("data") or {}))  # fmt: skip
        except (KeyError, ValueError, TypeError) as exc:
            raise ValidationError("event", f"not an operator event: {exc}") from None


def run_link(run_id: str, base_url: str = "") -> str:
    return f"{base_url.rstrip('/')}/api/runs/{run_id}"


def _base(run: RunRecord, base_url: str) -> dict[str, Any]:
    return {"runId": run.run_id, "runUrl": run_link(run.run_id, base_url), "workflow": run.workflow,
            "status": run.status.value, "step": run.step}  # fmt: skip


def _event(run: RunRecord, row: HistoryRecord, event_type: str, base_url: str, **data: Any) -> OperatorEvent:
    body = {**_base(run, base_url), "reason": row.reason, "actor": row.actor, **data}
    ident = f"{run.run_id}/{row.seq}/{event_type.rsplit('.', 1)[-1]}"
    return OperatorEvent(ident, event_type, f"runs/{run.run_id}", row.at, body)


def _row_events(before: RunRecord, after: RunRecord, row: HistoryRecord, base_url: str) -> list[OperatorEvent]:
    if row.event is RunEvent.START:
        return [_event(after, row, RUN_STARTED, base_url)]
    if row.event is RunEvent.RESUME:
        return [_event(after, row, RUN_RESUMED, base_url, fromStep=before.step)]
    if row.to_status in _ENDS and row.from_status is not row.to_status:
        extra = {"error": row.error, "code": row.code} if row.to_status is RunStatus.FAILED else {}
        return [_event(after, row, _ENDS[row.to_status], base_url, details=dict(row.details), **extra)]
    if row.to_status in (RunStatus.AWAITING_APPROVAL, RunStatus.AWAITING_DECISION):
        kind = "approval" if row.to_status is RunStatus.AWAITING_APPROVAL else "decision"
        return [_event(after, row, APPROVAL_REQUIRED, base_url, kind=kind, approval=after.approval,
                       choices=list(after.choices))]  # fmt: skip
    return []


def run_events(
    before: RunRecord, after: RunRecord, rows: Sequence[HistoryRecord], base_url: str = ""
) -> list[OperatorEvent]:
    """The events one checkpoint (``before`` -> ``after`` with ``rows``) raises, in order."""
    events = [e for row in rows for e in _row_events(before, after, row, base_url)]
    if rows and after.active and after.step != before.step:
        row = rows[-1]
        events.append(_event(after, row, RUN_STEP_CHANGED, base_url, fromStep=before.step, toStep=after.step))
    return events
