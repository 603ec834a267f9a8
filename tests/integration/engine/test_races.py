"""Concurrency: racing workers, duplicate and lost messages. Effects are counted, never assumed."""

from __future__ import annotations

import threading
import time

import pytest

from lib.domain.runs import RunStatus
from lib.engine import CrashPoint, InjectedCrash, ProcessReport
from lib.ports.work_queue import WorkItem
from tests.integration.engine.conftest import Harness, MakeHarness, drain_until_waiting

pytestmark = pytest.mark.integration


def test_two_workers_on_the_same_run_and_message_one_executes_the_other_backs_off(make_harness: MakeHarness) -> None:
    h = make_harness()
    h.effects.gap_s = 0.3  # the winner is still acting while the loser looks
    run_id = h.engine.start("chain", {}).run_id
    [msg] = h.storage.queue.receive(1, 30)
    workers = [h.engine.executor(), h.engine.executor()]
    barrier = threading.Barrier(2)
    reports: list[ProcessReport] = []

    def work(index: int) -> None:
        barrier.wait()
        reports.append(workers[index].process(msg, held=True))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r.action for r in reports) == ["executed", "postponed"]
    assert h.effects.entered[f"{run_id}/act1"] == 1 and h.effects.max_overlap == 1

    h.driver().drain(deadline_s=30)
    assert h.engine.get(run_id).run.status is RunStatus.SUCCEEDED
    assert h.effects.applied[f"{run_id}/act1"] == 1 and h.effects.applied[f"{run_id}/act2"] == 1


def test_duplicate_messages_are_dropped_and_never_double_an_effect(make_harness: MakeHarness) -> None:
    h = make_harness()
    h.effects.gap_s = 0.05
    runs = [h.engine.start("chain", {"i": i}).run_id for i in range(6)]
    for run_id in runs:  # two extra copies of every first work item, as an at-least-once queue may deliver
        for _ in range(2):
            h.storage.queue.send(WorkItem(run_id, 1).encode())

    report = h.driver(workers=4, batch=4).drain(deadline_s=60)

    assert report.idle and report.errors == 0
    assert report.steps == 6 * 5  # every step of every run once: no duplicate executed anything
    # Each duplicate is recognised and dropped; one message per run carried it to the end. On a loaded machine a
    # carrier's hold can lapse mid-chain and the queue hands it out again: that copy is postponed or dropped too.
    assert report.dropped >= 12
    assert h.effects.max_overlap == 1
    for run_id in runs:
        assert h.engine.get(run_id).run.status is RunStatus.SUCCEEDED
        assert h.effects.applied[f"{run_id}/act1"] == 1 and h.effects.applied[f"{run_id}/act2"] == 1


def test_lost_work_items_are_found_and_re_enqueued_by_the_janitor(make_harness: MakeHarness) -> None:
    crashed: list[str] = []

    def crash_after_first_checkpoint(point: CrashPoint, run: object) -> None:
        if point is CrashPoint.AFTER_CHECKPOINT and not crashed:
            crashed.append("yes")
            raise InjectedCrash(point.value, "")

    h = make_harness(crash_hook=crash_after_first_checkpoint)
    queue = h.storage.queue
    # Run 1 loses its very first work item (deleted: a lost message).
    lost_at_start = h.engine.start("chain", {}).run_id
    [first] = queue.receive(1, 30)
    queue.delete(first)
    # Run 2 loses its message mid-run: the worker dies after a checkpoint, and the message it held is gone too.
    lost_mid_run = h.engine.start("chain", {}).run_id
    [second] = queue.receive(1, 30)
    with pytest.raises(InjectedCrash):
        h.engine.handle_message(second.body, second.message_id, second.dequeue_count)
    queue.delete(second)
    assert queue.approximate_count() == 0
    assert h.engine.get(lost_mid_run).run.step == "poll"  # act1 was checkpointed before the crash

    # Nothing is in the queue, so only the janitor can bring them back, once their step is overdue by the
    # (scaled) grace of one second.
    requeued: set[str] = set()
    deadline = time.monotonic() + 15
    while requeued != {lost_at_start, lost_mid_run} and time.monotonic() < deadline:
        requeued |= set(h.engine.sweep().requeued)
        time.sleep(0.2)
    assert requeued == {lost_at_start, lost_mid_run}

    driver = h.driver()
    for run_id in (lost_at_start, lost_mid_run):
        assert driver.run_until_finished(run_id, deadline_s=30).status is RunStatus.SUCCEEDED
        assert h.effects.applied[f"{run_id}/act1"] == 1 and h.effects.applied[f"{run_id}/act2"] == 1


def test_the_janitor_leaves_healthy_runs_alone(make_harness: MakeHarness) -> None:
    h = make_harness()
    run_id = h.engine.start("slow-timer", {}).run_id  # waits 3 s (scaled) with its message in the queue
    drain_until_waiting(h, run_id)
    assert h.engine.get(run_id).run.status is RunStatus.WAITING
    assert h.engine.sweep().requeued == []


# -- the same on the Functions-host path, where a Next step now goes on in the same call -----------------------


def _host_instances(h: Harness, runs: list[str], instances: int, deadline_s: float) -> list[ProcessReport]:
    """Several Functions host instances on one queue: each receives a small batch, calls the queue trigger for
    every message and deletes the message when the call returns. They stop once every run has finished and
    the queue is empty (duplicates included)."""
    reports: list[ProcessReport] = []
    lock, stop = threading.Lock(), threading.Event()

    def instance() -> None:
        while not stop.is_set():
            batch = h.storage.queue.receive(2, 30)
            if not batch:
                time.sleep(0.05)
            for msg in batch:
                report = h.engine.handle_message(msg.body, msg.message_id, msg.dequeue_count)
                with lock:
                    reports.append(report)
                h.storage.queue.delete(msg)

    threads = [threading.Thread(target=instance) for _ in range(instances)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + deadline_s
    try:
        while time.monotonic() < deadline:
            finished = all(not h.engine.get(run_id).run.active for run_id in runs)
            if finished and h.storage.queue.approximate_count() == 0:
                break
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join()
    return reports


def test_on_the_host_path_duplicate_messages_never_double_an_effect(make_harness: MakeHarness) -> None:
    h = make_harness()
    h.effects.gap_s = 0.05
    runs = [h.engine.start("chain", {"i": i}).run_id for i in range(6)]
    for run_id in runs:  # two extra copies of every first work item, as an at-least-once queue may deliver
        for _ in range(2):
            h.storage.queue.send(WorkItem(run_id, 1).encode())

    reports = _host_instances(h, runs, instances=3, deadline_s=90)

    assert h.effects.max_overlap == 1
    for run_id in runs:
        assert h.engine.get(run_id).run.status is RunStatus.SUCCEEDED
        assert h.effects.applied[f"{run_id}/act1"] == 1 and h.effects.applied[f"{run_id}/act2"] == 1
        assert h.effects.entered[f"{run_id}/act1"] == 1 and h.effects.entered[f"{run_id}/act2"] == 1
        # act1+poll, poll, poll+act2: three executing calls per run; every copy was dropped or put off.
        mine = [r for r in reports if r.run_id == run_id]
        assert sum(r.steps for r in mine) == 5
        assert all(r.action in ("executed", "dropped", "postponed") for r in mine), mine


def test_on_the_host_path_two_calls_with_the_same_message_one_executes_the_chain(make_harness: MakeHarness) -> None:
    """The same message handed to two instances at once (its visibility lapsed): one takes the lease and runs
    act1 and, under the lease act1's checkpoint carries, the first poll; the other backs off."""
    h = make_harness()
    h.effects.gap_s = 0.3  # the winner is still acting while the loser looks
    run_id = h.engine.start("chain", {}).run_id
    [msg] = h.storage.queue.receive(1, 30)
    barrier = threading.Barrier(2)
    reports: list[ProcessReport] = []

    def call() -> None:
        barrier.wait()
        reports.append(h.engine.handle_message(msg.body, msg.message_id, msg.dequeue_count))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r.action for r in reports) == ["executed", "postponed"]
    assert max(r.steps for r in reports) == 2  # act1 (Next) and the first poll (Wait) in one call
    assert h.effects.entered[f"{run_id}/act1"] == 1 and h.effects.max_overlap == 1
    h.storage.queue.delete(msg)

    _host_instances(h, [run_id], instances=2, deadline_s=60)
    assert h.engine.get(run_id).run.status is RunStatus.SUCCEEDED
    assert h.effects.applied[f"{run_id}/act1"] == 1 and h.effects.applied[f"{run_id}/act2"] == 1
