"""``GET /api/status``: gather (one vault-wide item listing, run index, readiness store, decisions) -> compose,
answered from a short cache so that a dashboard refreshing every few seconds costs no extra ARM reads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lib.domain.asr import ProtectedItem
from lib.domain.runs import ACTIVE, RunStatus, RunSummary
from lib.engine import Engine, RunNotFound
from lib.guard import Target
from lib.ports.clock import Clock
from lib.ports.readiness_store import ReadinessStore
from lib.ports.site_recovery import SiteRecovery
from lib.status import tiles
from lib.status.decisions import DecisionSource, NoDecisions
from lib.workflows.deps import DrDeps

__all__ = ["DECISIONS_SHOWN", "StatusService", "target_of_view"]

DECISIONS_SHOWN = 20
DRILLS_SCANNED = 100  # newest index rows looked at for the last drill per target
RunView = Callable[[str], dict[str, Any]]  # run id -> the API's run view


def target_of_view(view: dict[str, Any]) -> str:
    """``lib.guard.Target.key`` of a run view's requested target."""
    target = view["request"]["target"]
    plan = target.get("recoveryPlan")
    return (Target(recovery_plan=plan) if plan else Target(vms=tuple(target.get("vms") or ()))).key


@dataclass
class _Cached:
    at: datetime
    body: dict[str, Any]


class StatusService:
    def __init__(
        self,
        asr: SiteRecovery,
        engine: Engine[DrDeps],
        readiness: ReadinessStore,
        clock: Clock,
        run_view: RunView,
        *,
        cache_seconds: float = 30.0,
        decisions: DecisionSource | None = None,
        on_items: Callable[[Sequence[ProtectedItem]], None] | None = None,
    ) -> None:
        self._asr, self._engine, self._readiness, self._clock = asr, engine, readiness, clock
        self._run_view = run_view
        self._ttl = timedelta(seconds=cache_seconds)
        self.decisions: DecisionSource = decisions or NoDecisions()
        self._cached: _Cached | None = None
        self._on_items = on_items  # telemetry: VMs by replication health, RPO per VM
        self._lock = threading.Lock()

    def get(self) -> dict[str, Any]:
        """The status, from the cache while it is younger than ``cache_seconds`` (one refresh at a time)."""
        with self._lock:
            now = self._clock.now()
            if self._cached is None or now - self._cached.at >= self._ttl:
                self._cached = _Cached(now, self._compose(now))
            cached = self._cached
        age = (now - cached.at).total_seconds()
        return {**cached.body, "cache": {"generatedAt": cached.at.isoformat(), "ageSeconds": round(age, 3),
                                         "maxAgeSeconds": self._ttl.total_seconds()}}  # fmt: skip

    def clear(self) -> None:
        """Forget the cached answer: the next ``get`` reads ASR again."""
        with self._lock:
            self._cached = None

    def _compose(self, now: datetime) -> dict[str, Any]:
        items = self._asr.list_protected_items()
        if self._on_items is not None:
            self._on_items(items)
        readiness = self._readiness.latest()
        last = self._readiness.last_evaluation()
        return {
            "generatedAt": now.isoformat(),
            "tiles": {
                "replicatedItems": tiles.replicated_items_tile(items),
                "failoverTestSuccess": tiles.failover_test_tile(items, now),
                "configurationIssues": tiles.configuration_issues(readiness, items),
            },
            "rpo": tiles.rpo_rows(items),
            "readiness": [r.to_json() for r in readiness],
            "lastReadinessEvaluation": last.isoformat() if last else None,
            "activeRuns": self._active_runs(),
            "lastDrills": self._last_drills(),
            "decisions": [dict(d) for d in self.decisions.recent(DECISIONS_SHOWN)],
        }

    def _active_runs(self) -> list[dict[str, Any]]:
        rows: list[RunSummary] = []
        for status in sorted(ACTIVE):
            rows += self._engine.list_runs(status, 100).items
        out = []
        for row in sorted(rows, key=lambda r: r.created_at, reverse=True):
            view = self._view(row.run_id)
            if view is None:
                continue
            out.append({"runId": row.run_id, "kind": view["kind"], "status": view["status"], "step": view["step"],
                        "reason": view["reason"], "createdAt": view["createdAt"],
                        "vms": [{"vm": v["vm"], "phase": v["phase"], "state": v["state"],
                                 "reprotectPercent": v["reprotectPercent"]} for v in view["vms"]]})  # fmt: skip
        return out

    def _view(self, run_id: str) -> dict[str, Any] | None:
        try:
            return self._run_view(run_id)
        except RunNotFound:
            return None  # removed between the listing and the read

    def _last_drills(self) -> list[dict[str, Any]]:
        """The newest finished drill of each target, with its RTO/RPO evidence."""
        seen: dict[str, dict[str, Any]] = {}
        for row in self._engine.list_runs(None, DRILLS_SCANNED).items:  # newest first
            if row.workflow != "drill" or row.status in ACTIVE:
                continue
            view = self._view(row.run_id)
            if view is None:
                continue
            key = target_of_view(view)
            if key in seen:
                continue
            evidence = view.get("evidence") or {}
            seen[key] = {"target": key, "runId": row.run_id, "status": view["status"],
                         "succeeded": view["status"] == RunStatus.SUCCEEDED.value, "finishedAt": view["updatedAt"],
                         "reason": view["reason"], "rtoSeconds": evidence.get("rtoSeconds"),
                         "rpoSeconds": evidence.get("rpoSeconds")}  # fmt: skip
        return [seen[k] for k in sorted(seen)]
