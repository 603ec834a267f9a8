"""Resource -> region, with fakes of the vault and of ARM: protected VMs from the vault's items, other resources
from one ARM read remembered per resource, and anything unresolvable ignored with the reason."""

from __future__ import annotations

from datetime import timedelta

from lib.adapters.clocks import ManualClock
from lib.autopilot.resources import MAX_REMEMBERED, ResourceRegions, region_of_location
from lib.autopilot.vault_index import VaultIndex, vms_by_id
from lib.ports.resource_locations import LocationUnavailable
from lib.signals import IgnoreCode, Ignored, RegionHealthSignal, SignalState, Source
from tests.unit.autopilot.fakes import SUB, T0, FakeLocations, FakeVault, item, vm_id

STORAGE = f"{SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/sa1"
LB = f"{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/loadBalancers/lb1"


def signal(resource: str | None = None, regions: tuple[str, ...] = ()) -> RegionHealthSignal:
    return RegionHealthSignal(
        source=Source.HEALTH_RESOURCES, incident=f"health-resources:{resource}", notification="health-resources:n1",
        state=SignalState.ACTIVE, at=T0, regions=regions, resource_id=resource, health="Unavailable",
    )  # fmt: skip


def resolver(
    vault: FakeVault, locations: FakeLocations, clock: ManualClock | None = None
) -> tuple[ResourceRegions, ManualClock]:
    now = clock or ManualClock(T0)
    return ResourceRegions(VaultIndex(vault, now), locations, now), now


def test_a_signal_naming_regions_passes_unchanged_without_any_read() -> None:
    vault, arm = FakeVault([item("vm1")]), FakeLocations({})
    resolve, _ = resolver(vault, arm)
    named = signal(STORAGE, regions=("northeurope",))
    assert resolve(named) is named
    assert (vault.calls, arm.reads) == (0, [])


def test_a_protected_vm_resolves_from_the_vault_without_an_arm_read_any_case() -> None:
    vault, arm = FakeVault([item("vm1"), item("vm2", primary="northeurope", recovery="westeurope")]), FakeLocations({})
    resolve, _ = resolver(vault, arm)
    first = resolve(signal(vm_id("vm1").upper()))
    second = resolve(signal(vm_id("vm2").replace("resourcegroups", "resourceGroups")))
    assert isinstance(first, RegionHealthSignal) and first.regions == ("eastus",)
    assert isinstance(second, RegionHealthSignal) and second.regions == ("northeurope",)
    assert first.resource_id == vm_id("vm1").upper()  # the rest of the signal is kept
    assert arm.reads == [] and vault.calls == 1  # the vault is listed once for both


def test_a_failed_over_vm_in_the_recovery_region_resolves_to_that_region() -> None:
    vault = FakeVault([item("vm1", failed_over=True)])
    resolve, _ = resolver(vault, FakeLocations({}))
    found = resolve(signal(vm_id("vm1", "rg-app-asr")))
    assert isinstance(found, RegionHealthSignal) and found.regions == ("westus",)


def test_another_resource_is_read_once_and_remembered_until_the_ttl() -> None:
    arm = FakeLocations({STORAGE: "westeurope", LB: "East US"})
    resolve, clock = resolver(FakeVault([item("vm1")]), arm)
    for _ in range(5):
        found = resolve(signal(STORAGE))
        assert isinstance(found, RegionHealthSignal) and found.regions == ("westeurope",)
    lb = resolve(signal(LB.upper()))
    assert isinstance(lb, RegionHealthSignal) and lb.regions == ("eastus",)  # a display name is mapped
    assert arm.reads == [STORAGE, LB.upper()]
    clock.advance(timedelta(hours=13))
    resolve(signal(STORAGE))
    assert arm.reads[-1] == STORAGE and len(arm.reads) == 3


def test_a_missing_resource_is_ignored_with_the_reason_and_the_miss_remembered_briefly() -> None:
    arm = FakeLocations({})
    resolve, clock = resolver(FakeVault([]), arm)
    first = resolve(signal(STORAGE))
    assert isinstance(first, Ignored) and first.code is IgnoreCode.UNRESOLVED_REGION
    assert first.reason == f"the region of {STORAGE} could not be resolved: ARM answered 404 ResourceNotFound"
    assert first.source is Source.HEALTH_RESOURCES and first.notification_key == "health-resources:n1"
    assert resolve(signal(STORAGE)) == first and len(arm.reads) == 1
    clock.advance(timedelta(minutes=6))
    resolve(signal(STORAGE))
    assert len(arm.reads) == 2


def test_a_transient_failure_is_not_remembered() -> None:
    arm = FakeLocations({STORAGE: LocationUnavailable(STORAGE, "ARM answered 503", status=503, transient=True)})
    resolve, _ = resolver(FakeVault([]), arm)
    for _ in range(2):
        found = resolve(signal(STORAGE))
        assert isinstance(found, Ignored) and "ARM answered 503" in found.reason
    assert len(arm.reads) == 2


def test_a_global_resource_and_a_signal_without_resource_are_ignored() -> None:
    front_door = f"{SUB}/resourceGroups/rg/providers/Microsoft.Cdn/profiles/fd"
    resolve, _ = resolver(FakeVault([]), FakeLocations({front_door: "global"}))
    global_one = resolve(signal(front_door))
    assert isinstance(global_one, Ignored) and global_one.code is IgnoreCode.UNRESOLVED_REGION
    assert "not a regional resource (location 'global')" in global_one.reason
    nothing = resolve(signal(None))
    assert isinstance(nothing, Ignored) and nothing.code is IgnoreCode.NO_REGION


def test_an_unreadable_vault_falls_back_to_arm() -> None:
    vault = FakeVault([item("vm1")])
    vault.fail = True
    arm = FakeLocations({vm_id("vm1"): "eastus"})
    resolve, _ = resolver(vault, arm)
    found = resolve(signal(vm_id("vm1")))
    assert isinstance(found, RegionHealthSignal) and found.regions == ("eastus",)
    assert arm.reads == [vm_id("vm1")]


def test_the_vault_is_listed_again_after_its_ttl() -> None:
    vault = FakeVault([item("vm1")])
    clock = ManualClock(T0)
    index = VaultIndex(vault, clock, ttl=timedelta(minutes=5))
    assert index.vm(vm_id("vm1")) is not None and index.protected_from("EASTUS") == ["vm1"]
    vault.items = [item("vm1"), item("vm2")]
    assert index.vm(vm_id("vm2")) is None and vault.calls == 1
    clock.advance(timedelta(minutes=5))
    assert index.vm(vm_id("vm2")) is not None and vault.calls == 2


def test_memory_stays_bounded() -> None:
    arm = FakeLocations({f"{STORAGE}{n}": "eastus" for n in range(MAX_REMEMBERED + 1)})
    resolve, _ = resolver(FakeVault([]), arm)
    for n in range(MAX_REMEMBERED + 1):
        resolve(signal(f"{STORAGE}{n}"))
    reads = len(arm.reads)
    resolve(signal(f"{STORAGE}0"))  # forgotten when the memory was full: read again
    assert len(arm.reads) == reads + 1


def test_locations_map_to_regions() -> None:
    assert region_of_location("eastus") == "eastus"
    assert region_of_location("North Europe") == "northeurope"
    assert region_of_location("global") is None and region_of_location("") is None
    vms = vms_by_id([item("a", failed_over=True)])
    assert {v.region for v in vms.values()} == {"eastus", "westus"}
