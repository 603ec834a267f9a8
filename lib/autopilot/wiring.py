"""Builds the autopilot for an ``App``: the policy (``DR_POLICY`` / ``DR_POLICY_FILE``), its Table stores, the
signals queue, the run facts and the run starter. No I/O but reading the policy file; ``provision`` creates the
tables and the queue (idempotent)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lib.adapters.storage_work_queue import StorageWorkQueue
from lib.adapters.table_autopilot import TableDecisionStore, TableSignalStore
from lib.autopilot.facts import RunFacts
from lib.autopilot.runs import start_failover
from lib.autopilot.service import Autopilot, Resolver
from lib.autopilot.sources import Sources, build_sources
from lib.guard import Policy, PolicyErrors, policy_from_env
from lib.settings import Settings
from lib.workflows.parking import wake_parked

if TYPE_CHECKING:
    from lib.bootstrap import App

__all__ = ["Wired", "build_autopilot", "load_policy"]

log = logging.getLogger("autopilot.policy")


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def load_policy(settings: Settings) -> Policy | PolicyErrors:
    """The policy the app runs with; a bad one is logged with every bad field and acts on nothing."""
    policy = policy_from_env(settings.policy_env(), _read)
    if isinstance(policy, PolicyErrors):
        log.error("the DR policy (%s) is invalid, nothing acts automatically: %s", policy.origin,
                  "; ".join(policy.lines))  # fmt: skip
    return policy


@dataclass
class Wired:
    autopilot: Autopilot
    queue: StorageWorkQueue
    signals: TableSignalStore
    decisions: TableDecisionStore
    sources: Sources | None = None

    def provision(self) -> None:
        self.queue.create_queue()
        self.signals.ensure_table()
        self.decisions.ensure_table()
        if self.sources is not None:
            self.sources.ensure_storage()


def _fast_fail() -> dict[str, Any]:
    """The webhook answers within a second: a send that storage does not take at once is retried twice at once,
    then fails (the webhook answers 503 and the sender retries), instead of the SDK's default backoff of 15 s and
    more. The queue trigger's own sends (dwell timers, second looks) are retried by the message anyway."""
    from azure.storage.queue import LinearRetry

    return {"retry_policy": LinearRetry(backoff=0, random_jitter_range=0, retry_total=2), "connection_timeout": 2,
            "read_timeout": 5}  # fmt: skip


def build_autopilot(app: App, resolver: Resolver | None = None) -> Wired:
    settings = app.settings
    queue = StorageWorkQueue.from_clients(app.clients, settings.signals_queue, **_fast_fail())
    signals = TableSignalStore(app.clients.table(settings.signals_table))
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
    )
    return Wired(autopilot, queue, signals, decisions, sources)
