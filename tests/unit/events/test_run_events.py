"""Which operator events a checkpoint raises, and how the run's outbox carries them until they are settled."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lib.domain import events as ev
from lib.domain.events import OperatorEvent, run_events
from lib.domain.runs import RunEvent, RunRecord, RunStatus
from lib.engine import Decide, Done, Fail, Next, Pause, RetryPolicy, RunOutbox, Step, StepContext, TimerScale, Workflow
from lib.engine.checkpoint import Checkpoint, Recorder, after_step
from lib.engine.operations import cancel, resume

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
RETRY = RetryPolicy(max_retries=2, first_delay=timedelta(seconds=10))


def _noop(ctx: StepContext, deps: Any) -> Next:
    return Next()


WF: Workflow[Any] = Workflow("wf", (Step("a", _noop), Step("b", _noop)))


def run(status: RunStatus = RunStatus.RUNNING, step: str = "a", **extra: Any) -> RunRecord:
    return RunRecord(
        run_id="r1", workflow="wf", status=status, step=step, version=3, input={}, state={}, created_at=NOW,
        updated_at=NOW, step_started_at=NOW, history_seq=7, due_at=NOW, **extra,
    )  # fmt: skip


def step(result: Any, before: RunRecord | None = None, wake: RunEvent | None = None) -> Checkpoint:
    before = before or run()
    rec = Recorder(before, NOW, "w1")
    if wake is not None:
        rec.edge(wake, before.step, reason="picked up")
    return after_step(rec, WF, result, {}, timing=TimerScale(1.0), retry=RETRY)


def types(cp: Checkpoint, before: RunRecord | None = None, base: str = "") -> list[str]:
    return [e.type for e in run_events(before or run(), cp.run, cp.history, base)]


def test_start_and_step_change() -> None:
    pending = run(RunStatus.PENDING)
    cp = step(Next("go"), pending, wake=RunEvent.START)
    assert types(cp, pending) == [ev.RUN_STARTED, ev.RUN_STEP_CHANGED]
    started, moved = run_events(pending, cp.run, cp.history, "https://app.example")
    assert started.id == "r1/8/Started" and started.subject == "runs/r1"
    assert started.data["runUrl"] == "https://app.example/api/runs/r1" and started.data["runId"] == "r1"
    assert (moved.data["fromStep"], moved.data["toStep"]) == ("a", "b")


def test_every_end_and_every_wait_for_an_operator() -> None:
    assert types(step(Next(), run(step="b"))) == [ev.RUN_SUCCEEDED]
    assert types(step(Done("some", partial=True))) == [ev.RUN_PARTIALLY_SUCCEEDED]
    failed = step(Fail("broke", "Boom"))
    [event] = run_events(run(), failed.run, failed.history)
    assert event.type == ev.RUN_FAILED and (event.data["error"], event.data["code"]) == ("broke", "Boom")
    paused = step(Pause("go-ahead", "approve please"))
    [event] = run_events(run(), paused.run, paused.history)
    assert event.type == ev.APPROVAL_REQUIRED and (event.data["kind"], event.data["approval"]) == (
        "approval",
        "go-ahead",
    )
    deciding = step(Decide("partial", "pick", ("commit", "rollback")))
    [event] = run_events(run(), deciding.run, deciding.history)
    assert (event.data["kind"], event.data["choices"]) == ("decision", ["commit", "rollback"])


def test_operations_raise_cancelled_and_resumed() -> None:
    cancelled = cancel(WF, run(), NOW, "op", "")
    assert types(cancelled) == [ev.RUN_CANCELLED]
    failed = run(RunStatus.FAILED, step="b")
    assert types(resume(WF, failed, NOW, "op", ""), failed) == [ev.RUN_RESUMED]


def test_a_wait_raises_nothing() -> None:
    from lib.engine import Wait

    assert types(step(Wait(timedelta(seconds=5), "polling"))) == []


class Sink:
    def __init__(self, answers: Sequence[bool | Exception] = (True,)) -> None:
        self.answers = list(answers)
        self.batches: list[list[str]] = []

    def deliver(self, events: Sequence[OperatorEvent]) -> bool:
        self.batches.append([e.id for e in events])
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_the_outbox_carries_events_until_settled_then_drops_them() -> None:
    sink = Sink([False, True])
    outbox = RunOutbox(sink)
    pending = run(RunStatus.PENDING)
    first = outbox.stage(pending, step(Next(), pending, wake=RunEvent.START))
    assert [e["type"] for e in first.run.outbox] == [ev.RUN_STARTED, ev.RUN_STEP_CHANGED]
    outbox.flush(first.run)  # not settled (topic and retry queue both failed): the next checkpoint carries them
    second = outbox.stage(first.run, step(Next(), first.run))
    assert [e["type"] for e in second.run.outbox] == [ev.RUN_STARTED, ev.RUN_STEP_CHANGED, ev.RUN_SUCCEEDED]
    outbox.flush(second.run)
    assert sink.batches == [
        ["r1/8/Started", "r1/9/StepChanged"],
        ["r1/8/Started", "r1/9/StepChanged", "r1/11/Succeeded"],
    ]
    outbox.flush(second.run)  # settled: not offered again
    assert len(sink.batches) == 2
    third = outbox.stage(second.run, cancel(WF, replace(second.run, status=RunStatus.RUNNING), NOW, "op", ""))
    assert [e["type"] for e in third.run.outbox] == [ev.RUN_CANCELLED]


def test_raised_events_get_the_run_id_and_link_and_a_failing_sink_never_raises() -> None:
    outbox = RunOutbox(Sink([RuntimeError("storage down")]), "https://h")
    cp = replace(step(Wait_(), run()), raised=((ev.REPROTECT_OVERDUE, {"vms": {"web-1": 40}}),))
    staged = outbox.stage(run(), cp)
    [event] = staged.run.outbox
    assert event["id"] == "r1/v4/ReprotectOverdue/0" and event["data"]["runUrl"] == "https://h/api/runs/r1"
    assert event["data"]["vms"] == {"web-1": 40}
    outbox.flush(staged.run)  # the sink raised: logged, not raised


def Wait_() -> Any:
    from lib.engine import Wait

    return Wait(timedelta(seconds=5), "polling")


def test_a_full_outbox_drops_the_oldest_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    outbox = RunOutbox(Sink([False]), max_entries=3)
    entries = tuple(OperatorEvent(f"old{i}", "T", "s", NOW).to_json() for i in range(3))
    before = run(outbox=entries)
    with caplog.at_level(logging.ERROR, "autopilot.events"):
        staged = outbox.stage(before, step(Fail("x"), before))
    assert [e["id"] for e in staged.run.outbox] == ["old1", "old2", "r1/8/Failed"]
    assert "dropping 1 unpublished events" in caplog.text and "old0" in caplog.text


def test_every_event_type_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    missing = [t for t in ev.EVENT_TYPES if f"`{t}`" not in readme]
    assert missing == []


def test_a_huge_summary_goes_out_without_its_details_and_the_outbox_stays_small() -> None:
    outbox = RunOutbox(Sink([False]))
    before = run(step="b")
    done = step(Done("ok", details={"failed": [f"vm-{i:04d}" for i in range(1000)]}), before)
    staged = outbox.stage(before, done)
    [event] = staged.run.outbox
    assert event["type"] == ev.RUN_SUCCEEDED and "details" not in event["data"] and event["data"]["truncated"]
    for _ in range(200):  # nothing settles: the outbox keeps the newest events within its budget
        again = replace(staged.run, status=RunStatus.RUNNING)
        staged = outbox.stage(again, step(Fail("x", details={"big": "y" * 5000}), again))
    assert len(json.dumps(list(staged.run.outbox))) <= 24_000 and staged.run.outbox[-1]["type"] == ev.RUN_FAILED
