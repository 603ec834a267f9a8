"""A cancel a workflow takes as a request (``StopRequested``): the run stays active and due now with the request in
its state, and its step ends it ``cancelled`` (``Stopped``) once its work is stopped (in-memory backend)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from lib.adapters.clocks import SystemClock
from lib.domain.runs import RunEvent, RunStatus
from lib.engine import Driver, Outcome, Step, StepContext, Stopped, StopRequested, Wait, Workflow
from lib.ports.work_queue import WorkItem
from tests.integration.engine.flows import Effects
from tests.unit.engine.test_run_control import make_engine


def _work(ctx: StepContext, deps: Effects) -> Outcome:
    if ctx.state.get("stop"):
        return Stopped("stopped: the job was cancelled", {"jobs": ["j1"]})
    ctx.state["polls"] = int(ctx.state.get("polls", 0)) + 1
    return Wait(timedelta(hours=1), "the job runs")


def _on_cancel(state: Mapping[str, Any], step: str) -> StopRequested | None:
    return StopRequested("the job is cancelled first", {**state, "stop": True}) if state.get("polls") else None


FLOW: Workflow[Effects] = Workflow("stoppable", (Step("work", _work),), on_cancel=_on_cancel)


def test_a_cancel_request_keeps_the_run_active_and_due_then_its_step_ends_it_cancelled() -> None:
    engine = make_engine(SystemClock(), scale=1.0, extra=(FLOW,))
    run_id = engine.start("stoppable", {}).run_id
    (msg,) = engine.queue.receive(1, 30)
    engine.executor().process(msg, held=True)
    waiting = engine.get(run_id).run
    assert waiting.status is RunStatus.WAITING and waiting.due_at is not None  # an hour away

    requested = engine.cancel(run_id, by="frank", reason="wrong window")
    assert requested.status is RunStatus.WAITING and requested.state == {"polls": 1, "stop": True}
    assert requested.due_at is not None and requested.due_at < waiting.due_at  # due now, not in an hour
    assert requested.reason == "cancel requested by frank: wrong window; the job is cancelled first"
    last = engine.get(run_id).history[-1]
    assert (last.event, last.actor, last.from_status, last.to_status) == (
        RunEvent.CANCEL_REQUEST, "frank", RunStatus.WAITING, RunStatus.WAITING,
    )  # fmt: skip
    assert any(WorkItem.decode(m.body).version == requested.version for m in engine.queue.receive(8, 1))

    done = Driver(engine).run_until_finished(run_id, deadline_s=10)
    assert done.status is RunStatus.CANCELLED and done.reason == "stopped: the job was cancelled"
    last = engine.get(run_id).history[-1]
    assert (last.event, last.outcome, last.details) == (RunEvent.CANCEL, "cancelled", {"jobs": ["j1"]})


def test_without_a_request_the_cancel_ends_the_run_at_once() -> None:
    engine = make_engine(SystemClock(), scale=1.0, extra=(FLOW,))
    run_id = engine.start("stoppable", {}).run_id
    cancelled = engine.cancel(run_id, by="frank")
    assert cancelled.status is RunStatus.CANCELLED and engine.get(run_id).history[-1].event is RunEvent.CANCEL
