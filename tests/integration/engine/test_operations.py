"""Operations on runs (approve, cancel, resume), queries, and what history records about them."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from lib.domain.errors import ValidationError
from lib.domain.runs import IllegalTransition, RunEvent, RunStatus
from lib.engine import Done, Next, Outcome, RunNotFound, Step, StepContext, Workflow
from tests.integration.engine.conftest import MakeHarness, drain_until_waiting
from tests.integration.engine.flows import Effects, flaky, registry

pytestmark = pytest.mark.integration


def test_a_paused_run_waits_for_approval_and_the_next_step_sees_who_approved(make_harness: MakeHarness) -> None:
    h = make_harness()
    run_id = h.engine.start("gated", {}).run_id
    driver = h.driver()

    paused = driver.run_until_finished(run_id, deadline_s=30)
    assert (paused.status, paused.approval, paused.due_at) == (RunStatus.AWAITING_APPROVAL, "commit", None)
    assert h.storage.queue.approximate_count() == 0  # nothing polls a paused run
    with pytest.raises(ValidationError) as wrong:
        h.engine.approve(run_id, by="alice", approval="failover")
    assert wrong.value.field == "approval"

    h.engine.approve(run_id, by="alice", approval="commit", comment="VMs look fine")
    assert driver.run_until_finished(run_id, deadline_s=30).status is RunStatus.SUCCEEDED
    assert h.effects.approvers == ["alice"]
    approve = next(r for r in h.engine.get(run_id).history if r.event is RunEvent.APPROVE)
    assert (approve.actor, approve.reason, approve.details["approval"]) == ("alice", "VMs look fine", "commit")
    with pytest.raises(IllegalTransition) as late:
        h.engine.approve(run_id, by="bob")
    assert (late.value.from_status, late.value.event) == (RunStatus.SUCCEEDED, RunEvent.APPROVE)


def test_a_pause_with_a_timeout_runs_the_paused_step_again_when_it_expires(make_harness: MakeHarness) -> None:
    h = make_harness()
    run_id = h.engine.start("gated-timeout", {}).run_id  # 50 s timeout, 0.5 s scaled
    run = h.driver().run_until_finished(run_id, deadline_s=30)
    assert run.status is RunStatus.SUCCEEDED
    assert h.effects.timeouts_seen == [False, True] and h.effects.approvers == [None]
    events = [r.event for r in h.engine.get(run_id).history]
    assert RunEvent.APPROVAL_TIMEOUT in events and RunEvent.APPROVE not in events


def test_cancel_stops_a_waiting_run_and_its_timer_message_dies(make_harness: MakeHarness) -> None:
    h = make_harness()
    run_id = h.engine.start("slow-timer", {}).run_id
    drain_until_waiting(h, run_id)
    assert h.engine.get(run_id).run.status is RunStatus.WAITING

    cancelled = h.engine.cancel(run_id, by="bob", reason="false alarm")
    assert cancelled.status is RunStatus.CANCELLED
    report = h.driver().drain(deadline_s=30)  # the 3 s timer message shows up, is dropped, the queue empties
    assert report.idle and report.dropped == 1 and report.steps == 0
    assert h.effects.entered[f"{run_id}/finish"] == 0
    last = h.engine.get(run_id).history[-1]
    assert (last.event, last.actor, last.reason) == (RunEvent.CANCEL, "bob", "false alarm")
    assert [s.status for s in h.engine.list_runs().items] == [RunStatus.CANCELLED]
    with pytest.raises(IllegalTransition):
        h.engine.cancel(run_id, by="bob")


def test_resume_restarts_a_failed_run_where_on_resume_says(make_harness: MakeHarness) -> None:
    calls: list[tuple[dict[str, Any], str]] = []

    def on_resume(state: dict[str, Any], failed_step: str) -> str:
        calls.append((dict(state), failed_step))
        state["resumed"] = True
        return "prepare"

    def prepare(ctx: StepContext, fx: Effects) -> Outcome:
        ctx.state["prepared"] = int(ctx.state.get("prepared", 0)) + 1
        return Next("prepared")

    wf: Workflow[Effects] = Workflow("resumable", (Step("prepare", prepare), flaky("flaky")), on_resume=on_resume)
    h = make_harness(workflows=registry(wf))
    h.effects.failures_left["flaky"] = 100
    run_id = h.engine.start("resumable", {}).run_id
    driver = h.driver()
    assert driver.run_until_finished(run_id, deadline_s=30).status is RunStatus.FAILED
    assert [s.run_id for s in h.engine.list_runs("failed").items] == [run_id]

    h.effects.failures_left["flaky"] = 0
    resumed = h.engine.resume(run_id, by="carol", reason="ASR quota raised")
    assert (resumed.status, resumed.step, resumed.attempt, resumed.error) == (RunStatus.RUNNING, "prepare", 1, "")
    assert h.engine.list_runs("failed").items == []  # the index follows at once
    final = driver.run_until_finished(run_id, deadline_s=30)

    assert final.status is RunStatus.SUCCEEDED
    assert calls == [({"prepared": 1}, "flaky")]
    assert final.state == {"prepared": 2, "resumed": True, "touched": True}
    row = next(r for r in h.engine.get(run_id).history if r.event is RunEvent.RESUME)
    assert (row.actor, row.from_status, row.details["to_step"], row.details["previous_status"]) == (
        "carol", RunStatus.FAILED, "prepare", "failed",
    )  # fmt: skip


def test_a_partially_succeeded_run_can_be_resumed_and_a_succeeded_one_cannot(make_harness: MakeHarness) -> None:
    def finish(ctx: StepContext, fx: Effects) -> Outcome:
        rounds = int(ctx.state.get("rounds", 0)) + 1
        ctx.state["rounds"] = rounds
        return Done("some VMs failed", partial=rounds == 1)

    h = make_harness(workflows=registry(Workflow("partial", (Step("finish", finish),))))
    run_id = h.engine.start("partial", {}).run_id
    driver = h.driver()
    assert driver.run_until_finished(run_id, deadline_s=30).status is RunStatus.PARTIALLY_SUCCEEDED
    h.engine.resume(run_id, by="dave")
    assert driver.run_until_finished(run_id, deadline_s=30).status is RunStatus.SUCCEEDED
    with pytest.raises(IllegalTransition) as caught:
        h.engine.resume(run_id, by="dave")
    assert caught.value.from_status is RunStatus.SUCCEEDED and caught.value.event is RunEvent.RESUME
    with pytest.raises(RunNotFound):
        h.engine.resume("no-such-run", by="dave")


def test_runs_are_listed_newest_first_filtered_by_status_and_paged(make_harness: MakeHarness) -> None:
    h = make_harness()
    ids = [h.engine.start("gated", {"i": i}).run_id for i in range(5)]
    h.engine.cancel(ids[1], by="x")
    h.engine.cancel(ids[3], by="x")

    assert [s.run_id for s in h.engine.list_runs().items] == ids[::-1]
    assert [s.run_id for s in h.engine.list_runs("cancelled").items] == [ids[3], ids[1]]
    assert [s.run_id for s in h.engine.list_runs(RunStatus.PENDING).items] == [ids[4], ids[2], ids[0]]
    first = h.engine.list_runs(limit=2)
    second = h.engine.list_runs(limit=2, continuation=first.continuation)
    third = h.engine.list_runs(limit=2, continuation=second.continuation)
    assert [s.run_id for s in first.items + second.items + third.items] == ids[::-1]
    assert third.continuation is None or h.engine.list_runs(limit=2, continuation=third.continuation).items == []
    assert first.items[0].workflow == "gated" and first.items[0].status is RunStatus.PENDING


def test_a_waiting_run_is_listed_with_its_exact_status(make_harness: MakeHarness) -> None:
    h = make_harness()
    run_id = h.engine.start("slow-timer", {}).run_id
    drain_until_waiting(h, run_id)
    assert [(s.run_id, s.status) for s in h.engine.list_runs().items] == [(run_id, RunStatus.WAITING)]
    assert [s.run_id for s in h.engine.list_runs("waiting").items] == [run_id]
    assert h.engine.list_runs("running").items == []


def test_a_thousand_vm_state_is_stored_across_properties_and_an_oversized_one_fails_the_run(
    make_harness: MakeHarness,
) -> None:
    def big(ctx: StepContext, fx: Effects) -> Outcome:
        ctx.state["vms"] = {
            f"vm-{i:04d}": {"status": "active", "job": f"{i:032x}", "progress": i % 100, "note": "ü" * 150}
            for i in range(1000)
        }
        return Next("recorded 1000 VMs", {"progress": {f"vm-{i:04d}": i % 100 for i in range(1000)}})

    def check(ctx: StepContext, fx: Effects) -> Outcome:
        return Done(f"{len(ctx.state['vms'])} VMs", details={"first": ctx.state["vms"]["vm-0000"]})

    def huge(ctx: StepContext, fx: Effects) -> Outcome:
        ctx.state["blob"] = random.Random(5).randbytes(1_100_000).hex()  # over 1 MB even compressed
        return Next("too big")

    flows = registry(
        Workflow("big", (Step("big", big), Step("check", check))),
        Workflow("huge", (Step("huge", huge), Step("check", check))),
    )
    h = make_harness(workflows=flows)
    big_id = h.engine.start("big", {}).run_id
    huge_id = h.engine.start("huge", {}).run_id
    h.driver().drain(deadline_s=60)

    run = h.engine.get(big_id).run
    assert run.status is RunStatus.SUCCEEDED and len(run.state["vms"]) == 1000
    assert run.state["vms"]["vm-0999"]["note"] == "ü" * 150
    failed = h.engine.get(huge_id)
    assert (failed.run.status, failed.run.error_code) == (RunStatus.FAILED, "StateTooLarge")
    assert failed.history[-1].event is RunEvent.ABORT


def test_timers_longer_than_the_queue_allows_are_chained(make_harness: MakeHarness) -> None:
    from tests.integration.engine.conftest import TEST_CONFIG

    h = make_harness(config=TEST_CONFIG.__class__(**{**TEST_CONFIG.__dict__, "max_visibility": timedelta(seconds=1)}))
    run_id = h.engine.start("slow-timer", {}).run_id  # a 300 s wait, 3 s scaled, with a 1 s visibility cap
    report = h.driver().drain(deadline_s=30)
    view = h.engine.get(run_id)
    assert view.run.status is RunStatus.SUCCEEDED
    # The message came back early and was sent on with the remainder. Once or twice: visibility is whole seconds and
    # the driver's idle poll backs off to 0.5 s, so a late first pick-up leaves a remainder that one more hop covers
    # (seen under coverage on a busy machine). The timing check below is what proves the wait was not cut short.
    assert report.postponed in (1, 2)
    waited = next(r for r in view.history if r.event is RunEvent.STEP_WAIT)
    fired = next(r for r in view.history if r.event is RunEvent.TIMER_FIRED)
    assert fired.at - waited.at >= timedelta(seconds=3) - timedelta(milliseconds=250)
