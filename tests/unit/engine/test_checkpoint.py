"""Outcomes and errors become the next run record and its history rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lib.domain.runs import IllegalTransition, RunEvent, RunRecord, RunStatus
from lib.engine import Done, Fail, Next, Pause, RetryPolicy, Step, StepContext, TimerScale, Wait, Workflow
from lib.engine.checkpoint import Recorder, after_step

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
RETRY = RetryPolicy(max_retries=2, first_delay=timedelta(seconds=10), factor=3.0, max_delay=timedelta(seconds=60))


def _noop(ctx: StepContext, deps: Any) -> Next:
    return Next()


WF: Workflow[Any] = Workflow("wf", (Step("a", _noop), Step("b", _noop), Step("c", _noop)))


def running(step: str = "a", attempt: int = 1, **extra: Any) -> RunRecord:
    return RunRecord(
        run_id="r1", workflow="wf", status=RunStatus.RUNNING, step=step, version=3, input={}, state={"k": 1},
        created_at=NOW, updated_at=NOW, step_started_at=NOW - timedelta(hours=1), attempt=attempt, history_seq=7,
        due_at=NOW, **extra,
    )  # fmt: skip


def apply(result: Any, run: RunRecord | None = None, state: dict[str, Any] | None = None, scale: float = 1.0) -> Any:
    rec = Recorder(run or running(), NOW, "w1")
    return after_step(rec, WF, result, state or {"k": 2}, timing=TimerScale(scale), retry=RETRY)


def test_next_moves_to_the_following_step_and_saves_state() -> None:
    cp = apply(Next("ok", {"jobs": ["j1"]}))
    assert (cp.run.status, cp.run.step, cp.run.version, cp.run.state) == (RunStatus.RUNNING, "b", 4, {"k": 2})
    assert cp.run.step_started_at == NOW and cp.run.due_at == NOW and cp.run.history_seq == 8
    [row] = cp.history
    assert (row.seq, row.event, row.step, row.details["jobs"], row.version) == (8, RunEvent.STEP_NEXT, "a", ["j1"], 4)


def test_next_on_the_last_step_finishes_and_goto_jumps() -> None:
    cp = apply(Next(), running("c"))
    assert cp.run.status is RunStatus.SUCCEEDED and [h.event for h in cp.history] == [E.STEP_NEXT, E.DONE]
    assert apply(Next(goto="c")).run.step == "c"
    bad = apply(Next(goto="nope"))
    assert bad.run.status is RunStatus.FAILED and bad.run.error_code == "UnknownStep"


E = RunEvent


def test_wait_keeps_the_step_and_its_start_time_and_scales_the_delay() -> None:
    cp = apply(Wait(timedelta(seconds=60), "polling"), scale=0.01)
    assert cp.run.status is RunStatus.WAITING and cp.run.step == "a"
    assert cp.run.due_at == NOW + timedelta(seconds=0.6)
    assert cp.run.step_started_at == NOW - timedelta(hours=1)


def test_pause_records_the_approval_and_its_scaled_timeout() -> None:
    cp = apply(Pause("commit", "check the VMs", timeout=timedelta(minutes=30)), scale=0.5)
    assert (cp.run.status, cp.run.approval, cp.run.due_at) == (
        RunStatus.AWAITING_APPROVAL, "commit", NOW + timedelta(minutes=15),
    )  # fmt: skip
    assert apply(Pause("commit", "no timeout")).run.due_at is None


def test_done_partial_and_fail_end_the_run() -> None:
    assert apply(Done("ok")).run.status is RunStatus.SUCCEEDED
    assert apply(Done("some", partial=True)).run.status is RunStatus.PARTIALLY_SUCCEEDED
    failed = apply(Fail("ASR said no", code="OperationNotAllowed"))
    assert (failed.run.status, failed.run.error, failed.run.error_code, failed.run.due_at) == (
        RunStatus.FAILED, "ASR said no", "OperationNotAllowed", None,
    )  # fmt: skip


def test_an_exception_is_retried_with_exponential_backoff_and_discards_the_state() -> None:
    cp = apply(ValueError("boom"), running(attempt=2))
    assert cp.run.status is RunStatus.WAITING and cp.run.attempt == 3
    assert cp.run.state == {"k": 1}  # the step's half-done changes are not saved
    assert cp.run.due_at == NOW + timedelta(seconds=30)  # 10 s * 3**(2-1)
    [row] = cp.history
    assert (row.event, row.error, row.code, row.details["retry_in_s"]) == (
        E.STEP_RETRY,
        "ValueError: boom",
        "ValueError",
        30,
    )


def test_retry_after_hints_are_honoured_and_delays_are_capped() -> None:
    class Throttled(Exception):
        retry_after = 45.0

    assert apply(Throttled("slow down")).run.due_at == NOW + timedelta(seconds=45)
    assert RETRY.delay(10) == timedelta(seconds=60)


def test_after_the_last_retry_the_run_fails_with_the_error() -> None:
    cp = apply(KeyError("vm1"), running(attempt=3))
    assert cp.run.status is RunStatus.FAILED and cp.run.error == "KeyError: 'vm1'"
    assert cp.history[-1].event is E.FAIL and "failed 3 times" in cp.history[-1].reason


def test_a_step_returning_something_else_is_an_error() -> None:
    cp = apply("oops")
    assert cp.run.status is RunStatus.WAITING and "TypeError" in cp.run.error


def test_wake_edges_come_first_and_share_the_version() -> None:
    waiting = RunRecord(
        run_id="r1", workflow="wf", status=RunStatus.WAITING, step="a", version=3, input={}, state={},
        created_at=NOW, updated_at=NOW, step_started_at=NOW, history_seq=2,
    )  # fmt: skip
    rec = Recorder(waiting, NOW, "w1")
    rec.edge(E.TIMER_FIRED, "a")
    cp = after_step(rec, WF, Wait(timedelta(seconds=5), "again"), {}, timing=TimerScale(), retry=RETRY)
    assert [(h.seq, h.event, h.version) for h in cp.history] == [(3, E.TIMER_FIRED, 4), (4, E.STEP_WAIT, 4)]
    with pytest.raises(IllegalTransition):
        Recorder(waiting, NOW, "w1").edge(E.STEP_NEXT, "a")


def test_details_that_json_cannot_carry_are_written_as_text() -> None:
    cp = apply(Next("ok", {"when": NOW}))
    assert cp.history[0].details["when"] == str(NOW)
