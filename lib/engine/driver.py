"""A synchronous driver for tests, the CLI and the demo: it plays the Functions host on the same queue.

It receives messages in batches (one request for up to 32), hands each to the same executor the queue
trigger uses, waits for delayed messages to become visible, moves messages that keep failing to the poison
queue and fails their runs, and can run the janitor. ``workers`` threads share the queue like competing
Functions instances would; each has its own lease identity.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from lib.domain.runs import RunRecord, RunStatus
from lib.engine.errors import DeadlineExceeded, InjectedCrash, RunNotFound
from lib.engine.executor import Executor, ProcessAction
from lib.engine.runtime import Observer
from lib.engine.service import Engine
from lib.ports.work_queue import BadWorkItem, Received, WorkItem

log = logging.getLogger("autopilot.engine")

D = TypeVar("D")
MAX_POLL_S = 0.5


@dataclass
class DrainReport:
    deliveries: int = 0
    steps: int = 0  # steps executed and checkpointed
    postponed: int = 0
    dropped: int = 0
    lost: int = 0  # checkpoints that lost the ETag race (result discarded)
    crashes: int = 0  # injected crashes (the worker "died" and was replaced)
    errors: int = 0  # unexpected exceptions (the message comes back after its hold, like on the host)
    poisoned: int = 0
    sweeps: int = 0
    idle: bool = False
    elapsed_s: float = 0.0


class _Shared:
    def __init__(self, deadline: float, stop_when: Callable[[], bool] | None, until_idle: bool) -> None:
        self.deadline = deadline
        self.stop_when = stop_when
        self.until_idle = until_idle
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.inflight = 0
        self.report = DrainReport()
        self.last_sweep = time.monotonic()


class Driver(Generic[D]):
    def __init__(
        self,
        engine: Engine[D],
        *,
        workers: int = 1,
        batch: int = 32,
        poll_s: float = 0.05,
        janitor_every_s: float | None = None,
        on_transition: Observer | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``sleep`` is how a worker waits for work when the queue has none visible: tests on a manual clock
        pass one that moves the clock to the next message instead of waiting in real time."""
        self.engine = engine
        self.workers = max(1, workers)
        self.batch = batch
        self.poll_s = poll_s
        self.janitor_every_s = janitor_every_s
        self.on_transition = on_transition
        self.sleep = sleep

    def drain(self, *, deadline_s: float = 60.0, until_idle: bool = True) -> DrainReport:
        """Process work until the queue is empty (timers included) or ``deadline_s`` passes."""
        return self._run(deadline_s, None, until_idle)

    def run_until_finished(self, run_id: str, *, deadline_s: float = 60.0) -> RunRecord:
        """Process work until the run is finished or paused for approval; raises ``DeadlineExceeded``."""
        store = self.engine.runtime.store

        def settled() -> bool:
            loaded = store.load(run_id)
            if loaded is None:
                raise RunNotFound(run_id)
            run = loaded.run
            return not run.active or (run.status is RunStatus.AWAITING_APPROVAL and run.due_at is None)

        if not settled():
            self._run(deadline_s, settled, until_idle=False)
        loaded = store.load(run_id)
        assert loaded is not None
        if loaded.run.active and not settled():
            raise DeadlineExceeded(run_id, loaded.run.status.value, deadline_s)
        return loaded.run

    # -- the loop ---------------------------------------------------------------------------------

    def _run(self, deadline_s: float, stop_when: Callable[[], bool] | None, until_idle: bool) -> DrainReport:
        shared = _Shared(time.monotonic() + deadline_s, stop_when, until_idle)
        started = time.monotonic()
        if self.on_transition:
            self.engine.add_observer(self.on_transition)
        try:
            if self.workers == 1:
                self._work(shared)
            else:
                threads = [
                    threading.Thread(target=self._work, args=(shared,), daemon=True) for _ in range(self.workers)
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
        finally:
            if self.on_transition:
                self.engine.remove_observer(self.on_transition)
        shared.report.elapsed_s = time.monotonic() - started
        return shared.report

    def _work(self, shared: _Shared) -> None:
        engine, queue = self.engine, self.engine.queue
        # Hold messages a little longer than a lease: a message whose worker died comes back after the
        # dead worker's lease has lapsed, instead of bouncing off it.
        hold_s = int(engine.config.lease.total_seconds()) + 1
        executor = engine.executor()
        poll = self.poll_s
        while not shared.stop.is_set():
            if time.monotonic() > shared.deadline:
                shared.stop.set()
                break
            messages = queue.receive(self.batch, hold_s)
            if not messages:
                self._housekeeping(shared)
                if (shared.stop_when and shared.stop_when()) or (shared.until_idle and self._idle(shared)):
                    shared.report.idle = shared.until_idle
                    shared.stop.set()
                    break
                self.sleep(poll)
                poll = min(poll * 2, MAX_POLL_S)
                continue
            poll = self.poll_s
            with shared.lock:
                shared.inflight += 1
            try:
                executor = self._process_batch(shared, executor, messages)
            finally:
                with shared.lock:
                    shared.inflight -= 1
            if shared.stop_when and shared.stop_when():
                shared.stop.set()

    def _process_batch(self, shared: _Shared, executor: Executor[D], messages: list[Received]) -> Executor[D]:
        report = shared.report
        for msg in messages:
            if self._quarantine_if_poisoned(shared, msg):
                continue
            try:
                result = executor.process(msg, held=True)
            except InjectedCrash as crash:
                log.info("worker %s crashed on purpose: %s", executor.worker_id, crash)
                with shared.lock:
                    report.crashes += 1
                # The process is gone: its other messages come back after their hold; a new worker takes over.
                return self.engine.executor()
            except Exception:
                log.exception("worker %s failed on message %s", executor.worker_id, msg.message_id)
                with shared.lock:
                    report.errors += 1
                continue
            with shared.lock:
                report.deliveries += 1
                report.steps += result.steps
                report.postponed += result.action is ProcessAction.POSTPONED
                report.dropped += result.action in (ProcessAction.DROPPED, ProcessAction.BAD_MESSAGE)
                report.lost += result.action is ProcessAction.LOST
        return executor

    def _quarantine_if_poisoned(self, shared: _Shared, msg: Received) -> bool:
        """What the host does after ``maxDequeueCount`` failed deliveries: move the message aside."""
        try:
            item = WorkItem.decode(msg.body)
        except BadWorkItem:
            return False  # the executor drops it
        poison = self.engine.poison_queue
        if poison is None or item.failed_deliveries(msg.dequeue_count) < self.engine.config.max_dequeue:
            return False
        body = json.loads(msg.body) | {"poisoned_from": msg.message_id}
        poison.send(json.dumps(body), 0)
        try:
            self.engine.queue.delete(msg)
        except Exception:
            log.exception("could not delete poisoned message %s", msg.message_id)
        with shared.lock:
            shared.report.poisoned += 1
        return True

    def _housekeeping(self, shared: _Shared) -> None:
        poison = self.engine.poison_queue
        if poison is not None:
            for msg in poison.receive(32, 30):
                limit = self.engine.config.max_dequeue
                self.engine.fail_poisoned(msg.body, f"{limit} deliveries in a row ended without a result")
                poison.delete(msg)
        if self.janitor_every_s is None:
            return
        with shared.lock:
            due = time.monotonic() - shared.last_sweep >= self.janitor_every_s
            if due:
                shared.last_sweep = time.monotonic()
        if due:
            self.engine.sweep()
            with shared.lock:
                shared.report.sweeps += 1

    def _idle(self, shared: _Shared) -> bool:
        with shared.lock:
            if shared.inflight:
                return False
        if self.engine.queue.approximate_count():
            return False
        poison = self.engine.poison_queue
        return poison is None or poison.approximate_count() == 0
