"""Resource Health of the protected VMs -> a region signal, on fakes: the share turns active at the threshold and
resolves below it; the order reports arrive in, duplicates and stale reports change nothing."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from lib.adapters.clocks import ManualClock
from lib.autopilot.vault_index import VaultIndex
from lib.autopilot.vm_share import VmShare, newer
from lib.guard.policy import Policy, RegionPolicy, Target
from lib.guard.vm_share import VmAvailability
from lib.ports.source_state import StaleWrite
from lib.signals import IgnoreCode, Ignored, RegionHealthSignal, SignalState, Source
from tests.unit.autopilot.fakes import SUB, T0, FakeVault, MemoryVmHealth, item, vm_id

VMS = ["vm1", "vm2", "vm3", "vm4"]
POLICY = Policy({"eastus": RegionPolicy((Target(vms=tuple(VMS)),), unavailable_vm_share=0.5)})


def report(vm: str, minute: int, *, down: bool = True, health: str | None = None, **kw: object) -> RegionHealthSignal:
    state = SignalState.ACTIVE if down else SignalState.RESOLVED
    return RegionHealthSignal(
        source=Source.RESOURCE_HEALTH, incident=f"resource-health:{vm_id(vm)}", state=state,
        notification=f"resource-health:{vm}-{minute}-{state.value}", at=T0 + timedelta(minutes=minute),
        regions=("eastus",), resource_id=vm_id(vm), health=health or ("Unavailable" if down else "Available"),
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def share(items: list[str] | None = None) -> tuple[VmShare, MemoryVmHealth]:
    store = MemoryVmHealth()
    vault = FakeVault([item(vm, failed_over=True) for vm in (VMS if items is None else items)])
    return VmShare(VaultIndex(vault, ManualClock(T0)), store), store


def feed(vm_share: VmShare, reports: list[RegionHealthSignal]) -> list[RegionHealthSignal]:
    """The distinct region signals raised, as the intake sees them (it deduplicates on the notification key; a
    redelivered flip must be the very same signal)."""
    out = [vm_share(r, POLICY) for r in reports]
    assert all(o is not None for o in out)
    distinct: dict[str, RegionHealthSignal] = {}
    for o in out:
        if isinstance(o, RegionHealthSignal):
            assert distinct.setdefault(o.notification, o) == o
    return list(distinct.values())


def test_the_region_turns_active_at_the_threshold_and_resolves_below_it() -> None:
    vm_share, store = share()
    first = vm_share(report("vm1", 1), POLICY)
    assert isinstance(first, Ignored) and first.code is IgnoreCode.VM_SHARE
    assert first.reason == ("protected VM vm1: 25% of the protected VMs in eastus are unavailable (threshold 50%); "
                            "the region stays up")  # fmt: skip
    active = vm_share(report("vm2", 2), POLICY)
    assert isinstance(active, RegionHealthSignal) and active.active and active.regions == ("eastus",)
    assert active.source is Source.RESOURCE_HEALTH and active.resource_id is None  # a region-level signal
    assert active.incident == f"resource-health:vm-share:eastus@{(T0 + timedelta(minutes=2)).isoformat()}"
    assert active.raw == {"vm": "vm2", "vmNotification": "resource-health:vm2-2-active", "share": 0.5}
    more = vm_share(report("vm3", 3), POLICY)
    assert isinstance(more, Ignored) and "75%" in more.reason and more.reason.endswith("stays down")
    assert vm_share(report("vm3", 4, down=False), POLICY) == Ignored(
        "protected VM vm3: 50% of the protected VMs in eastus are unavailable (threshold 50%); the region stays down",
        IgnoreCode.VM_SHARE, Source.RESOURCE_HEALTH, "resource-health:vm3-4-resolved",
    )  # fmt: skip
    resolved = vm_share(report("vm1", 5, down=False), POLICY)
    assert isinstance(resolved, RegionHealthSignal) and resolved.state is SignalState.RESOLVED
    assert resolved.incident == active.incident and resolved.notification == f"{active.incident}:resolved"
    assert store.share("eastus").value.active_since is None


def test_the_order_of_delivery_changes_nothing() -> None:
    down = [report("vm1", 1), report("vm2", 2)]
    stale = [report("vm1", 0, down=False), report("vm2", 0, down=False)]  # older than the outage: no effect
    outcomes = set()
    for order in itertools.permutations(down + stale):
        vm_share, store = share()
        signals = feed(vm_share, list(order) + list(order))  # every report delivered twice
        assert len(signals) == 1 and signals[0].active
        outcomes.add((signals[0].incident, signals[0].notification, signals[0].at))
        assert {vm: a.available for vm, a in store.latest("eastus").items()} == {"vm1": False, "vm2": False}
    since = (T0 + timedelta(minutes=2)).isoformat()
    assert outcomes == {(f"resource-health:vm-share:eastus@{since}", f"resource-health:vm-share:eastus@{since}:active",
                         T0 + timedelta(minutes=2))}  # fmt: skip


def test_beyond_the_threshold_any_order_raises_one_active_signal() -> None:
    """Which report crosses the threshold depends on arrival; that exactly one signal is raised does not."""
    for order in itertools.permutations([report("vm1", 1), report("vm2", 2), report("vm3", 3), report("vm4", 4)]):
        vm_share, store = share()
        signals = feed(vm_share, list(order))
        assert [s.state for s in signals] == [SignalState.ACTIVE]
        assert store.share("eastus").value.active_since == signals[0].at


def test_recovery_in_any_order_resolves_once() -> None:
    for order in itertools.permutations([report("vm1", 10, down=False), report("vm2", 11, down=False)]):
        vm_share, _ = share()
        feed(vm_share, [report("vm1", 1), report("vm2", 2)])
        signals = feed(vm_share, [*order, *order])
        assert [s.state for s in signals] == [SignalState.RESOLVED]


def test_a_degraded_vm_still_runs_and_counts_as_available() -> None:
    vm_share, _ = share(["vm1", "vm2"])
    result = vm_share(report("vm1", 1, health="Degraded"), POLICY)
    assert isinstance(result, Ignored) and "0%" in result.reason


def test_what_is_not_a_protected_vm_of_a_policy_region_passes_through() -> None:
    vm_share, store = share()
    storage = report("vm1", 1)
    other = RegionHealthSignal(**{**storage.__dict__, "resource_id": f"{SUB}/resourceGroups/r/providers/x/y/z"})
    assert vm_share(other, POLICY) is None
    metric = RegionHealthSignal(**{**storage.__dict__, "source": Source.METRIC})
    assert vm_share(metric, POLICY) is None
    assert vm_share(report("vm1", 1), Policy({})) is None  # eastus has no policy
    assert store.vms == {}
    recovery_vm = RegionHealthSignal(**{**storage.__dict__, "resource_id": vm_id("vm1", "rg-app-asr")})
    assert vm_share(recovery_vm, POLICY) is None  # the failed-over VM counts toward no region's share


def test_maintenance_counts_only_when_the_policy_opts_in() -> None:
    vm_share, store = share(["vm1"])
    planned = report("vm1", 1, maintenance=True)
    result = vm_share(planned, POLICY)
    assert isinstance(result, Ignored) and "does not include it" in result.reason and store.vms == {}
    opted = Policy({"eastus": RegionPolicy((Target(vms=("vm1",)),), include_maintenance=True)})
    assert isinstance(vm_share(planned, opted), RegionHealthSignal)


def test_a_lost_race_is_retried_and_a_lasting_one_raises() -> None:
    vm_share, store = share(["vm1"])
    store.etags.races = 2  # the VM write and the share write each lose once
    assert isinstance(vm_share(report("vm1", 1), POLICY), RegionHealthSignal)
    store.etags.races = 100
    with pytest.raises(StaleWrite):
        vm_share(report("vm1", 2, down=False), POLICY)


def test_same_time_available_wins() -> None:
    at = T0
    assert newer(VmAvailability(True, at), VmAvailability(False, at))
    assert not newer(VmAvailability(False, at), VmAvailability(True, at))
    assert not newer(VmAvailability(False, at), VmAvailability(False, at + timedelta(seconds=1)))


def test_a_redelivered_flip_gives_the_same_signal_again_and_nothing_else_does() -> None:
    vm_share, _ = share()
    vm_share(report("vm1", 1), POLICY)
    first = vm_share(report("vm2", 2), POLICY)
    assert isinstance(first, RegionHealthSignal) and first.active
    assert vm_share(report("vm2", 2), POLICY) == first  # the caller may have crashed before acting on it
    assert isinstance(vm_share(report("vm1", 1), POLICY), Ignored)  # another report's redelivery raises nothing
