"""``Sources.intake(policy)``: the resolver the signal intake calls: region first, then the protected-VM share."""

from __future__ import annotations

from datetime import timedelta

from lib.adapters.clocks import ManualClock
from lib.autopilot.probing import ProbeRunner
from lib.autopilot.resources import ResourceRegions
from lib.autopilot.sources import Sources
from lib.autopilot.vault_index import VaultIndex
from lib.autopilot.vm_share import VmShare
from lib.guard.parse import PolicyError, PolicyErrors
from lib.guard.policy import Policy, RegionPolicy, Target
from lib.signals import IgnoreCode, Ignored, RegionHealthSignal, SignalState, Source
from tests.unit.autopilot.fakes import (
    SUB,
    T0,
    FakeLocations,
    FakeVault,
    ListQueue,
    MemoryProbeStates,
    MemoryVmHealth,
    ScriptedProbe,
    item,
    vm_id,
)

POLICY = Policy({"eastus": RegionPolicy((Target(vms=("vm1", "vm2")),), unavailable_vm_share=0.5)})
STORAGE = f"{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa"


def sources() -> tuple[Sources, MemoryVmHealth]:
    clock, store = ManualClock(T0), MemoryVmHealth()
    vault = VaultIndex(FakeVault([item("vm1"), item("vm2")]), clock)
    resolve = ResourceRegions(vault, FakeLocations({STORAGE: "eastus"}), clock)
    probes = ProbeRunner(ScriptedProbe({}), MemoryProbeStates(), ListQueue(), clock)
    return Sources(resolve, VmShare(vault, store), probes), store


def unavailable(resource: str, minute: int = 1) -> RegionHealthSignal:
    return RegionHealthSignal(Source.RESOURCE_HEALTH, f"resource-health:{resource}", f"resource-health:{minute}",
                              SignalState.ACTIVE, T0 + timedelta(minutes=minute), resource_id=resource)  # fmt: skip


def test_a_protected_vm_counts_toward_its_regions_share() -> None:
    src, store = sources()
    resolve = src.intake(POLICY)
    flipped = resolve(unavailable(vm_id("vm1")))
    assert isinstance(flipped, RegionHealthSignal) and flipped.incident.startswith("resource-health:vm-share:eastus@")
    assert isinstance(resolve(unavailable(vm_id("vm2"), 2)), Ignored)  # already down: no second flip
    assert store.share("eastus").value.active_since == flipped.at
    other = resolve(unavailable(STORAGE))
    assert isinstance(other, RegionHealthSignal) and other.regions == ("eastus",) and other.resource_id == STORAGE
    missing = resolve(unavailable(f"{STORAGE}x"))
    assert isinstance(missing, Ignored) and missing.code is IgnoreCode.UNRESOLVED_REGION


def test_with_a_bad_policy_only_the_region_is_resolved() -> None:
    src, store = sources()
    placed = src.intake(PolicyErrors((PolicyError("regions", "bad"),)))(unavailable(vm_id("vm1")))
    assert isinstance(placed, RegionHealthSignal) and placed.regions == ("eastus",) and store.vms == {}
