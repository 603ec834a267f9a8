"""When each VM, and each target, last passed a drill: our own finished drill runs and ASR's
``lastSuccessfulTestFailoverTime`` (a test failover run by hand counts). The drill timer decides with it; the
failover policy's drill gate (``requireDrillWithinDays``, ``TargetFacts.last_drill_ok``) reads the same source
through ``last_drill_ok``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from lib.domain.asr import ProtectedItem
from lib.drills.runs import RunFacts, read_run_facts
from lib.guard.drills import VmDrillHistory, target_last_success
from lib.guard.policy import Target
from lib.ports.run_store import RunStore
from lib.ports.site_recovery import SiteRecovery, plans_with_members

__all__ = ["last_drill_ok", "plan_vms_of", "target_vms", "vm_histories"]


def plan_vms_of(asr: SiteRecovery, items: list[ProtectedItem]) -> dict[str, tuple[str, ...]]:
    """Recovery plan (lower case) -> the VMs (lower case) of its protected items."""
    vm_of = {item.name.lower(): item.vm_name.lower() for item in items}
    return {
        plan.name.lower(): tuple(vm_of[name.lower()] for name in plan.item_names if name.lower() in vm_of)
        for plan in plans_with_members(asr)  # the plan list alone has no members
    }


def target_vms(
    target: Target, by_vm: Mapping[str, ProtectedItem], plan_vms: Mapping[str, tuple[str, ...]]
) -> tuple[str, ...]:
    """Pure: the target's VMs (lower case); empty when its plan, or one of its VMs, is not in the vault."""
    if target.recovery_plan is not None:
        return plan_vms.get(target.recovery_plan.lower(), ())
    names = tuple(vm.lower() for vm in target.vms)
    return names if all(vm in by_vm for vm in names) else ()


def vm_histories(items: list[ProtectedItem], own: RunFacts) -> dict[str, VmDrillHistory]:
    """Pure: per VM (lower case), ASR's last successful test failover and our own latest drill on it."""
    out: dict[str, VmDrillHistory] = {}
    for item in items:
        vm = item.vm_name.lower()
        drill = own.last_drill.get(vm)
        out[vm] = VmDrillHistory(
            asr_last_success=item.last_successful_test_failover_time,
            own_last_end=drill.ended if drill else None,
            own_last_passed=drill.passed if drill else False,
            own_last_cleanup_end=drill.cleanup_end if drill else None,
        )
    return out


def last_drill_ok(asr: SiteRecovery, runs: RunStore) -> Callable[[Target], datetime | None]:
    """Observe once (the vault's items and plans, our runs); answer per target when it last passed a drill."""
    items = asr.list_protected_items()
    plans = plan_vms_of(asr, items)
    histories = vm_histories(items, read_run_facts(runs, plans))
    by_vm = {item.vm_name.lower(): item for item in items}
    return lambda target: target_last_success(target_vms(target, by_vm, plans), histories)
