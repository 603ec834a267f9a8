"""Storage requests per transition on the hot path, counted exactly (requests, not time)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lib.domain.runs import RunStatus
from lib.engine import Done, Outcome, Step, StepContext, Wait, Workflow
from tests.integration.engine.conftest import MakeHarness
from tests.integration.engine.flows import Effects, registry

pytestmark = pytest.mark.integration

POLLS = 5


def _poll(ctx: StepContext, fx: Effects) -> Outcome:
    polls = int(ctx.state.get("polls", 0))
    if polls < POLLS:
        ctx.state["polls"] = polls + 1
        return Wait(timedelta(0), f"poll {polls + 1}")
    return Done("healthy")


POLLER: Workflow[Effects] = Workflow("poller", (Step("poll", _poll),))
TRANSITIONS = POLLS + 1


def test_a_poll_costs_a_lease_write_a_checkpoint_and_a_message_update(make_harness: MakeHarness) -> None:
    h = make_harness(workflows=registry(POLLER))
    run_id = h.engine.start("poller", {}).run_id
    h.counter.reset()

    report = h.driver().drain(deadline_s=30)

    assert report.steps == TRANSITIONS and h.engine.get(run_id).run.status is RunStatus.SUCCEEDED
    c = h.counter.snapshot()
    assert c["table_read"] == 0  # the lease write, guarded by the cached ETag, doubles as the freshness check
    assert c["table_tx"] == TRANSITIONS  # run + history rows: one entity-group transaction per transition
    assert c["table_write"] == TRANSITIONS + 2  # a lease per delivery + the index row at start and at the end
    assert c["queue_update"] == POLLS and c["queue_delete"] == 1 and c["queue_send"] == 0  # one message, reused
    hot = c["table_write"] + c["table_tx"] + c["queue_update"] + c["queue_delete"]
    assert hot == 3 * TRANSITIONS + 2


def test_a_chain_of_next_steps_costs_one_transaction_each(make_harness: MakeHarness) -> None:
    h = make_harness()
    run_id = h.engine.start("gated", {}).run_id
    h.driver().run_until_finished(run_id, deadline_s=30)  # the gate pauses
    h.engine.approve(run_id, by="alice")  # continues with "after" (Next) and "finish" (Done)
    h.counter.reset()
    h.driver().drain(deadline_s=30)
    c = h.counter.snapshot()
    # after (Next) and finish (Done) run back to back under the lease the first checkpoint granted.
    assert c["table_tx"] == 2 and c["table_write"] == 1 + 1  # one lease write, one index row (succeeded)
    assert c["table_read"] == 0 and c["queue_update"] == 0 and c["queue_delete"] == 1


def test_on_the_functions_host_path_each_step_is_one_message(make_harness: MakeHarness) -> None:
    h = make_harness(workflows=registry(POLLER))
    run_id = h.engine.start("poller", {}).run_id
    queue, calls = h.storage.queue, 0
    h.counter.reset()
    while h.engine.runtime.store.load_status(run_id) is not RunStatus.SUCCEEDED:
        for msg in queue.receive(16, 30):
            h.engine.handle_message(msg.body, msg.message_id, msg.dequeue_count)
            calls += 1
    c = h.counter.snapshot()
    assert calls == TRANSITIONS
    # Engine side per step: lease write + transaction + the next message; the host adds receive and delete.
    assert c["table_write"] == TRANSITIONS + 2 and c["table_tx"] == TRANSITIONS
    assert c["queue_send"] == POLLS and c["queue_update"] == 0
