"""Resource -> region against the HTTPS emulator with the production adapters (the ASR SDK for the vault's items,
azure-core for the ARM read): one ARM read per resource, a 404 ignored with ARM's reason, and a protected VM
resolved from the vault's items without any ARM read of the VM. The emulator's request counters are the proof."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devhost.local import local_settings
from emulator.launcher import EmulatorInfo
from emulator.urls import RESOURCE
from lib.adapters.arm_resources import READ_OPTIONS, ArmResourceLocations
from lib.adapters.asr_client import ClientOptions, Connection
from lib.adapters.asr_sdk import build_site_recovery
from lib.adapters.clocks import SystemClock
from lib.autopilot.resources import ResourceRegions
from lib.autopilot.vault_index import VaultIndex
from lib.ports.resource_locations import LocationUnavailable
from lib.signals import IgnoreCode, Ignored, RegionHealthSignal, SignalState, Source
from tests.integration.sources.conftest import LB, STORAGE, SUBSCRIPTION, vm_id

pytestmark = pytest.mark.integration

RESOURCE_GET = f"GET {RESOURCE}"
ITEMS_LIST = (
    "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices"
    "/vaults/{resourceName}/replicationProtectedItems"
)
FAST = ClientOptions(retry_total=2, retry_status=1, retry_backoff_factor=0.01, retry_backoff_max=0.05)


def arm(emu: EmulatorInfo) -> ArmResourceLocations:
    settings = local_settings(emu)
    connection = Connection(settings.asr_subscription_id, settings.asr_resource_group, settings.asr_vault_name,
                            settings.asr_arm_endpoint, settings.asr_ca_bundle)  # fmt: skip
    return ArmResourceLocations(connection, options=READ_OPTIONS)


def resolver(emu: EmulatorInfo) -> ResourceRegions:
    clock = SystemClock()
    vault = VaultIndex(build_site_recovery(local_settings(emu), options=FAST), clock)
    return ResourceRegions(vault, arm(emu), clock)


def signal(resource: str) -> RegionHealthSignal:
    incident = f"resource-health:{resource.lower()}"
    return RegionHealthSignal(Source.RESOURCE_HEALTH, incident, "resource-health:n", SignalState.ACTIVE,
                              datetime.now(UTC), resource_id=resource, health="Unavailable")  # fmt: skip


def reads(emu: EmulatorInfo, route: str = RESOURCE_GET) -> int:
    return int(emu.requests_count()["byRoute"].get(route, 0))


def test_another_resource_is_read_once_through_arm_and_then_remembered(emu: EmulatorInfo) -> None:
    resolve = resolver(emu)
    emu.reset_requests()
    for _ in range(5):
        found = resolve(signal(STORAGE))
        assert isinstance(found, RegionHealthSignal) and found.regions == ("westeurope",)
    assert reads(emu) == 1
    lb = resolve(signal(LB.upper()))  # ids compare in any case; ARM routes ignore case
    assert isinstance(lb, RegionHealthSignal) and lb.regions == ("eastus",)
    assert reads(emu) == 2
    assert reads(emu, ITEMS_LIST) == 1  # the vault was asked once, found neither, and is not asked again


def test_a_missing_resource_is_ignored_with_arms_reason(emu: EmulatorInfo) -> None:
    missing = STORAGE.replace("sadata1", "gone")
    resolve = resolver(emu)
    emu.reset_requests()
    found = resolve(signal(missing))
    assert isinstance(found, Ignored) and found.code is IgnoreCode.UNRESOLVED_REGION
    assert found.reason == (
        f"the region of {missing} could not be resolved: ARM answered 404 ResourceNotFound: The Resource "
        "'Microsoft.Storage/storageAccounts/gone' under resource group 'rg-data' was not found. For more details "
        "please go to https://aka.ms/ARMResourceNotFoundFix"
    )
    assert resolve(signal(missing)) == found and reads(emu) == 1  # the miss is remembered for a while


def test_a_protected_vm_resolves_from_the_vault_without_an_arm_read(emu: EmulatorInfo) -> None:
    resolve = resolver(emu)
    emu.reset_requests()
    for vm in ("vm1", "vm2", "VM3"):
        found = resolve(signal(vm_id(vm)))
        assert isinstance(found, RegionHealthSignal) and found.regions == ("eastus",)
    assert reads(emu) == 0 and reads(emu, ITEMS_LIST) == 1
    # ARM itself would have said the same: the emulator answers the VM's own GET too
    assert arm(emu).location_of(vm_id("vm1")) == "eastus"


def test_an_arm_refusal_becomes_the_reason_and_is_not_a_crash(emu: EmulatorInfo) -> None:
    emu.add_fault({"kind": "http", "status": 403, "route": "/{resourceName}", "count": 1,
                   "message": "The client 'app' with object id 'x' does not have authorization"})  # fmt: skip
    try:
        with pytest.raises(LocationUnavailable) as caught:
            arm(emu).location_of(LB)
    finally:
        emu.clear_faults()
    assert caught.value.status == 403 and not caught.value.transient
    assert caught.value.reason == (
        "ARM answered 403 AuthorizationFailed: The client 'app' with object id 'x' does not have authorization"
    )
    assert SUBSCRIPTION in caught.value.resource_id
