"""Work that keeps killing its worker ends the run as failed with the reason; the index heals itself."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lib.domain.runs import RunEvent, RunRecord, RunStatus, RunSummary
from lib.engine import CrashPoint, InjectedCrash
from tests.integration.engine.conftest import MakeHarness, host_drain

pytestmark = pytest.mark.integration


def crash_always(at: CrashPoint, workflow: str = "chain"):  # type: ignore[no-untyped-def]
    def hook(point: CrashPoint, run: RunRecord) -> None:
        if point is at and run.workflow == workflow:
            raise InjectedCrash(point.value, run.run_id)

    return hook


@pytest.mark.parametrize("host", ["driver", "functions-host"])
def test_a_message_that_keeps_failing_goes_to_the_poison_queue_and_fails_its_run(
    make_harness: MakeHarness, host: str
) -> None:
    h = make_harness(crash_hook=crash_always(CrashPoint.RECEIVED))
    run_id = h.engine.start("chain", {}).run_id
    healthy = h.engine.start("flaky", {}).run_id  # shares the queue and must not suffer

    if host == "driver":
        report = h.driver(batch=1).drain(deadline_s=60)
        assert report.idle and report.poisoned == 1 and report.crashes == 3
    else:
        assert host_drain(h, deadline_s=60, batch=1)["poisoned"] == 1

    view = h.engine.get(run_id)
    assert (view.run.status, view.run.error_code) == (RunStatus.FAILED, "PoisonMessage")
    assert (view.history[-1].event, view.history[-1].actor) == (RunEvent.ABORT, "poison-queue")
    assert "poison queue" in view.run.error
    assert h.engine.get(healthy).run.status is RunStatus.SUCCEEDED
    assert h.storage.poison.approximate_count() == 0


def test_a_step_whose_worker_dies_every_time_fails_the_run_as_a_crash_loop(make_harness: MakeHarness) -> None:
    h = make_harness(crash_hook=crash_always(CrashPoint.BEFORE_STEP))
    run_id = h.engine.start("chain", {}).run_id
    report = h.driver(batch=1).drain(deadline_s=60)
    assert report.idle and report.crashes == 2 and report.poisoned == 0  # max_claims=2 < max_dequeue=3
    view = h.engine.get(run_id)
    assert (view.run.status, view.run.error_code, view.run.step) == (RunStatus.FAILED, "CrashLoop", "act1")
    assert h.effects.entered[f"{run_id}/act1"] == 0


def test_the_janitor_repairs_an_index_row_left_behind_by_a_crash(make_harness: MakeHarness) -> None:
    h = make_harness()
    run_id = h.engine.start("flaky", {}).run_id
    started = h.engine.list_runs().items[0]
    h.driver().drain(deadline_s=30)
    assert h.engine.get(run_id).run.status is RunStatus.SUCCEEDED
    # A worker that died between saving the run and updating the index leaves the old row behind.
    h.storage.store.index_put(started)
    assert h.storage.store.index_list(None, 10, None).items[0].status is RunStatus.PENDING
    # The listing already tells the truth (it reads active rows back from their runs) ...
    assert h.engine.list_runs().items[0].status is RunStatus.SUCCEEDED and h.engine.list_runs("pending").items == []

    report = h.engine.sweep()  # ... and the janitor repairs the row itself

    assert report.repaired == [run_id] and report.requeued == []
    assert [s.status for s in h.engine.list_runs().items] == [RunStatus.SUCCEEDED]
    # A start that died between the index row and the run leaves an orphan row; it is removed after the grace.
    an_hour_ago = started.created_at - timedelta(hours=1)
    ghost = RunSummary("ghost", "chain", RunStatus.PENDING, an_hour_ago, an_hour_ago)
    h.storage.store.index_put(ghost)
    assert "ghost" in h.engine.sweep().orphans
    assert [s.run_id for s in h.engine.list_runs().items] == [run_id]
