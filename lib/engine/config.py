"""Engine tuning: time scaling, leases, retries, the janitor. Defaults suit Azure; tests shrink them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Queue visibility has whole-second granularity: a message may show up this much before its due time and is
# executed anyway (rounding down instead of up keeps sub-second test timers from costing a full second).
EARLY_TOLERANCE = timedelta(milliseconds=250)
# The queue refuses a visibility timeout above 7 days; longer timers are chained (re-enqueued with the rest).
QUEUE_MAX_VISIBILITY = timedelta(days=7) - timedelta(minutes=1)


@dataclass(frozen=True)
class RetryPolicy:
    """A step that raises runs again after ``first_delay * factor**(n-1)`` (capped), at most ``max_retries``
    times; then the run fails with the error recorded. An exception's ``retry_after`` (seconds) is honoured."""

    max_retries: int = 5
    first_delay: timedelta = timedelta(seconds=5)
    factor: float = 2.0
    max_delay: timedelta = timedelta(minutes=10)

    def delay(self, attempt: int, retry_after_s: float | None = None) -> timedelta:
        backoff = self.first_delay * (self.factor ** max(0, attempt - 1))
        backoff = min(backoff, self.max_delay)
        if retry_after_s is not None and retry_after_s > 0:
            backoff = max(backoff, timedelta(seconds=retry_after_s))
        return backoff


@dataclass(frozen=True)
class EngineConfig:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # A worker may execute a step only while it holds the run's lease with at least ``step_budget`` left; a
    # crashed worker's lease lapses after ``lease``. Both follow ``timer_scale`` like every other wait (a
    # stalled run must not hold up a time-scaled demo or test for real minutes), but a scaled lease never
    # drops below ``min_lease``: a step does not run faster because timers do (see ``LeaseTiming``).
    lease: timedelta = timedelta(minutes=5)
    step_budget: timedelta = timedelta(minutes=2)
    min_lease: timedelta = timedelta(seconds=15)
    # How many ``Next`` steps of one run a delivery executes back to back (driver and queue trigger alike) before
    # it lets the message go. 1 executes one step per message.
    max_chain: int = 16
    max_visibility: timedelta = QUEUE_MAX_VISIBILITY
    # The janitor re-enqueues a run whose step is overdue by more than this (scaled by ``timer_scale``).
    janitor_grace: timedelta = timedelta(minutes=5)
    # Deliveries in a row that ended without a result before a driver moves a message to the poison queue
    # (the Functions host's ``maxDequeueCount`` plays this role when hosted).
    max_dequeue: int = 5
    # Workers that may claim the same step without reaching a checkpoint (they crashed, or their process
    # died) before the run fails as a crash loop. Counted on the run, so it holds on every host.
    max_claims: int = 3
    cache_size: int = 1024


@dataclass(frozen=True)
class TimerScale:
    """Applies ``timer_scale`` to every workflow delay and due time (0.01 turns a 60 s wait into 0.6 s)."""

    scale: float = 1.0
    max_visibility: timedelta = QUEUE_MAX_VISIBILITY

    def scaled(self, delay: timedelta) -> timedelta:
        return max(timedelta(0), delay * self.scale)

    def visible_in_s(self, due: datetime | None, now: datetime) -> int:
        """Seconds until a message for ``due`` should show up (whole seconds, capped at the queue's limit:
        an early message is simply postponed again with the remainder)."""
        if due is None:
            return 0
        seconds = (due - now - EARLY_TOLERANCE).total_seconds()
        return max(0, min(math.ceil(seconds), int(self.max_visibility.total_seconds())))


@dataclass(frozen=True)
class LeaseTiming:
    """The lease and step budget a worker actually uses: ``EngineConfig``'s, scaled like every other wait.

    The floor is ``min_lease`` (or the configured lease itself when that is shorter: a test that asks for a
    1 s lease gets one), so a scaled lease still outlasts one step's ASR calls and their retries. The step
    budget keeps its share of the lease.
    """

    lease: timedelta
    step_budget: timedelta

    @classmethod
    def of(cls, config: EngineConfig, scale: float) -> LeaseTiming:
        floor = min(config.min_lease, config.lease)
        lease = max(config.lease * max(scale, 0.0), floor)
        share = config.step_budget / config.lease if config.lease > timedelta(0) else 0.0
        return cls(lease=lease, step_budget=min(config.step_budget, lease * share))

    @property
    def hold_s(self) -> int:
        """How long a driver hides a message it received: a little longer than a lease, so a message whose
        worker died comes back after that worker's lease has lapsed instead of bouncing off it."""
        return int(self.lease.total_seconds()) + 1
