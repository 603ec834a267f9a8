"""The drill timer: observe (policy, ASR items and plans, our runs) -> decide (``due_drills``, ``choose_cleanups``,
both pure) -> act (start due drills through the engine, clean up abandoned test failovers), recording every
decision with its reason through ``DrillLog``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from lib.domain.errors import AutopilotError
from lib.drills.abandoned import WAITING, Ownership, choose_cleanups
from lib.drills.freshness import plan_vms_of, target_vms, vm_histories
from lib.drills.runs import RunFacts, read_run_facts
from lib.guard.drills import DrillAction, DrillFacts, due_drills
from lib.guard.parse import PolicyErrors
from lib.guard.policy import Policy
from lib.policy_source import load_policy as policy_from_settings
from lib.ports.clock import Clock
from lib.ports.drill_log import DrillLog, IncidentView
from lib.ports.run_store import RunStore
from lib.ports.site_recovery import SiteRecovery
from lib.settings import Settings

if TYPE_CHECKING:
    from lib.bootstrap import App
    from lib.domain.asr import ProtectedItem

__all__ = ["ACTOR", "DrillTimer", "TickReport", "drill_timer", "load_policy"]

ACTOR = "drill-scheduler"

# (drill request body, idempotency key, actor) -> (run id, created): ``App.start`` validates the body like the API does.
StartDrill = Callable[[Mapping[str, Any], str, str], tuple[str, bool]]


@dataclass
class TickReport:
    started: list[dict[str, Any]] = field(default_factory=list)  # {drill, runId, created, reason}
    skipped: list[dict[str, Any]] = field(default_factory=list)  # {drill, reason}
    cleaned: list[dict[str, Any]] = field(default_factory=list)  # {vm, job, reason}
    left: list[dict[str, Any]] = field(default_factory=list)  # test failovers waiting, not cleaned: {vm, reason}
    policy_errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"started": self.started, "skipped": self.skipped, "cleaned": self.cleaned, "left": self.left,
                "policyErrors": self.policy_errors}  # fmt: skip


def load_policy(env: Mapping[str, str] | None = None) -> Policy | PolicyErrors:
    """The policy of ``DR_POLICY`` / ``DR_POLICY_FILE`` (the app settings)."""
    return policy_from_settings(Settings.from_env(env), quiet=True)


@dataclass(frozen=True)
class _Seen:
    """One tick's observations."""

    items: list[ProtectedItem]
    plan_vms: Mapping[str, tuple[str, ...]]  # recovery plan (lower case) -> its VMs (lower case)
    own: RunFacts
    now: datetime


@dataclass
class DrillTimer:
    asr: SiteRecovery
    runs: RunStore
    start_drill: StartDrill
    clock: Clock
    log: DrillLog
    incidents: IncidentView
    abandoned_after: timedelta = timedelta(hours=24)

    def tick(self, policy: Policy | PolicyErrors) -> TickReport:
        report = TickReport()
        items = self.asr.list_protected_items()
        plan_vms = plan_vms_of(self.asr, items) if isinstance(policy, Policy) and policy.drills else {}
        own = read_run_facts(self.runs, plan_vms)
        now = self.clock.now()
        if isinstance(policy, PolicyErrors):
            # A bad policy starts nothing; abandoned test failovers are cleaned up all the same.
            report.policy_errors = list(policy.lines)
            self.log.record("drill-skip", "*", "the policy is invalid: no drill starts", {"errors": policy.lines})
        elif policy.drills:
            self._drills(policy, _Seen(items, plan_vms, own, now), report)
        self._cleanups(items, own, now, report)
        return report

    # -- scheduled drills ---------------------------------------------------------------------------------------

    def _facts(self, policy: Policy, seen: _Seen) -> DrillFacts:
        by_vm = {item.vm_name.lower(): item for item in seen.items}
        own = seen.own
        targets = {name: target_vms(drill.target, by_vm, seen.plan_vms) for name, drill in policy.drills.items()}
        regions = {name: frozenset(by_vm[vm].primary_location.lower() for vm in vms) for name, vms in targets.items()}
        every_region = frozenset().union(*regions.values()) if regions else frozenset()
        histories = vm_histories(seen.items, own)
        return DrillFacts(
            target_vms=targets,
            target_regions=regions,
            vms=histories,
            busy_vms=own.busy,
            incident_regions=frozenset(r for r in every_region if self.incidents.active(r)),
            kill_switch=policy.kill_switch,
        )

    def _drills(self, policy: Policy, seen: _Seen, report: TickReport) -> None:
        facts = self._facts(policy, seen)
        for decision in due_drills(policy.drills, seen.now, facts):
            # What a decisions store needs besides the reason: where, which target, and the policy in force.
            regions = sorted(facts.target_regions.get(decision.drill, frozenset()))
            target = policy.drills[decision.drill].target.key
            details = {**decision.to_json(), "regions": regions, "target": target, "policyHash": policy.policy_hash}
            if decision.action is DrillAction.SKIP:
                report.skipped.append({"drill": decision.drill, "reason": decision.reason})
                self.log.record("drill-skip", decision.drill, decision.reason, details)
                continue
            drill = policy.drills[decision.drill]
            try:
                run_id, created = self.start_drill(drill.request_body(), decision.idempotency_key, ACTOR)
            except AutopilotError as exc:  # e.g. a policy drill the request parser refuses
                reason = f"due, but the drill could not start: {exc}"
                report.skipped.append({"drill": decision.drill, "reason": reason})
                self.log.record("drill-skip", decision.drill, reason, details)
                continue
            report.started.append({"drill": drill.name, "runId": run_id, "created": created, "reason": decision.reason})
            if created:  # a second fire in the same period finds the run the first one started
                self.log.record("drill-start", drill.name, decision.reason, {**details, "runId": run_id})

    # -- abandoned test failovers -------------------------------------------------------------------------------

    def _job_ends(self, items: list[ProtectedItem], own: RunFacts) -> dict[str, datetime | None]:
        ends: dict[str, datetime | None] = {}
        for item in items:
            job = item.current_job_name
            if item.test_failover_state != WAITING or not job or job in own.ended_drill_jobs:
                continue
            if item.vm_name.lower() in own.busy:
                continue
            try:
                found = self.asr.get_job(job)
            except AutopilotError:  # ASR keeps jobs for a limited time: the age is then unknown
                ends[job] = None
                continue
            ends[job] = found.end_time or found.start_time
        return ends

    def _cleanups(self, items: list[ProtectedItem], own: RunFacts, now: datetime, report: TickReport) -> None:
        # Any active run holding the VM keeps us off it: a drill cleans up its own, and no action is sent to a VM
        # another run works on.
        whose = Ownership(own.busy, own.ended_drill_jobs, self._job_ends(items, own))
        for choice in choose_cleanups(items, whose, now, self.abandoned_after):
            if not choice.clean:
                report.left.append({"vm": choice.vm, "reason": choice.reason})
                continue
            comment = f"Site Recovery Autopilot: {choice.reason}"[:1000]
            try:
                job = self.asr.test_failover_cleanup(choice.item.ref, comments=comment)
            except AutopilotError as exc:
                report.left.append({"vm": choice.vm, "reason": f"cleanup refused by ASR: {exc}"})
                self.log.record("test-failover-cleanup", choice.vm, f"cleanup refused by ASR: {exc}", {})
                continue
            report.cleaned.append({"vm": choice.vm, "job": job, "reason": choice.reason})
            where = {"job": job, "regions": [choice.item.primary_location.lower()], "target": choice.vm}
            self.log.record("test-failover-cleanup", choice.vm, choice.reason, where)


def drill_timer(app: App, log: DrillLog | None = None, incidents: IncidentView | None = None) -> DrillTimer:
    """The timer wired on the app: its decisions go to the autopilot's decisions store, and a region's incidents
    are the autopilot's recorded signals, weighed like the guard weighs them (tests may pass their own)."""
    from lib.autopilot.drill_bridge import DecisionDrillLog, SignalIncidents

    if log is None or incidents is None:
        wired = app.autopilot()
        log = log or DecisionDrillLog(wired.decisions, app.engine.clock)
        incidents = incidents or SignalIncidents(wired.signals, wired.autopilot.policy)

    def start(body: Mapping[str, Any], key: str, actor: str) -> tuple[str, bool]:
        started = app.start("drill", body, key=key, actor=actor)
        return started.run_id, started.created

    return DrillTimer(
        asr=app.deps.asr,
        runs=app.storage.store,
        start_drill=start,
        clock=app.engine.clock,
        log=log,
        incidents=incidents,
        abandoned_after=timedelta(hours=app.settings.drill_abandoned_hours),
    )
