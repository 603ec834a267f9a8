"""A permanent error raised by a step fails the run at once (no retries); transient ones are retried."""

from __future__ import annotations

from lib.adapters.clocks import SystemClock
from lib.adapters.memory_run_store import MemoryRunStore
from lib.adapters.memory_work_queue import MemoryWorkQueue
from lib.domain.errors import (
    ConfigurationError,
    ConfigurationProblem,
    TargetNotFound,
    TransientSiteRecoveryError,
)
from lib.domain.runs import RunEvent, RunStatus
from lib.engine import Driver, Engine, Outcome, Step, StepContext, Workflow


class Raising:
    def __init__(self, error: Exception, times: int = 1_000) -> None:
        self.error, self.times, self.calls = error, times, 0

    def __call__(self, ctx: StepContext, deps: None) -> Outcome:
        self.calls += 1
        raise self.error


def run_with(step: Raising) -> tuple[Engine[None], str]:
    clock = SystemClock()
    engine: Engine[None] = Engine(
        registry={"w": Workflow("w", (Step("act", step),))},
        deps=None,
        store=MemoryRunStore(),
        queue=MemoryWorkQueue("work", clock),
        clock=clock,
        timer_scale=0.0001,
    )
    run_id = engine.start("w", {}).run_id
    Driver(engine, poll_s=0.002).run_until_finished(run_id, deadline_s=20)
    return engine, run_id


def test_a_missing_plan_fails_the_run_at_the_first_attempt_with_the_cause() -> None:
    step = Raising(TargetNotFound("recovery plan 'p9'", "NotFound", "not found", operation="get_recovery_plan p9"))
    engine, run_id = run_with(step)
    view = engine.get(run_id)
    assert view.run.status is RunStatus.FAILED and step.calls == 1
    assert view.run.error_code == "NotFound" and "recovery plan 'p9'" in view.run.error
    last = view.history[-1]
    assert last.event is RunEvent.FAIL and last.details["permanent"] is True
    assert last.details["error"]["resource"] == "recovery plan 'p9'"
    assert not [h for h in view.history if h.event is RunEvent.STEP_RETRY]


def test_a_configuration_error_fails_at_once_and_names_the_host() -> None:
    error = ConfigurationError(ConfigurationProblem.DNS, "arm.invalid", "Failed to resolve 'arm.invalid'")
    step = Raising(error)
    engine, run_id = run_with(step)
    view = engine.get(run_id)
    assert view.run.status is RunStatus.FAILED and step.calls == 1
    assert "arm.invalid" in view.run.reason and "permanent" in view.run.reason
    assert view.history[-1].details["error"]["problem"] == "dns"


def test_a_transient_error_is_still_retried() -> None:
    step = Raising(TransientSiteRecoveryError("Http503", "busy", status=503))
    engine, run_id = run_with(step)
    view = engine.get(run_id)
    assert view.run.status is RunStatus.FAILED and step.calls == engine.config.retry.max_retries + 1
    assert len([h for h in view.history if h.event is RunEvent.STEP_RETRY]) == engine.config.retry.max_retries
