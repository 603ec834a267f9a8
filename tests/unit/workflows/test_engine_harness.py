"""The workflow unit tests run on the real engine: what the old hand-written loop could not show."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lib.domain.dr import parse_request
from lib.domain.runs import RunEvent, RunStatus
from lib.engine import Done, Next, Outcome, Step, StepContext, Wait, Workflow
from lib.workflows.deps import DrDeps
from lib.workflows.failover import FAILOVER_WORKFLOW
from tests.unit.workflows.fake_asr import T0, FakeSiteRecovery
from tests.unit.workflows.harness import backend_of, make_deps, resume, run

FAST = {"jobPollSeconds": 1, "healthPollSeconds": 1, "healthPollMaxSeconds": 4}


def test_a_step_that_raises_is_retried_with_its_state_changes_rolled_back() -> None:
    attempts: list[int] = []

    def flaky(ctx: StepContext, deps: DrDeps) -> Outcome:
        attempts.append(ctx.attempt)
        ctx.state["touched"] = ctx.state.get("touched", 0) + 1
        if ctx.attempt == 1:
            raise ConnectionError("ASR timed out")
        return Done("worked")

    wf: Workflow[DrDeps] = Workflow("flaky", (Step("only", flaky),))
    deps = make_deps(FakeSiteRecovery([]))
    result = run(wf, deps, {})
    assert attempts == [1, 2]
    assert result.state == {"touched": 1}  # the failed attempt's change was discarded
    assert result.run.status is RunStatus.SUCCEEDED and result.run.attempt == 2
    assert backend_of(deps).clock.now() == T0 + timedelta(seconds=5)  # the retry policy's first backoff


def test_waits_move_the_manual_clock_by_exactly_their_delay() -> None:
    seen: list[object] = []

    def poll(ctx: StepContext, deps: DrDeps) -> Outcome:
        seen.append(ctx.now)
        return Wait(timedelta(hours=1), "again") if len(seen) < 3 else Next("ready")

    wf: Workflow[DrDeps] = Workflow("poll", (Step("poll", poll), Step("end", lambda ctx, deps: Done("ok"))))
    result = run(wf, make_deps(FakeSiteRecovery([])), {})
    assert seen == [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    assert [s for s, _o in result.history] == ["poll", "poll", "poll", "end"]


def test_resume_goes_through_the_engine_and_retries_only_the_failed_vm() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"])
    asr.fail_next[("failover", "web-2")] = "70094"
    deps = make_deps(asr)
    body = parse_request("failover", {"target": {"vms": ["web-1", "web-2"]}, "timing": FAST}).to_json()
    first = run(FAILOVER_WORKFLOW, deps, body, decide="commit")
    assert first.run.status is RunStatus.PARTIALLY_SUCCEEDED
    done = len(asr.actions)
    second = resume(FAILOVER_WORKFLOW, deps, first)
    assert second.run.run_id == first.run.run_id and second.run.status is RunStatus.SUCCEEDED
    assert asr.actions[done:] == [("failover", "web-2"), ("commit", "web-2"), ("reprotect", "web-2")]
    found = backend_of(deps).store.load_with_history(first.run.run_id)
    assert found is not None
    resumed = [h for h in found[1] if h.event is RunEvent.RESUME]
    assert [(h.actor, h.details["from_step"], h.details["to_step"]) for h in resumed] == [
        ("tester", "report", "failover")
    ]


def test_a_workflow_that_never_ends_is_stopped_with_its_last_steps() -> None:
    wf: Workflow[DrDeps] = Workflow("forever", (Step("spin", lambda ctx, deps: Wait(timedelta(seconds=1), "x")),))
    with pytest.raises(AssertionError, match="did not finish in 5 steps"):
        run(wf, make_deps(FakeSiteRecovery([])), {}, max_steps=5)
