"""Turn a step's result (or an operation) into the next run record plus its history rows (pure).

Every change of status goes through ``lib.domain.runs.transition``; each edge becomes one history row,
and all rows of one checkpoint share the run's next version.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from lib.domain.errors import AutopilotError
from lib.domain.runs import HistoryRecord, RunEvent, RunRecord, RunStatus, transition
from lib.engine.api import Decide, Done, Fail, Next, Outcome, Pause, Stopped, Wait, Workflow
from lib.engine.config import RetryPolicy, TimerScale


@dataclass(frozen=True)
class Checkpoint:
    run: RunRecord
    history: tuple[HistoryRecord, ...]
    raised: tuple[tuple[str, Mapping[str, Any]], ...] = ()  # operator events the step raised (type, data)


def json_safe(value: Mapping[str, Any]) -> dict[str, Any]:
    """History details are for people: anything JSON cannot carry is written as text instead of failing."""
    return dict(json.loads(json.dumps(dict(value), default=str)))


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def error_code(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) and code else type(exc).__name__


class Recorder:
    """Applies events to a run one by one, collecting a history row for each."""

    def __init__(self, run: RunRecord, now: datetime, actor: str) -> None:
        self.start = run
        self.status = run.status
        self.now = now
        self.actor = actor
        self.rows: list[HistoryRecord] = []

    def edge(
        self,
        event: RunEvent,
        step: str,
        *,
        outcome: str = "",
        reason: str = "",
        details: Mapping[str, Any] | None = None,
        error: str = "",
        code: str = "",
        attempt: int | None = None,
    ) -> RunStatus:
        before = self.status
        self.status = transition(before, event, self.start.run_id)
        self.rows.append(
            HistoryRecord(
                seq=self.start.history_seq + len(self.rows) + 1,
                at=self.now,
                event=event,
                from_status=before,
                to_status=self.status,
                step=step,
                version=self.start.version + 1,
                outcome=outcome,
                reason=reason,
                details=json_safe(details or {}),
                actor=self.actor,
                attempt=self.start.attempt if attempt is None else attempt,
                error=error,
                code=code,
            )
        )
        return self.status

    def finish(self, **changes: Any) -> Checkpoint:
        run = replace(
            self.start,
            status=self.status,
            version=self.start.version + 1,
            history_seq=self.start.history_seq + len(self.rows),
            claims=0,
            updated_at=self.now,
            **changes,
        )
        return Checkpoint(run, tuple(self.rows))


def entering(step: str, now: datetime) -> dict[str, Any]:
    """Fields that reset whenever the run enters a step afresh."""
    return {
        "step": step,
        "attempt": 1,
        "step_started_at": now,
        "due_at": now,
        "approved_by": "",
        "approval": "",
        "approval_timed_out": False,
        "choices": (),
        "decision": "",
        "error": "",
        "error_code": "",
    }


@dataclass(frozen=True)
class _Turn:
    """What every outcome handler needs: the recorder, the workflow, the timer scale, the step's state."""

    rec: Recorder
    workflow: Workflow[Any]
    timing: TimerScale
    state: dict[str, Any]

    @property
    def step(self) -> str:
        return self.rec.start.step

    def finish(self, **changes: Any) -> Checkpoint:
        """A step that returned an outcome: its state is kept and the last error is cleared."""
        return self.rec.finish(**{"state": self.state, "error": "", "error_code": "", **changes})


def _after_next(turn: _Turn, result: Next) -> Checkpoint:
    rec, step, workflow = turn.rec, turn.step, turn.workflow
    if result.goto and result.goto not in {s.name for s in workflow.steps}:
        reason = f"step {step!r} asked for step {result.goto!r}, which workflow {workflow.name!r} does not have"
        rec.edge(RunEvent.FAIL, step, outcome="fail", reason=reason, error=reason, code="UnknownStep")
        return turn.finish(due_at=None, reason=reason, error=reason, error_code="UnknownStep")
    target = result.goto or workflow.after(step)
    if target is None:
        rec.edge(RunEvent.STEP_NEXT, step, outcome="next", reason=result.reason, details=result.details)
        rec.edge(RunEvent.DONE, step, outcome="done", reason="the last step finished")
        return turn.finish(due_at=None, reason=result.reason or "the last step finished")
    details = {**result.details, "to": target}
    rec.edge(RunEvent.STEP_NEXT, step, outcome="next", reason=result.reason, details=details)
    return turn.finish(**entering(target, rec.now), reason=result.reason)


def _after_wait(turn: _Turn, result: Wait) -> Checkpoint:
    due = turn.rec.now + turn.timing.scaled(result.delay)
    details = {**result.details, "delay_s": result.delay.total_seconds(), "due_at": due.isoformat()}
    turn.rec.edge(RunEvent.STEP_WAIT, turn.step, outcome="wait", reason=result.reason, details=details)
    # A successful step resets the retry budget; ``step_started_at`` is kept across waits on purpose.
    return turn.finish(attempt=1, due_at=due, reason=result.reason)


def _after_pause(turn: _Turn, result: Pause) -> Checkpoint:
    timeout_at = turn.rec.now + turn.timing.scaled(result.timeout) if result.timeout is not None else None
    details = {
        **result.details,
        "approval": result.approval,
        "timeout_at": timeout_at.isoformat() if timeout_at else None,
    }
    turn.rec.edge(RunEvent.STEP_PAUSE, turn.step, outcome="pause", reason=result.reason, details=details)
    return turn.finish(
        attempt=1,
        due_at=timeout_at,
        approval=result.approval,
        approved_by="",
        approval_timed_out=False,
        reason=result.reason,
    )


def _after_decide(turn: _Turn, result: Decide) -> Checkpoint:
    choices = tuple(result.choices)
    if not choices or any(not c or "," in c for c in choices) or not result.decision:
        # A bug in the workflow, not weather: nobody could ever answer this decision.
        reason = f"step {turn.step!r} asked for decision {result.decision!r} with unusable choices {list(choices)!r}"
        turn.rec.edge(RunEvent.FAIL, turn.step, outcome="fail", reason=reason, error=reason, code="BadDecision")
        return turn.finish(due_at=None, reason=reason, error=reason, error_code="BadDecision")
    details = {**result.details, "decision": result.decision, "choices": list(choices)}
    turn.rec.edge(RunEvent.STEP_DECIDE, turn.step, outcome="decide", reason=result.reason, details=details)
    return turn.finish(
        attempt=1,
        due_at=None,
        approval=result.decision,
        choices=choices,
        decision="",
        approved_by="",
        reason=result.reason,
    )


def _after_done(turn: _Turn, result: Done) -> Checkpoint:
    event = RunEvent.DONE_PARTIAL if result.partial else RunEvent.DONE
    turn.rec.edge(event, turn.step, outcome="done", reason=result.reason, details=result.details)
    return turn.finish(due_at=None, reason=result.reason)


def _after_fail(turn: _Turn, result: Fail) -> Checkpoint:
    turn.rec.edge(
        RunEvent.FAIL,
        turn.step,
        outcome="fail",
        reason=result.error,
        details=result.details,
        error=result.error,
        code=result.code,
    )
    return turn.finish(due_at=None, reason=result.error, error=result.error, error_code=result.code)


def _after_stopped(turn: _Turn, result: Stopped) -> Checkpoint:
    turn.rec.edge(RunEvent.CANCEL, turn.step, outcome="cancelled", reason=result.reason, details=result.details)
    return turn.finish(due_at=None, reason=result.reason)


# One handler per outcome type (``Outcome`` lists them all).
_HANDLERS: Mapping[type, Callable[[_Turn, Any], Checkpoint]] = {
    Next: _after_next,
    Wait: _after_wait,
    Pause: _after_pause,
    Decide: _after_decide,
    Done: _after_done,
    Fail: _after_fail,
    Stopped: _after_stopped,
}


def after_step(
    rec: Recorder,
    workflow: Workflow[Any],
    result: Outcome | BaseException,
    state: Mapping[str, Any],
    *,
    timing: TimerScale,
    retry: RetryPolicy,
) -> Checkpoint:
    """The checkpoint after executing the run's current step (``rec`` may already hold a wake edge)."""
    if isinstance(result, BaseException):
        return _after_error(rec, result, timing, retry)
    handler = next((_HANDLERS[c] for c in type(result).__mro__ if c in _HANDLERS), None)
    if handler is None:
        bad = TypeError(f"step {rec.start.step!r} returned {type(result).__name__}, not an Outcome")
        return _after_error(rec, bad, timing, retry)
    return handler(_Turn(rec, workflow, timing, dict(state)), result)


def _after_error(rec: Recorder, exc: BaseException, timing: TimerScale, retry: RetryPolicy) -> Checkpoint:
    """The step raised: its changes to the state are discarded; retry after a backoff or give up. A permanent
    error (``AutopilotError.permanent``: a wrong endpoint, a missing plan) fails the run at once."""
    run, now, step = rec.start, rec.now, rec.start.step
    text, code = error_text(exc), error_code(exc)
    details: dict[str, Any] = {"error_type": type(exc).__name__, "error_message": str(exc), "attempt": run.attempt}
    if isinstance(exc, AutopilotError) and exc.permanent:
        details |= {"permanent": True, "error": exc.fields()}
        reason = f"step {step!r} failed with a permanent error (not retried): {exc}"
        rec.edge(RunEvent.FAIL, step, outcome="error", reason=reason, details=details, error=text, code=code)
        return rec.finish(due_at=None, reason=reason, error=text, error_code=code)
    if run.attempt <= retry.max_retries:
        retry_after = getattr(exc, "retry_after", None)
        delay = retry.delay(run.attempt, retry_after if isinstance(retry_after, int | float) else None)
        due = now + timing.scaled(delay)
        details |= {"retry_in_s": delay.total_seconds(), "due_at": due.isoformat()}
        rec.edge(
            RunEvent.STEP_RETRY,
            step,
            outcome="error",
            reason=f"retry {run.attempt}/{retry.max_retries}",
            details=details,
            error=text,
            code=code,
        )
        return rec.finish(
            attempt=run.attempt + 1, due_at=due, reason=f"retrying after {text}", error=text, error_code=code
        )
    reason = f"step {step!r} failed {run.attempt} times; last error: {text}"
    rec.edge(RunEvent.FAIL, step, outcome="error", reason=reason, details=details, error=text, code=code)
    return rec.finish(due_at=None, reason=reason, error=text, error_code=code)


def abort(rec: Recorder, reason: str, code: str, details: Mapping[str, Any] | None = None) -> Checkpoint:
    """The engine gives up on the run (poison message, unknown workflow or step, oversized state)."""
    rec.edge(
        RunEvent.ABORT, rec.start.step, outcome="operation", reason=reason, details=details, error=reason, code=code
    )
    return rec.finish(due_at=None, reason=reason, error=reason, error_code=code, lease_owner="", lease_until=None)
