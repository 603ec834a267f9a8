"""The engine's Functions triggers, called the way the host calls them, against a real engine on Azurite.

The host itself is played by this test: it receives a message, hands the function a ``func.QueueMessage``
and deletes the message when the function returns. Only the app wiring is swapped for the test's engine.
"""

from __future__ import annotations

from types import SimpleNamespace

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from devhost.invoke import Context, TraceContext
from functions import engine as triggers
from lib.domain.runs import RunEvent, RunStatus
from lib.ports.work_queue import WorkItem
from tests.integration.engine.conftest import Harness, MakeHarness

pytestmark = pytest.mark.integration
CONTEXT = Context("inv-1", "engine", TraceContext(f"00-{'a' * 32}-{'b' * 16}-01"))


@pytest.fixture
def h(make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch) -> Harness:
    harness = make_harness()
    monkeypatch.setattr(triggers, "_app", lambda: SimpleNamespace(engine=harness.engine))
    return harness


def test_the_queue_trigger_runs_a_workflow_chaining_next_steps_in_one_call(h: Harness) -> None:
    run_id = h.engine.start("chain", {}).run_id
    calls = 0
    for _ in range(200):
        received = h.storage.queue.receive(16, 30)
        if not received and h.engine.get(run_id).run.status is RunStatus.SUCCEEDED:
            break
        for msg in received:
            triggers.engine_work(func.QueueMessage(id=msg.message_id, body=msg.body.encode()), CONTEXT)
            h.storage.queue.delete(msg)
            calls += 1
    assert h.engine.get(run_id).run.status is RunStatus.SUCCEEDED
    # act1+poll (wait), poll (wait), poll+act2: a Next step goes on in the same call under the checkpoint's lease.
    assert calls == 3
    assert h.effects.applied[f"{run_id}/act1"] == 1 and h.effects.applied[f"{run_id}/act2"] == 1


def test_the_janitor_timer_and_the_poison_trigger(h: Harness) -> None:
    run_id = h.engine.start("chain", {}).run_id
    [first] = h.storage.queue.receive(1, 30)
    h.storage.queue.delete(first)  # lost
    triggers.engine_janitor(TimerRequest(), CONTEXT)  # nothing is overdue yet: the grace has not passed
    assert h.storage.queue.approximate_count() == 0

    triggers.engine_poison(func.QueueMessage(id="p1", body=WorkItem(run_id, 1).encode().encode()), CONTEXT)
    view = h.engine.get(run_id)
    assert (view.run.status, view.run.error_code, view.history[-1].event) == (
        RunStatus.FAILED, "PoisonMessage", RunEvent.ABORT,
    )  # fmt: skip
    triggers.engine_poison(func.QueueMessage(id="p2", body=b"not json"), CONTEXT)  # logged and dropped, never raises
