"""Evaluate every target, pure: the policy's targets and every recovery plan in the vault, each with its checks.

``Observation`` is everything read (or the error text of a read that failed); ``evaluate`` turns it into one
``TargetReadiness`` per target. A bad policy still evaluates the vault's plans and says why nothing would act.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from lib.domain.asr import ProtectedItem, RecoveryPlan, VaultHealth
from lib.guard import Policy, PolicyErrors, RegionPolicy, Target
from lib.ports.compute import Usage
from lib.readiness import checks
from lib.readiness.model import Check, TargetReadiness

__all__ = ["Observation", "TargetSpec", "evaluate", "target_specs"]


@dataclass(frozen=True)
class Observation:
    now: datetime
    policy: Policy | PolicyErrors
    items: Sequence[ProtectedItem] | str  # the vault-wide listing, or why it could not be read
    plans: Sequence[RecoveryPlan] | str
    vault_health: VaultHealth | str
    usages: Mapping[str, Sequence[Usage] | str] = field(default_factory=dict)  # recovery region -> counters
    cache_accounts: Mapping[str, str] | str = field(default_factory=dict)
    app_region: str = ""


@dataclass(frozen=True)
class TargetSpec:
    """A target to evaluate: its key, the region it protects and its policy section (None: not in the policy)."""

    target: Target
    region: str
    policy: RegionPolicy | None


def target_specs(policy: Policy | PolicyErrors, plans: Sequence[RecoveryPlan] | str) -> list[TargetSpec]:
    specs: list[TargetSpec] = []
    if isinstance(policy, Policy):
        for region, section in sorted(policy.regions.items()):
            specs += [TargetSpec(t, region, section) for t in section.targets]
    covered = {s.target.recovery_plan for s in specs if s.target.recovery_plan}
    if not isinstance(plans, str):
        specs += [TargetSpec(Target(recovery_plan=p.name), "", None) for p in plans if p.name not in covered]
    return specs


def _members(spec: TargetSpec, items: Sequence[ProtectedItem], plans: Sequence[RecoveryPlan]) -> tuple[
    list[ProtectedItem], RecoveryPlan | None, list[str], str | None]:  # fmt: skip
    """(the target's items, its plan, the VM names asked for, the name of a plan that is missing)."""
    if spec.target.recovery_plan is not None:
        plan = next((p for p in plans if p.name.lower() == spec.target.recovery_plan.lower()), None)
        if plan is None:
            return [], None, [], spec.target.recovery_plan
        by_name = {i.name: i for i in items}
        members = [by_name[n] for n in plan.item_names if n in by_name]
        return members, plan, [m.vm_name for m in members], None
    by_vm = {i.vm_name.lower(): i for i in items}
    wanted = list(spec.target.vms)
    return [by_vm[v.lower()] for v in wanted if v.lower() in by_vm], None, wanted, None


def _region(spec: TargetSpec, members: Sequence[ProtectedItem]) -> str:
    if spec.region:
        return spec.region
    return members[0].initial_primary_location.lower() if members else ""


def _recovery_region(members: Sequence[ProtectedItem]) -> str:
    """Where the VMs would fail over to now: the current recovery side (the original primary once reprotected)."""
    return members[0].recovery_location.lower() if members else ""


def _read_failures(obs: Observation) -> list[Check]:
    failed = [(what, value) for what, value in (("protected items", obs.items), ("recovery plans", obs.plans))
              if isinstance(value, str)]  # fmt: skip
    return [checks.unreadable(what, text) for what, text in failed]


def _evaluate_one(spec: TargetSpec, obs: Observation, policy_lines: Sequence[str]) -> TargetReadiness:
    items = [] if isinstance(obs.items, str) else list(obs.items)
    plans = [] if isinstance(obs.plans, str) else list(obs.plans)
    members, plan, wanted, plan_missing = _members(spec, items, plans)
    region = _region(spec, members)
    recovery = _recovery_region(members)
    section = spec.policy
    cadence = section.require_drill_within_days if section else None
    found: list[Check] = _read_failures(obs)
    if not found:
        found.append(checks.missing_resources(wanted, members, plan_missing))
    found += [
        checks.replication_health(members),
        checks.rpo(members, section.rpo_target_seconds if section else None),
        checks.failover_allowed(members, plan),
        checks.test_failover_age(members, obs.now, cadence),
        checks.cache_storage(members, obs.cache_accounts),
        checks.agent_updates(members, obs.now),
        checks.infrastructure(obs.vault_health),
        checks.app_region(obs.app_region, region),
        checks.policy_errors(policy_lines),
    ]
    if members:  # without a VM there is no recovery region to weigh quota in
        found.append(checks.quota(members, recovery, obs.usages.get(recovery, "not read")))
    return TargetReadiness(spec.target.key, region, tuple(found), obs.now)


def evaluate(obs: Observation) -> list[TargetReadiness]:
    policy_lines = list(obs.policy.lines) if isinstance(obs.policy, PolicyErrors) else []
    return [_evaluate_one(spec, obs, policy_lines) for spec in target_specs(obs.policy, obs.plans)]
