"""The engine on the in-memory backend with competing worker threads (the Azurite twin of this test is
tests/integration/engine/test_races.py): the memory adapters hold up under the Driver's concurrency."""

from __future__ import annotations

from datetime import timedelta

from lib.adapters.clocks import SystemClock
from lib.adapters.memory_run_store import MemoryRunStore
from lib.adapters.memory_work_queue import MemoryWorkQueue
from lib.domain.runs import RunStatus
from lib.engine import Driver, Engine, EngineConfig
from lib.ports.work_queue import WorkItem
from tests.integration.engine.flows import Effects, registry


def test_four_workers_drop_duplicates_and_apply_every_effect_once() -> None:
    clock, effects = SystemClock(), Effects()
    effects.gap_s = 0.005
    queue = MemoryWorkQueue("work", clock)
    engine = Engine(
        registry=registry(),
        deps=effects,
        store=MemoryRunStore(),
        queue=queue,
        poison_queue=MemoryWorkQueue("work-poison", clock),
        clock=clock,
        timer_scale=0.001,
        # A duplicate that meets a leased run is postponed until the lease ends: keep leases short.
        config=EngineConfig(lease=timedelta(seconds=1), step_budget=timedelta(milliseconds=300)),
    )
    runs = [engine.start("chain", {"i": i}).run_id for i in range(8)]
    for run_id in runs:  # two extra copies of every first work item, as an at-least-once queue may deliver
        for _ in range(2):
            queue.send(WorkItem(run_id, 1).encode())

    report = Driver(engine, workers=4, batch=4, poll_s=0.005).drain(deadline_s=30)

    assert report.idle and report.errors == 0 and report.poisoned == 0
    assert report.dropped == 16
    assert effects.max_overlap == 1
    for run_id in runs:
        view = engine.get(run_id)
        assert view.run.status is RunStatus.SUCCEEDED
        assert effects.applied[f"{run_id}/act1"] == 1 and effects.applied[f"{run_id}/act2"] == 1
        assert [h.seq for h in view.history] == list(range(1, len(view.history) + 1))
