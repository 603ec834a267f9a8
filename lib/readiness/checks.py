"""The readiness checks, pure: facts in, one ``Check`` (state + reason) out. No I/O, no clock.

Each check names what is not ready (``items``) so the status view can list the VMs or settings behind a tile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from lib.domain.asr import Operation, ProtectedItem, RecoveryPlan, VaultHealth
from lib.ports.compute import Usage
from lib.readiness.model import Category, Check, State
from lib.readiness.sizes import family_of, vcpus_of

__all__ = [
    "AGENT_EXPIRY_WARNING",
    "DEFAULT_DRILL_MAX_AGE",
    "agent_updates",
    "app_region",
    "cache_storage",
    "failover_allowed",
    "infrastructure",
    "missing_resources",
    "policy_errors",
    "quota",
    "replication_health",
    "rpo",
    "test_failover_age",
    "unreadable",
]

DEFAULT_DRILL_MAX_AGE = timedelta(days=180)  # no drill cadence set: a test failover older than this is Recommended
AGENT_EXPIRY_WARNING = timedelta(days=30)


def _names(vms: Sequence[ProtectedItem]) -> tuple[str, ...]:
    return tuple(vm.vm_name for vm in vms)


def replication_health(vms: Sequence[ProtectedItem]) -> Check:
    """Failed-over VMs are not expected to replicate (the portal's "Not applicable"); the rest must be Normal."""
    name, cat = "replication health", Category.REPLICATION
    replicating = [vm for vm in vms if not vm.failed_over]
    critical = [vm for vm in replicating if vm.replication_health == "Critical"]
    warning = [vm for vm in replicating if vm.replication_health not in ("Normal", "Critical")]
    if critical:
        codes = sorted({c for vm in critical for c in vm.health_error_codes})
        return Check(name, State.ACTION_REQUIRED, f"Critical: {', '.join(_names(critical))}"
                     + (f" (health errors {', '.join(codes)})" if codes else ""), cat, _names(critical))  # fmt: skip
    if warning:
        listed = ", ".join(f"{vm.vm_name} ({vm.replication_health})" for vm in warning)
        return Check(name, State.WARNING, f"not Normal: {listed}", cat, _names(warning))
    failed_over = [vm for vm in vms if vm.failed_over]
    if failed_over:
        return Check(name, State.WARNING, f"failed over, not replicating: {', '.join(_names(failed_over))}", cat,
                     _names(failed_over))  # fmt: skip
    return Check(name, State.READY, f"{len(vms)} VMs replicate normally", cat)


def rpo(vms: Sequence[ProtectedItem], target_seconds: int | None) -> Check:
    name, cat = "RPO", Category.RPO
    replicating = [vm for vm in vms if not vm.failed_over]
    unknown = [vm for vm in replicating if vm.rpo_seconds is None]
    if target_seconds is None:
        worst = max((vm.rpo_seconds or 0 for vm in replicating), default=0)
        return Check(name, State.READY, f"no rpoTargetSeconds in the policy; worst RPO {worst} s", cat)
    over = [vm for vm in replicating if vm.rpo_seconds is not None and vm.rpo_seconds > target_seconds]
    if over:
        listed = ", ".join(f"{vm.vm_name} {vm.rpo_seconds} s" for vm in over)
        return Check(name, State.ACTION_REQUIRED, f"over the {target_seconds} s target: {listed}", cat, _names(over))
    if unknown:
        return Check(name, State.WARNING, f"no RPO reported yet: {', '.join(_names(unknown))}", cat, _names(unknown))
    return Check(name, State.READY, f"every VM within {target_seconds} s", cat)


def failover_allowed(vms: Sequence[ProtectedItem], plan: RecoveryPlan | None) -> Check:
    """Whether ASR would accept an unplanned failover right now (``allowedOperations``)."""
    name, cat = "unplanned failover allowed", Category.FAILOVER
    op = Operation.UNPLANNED_FAILOVER
    if plan is not None and not plan.allows(op):
        allowed = ", ".join(sorted(plan.allowed_operations)) or "nothing"
        scenario = f" ({plan.current_scenario} running)" if plan.current_scenario else ""
        return Check(name, State.ACTION_REQUIRED, f"plan {plan.name} allows {allowed} now{scenario}", cat,
                     (plan.name,))  # fmt: skip
    blocked = [vm for vm in vms if not vm.allows(op)]
    if blocked:
        listed = ", ".join(f"{vm.vm_name} ({vm.protection_state_description or vm.protection_state})" for vm in blocked)
        return Check(name, State.ACTION_REQUIRED, f"ASR does not allow it for {listed}", cat, _names(blocked))
    return Check(name, State.READY, "ASR allows an unplanned failover of every VM", cat)


def test_failover_age(vms: Sequence[ProtectedItem], now: datetime, cadence_days: int | None) -> Check:
    """The oldest VM's last successful test failover against the drill cadence (or 180 days without one)."""
    name, cat = "last test failover", Category.FAILOVER_TEST
    limit = timedelta(days=cadence_days) if cadence_days else DEFAULT_DRILL_MAX_AGE
    basis = f"the {cadence_days}-day drill cadence" if cadence_days else f"{DEFAULT_DRILL_MAX_AGE.days} days"
    never = [vm for vm in vms if vm.last_successful_test_failover_time is None]
    if never:
        return Check(name, State.WARNING, f"test failover recommended: never tested: {', '.join(_names(never))}",
                     cat, _names(never))  # fmt: skip
    stale = [vm for vm in vms if vm.last_successful_test_failover_time and
             now - vm.last_successful_test_failover_time > limit]  # fmt: skip
    if stale:
        return Check(name, State.WARNING, f"test failover recommended: older than {basis}: "
                     f"{', '.join(_names(stale))}", cat, _names(stale))  # fmt: skip
    oldest = min((vm.last_successful_test_failover_time for vm in vms if vm.last_successful_test_failover_time),
                 default=None)  # fmt: skip
    when = f"; oldest {oldest.isoformat()}" if oldest else ""
    return Check(name, State.READY, f"performed successfully within {basis}{when}", cat)


def cache_storage(vms: Sequence[ProtectedItem], accounts: Mapping[str, str] | str) -> Check:
    """Reprotect needs a cache storage account in the region the VMs fail over to (where they then run).

    ``accounts`` is ``Settings.cache_storage_accounts()``, or the text of its error when the setting is bad."""
    name, cat = "cache storage for reprotect", Category.MISSING_CONFIGURATIONS
    if isinstance(accounts, str):
        return Check(name, State.ACTION_REQUIRED, accounts, cat, ("ASR_CACHE_STORAGE_ACCOUNTS",))
    needed = sorted({vm.recovery_location.lower() for vm in vms if vm.recovery_location})
    missing = [region for region in needed if region not in accounts]
    if missing:
        return Check(name, State.ACTION_REQUIRED, f"no cache storage account for {', '.join(missing)} in "
                     "ASR_CACHE_STORAGE_ACCOUNTS: reprotect after a failover there would fail", cat,
                     tuple(f"ASR_CACHE_STORAGE_ACCOUNTS[{r}]" for r in missing))  # fmt: skip
    return Check(name, State.READY, f"configured for {', '.join(needed) or 'no region'}", cat)


def missing_resources(wanted_vms: Sequence[str], found: Sequence[ProtectedItem], plan_missing: str | None) -> Check:
    name, cat = "target resources", Category.MISSING_RESOURCES
    if plan_missing:
        return Check(name, State.ACTION_REQUIRED, f"recovery plan {plan_missing} is not in the vault", cat,
                     (plan_missing,))  # fmt: skip
    have = {vm.vm_name.lower() for vm in found}
    missing = tuple(vm for vm in wanted_vms if vm.lower() not in have)
    if missing:
        return Check(name, State.ACTION_REQUIRED, f"not protected in the vault: {', '.join(missing)}", cat, missing)
    return Check(name, State.READY, f"all {len(found)} VMs are protected in the vault", cat)


def _needed(vms: Sequence[ProtectedItem]) -> tuple[dict[str, int], list[str]]:
    """vCPUs per usage counter that a failover would start, and the VMs whose size is unknown."""
    needed: dict[str, int] = {"cores": 0}
    unknown: list[str] = []
    for vm in vms:
        if vm.failed_over:
            continue  # already running there
        vcpus = vcpus_of(vm.recovery_vm_size)
        if vcpus is None:
            unknown.append(vm.vm_name)
            continue
        needed["cores"] += vcpus
        family = family_of(vm.recovery_vm_size)
        if family:
            needed[family] = needed.get(family, 0) + vcpus
    return needed, unknown


def quota(vms: Sequence[ProtectedItem], region: str, usages: Sequence[Usage] | str) -> Check:
    """vCPU quota in the recovery region against what the target would start there. ``usages``: the region's
    counters, or the text of the error that kept us from reading them."""
    name, cat = "vCPU quota", Category.SUBSCRIPTION_QUOTA
    if isinstance(usages, str):
        return Check(name, State.WARNING, f"could not read the compute usages of {region}: {usages}", cat)
    needed, unknown = _needed(vms)
    counters = {u.name: u for u in usages}
    short = [(n, want, counters[n].free) for n, want in sorted(needed.items()) if n in counters and
             want > counters[n].free]  # fmt: skip
    if short:
        listed = "; ".join(f"{n} needs {want}, {free} free" for n, want, free in short)
        return Check(name, State.ACTION_REQUIRED, f"not enough quota in {region}: {listed}", cat,
                     tuple(n for n, _, _ in short))  # fmt: skip
    if unknown:
        return Check(name, State.WARNING, f"unknown VM size, vCPUs not counted: {', '.join(unknown)}", cat,
                     tuple(unknown))  # fmt: skip
    total = counters.get("cores")
    room = f", {total.free} free" if total else ""
    return Check(name, State.READY, f"{needed['cores']} vCPUs needed in {region}{room}", cat)


def agent_updates(vms: Sequence[ProtectedItem], now: datetime) -> Check:
    name, cat = "replication agent", Category.SOFTWARE_UPDATES
    expired, due = [], []
    for vm in vms:
        a = vm.agent
        expiries = [t for t in (a.expiry, a.certificate_expiry) if t is not None]
        if any(t <= now for t in expiries):
            expired.append(vm.vm_name)
        elif a.update_required or a.certificate_update_required or any(t - now < AGENT_EXPIRY_WARNING
                                                                      for t in expiries):  # fmt: skip
            due.append(vm.vm_name)
    if expired:
        return Check(name, State.ACTION_REQUIRED, f"agent or certificate expired: {', '.join(expired)}", cat,
                     tuple(expired))  # fmt: skip
    if due:
        return Check(name, State.WARNING, f"agent or certificate update required or expiring within "
                     f"{AGENT_EXPIRY_WARNING.days} days: {', '.join(due)}", cat, tuple(due))  # fmt: skip
    return Check(name, State.READY, "agents current", cat)


def infrastructure(health: VaultHealth | str) -> Check:
    """Vault, fabric and container health errors (``replicationVaultHealth``); they concern every target."""
    name, cat = "vault health", Category.INFRASTRUCTURE
    if isinstance(health, str):
        return Check(name, State.WARNING, f"could not read the vault health: {health}", cat)
    issues = health.infrastructure_issues
    errors = [i for i in issues if i.severity.lower() in ("error", "critical")]
    listed = "; ".join(f"{i.scope} {i.code} {i.message}".strip() for i in (errors or issues))
    if errors:
        return Check(name, State.ACTION_REQUIRED, listed, cat, tuple(f"{i.scope}:{i.code}" for i in errors))
    if issues:
        return Check(name, State.WARNING, listed, cat, tuple(f"{i.scope}:{i.code}" for i in issues))
    return Check(name, State.READY, "no vault, fabric or container errors", cat)


def app_region(app_runs_in: str, protected_region: str) -> Check:
    name, cat = "app region", Category.APP_REGION
    if not app_runs_in:
        return Check(name, State.READY, "unknown (REGION_NAME is not set: a local run)", cat)
    if protected_region and app_runs_in.lower() == protected_region.lower():
        return Check(name, State.ACTION_REQUIRED, f"the app runs in {app_runs_in}, the region it protects: it "
                     "would go down with it", cat, ("REGION_NAME",))  # fmt: skip
    return Check(name, State.READY, f"the app runs in {app_runs_in}", cat)


def policy_errors(errors: Sequence[str]) -> Check:
    name, cat = "policy", Category.POLICY
    if errors:
        return Check(name, State.ACTION_REQUIRED, "the policy is invalid, nothing fails over automatically: "
                     + "; ".join(errors[:5]), cat, ("DR_POLICY",))  # fmt: skip
    return Check(name, State.READY, "valid", cat)


def unreadable(what: str, error: str) -> Check:
    """A read the checks need failed: readiness cannot be vouched for."""
    return Check(f"{what} read", State.WARNING, f"could not read the {what}: {error}", Category.INFRASTRUCTURE)
