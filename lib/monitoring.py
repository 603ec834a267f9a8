"""Wiring of the monitoring parts onto an ``App``: readiness (evaluation, store) and the cached status view.

Built on first use and kept in ``App.parts`` so that the status cache lives as long as the worker's app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lib.bootstrap import App
from lib.guard import Policy, PolicyErrors
from lib.policy_source import load_policy as policy_from_settings
from lib.ports.compute import ComputeUsages
from lib.readiness.service import ReadinessDeps, ReadinessReport, run_readiness
from lib.status import StatusService

__all__ = ["Monitoring", "evaluate_readiness", "load_policy", "monitoring"]

_KEY = "monitoring"


@dataclass
class Monitoring:
    readiness: ReadinessDeps
    status: StatusService


def load_policy(app: App) -> Policy | PolicyErrors:
    """The policy the app runs with (the same settings the autopilot reads)."""
    return policy_from_settings(app.settings, quiet=True)


@dataclass(frozen=True)
class _Decisions:
    """The autopilot's decision store as the status view's ``DecisionSource`` (built on first read)."""

    app: App

    def recent(self, limit: int) -> list[Mapping[str, Any]]:
        return [r.to_json() for r in self.app.autopilot().decisions.list(None, None, limit)]


def monitoring(app: App, *, compute: ComputeUsages | None = None) -> Monitoring:
    found = app.parts.get(_KEY)
    if isinstance(found, Monitoring):
        return found
    from lib.adapters.compute_usages import build_compute_usages
    from lib.adapters.table_readiness import TableReadinessStore
    from lib.api.run_view import run_view

    settings = app.settings
    store = TableReadinessStore.from_clients(app.clients, settings.readiness_table)
    store.ensure_table()
    clock = app.engine.clock

    def view(run_id: str) -> dict[str, Any]:
        found = app.engine.get(run_id)
        return run_view(found.run, found.history)

    deps = ReadinessDeps(app.deps.asr, compute or build_compute_usages(settings), store, app.deps.notifier, clock)
    status = StatusService(
        app.deps.asr, app.engine, store, clock, view, cache_seconds=settings.status_cache_seconds,
        decisions=_Decisions(app), on_items=app.telemetry.record_items if app.telemetry else None,
    )  # fmt: skip
    built = Monitoring(deps, status)
    app.parts[_KEY] = built
    return built


def evaluate_readiness(app: App, *, policy: Policy | PolicyErrors | None = None) -> ReadinessReport:
    """One evaluation of every target (the readiness timer's work)."""
    settings = app.settings
    try:
        accounts: dict[str, str] | str = settings.cache_storage_accounts()
    except ValueError as exc:
        accounts = str(exc)
    return run_readiness(
        monitoring(app).readiness,
        policy=load_policy(app) if policy is None else policy,
        cache_accounts=accounts,
        app_region=settings.app_region,
    )
