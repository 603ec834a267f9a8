"""Step exceptions are retried with exponential backoff, then fail the run; starts are idempotent."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from lib.domain.runs import RunEvent, RunStatus
from lib.engine import IdempotencyConflict, StartResult, UnknownWorkflow
from tests.integration.engine.conftest import MakeHarness

pytestmark = pytest.mark.integration


def test_a_raising_step_is_retried_with_exponential_backoff_and_then_succeeds(make_harness: MakeHarness) -> None:
    h = make_harness()
    h.effects.failures_left["flaky"] = 2
    run_id = h.engine.start("flaky", {}).run_id

    run = h.driver().run_until_finished(run_id, deadline_s=30)

    assert run.status is RunStatus.SUCCEEDED and run.error == ""
    assert h.effects.attempts_seen == [1, 2, 3]
    retries = [r for r in h.engine.get(run_id).history if r.event is RunEvent.STEP_RETRY]
    assert [r.error for r in retries] == ["ValueError: flaky is flaky"] * 2
    assert [r.details["retry_in_s"] for r in retries] == [10.0, 20.0]  # 10 s doubling (scaled 0.01 when run)


def test_a_step_that_keeps_raising_fails_the_run_with_the_error_recorded(make_harness: MakeHarness) -> None:
    h = make_harness()
    h.effects.failures_left["flaky"] = 100
    run_id = h.engine.start("flaky", {}).run_id

    run = h.driver().run_until_finished(run_id, deadline_s=30)

    assert run.status is RunStatus.FAILED
    assert h.effects.attempts_seen == [1, 2, 3, 4]  # the first attempt and max_retries=3 retries
    assert run.error == "ValueError: flaky is flaky" and run.error_code == "ValueError"
    assert "touched" not in run.state  # a failed attempt's half-done state is never saved
    history = h.engine.get(run_id).history
    assert [r.details["retry_in_s"] for r in history if r.event is RunEvent.STEP_RETRY] == [10.0, 20.0, 40.0]
    last = history[-1]
    assert (last.event, last.to_status, last.error, last.code) == (
        RunEvent.FAIL, RunStatus.FAILED, "ValueError: flaky is flaky", "ValueError",
    )  # fmt: skip
    assert last.details == {"error_type": "ValueError", "error_message": "flaky is flaky", "attempt": 4}
    assert [s.run_id for s in h.engine.list_runs(RunStatus.FAILED).items] == [run_id]


def test_a_hundred_concurrent_starts_with_one_key_create_one_run(make_harness: MakeHarness) -> None:
    h = make_harness()
    barrier = threading.Barrier(100)

    def start(_: int) -> StartResult:
        barrier.wait()
        return h.engine.start("chain", {"vms": ["vm1"]}, "failover:incident-42")

    with ThreadPoolExecutor(100) as pool:
        results = list(pool.map(start, range(100)))

    assert len({r.run_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    run_id = results[0].run_id
    assert [s.run_id for s in h.engine.list_runs().items] == [run_id]
    assert [r.event for r in h.engine.get(run_id).history] == [RunEvent.CREATE]
    assert h.storage.queue.approximate_count() == 1  # one first work item, not a hundred

    again = h.engine.start("chain", {"vms": ["vm1"]}, "failover:incident-42")
    assert (again.run_id, again.created) == (run_id, False)
    assert h.engine.start("chain", {}, "another-key").run_id != run_id
    with pytest.raises(IdempotencyConflict) as caught:
        h.engine.start("flaky", {}, "failover:incident-42")
    assert (caught.value.run_id, caught.value.workflow, caught.value.requested) == (run_id, "chain", "flaky")
    with pytest.raises(UnknownWorkflow):
        h.engine.start("nope", {})
