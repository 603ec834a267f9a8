"""The RunStore and WorkQueue contracts on the in-memory adapters (the same tests run on Azurite in
tests/integration/storage/test_storage_contracts.py), plus what only the in-memory adapters promise."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from lib.adapters.clocks import ManualClock
from lib.adapters.memory_run_store import MemoryRunStore
from lib.adapters.memory_work_queue import MemoryWorkQueue
from lib.ports.run_store import StaleRun
from tests.contracts.run_store import RunStoreContract, advanced, make_run, row
from tests.contracts.work_queue import QueueBackend, WorkQueueContract

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def store() -> MemoryRunStore:
    return MemoryRunStore()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def queues(clock: ManualClock) -> QueueBackend:
    def wait(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    return QueueBackend(MemoryWorkQueue("work", clock), clock.now, wait)


class TestMemoryRunStore(RunStoreContract):
    pass


class TestMemoryWorkQueue(WorkQueueContract):
    pass


def test_one_writer_wins_when_many_threads_save_under_the_same_etag(store: MemoryRunStore) -> None:
    run = make_run()
    etag = store.create(run, [row(1, 1)])
    barrier = threading.Barrier(8)
    wins: list[int] = []

    def writer(i: int) -> None:
        barrier.wait()
        try:
            store.save(advanced(run, reason=f"w{i}"), etag, [row(2, 2, reason=f"w{i}")], previous=run)
            wins.append(i)
        except StaleRun:
            pass

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    found = store.load_with_history("r1")
    assert found is not None and len(wins) == 1
    assert found[0].run.reason == f"w{wins[0]}" and [h.reason for h in found[1]] == ["row 1", f"w{wins[0]}"]


def test_many_threads_never_receive_the_same_message_twice(clock: ManualClock) -> None:
    queue = MemoryWorkQueue("work", clock)
    sent = {queue.send(f"m{i}") for i in range(200)}
    got: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        while batch := queue.receive(3, 60):
            with lock:
                got.extend(m.message_id for m in batch)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(sent)


def test_the_queue_knows_when_its_next_message_shows_up(clock: ManualClock) -> None:
    queue = MemoryWorkQueue("work", clock)
    assert queue.next_visible_at() is None
    queue.send("later", delay_s=90)
    queue.send("sooner", delay_s=30)
    assert queue.next_visible_at() == START + timedelta(seconds=30)
    clock.set(START + timedelta(seconds=30))
    (held,) = queue.receive(1, 600)
    assert held.body == "sooner" and queue.next_visible_at() == START + timedelta(seconds=90)


def test_visibility_beyond_seven_days_is_refused_like_the_service_does(clock: ManualClock) -> None:
    queue = MemoryWorkQueue("work", clock)
    with pytest.raises(ValueError, match="delay_s"):
        queue.send("far", delay_s=8 * 24 * 3600)
    assert queue.approximate_count() == 0


def test_a_manual_clock_only_moves_forward() -> None:
    clock = ManualClock(START)
    assert clock.set(START - timedelta(hours=1)) == START
    assert clock.advance(timedelta(seconds=5)) == START + timedelta(seconds=5)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2026, 1, 1))  # naive on purpose
