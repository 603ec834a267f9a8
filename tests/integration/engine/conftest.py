"""An engine on a private set of Azurite tables and queues per test, plus a stand-in for the Functions host."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from lib.adapters.clocks import SystemClock
from lib.adapters.engine_storage import EngineStorage, engine_storage
from lib.adapters.request_counter import RequestCounter
from lib.adapters.storage_clients import StorageClients
from lib.domain.runs import RunStatus
from lib.engine import CrashHook, Driver, Engine, EngineConfig, InjectedCrash, RetryPolicy, Workflow
from lib.ports.clock import Clock
from tests.integration.engine.flows import Effects, registry

pytestmark = pytest.mark.integration

# Real-time leases short enough for crash recovery to take a second or two; workflow timers scaled by 0.01.
TEST_CONFIG = EngineConfig(
    lease=timedelta(seconds=1),
    step_budget=timedelta(milliseconds=300),
    retry=RetryPolicy(max_retries=3, first_delay=timedelta(seconds=10), factor=2.0),
    janitor_grace=timedelta(seconds=100),
    max_dequeue=3,
    max_claims=2,
)


@dataclass
class Harness:
    engine: Engine[Effects]
    storage: EngineStorage
    effects: Effects
    counter: RequestCounter

    def driver(self, **kwargs: Any) -> Driver[Effects]:
        return Driver(self.engine, **kwargs)


MakeHarness = Callable[..., Harness]


@pytest.fixture
def make_harness(storage_connection_string: str, unique_name: str) -> MakeHarness:
    made = 0

    def make(
        *,
        workflows: dict[str, Workflow[Effects]] | None = None,
        timer_scale: float = 0.01,
        config: EngineConfig = TEST_CONFIG,
        crash_hook: CrashHook | None = None,
        clock: Clock | None = None,
    ) -> Harness:
        nonlocal made
        made += 1
        name = f"{unique_name}x{made}"
        counter = RequestCounter()
        storage = engine_storage(
            StorageClients.from_connection_string(storage_connection_string, **counter.client_kwargs()),
            queue_name=name,
            runs_table=f"{name}runs",
            index_table=f"{name}idx",
        )
        storage.provision()
        effects = Effects()
        engine = Engine(
            registry=workflows or registry(),
            deps=effects,
            store=storage.store,
            queue=storage.queue,
            poison_queue=storage.poison,
            clock=clock or SystemClock(),
            timer_scale=timer_scale,
            config=config,
            crash_hook=crash_hook,
        )
        counter.reset()
        return Harness(engine, storage, effects, counter)

    return make


def drain_until_waiting(h: Harness, run_id: str, deadline_s: float = 30.0) -> None:
    """Drive the queue in half-second drains until ``run_id`` waits on its timer: one drain is not always enough
    on a loaded machine."""
    deadline = time.monotonic() + deadline_s
    while (run := h.engine.get(run_id).run).status is not RunStatus.WAITING:
        assert time.monotonic() < deadline and run.active, (run.status, run.step, run.reason)
        h.driver().drain(deadline_s=0.5, until_idle=False)


def host_drain(
    h: Harness, *, deadline_s: float = 60.0, hold_s: int = 1, max_dequeue: int = 3, batch: int = 16
) -> dict[str, int]:
    """What the Functions host does with a queue trigger: receive a batch of 16, call the function for each
    message, delete it when the function returns, leave it (visible again after ``hold_s``) when it fails,
    and move it to the poison queue once it was dequeued ``max_dequeue`` times."""
    queue, poison = h.storage.queue, h.storage.poison
    tally = {"calls": 0, "steps": 0, "crashes": 0, "poisoned": 0}
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        received = queue.receive(batch, hold_s)
        if not received:
            for msg in poison.receive(16, 30):
                h.engine.fail_poisoned(msg.body, "the host gave up after maxDequeueCount attempts")
                poison.delete(msg)
            if queue.approximate_count() == 0 and poison.approximate_count() == 0:
                return tally
            time.sleep(0.1)
            continue
        for msg in received:
            if msg.dequeue_count > max_dequeue:
                poison.send(msg.body)
                queue.delete(msg)
                tally["poisoned"] += 1
                continue
            tally["calls"] += 1
            try:
                report = h.engine.handle_message(msg.body, msg.message_id, msg.dequeue_count)
            except InjectedCrash:
                tally["crashes"] += 1
                break  # the host process died with this batch in hand
            tally["steps"] += report.steps
            queue.delete(msg)
    raise AssertionError(f"the queue did not drain within {deadline_s}s: {tally}")
