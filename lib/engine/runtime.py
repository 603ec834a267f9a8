"""What every part of the engine shares: the registry, deps, storage, clock, settings and hooks."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from lib.domain.runs import HistoryRecord, RunRecord, RunStatus, RunSummary, listed_status
from lib.engine.api import Workflow
from lib.engine.checkpoint import Checkpoint
from lib.engine.config import EngineConfig, LeaseTiming, TimerScale
from lib.engine.outbox import RunOutbox
from lib.ports.clock import Clock
from lib.ports.run_store import Loaded, RunStore
from lib.ports.work_queue import WorkQueue

log = logging.getLogger("autopilot.engine")

D = TypeVar("D")

# Called after every checkpoint with the saved run and the history rows it added (live progress in a CLI).
Observer = Callable[[RunRecord, Sequence[HistoryRecord]], None]


class CrashPoint(StrEnum):
    RECEIVED = "received"  # the message is held and the run loaded; nothing written yet
    BEFORE_STEP = "before-step"  # the lease is held; the step (and its side effect) has not run
    AFTER_STEP = "after-step"  # the step ran (side effect done); nothing is checkpointed
    AFTER_CHECKPOINT = "after-checkpoint"  # the checkpoint is saved; the next work item is not enqueued


class StepScope(Protocol):
    def done(self, state: Mapping[str, Any], result: object) -> None:
        """The step returned ``result`` (an outcome or the exception it raised) with ``state``."""
        ...


# Wraps every step the engine executes (telemetry: log context, a span); wired by ``lib.bootstrap``.
StepTracer = Callable[[RunRecord], AbstractContextManager[StepScope]]


class _NoScope:
    def done(self, state: Mapping[str, Any], result: object) -> None:
        return None


# Tests raise ``InjectedCrash`` from here to simulate the worker dying at that point.
CrashHook = Callable[[CrashPoint, RunRecord], None]


class RunCache:
    """Runs as this process last saw them, with their ETag. Only ever a hint: a lease write guarded by the
    cached ETag succeeds exactly when the cache is current, so a hit saves the read of the run."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, Loaded] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, run_id: str) -> Loaded | None:
        with self._lock:
            loaded = self._items.get(run_id)
            if loaded is not None:
                self._items.move_to_end(run_id)
            return loaded

    def put(self, loaded: Loaded) -> None:
        if self._size <= 0:
            return
        with self._lock:
            self._items[loaded.run.run_id] = loaded
            self._items.move_to_end(loaded.run.run_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def drop(self, run_id: str) -> None:
        with self._lock:
            self._items.pop(run_id, None)


@dataclass
class Runtime(Generic[D]):
    registry: Mapping[str, Workflow[D]]
    deps: D
    store: RunStore
    queue: WorkQueue
    clock: Clock
    timing: TimerScale
    config: EngineConfig
    poison: WorkQueue | None = None
    crash_hook: CrashHook | None = None
    observers: list[Observer] = field(default_factory=list)
    cache: RunCache = field(default_factory=lambda: RunCache(0))
    outbox: RunOutbox | None = None  # operator events ride in checkpoints (None: no events)
    tracer: StepTracer | None = None

    def step_scope(self, run: RunRecord) -> AbstractContextManager[StepScope]:
        return self.tracer(run) if self.tracer is not None else nullcontext(_NoScope())

    @property
    def leases(self) -> LeaseTiming:
        return LeaseTiming.of(self.config, self.timing.scale)

    def crash(self, point: CrashPoint, run: RunRecord) -> None:
        if self.crash_hook is not None:
            self.crash_hook(point, run)

    def stage(self, before: RunRecord, cp: Checkpoint) -> Checkpoint:
        """The checkpoint about to be saved, with the operator events it raised in its run's outbox."""
        return cp if self.outbox is None else self.outbox.stage(before, cp)

    def notify(self, run: RunRecord, rows: Sequence[HistoryRecord]) -> None:
        """After every saved checkpoint: publish its events, then tell the observers."""
        if self.outbox is not None:
            self.outbox.flush(run)
        for observer in list(self.observers):
            try:
                observer(run, rows)
            except Exception:  # an observer must never break a run
                log.exception("transition observer failed for run %s", run.run_id)

    def index(self, before: RunStatus | None, run: RunRecord) -> None:
        """Keep the listing index in step after the run itself was saved. Failing here is survivable: the
        index row still shows an active status, and the janitor repairs rows that disagree with their run."""
        if before is not None and listed_status(before) is listed_status(run.status):
            return
        try:
            self.store.index_put(RunSummary.of(run))
        except Exception:
            log.exception("index update failed for run %s (the janitor will repair it)", run.run_id)
