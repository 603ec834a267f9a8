"""Storage requests per transition on the hot path, counted exactly (requests, not time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from lib.domain.runs import RunStatus
from lib.engine import Done, Next, Outcome, Step, StepContext, Wait, Workflow
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


def test_on_the_functions_host_path_a_lone_poll_is_one_message_per_step(make_harness: MakeHarness) -> None:
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
    # A wait ends the call: lease write + transaction + the next message; the host adds receive and delete.
    assert c["table_write"] == TRANSITIONS + 2 and c["table_tx"] == TRANSITIONS
    assert c["queue_send"] == POLLS and c["queue_update"] == 0


def _next(ctx: StepContext, fx: Effects) -> Outcome:
    return Next("ok")


def _polls(times: int) -> Callable[[StepContext, Effects], Outcome]:
    def run(ctx: StepContext, fx: Effects) -> Outcome:
        key = f"polls_{ctx.step}"
        polls = int(ctx.state.get(key, 0))
        if polls < times:
            ctx.state[key] = polls + 1
            return Wait(timedelta(0), f"poll {polls + 1}")
        return Next("ready")

    return run


# The engine benchmark's DR-shaped run (bench/engine.py): 13 transitions, 7 of them waits, 8 deliveries.
DR_LIKE: Workflow[Effects] = Workflow(
    "dr-like",
    (
        Step("preflight", _next),
        Step("failover", _next),
        Step("await_failover", _polls(3)),
        Step("commit", _next),
        Step("await_healthy", _polls(4)),
        Step("report", lambda ctx, fx: Done("healthy")),
    ),
)
DR_TRANSITIONS, DR_WAITS, DR_DELIVERIES = 13, 7, 8
HOST_BATCH = 16


def test_on_the_functions_host_path_a_transition_costs_at_most_three_storage_transactions(
    make_harness: MakeHarness,
) -> None:
    """Counted at the transport (every request the storage SDK sends, the host's included), for runs on the
    host path as the Functions host runs them: a batch of 16 received, the function called for each message,
    the message deleted after the function returns."""
    h = make_harness(workflows=registry(DR_LIKE))
    runs = [h.engine.start("dr-like", {"n": n}).run_id for n in range(HOST_BATCH)]
    queue, calls, steps = h.storage.queue, 0, 0
    h.counter.reset()
    for _ in range(200):
        batch = queue.receive(HOST_BATCH, 30)
        if not batch:
            break
        for msg in batch:
            steps += h.engine.handle_message(msg.body, msg.message_id, msg.dequeue_count).steps
            queue.delete(msg)
            calls += 1
    c, total = h.counter.snapshot(), h.counter.total()
    assert all(h.engine.get(run_id).run.status is RunStatus.SUCCEEDED for run_id in runs)
    transitions = DR_TRANSITIONS * len(runs)
    assert steps == transitions
    per_transition = total / transitions
    assert per_transition <= 3, (round(per_transition, 3), c)
    assert calls == DR_DELIVERIES * len(runs)
    # A Next step goes on in the same call under the lease its checkpoint carries: a lease write, a message
    # and a delete per delivery, not per transition.
    assert c["table_tx"] == transitions  # one checkpoint each
    assert c["table_write"] == calls + 2 * len(runs)  # a lease per delivery; the index row when running, when done
    assert c["queue_send"] == DR_WAITS * len(runs) and c["queue_delete"] == calls and c["queue_update"] == 0
    assert c["table_read"] == 0 and c["table_query"] == 0
