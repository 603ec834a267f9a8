"""Run control on Azurite (issue 10): a driver drives only its own run; ``continue`` respects a live lease and
takes over a dead worker's under the run's ETag; Ctrl-C gives the lease back so the run continues at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from lib.adapters.clocks import ManualClock
from lib.domain.runs import RunEvent, RunRecord, RunStatus
from lib.engine import (
    CrashHook,
    CrashPoint,
    Decide,
    Done,
    InjectedCrash,
    LeaseHeld,
    Outcome,
    Step,
    StepContext,
    WatchInterrupted,
    Workflow,
)
from lib.ports.run_store import StaleRun
from lib.ports.work_queue import WorkItem
from tests.integration.engine.conftest import MakeHarness
from tests.integration.engine.flows import Effects, registry

pytestmark = pytest.mark.integration


def effects_of(h_applied: dict[str, int], run_id: str) -> dict[str, int]:
    return {k: v for k, v in h_applied.items() if k.startswith(run_id)}


def test_wait_on_one_run_leaves_an_abandoned_run_exactly_as_it_was(make_harness: MakeHarness) -> None:
    h = make_harness()
    abandoned = h.engine.start("chain", {"vm": "web-1"}).run_id
    (msg,) = h.storage.queue.receive(1, 30)
    h.engine.executor().process(msg, held=True)  # act1, then the first poll wait; then nobody drives it
    time.sleep(0.2)  # its 0.1 s timer is due: any driver that takes its message would execute it
    before = h.storage.store.load(abandoned)
    assert before is not None and before.run.status is RunStatus.WAITING
    applied = effects_of(h.effects.applied, abandoned)
    mine = h.engine.start("chain", {"vm": "spare-1"}).run_id
    listed: list[str] = []

    result = h.driver(poll_s=0.02).drive(mine, deadline_s=30, on_other_due=listed.append)

    assert result.run.status is RunStatus.SUCCEEDED and result.others_due == (abandoned,) and listed == [abandoned]
    after = h.storage.store.load(abandoned)
    assert after is not None and after.etag == before.etag  # not a lease, not a checkpoint: untouched
    assert effects_of(h.effects.applied, abandoned) == applied
    copies = [m for m in h.storage.queue.receive(32, 5) if WorkItem.decode(m.body).run_id == abandoned]
    assert len(copies) == 1 and copies[0].dequeue_count == 1  # put back as a fresh message: nothing used up
    h.storage.queue.update(copies[0], copies[0].body, 0)

    done = h.driver(poll_s=0.02).run_until_finished(abandoned, deadline_s=30)  # its own driver finishes it
    assert done.status is RunStatus.SUCCEEDED
    assert h.effects.applied[f"{abandoned}/act1"] == 1 and h.effects.applied[f"{abandoned}/act2"] == 1


def crash_once_before(step: str) -> tuple[list[bool], CrashHook]:
    fired: list[bool] = []

    def hook(point: CrashPoint, run: RunRecord) -> None:
        if point is CrashPoint.BEFORE_STEP and run.step == step and not fired:
            fired.append(True)
            raise InjectedCrash(point.value, run.run_id)

    return fired, hook


def test_continue_refuses_a_live_lease_then_takes_over_the_dead_workers_lease(make_harness: MakeHarness) -> None:
    fired, hook = crash_once_before("act1")
    clock = ManualClock(datetime.now(UTC))  # the lease lapses when the test says, not when a loaded machine does
    h = make_harness(crash_hook=hook, clock=clock)
    run_id = h.engine.start("chain", {}).run_id
    (msg,) = h.storage.queue.receive(1, 30)
    dead = h.engine.executor("w-dead")
    with pytest.raises(InjectedCrash):
        dead.process(msg, held=True)
    assert fired

    view = h.engine.get(run_id)
    assert view.lease is not None and view.lease.holder == "w-dead" and not view.lease.expired
    with pytest.raises(LeaseHeld) as held:
        h.engine.continue_run(run_id, by="ops")
    assert held.value.holder == "w-dead" and held.value.expires_at == view.lease.expires_at
    stalled = h.storage.store.load(run_id)
    assert stalled is not None

    clock.advance(view.lease.expires_at - clock.now() + timedelta(milliseconds=100))
    assert h.engine.get(run_id).lease.expired  # type: ignore[union-attr]
    continued = h.engine.continue_run(run_id, by="ops")
    assert continued.lease_owner == "" and continued.version == stalled.run.version + 1
    last = h.engine.get(run_id).history[-1]
    assert last.event is RunEvent.CONTINUE and last.details["took_over_lease_from"] == "w-dead"
    # The dead worker's view of the run is stale: its ETag no longer matches, it can write nothing.
    with pytest.raises(StaleRun):
        h.storage.store.save(stalled.run, stalled.etag, [], previous=stalled.run)

    done = h.driver(poll_s=0.02).run_until_finished(run_id, deadline_s=30)
    assert done.status is RunStatus.SUCCEEDED
    assert h.effects.applied[f"{run_id}/act1"] == 1 and h.effects.applied[f"{run_id}/act2"] == 1


def test_ctrl_c_mid_step_releases_the_lease_and_the_run_continues_at_once(make_harness: MakeHarness) -> None:
    interrupted: list[bool] = []

    def hook(point: CrashPoint, run: RunRecord) -> None:
        if point is CrashPoint.BEFORE_STEP and run.step == "act2" and not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt

    h = make_harness(crash_hook=hook)
    run_id = h.engine.start("chain", {}).run_id
    with pytest.raises(WatchInterrupted) as stopped:
        h.driver(poll_s=0.02).drive(run_id, deadline_s=30)
    assert stopped.value.released == (run_id,)
    run = h.engine.get(run_id)
    assert run.lease is None and run.run.step == "act2" and run.run.status is RunStatus.RUNNING

    h.engine.continue_run(run_id, by="ops")  # no LeaseHeld: nobody holds the step
    done = h.driver(poll_s=0.02).run_until_finished(run_id, deadline_s=30)
    assert done.status is RunStatus.SUCCEEDED and h.effects.applied[f"{run_id}/act2"] == 1


def test_a_decision_pause_is_stored_and_answered_on_azurite(make_harness: MakeHarness) -> None:
    def gate(ctx: StepContext, fx: Effects) -> Outcome:
        if ctx.decision is None:
            return Decide("partial-failover", "one group failed", ("commit", "retry", "rollback"))
        return Done(f"{ctx.decision} by {ctx.approved_by}")

    h = make_harness(workflows=registry(Workflow("decides", (Step("gate", gate),))))
    run_id = h.engine.start("decides", {}).run_id
    paused = h.driver(poll_s=0.02).run_until_finished(run_id, deadline_s=30)
    stored = h.storage.store.load(run_id)
    assert stored is not None and stored.run == paused
    assert paused.status is RunStatus.AWAITING_DECISION and paused.choices == ("commit", "retry", "rollback")
    assert [s.status for s in h.engine.list_runs("awaiting-decision").items] == [RunStatus.AWAITING_DECISION]

    h.engine.decide(run_id, "commit", by="ops")
    done = h.driver(poll_s=0.02).run_until_finished(run_id, deadline_s=30)
    assert done.status is RunStatus.SUCCEEDED and done.reason == "commit by ops"
