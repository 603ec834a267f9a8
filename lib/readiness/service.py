"""One readiness evaluation: observe -> evaluate (pure) -> store, and an operator event per changed target."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from lib.domain.events import READINESS_CHANGED
from lib.guard import Policy, PolicyErrors
from lib.ports.clock import Clock
from lib.ports.compute import ComputeUsages
from lib.ports.notifier import Notifier
from lib.ports.readiness_store import ReadinessStore
from lib.ports.site_recovery import SiteRecovery
from lib.readiness.evaluate import evaluate
from lib.readiness.model import TargetReadiness
from lib.readiness.observe import observe

__all__ = ["EVENT_TYPE", "ReadinessDeps", "ReadinessReport", "changed", "run_readiness"]

log = logging.getLogger("autopilot.readiness")

EVENT_TYPE = READINESS_CHANGED


@dataclass(frozen=True)
class ReadinessDeps:
    asr: SiteRecovery
    compute: ComputeUsages
    store: ReadinessStore
    notifier: Notifier
    clock: Clock


@dataclass(frozen=True)
class ReadinessReport:
    results: list[TargetReadiness]
    changed: list[str] = field(default_factory=list)  # target keys whose state changed


def changed(before: list[TargetReadiness], after: list[TargetReadiness]) -> list[tuple[str | None, TargetReadiness]]:
    """(previous state or None for a new target, new result) for every target whose state is not what it was."""
    previous = {r.target: r.state.value for r in before}
    return [(previous.get(r.target), r) for r in after if previous.get(r.target) != r.state.value]


def run_readiness(
    deps: ReadinessDeps, *, policy: Policy | PolicyErrors, cache_accounts: Mapping[str, str] | str, app_region: str
) -> ReadinessReport:
    now = deps.clock.now()
    observation = observe(
        deps.asr, deps.compute, now=now, policy=policy, cache_accounts=cache_accounts, app_region=app_region
    )
    results = evaluate(observation)
    before = deps.store.latest()
    deps.store.save(results, now)
    moved = changed(before, results)
    for old, result in moved:
        deps.notifier.publish(
            EVENT_TYPE,
            f"readiness/{result.target}",
            {"target": result.target, "region": result.region, "from": old, "to": result.state.value,
             "reasons": result.reasons, "evaluatedAt": result.evaluated_at.isoformat()},
        )  # fmt: skip
        log.info("readiness of %s: %s -> %s", result.target, old, result.state.value)
    return ReadinessReport(results, [r.target for _, r in moved])
