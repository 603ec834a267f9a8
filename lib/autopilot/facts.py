"""The facts the guard weighs per target, read from the run index and ASR (observe, before the pure decide).

Read lazily: ``LazyFacts`` computes them the first time ``decide`` asks (only decisions that reach the cap and the
targets do), once per evaluation. Runs of the autopilot are recognised by their idempotency key
(``auto:<region>:<incident>:<target>``): cooldown and "one run per incident" come from those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from lib.autopilot.orders import auto_key
from lib.domain.dr import DrRequest, request_from_json
from lib.domain.errors import ResourceNotFound
from lib.domain.runs import RunSummary
from lib.drills.freshness import last_drill_ok
from lib.guard import RegionPolicy, Target, TargetFacts
from lib.ports.run_store import RunStore
from lib.ports.site_recovery import SiteRecovery

__all__ = ["RECENT_RUNS", "LazyFacts", "RunFacts"]

RECENT_RUNS = 500  # newest index rows read for cooldown, incidents and drills (one page)
EXPIRED = "approval expired"  # how a run whose approval expired ends (it never acted: no cooldown)


class LazyFacts(Mapping[str, TargetFacts]):
    def __init__(self, keys: tuple[str, ...], compute: Callable[[], dict[str, TargetFacts]]) -> None:
        self._keys = keys
        self._compute = compute
        self._facts: dict[str, TargetFacts] | None = None

    def _loaded(self) -> dict[str, TargetFacts]:
        if self._facts is None:
            self._facts = self._compute()
        return self._facts

    def __getitem__(self, key: str) -> TargetFacts:
        return self._loaded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True)
class _Runs:
    active: list[tuple[RunSummary, DrRequest]]
    recent: list[RunSummary]


@dataclass
class RunFacts:
    """``FactsSource`` over the run store and ASR."""

    store: RunStore
    asr: SiteRecovery

    def __call__(self, region: str, rules: RegionPolicy, incidents: frozenset[str]) -> Mapping[str, TargetFacts]:
        keys = tuple(t.key for t in rules.targets)
        return LazyFacts(keys, lambda: self.read(region, rules, incidents))

    def read(self, region: str, rules: RegionPolicy, incidents: frozenset[str]) -> dict[str, TargetFacts]:
        runs = _Runs(self._active(), self.store.index_list(None, RECENT_RUNS, None).items)
        # The drill gate reads what the drill timer reads: our own drill runs and ASR's last successful test
        # failover of every VM of the target (so a test failover someone ran by hand counts).
        gate = last_drill_ok(self.asr, self.store) if rules.require_drill_within_days is not None else _never
        return {t.key: self._target(region, t, runs, gate, incidents) for t in rules.targets}

    def _active(self) -> list[tuple[RunSummary, DrRequest]]:
        found = []
        for row in self.store.index_active():
            loaded = self.store.load(row.run_id)
            if loaded is not None and loaded.run.active:
                found.append((row, request_from_json(loaded.run.input)))
        return found

    def _target(self, region: str, target: Target, runs: _Runs, gate: Callable[[Target], datetime | None],
                incidents: frozenset[str]) -> TargetFacts:  # fmt: skip
        prefix, suffix = f"auto:{region}:", f":{target.key}"
        mine = [r for r in runs.recent if r.idempotency_key.startswith(prefix) and r.idempotency_key.endswith(suffix)]
        acted = [r.created_at for r in mine if EXPIRED not in r.reason]
        keys = {r.idempotency_key for r in mine}
        return TargetFacts(
            vm_count=self._vm_count(target),
            active_run=next((row.run_id for row, req in runs.active if _covers(req, target)), None),
            last_auto_failover=max(acted, default=None),
            last_drill_ok=gate(target),
            started_incidents=frozenset(i for i in incidents if auto_key(region, i, target.key) in keys),
        )

    def _vm_count(self, target: Target) -> int | None:
        if target.recovery_plan is None:
            return len(target.vms)
        try:
            plan = self.asr.get_recovery_plan(target.recovery_plan)
        except ResourceNotFound:
            return None
        return len(plan.item_names)


def _covers(req: DrRequest, target: Target) -> bool:
    """Whether a run works on (some of) the target: the same plan, or a VM in common."""
    if target.recovery_plan is not None:
        return req.plan == target.recovery_plan
    return bool({v.lower() for v in req.vms} & {v.lower() for v in target.vms})


def _never(target: Target) -> datetime | None:
    return None
