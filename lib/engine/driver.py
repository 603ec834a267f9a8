"""A synchronous driver for tests, the CLI and the demo: it plays the Functions host on the same queue.

It receives messages in batches (one request for up to 32), hands each to the same executor the queue
trigger uses, waits for delayed messages to become visible, moves messages that keep failing to the poison
queue and fails their runs, and can run the janitor. ``workers`` threads share the queue like competing
Functions instances would; each has its own lease identity.

``drain`` works on every run. ``drive``/``run_until_finished`` work on ONE run: a message of any other run is
put back at once as a fresh copy (so its dequeue count, which the host's poison limit reads, is not used up)
and that run is only reported (``DriveResult.others_due``), never executed, and neither the janitor nor the
poison handling touch other runs. A ``KeyboardInterrupt`` mid-step releases the lease the driver holds and
puts its messages back, so the run can be continued at once (``WatchInterrupted`` says which runs).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from lib.domain.runs import RunRecord, RunStatus
from lib.engine.config import EARLY_TOLERANCE
from lib.engine.errors import DeadlineExceeded, InjectedCrash, LeaseNotHeld, RunNotFound
from lib.engine.executor import Executor, ProcessAction
from lib.engine.runtime import Observer
from lib.engine.service import Engine
from lib.ports.work_queue import BadWorkItem, MessageLost, Received, WorkItem, WorkQueue

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
    # ``drive``: other runs whose work came by while this driver watched its own run (left alone), first seen
    # first; ``left`` counts the messages put back.
    others_due: list[str] = field(default_factory=list)
    left: int = 0


@dataclass(frozen=True)
class DriveResult:
    """Where ``drive`` left its run, and the other runs that are due (for the caller to list, not to run)."""

    run: RunRecord
    others_due: tuple[str, ...]
    report: DrainReport


class WatchInterrupted(KeyboardInterrupt):
    """A ``KeyboardInterrupt`` that reached the driver mid-work: ``released`` are the runs whose lease it gave
    back (their step may be executed again at once, e.g. by ``Engine.continue_run``)."""

    def __init__(self, released: Sequence[str]) -> None:
        super().__init__(f"interrupted; released the lease of {', '.join(released) or 'no run'}")
        self.released = tuple(released)


# Called once per other run that is due while ``drive`` watches its own (e.g. the CLI prints it).
OtherRunDue = Callable[[str], None]


class _Shared:
    def __init__(
        self,
        deadline: float,
        stop_when: Callable[[], bool] | None,
        until_idle: bool,
        only: str | None = None,
        on_other_due: OtherRunDue | None = None,
    ) -> None:
        self.deadline = deadline
        self.stop_when = stop_when
        self.until_idle = until_idle
        self.only = only
        self.on_other_due = on_other_due
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.inflight = 0
        self.report = DrainReport()
        self.last_sweep = time.monotonic()
        self.released: list[str] = []
        self.copies: set[str] = set()  # ids of the other runs' messages this driver put back

    def other_due(self, run_id: str) -> None:
        with self.lock:
            if run_id in self.report.others_due:
                return
            self.report.others_due.append(run_id)
        if self.on_other_due is not None:
            try:
                self.on_other_due(run_id)
            except Exception:  # a reporting callback must never stop the driver
                log.exception("on_other_due failed for run %s", run_id)


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

    def run_until_finished(
        self, run_id: str, *, deadline_s: float = 60.0, on_other_due: OtherRunDue | None = None
    ) -> RunRecord:
        """``drive(run_id)``'s run: finished or paused for approval; raises ``DeadlineExceeded``."""
        return self.drive(run_id, deadline_s=deadline_s, on_other_due=on_other_due).run

    def drive(self, run_id: str, *, deadline_s: float = 60.0, on_other_due: OtherRunDue | None = None) -> DriveResult:
        """Execute ``run_id`` — and only it — until it is finished or paused for approval. Work of other runs
        is left alone and reported (``on_other_due`` once per run, and ``DriveResult.others_due``).

        Raises ``RunNotFound``, ``DeadlineExceeded`` (``others_due`` set on it too) or ``WatchInterrupted``.
        """
        store = self.engine.runtime.store

        def settled() -> bool:
            loaded = store.load(run_id)
            if loaded is None:
                raise RunNotFound(run_id)
            return _settled(loaded.run)

        report = DrainReport()
        if not settled():
            report = self._run(deadline_s, settled, False, only=run_id, on_other_due=on_other_due)
        loaded = store.load(run_id)
        assert loaded is not None
        if not _settled(loaded.run):
            exc = DeadlineExceeded(run_id, loaded.run.status.value, deadline_s)
            exc.others_due = tuple(report.others_due)
            raise exc
        return DriveResult(loaded.run, tuple(report.others_due), report)

    # -- the loop ---------------------------------------------------------------------------------

    def _run(
        self,
        deadline_s: float,
        stop_when: Callable[[], bool] | None,
        until_idle: bool,
        *,
        only: str | None = None,
        on_other_due: OtherRunDue | None = None,
    ) -> DrainReport:
        shared = _Shared(time.monotonic() + deadline_s, stop_when, until_idle, only, on_other_due)
        started = time.monotonic()
        if self.on_transition:
            self.engine.add_observer(self.on_transition)
        try:
            if self.workers == 1:
                self._work(shared)
            else:
                self._threads(shared)
        except KeyboardInterrupt:
            shared.stop.set()
            raise WatchInterrupted(shared.released) from None
        finally:
            if self.on_transition:
                self.engine.remove_observer(self.on_transition)
        shared.report.elapsed_s = time.monotonic() - started
        return shared.report

    def _threads(self, shared: _Shared) -> None:
        threads = [threading.Thread(target=self._work, args=(shared,), daemon=True) for _ in range(self.workers)]
        for t in threads:
            t.start()
        try:
            for t in threads:
                t.join()
        except KeyboardInterrupt:
            # Workers finish the step in hand and checkpoint it (no lease is left behind), then stop.
            shared.stop.set()
            for t in threads:
                t.join()
            raise

    def _work(self, shared: _Shared) -> None:
        engine, queue = self.engine, self.engine.queue
        hold_s = engine.runtime.leases.hold_s
        executor = engine.executor()
        poll = self.poll_s
        while not shared.stop.is_set():
            if time.monotonic() > shared.deadline:
                shared.stop.set()
                break
            # Driving one run: receive only when that run has work due, so other runs' messages are not
            # handled (and put back) over and over while it waits.
            messages = queue.receive(self.batch, hold_s) if self._own_due(shared) else []
            if not messages:
                self._housekeeping(shared)
                if (shared.stop_when and shared.stop_when()) or (shared.until_idle and self._idle(shared)):
                    shared.report.idle = shared.until_idle
                    shared.stop.set()
                    break
                self.sleep(poll)
                poll = min(poll * 2, MAX_POLL_S)
                continue
            with shared.lock:
                shared.inflight += 1
            try:
                executor, ours = self._process_batch(shared, executor, messages)
            finally:
                with shared.lock:
                    shared.inflight -= 1
            if shared.stop_when and shared.stop_when():
                shared.stop.set()
            elif not ours:  # only other runs' work came: back off instead of receiving it again at once
                self.sleep(poll)
                poll = min(poll * 2, MAX_POLL_S)
            else:
                poll = self.poll_s

    def _own_due(self, shared: _Shared) -> bool:
        """Always true for ``drain``; for ``drive``, whether its run has a step due that nobody is executing."""
        if shared.only is None:
            return True
        loaded = self.engine.runtime.store.load(shared.only)
        if loaded is None:
            return False
        run, now = loaded.run, self.engine.clock.now()
        if not run.active or run.due_at is None or run.due_at > now + EARLY_TOLERANCE:
            return False
        return not (run.lease_owner and run.lease_until is not None and run.lease_until > now)

    def _process_batch(
        self, shared: _Shared, executor: Executor[D], messages: list[Received]
    ) -> tuple[Executor[D], bool]:
        """Returns the executor to go on with and whether any message was this driver's to handle."""
        ours = False
        for index, msg in enumerate(messages):
            try:
                if self._leave_if_not_ours(shared, msg):
                    continue
                ours = True
                crashed = self._process_one(shared, executor, msg)
            except KeyboardInterrupt:
                self._interrupted(shared, executor, messages[index:])
                raise
            if crashed:
                # The process is gone: its other messages come back after their hold; a new worker takes over.
                return self.engine.executor(), ours
        return executor, ours

    def _process_one(self, shared: _Shared, executor: Executor[D], msg: Received) -> bool:
        """Hand one message to ``executor``; True when the worker "died" (an injected crash)."""
        report = shared.report
        if self._quarantine_if_poisoned(shared, msg):
            return False
        try:
            result = executor.process(msg, held=True)
        except InjectedCrash as crash:
            log.info("worker %s crashed on purpose: %s", executor.worker_id, crash)
            with shared.lock:
                report.crashes += 1
            return True
        except Exception:
            log.exception("worker %s failed on message %s", executor.worker_id, msg.message_id)
            with shared.lock:
                report.errors += 1
            return False
        with shared.lock:
            report.deliveries += 1
            report.steps += result.steps
            report.postponed += result.action is ProcessAction.POSTPONED
            report.dropped += result.action in (ProcessAction.DROPPED, ProcessAction.BAD_MESSAGE)
            report.lost += result.action is ProcessAction.LOST
        return False

    # -- one run only -------------------------------------------------------------------------------

    def _leave_if_not_ours(self, shared: _Shared, msg: Received) -> bool:
        """Driving one run: put another run's message back, visible at once, and note that run if it is due.

        The message is replaced by a fresh copy instead of being made visible again: its dequeue count (the
        host's poison limit) stays untouched. A copy of the run's own message (``run.msg_id``) carries the
        run's version, since the copy's new id no longer marks it as that message.
        """
        if shared.only is None:
            return False
        try:
            item = WorkItem.decode(msg.body)
        except BadWorkItem:
            item = None
        if item is not None and item.run_id == shared.only:
            return False
        with shared.lock:
            ours_already = msg.message_id in shared.copies  # a copy we made: its body is right, its run noted
            shared.copies.discard(msg.message_id)
        body = msg.body
        if item is not None and not ours_already:
            body = self._other_run(shared, item, msg)
        queue = self.engine.queue
        copy_id = queue.send(body, 0)
        with contextlib.suppress(MessageLost):
            queue.delete(msg)
        with shared.lock:
            shared.copies.add(copy_id)
            shared.report.left += 1
        return True

    def _other_run(self, shared: _Shared, item: WorkItem, msg: Received) -> str:
        """The body the copy of another run's message gets (read-only look at that run: nothing is written)."""
        loaded = self.engine.runtime.store.load(item.run_id)
        if loaded is None or not loaded.run.active:
            return msg.body
        run = loaded.run
        if run.due_at is not None and run.due_at <= self.engine.clock.now() + EARLY_TOLERANCE:
            shared.other_due(run.run_id)
        version = run.version if msg.message_id == run.msg_id and item.version < run.version else item.version
        return WorkItem(item.run_id, version).encode()

    def _interrupted(self, shared: _Shared, executor: Executor[D], held: list[Received]) -> None:
        """Ctrl-C mid-batch: give back the lease this worker may hold on the message in hand's run and make
        the messages it holds visible again, so the run can be continued at once instead of after a lease."""
        first = held[0]
        with contextlib.suppress(BadWorkItem):
            run_id = WorkItem.decode(first.body).run_id
            try:
                self.engine.release_lease(run_id, worker=executor.worker_id)
                shared.released.append(run_id)
            except (LeaseNotHeld, RunNotFound):
                pass
        for msg in held:
            with contextlib.suppress(MessageLost):  # the executor may have rewritten it (a newer receipt)
                self.engine.queue.update(msg, msg.body, 0)

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
            self._fail_poisoned(shared, poison)
        if self.janitor_every_s is None:
            return
        with shared.lock:
            due = time.monotonic() - shared.last_sweep >= self.janitor_every_s
            if due:
                shared.last_sweep = time.monotonic()
        if not due:
            return
        if shared.only is None:
            self.engine.sweep()
        else:  # the janitor works on every run: driving one, only its own lost work item is replaced
            self._requeue_if_overdue(shared.only)
        with shared.lock:
            shared.report.sweeps += 1

    def _requeue_if_overdue(self, run_id: str) -> None:
        """The janitor's rule for one run: overdue by more than the grace and nobody holds it -> a fresh item."""
        rt = self.engine.runtime
        loaded = rt.store.load(run_id)
        if loaded is None:
            return
        run, now = loaded.run, rt.clock.now()
        grace = rt.timing.scaled(rt.config.janitor_grace)
        leased = run.lease_held_by_other("", now)
        if run.active and run.due_at is not None and run.due_at + grace <= now and not leased:
            rt.queue.send(WorkItem(run.run_id, run.version).encode(), 0)

    def _fail_poisoned(self, shared: _Shared, poison: WorkQueue) -> None:
        limit = self.engine.config.max_dequeue
        # Driving one run, the others' poison messages are only glanced at: hidden for a second, not failed.
        for msg in poison.receive(32, 1 if shared.only else 30):
            if shared.only is not None and _run_of(msg.body) != shared.only:
                continue
            self.engine.fail_poisoned(msg.body, f"{limit} deliveries in a row ended without a result")
            poison.delete(msg)

    def _idle(self, shared: _Shared) -> bool:
        with shared.lock:
            if shared.inflight:
                return False
        if self.engine.queue.approximate_count():
            return False
        poison = self.engine.poison_queue
        return poison is None or poison.approximate_count() == 0


def _settled(run: RunRecord) -> bool:
    """Nothing more for a driver to do: the run is over, or paused until someone approves or decides."""
    waiting_for_someone = run.status in (RunStatus.AWAITING_APPROVAL, RunStatus.AWAITING_DECISION)
    return not run.active or (waiting_for_someone and run.due_at is None)


def _run_of(body: str) -> str:
    try:
        return WorkItem.decode(body).run_id
    except BadWorkItem:
        return ""
