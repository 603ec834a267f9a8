"""Builds the autopilot for an ``App``: the policy (``DR_POLICY`` / ``DR_POLICY_FILE``), its Table stores, the
signals queue, the run facts and the run starter. No I/O but reading the policy file; ``provision`` creates the
tables and the queue (idempotent)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from lib.adapters.storage_work_queue import StorageWorkQueue
from lib.adapters.table_autopilot import TableDecisionStore, TableSignalStore
from lib.autopilot.deadline import DeadlineSender
from lib.autopilot.facts import RunFacts
from lib.autopilot.runs import start_failover
from lib.autopilot.service import Autopilot, Resolver
from lib.autopilot.sources import Sources, build_sources
from lib.policy_source import load_policy
from lib.workflows.parking import wake_parked

if TYPE_CHECKING:
    from lib.bootstrap import App

__all__ = ["Wired", "build_autopilot", "load_policy"]

log = logging.getLogger("autopilot.policy")


@dataclass
class Wired:
    autopilot: Autopilot
    queue: StorageWorkQueue
    signals: TableSignalStore
    decisions: TableDecisionStore
    intake: DeadlineSender
    sources: Sources | None = None

    def provision(self) -> None:
        self.queue.create_queue()
        self.signals.ensure_table()
        self.decisions.ensure_table()
        if self.sources is not None:
            self.sources.ensure_storage()


def _fast_fail() -> dict[str, Any]:
    """The webhook's sends are not retried by the SDK (its default, a 15 s backoff three times, held answers for
    up to 28 s when storage stalled under a storm): the ``DeadlineSender`` answers 503 at its deadline and the
    sender (an action group) retries. The socket timeouts only free the send's thread soon after. The queue
    trigger's own sends (dwell timers, second looks) are retried with their message anyway."""
    from azure.storage.queue import LinearRetry

    return {"retry_policy": LinearRetry(backoff=0, random_jitter_range=0, retry_total=0), "connection_timeout": 0.8,
            "read_timeout": 0.8}  # fmt: skip


def build_autopilot(app: App, resolver: Resolver | None = None) -> Wired:
    settings = app.settings
    queue = StorageWorkQueue.from_clients(app.clients, settings.signals_queue, **_fast_fail())
    signals = TableSignalStore(app.clients.table(settings.signals_table), app.engine.clock.now)
    decisions = TableDecisionStore(app.clients.table(settings.decisions_table))
    policy = load_policy(settings)
    sources = None
    if resolver is None:  # resource -> region (vault items, then one cached ARM read), then the protected-VM share
        sources = build_sources(settings, site_recovery=app.deps.asr, clock=app.engine.clock, clients=app.clients)
        resolver = sources.intake(policy)
    autopilot = Autopilot(
        policy=policy,
        signals=signals,
        decisions=decisions,
        queue=queue,
        notifier=app.deps.notifier,
        clock=app.engine.clock,
        facts=RunFacts(app.engine.runtime.store, app.deps.asr),
        starter=partial(start_failover, app),
        resolver=resolver,
        timer_scale=settings.timer_scale,
        on_recovered=partial(wake_parked, app.engine),
        retention=timedelta(days=settings.signal_retention_days),
    )
    intake = DeadlineSender(queue, settings.alert_answer_budget_ms)
    return Wired(autopilot, queue, signals, decisions, intake, sources)
