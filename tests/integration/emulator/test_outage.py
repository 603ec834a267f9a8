"""A region that is down, through the real SDK: frozen heartbeats and growing RPO, Critical health, a failover
whose shutdown cannot happen, reprotect refused until the region is back, drills in the healthy region."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from azure.mgmt.recoveryservicessiterecovery import models as m

from emulator.launcher import EmulatorError, EmulatorInfo
from tests.integration.emulator.conftest import EmulatorFactory, make_client
from tests.integration.emulator.helpers import (
    TEST_VNET,
    Client,
    begin,
    container_id,
    failover_input,
    find_item,
    make_topology,
    switch_input,
    where,
)
from tests.integration.emulator.test_faults import raw, vault_path

pytestmark = pytest.mark.integration


def _a2a(client: Client, emu: EmulatorInfo, vm: str) -> Any:
    return find_item(client, emu, vm).properties


def test_heartbeats_freeze_rpo_grows_and_health_turns_critical(emu: EmulatorInfo, client: Client) -> None:
    before = _a2a(client, emu, "vm1").provider_specific_details.rpo_in_seconds
    down = emu.region_outage("eastus")
    since = datetime.fromisoformat(down["downRegions"]["eastus"].replace("Z", "+00:00"))
    emu.advance(20 * 60)
    props = _a2a(client, emu, "vm1")
    details = props.provider_specific_details
    assert abs((details.last_heartbeat - since).total_seconds()) < 1  # frozen at the outage start
    assert details.rpo_in_seconds >= before + 20 * 60 - 1
    assert props.replication_health == "Normal"  # not yet past the 30-minute threshold
    emu.advance(15 * 60)
    props = _a2a(client, emu, "vm1")
    assert props.replication_health == "Critical"
    assert "ReplicationHeartbeatLost" in [e.error_code for e in props.health_errors]
    health = client.replication_vault_health.get(emu.resource_group, emu.vault).properties.protected_items_health
    assert "ReplicationHeartbeatLost" in [i.summary_code for i in health.issues]

    emu.region_outage("eastus", down=False)
    props = _a2a(client, emu, "vm1")
    assert props.replication_health == "Normal" and props.provider_specific_details.rpo_in_seconds == before
    emu.advance(60)
    assert _a2a(client, emu, "vm1").provider_specific_details.last_heartbeat > since


def test_outage_failover_reprotect_refused_until_region_back(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    items = client.replication_protected_items
    emu.region_outage("eastus")
    since = datetime.fromisoformat(emu.state()["downRegions"]["eastus"].replace("Z", "+00:00"))
    emu.advance(45 * 60)  # the tail written in these 45 minutes never reached westus

    item = find_item(client, emu, "vm1")
    _, job_name = begin(items.begin_unplanned_failover, rg, vault, *where(item), failover_input(shutdown=True))
    emu.advance(600)
    job = client.replication_jobs.get(rg, vault, job_name).properties
    assert (job.state, job.state_description) == ("Succeeded", "CompletedWithInformation")
    shutdown = next(t for t in job.tasks if t.task_id == "ShutdownVmTask")
    assert shutdown.state_description == "CompletedWithInformation" and shutdown.errors[0].error_level == "Warning"
    point_time = job.custom_details.protected_item_details[0].recovery_point_time
    assert abs((point_time - since).total_seconds()) < 1  # Latest = the last data that reached westus
    assert emu.vm_state("vm1")["runningIn"] == "westus"

    begin(items.begin_failover_commit, rg, vault, *where(item))
    emu.advance(60)
    item = find_item(client, emu, "vm1")
    fabric, container, _ = where(item)
    _, switch_job = begin(client.replication_protection_containers.begin_switch_protection,
                          rg, vault, fabric, container, switch_input(item, container_id(item)))  # fmt: skip
    emu.advance(60)
    failed = client.replication_jobs.get(rg, vault, switch_job).properties
    assert failed.state == "Failed"
    assert failed.errors[0].service_error_details.code == "PrimaryTargetSiteUnavailable"
    item = find_item(client, emu, "vm1")
    assert "SwitchProtection" in item.properties.allowed_operations  # still offered: retry when the region is back

    # The healthy region still runs drills: test failover and cleanup of vm2 (whose primary is down) into westus.
    tfo = m.TestFailoverInput(properties=m.TestFailoverInputProperties(
        failover_direction="PrimaryToRecovery", network_type="VmNetworkAsInput", network_id=TEST_VNET,
        provider_specific_details=m.A2ATestFailoverInput()))  # fmt: skip
    vm2 = find_item(client, emu, "vm2")
    _, tfo_job = begin(items.begin_test_failover, rg, vault, *where(vm2), tfo)
    emu.advance(600)
    cleanup = m.TestFailoverCleanupInput(properties=m.TestFailoverCleanupInputProperties(comments="outage drill"))
    _, cleanup_job = begin(items.begin_test_failover_cleanup, rg, vault, *where(vm2), cleanup)
    emu.advance(600)
    states = [client.replication_jobs.get(rg, vault, j).properties.state for j in (tfo_job, cleanup_job)]
    assert states == ["Succeeded", "Succeeded"]

    emu.region_outage("eastus", down=False)
    _, switch_job = begin(client.replication_protection_containers.begin_switch_protection,
                          rg, vault, fabric, container, switch_input(item, container_id(item)))  # fmt: skip
    emu.advance(15 * 60)
    assert client.replication_jobs.get(rg, vault, switch_job).properties.state == "Succeeded"
    assert emu.vm_state("vm1")["primaryRegion"] == "westus"


def test_topology_can_start_with_a_region_down(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory(make_topology(downRegions=["eastus"]))
    client = make_client(emu)
    assert list(emu.state()["downRegions"]) == ["eastus"]
    emu.advance(40 * 60)
    assert find_item(client, emu, "vm1").properties.replication_health == "Critical"
    with pytest.raises(EmulatorError, match="not in this topology"):
        emu.region_outage("northeurope")


def test_arm_calls_on_the_down_regions_vms_time_out_and_the_vault_keeps_answering(emu: EmulatorInfo) -> None:
    vm_path = (
        f"/subscriptions/{emu.subscription_id}/resourceGroups/rg-asr-vms/providers/Microsoft.Compute"
        "/virtualMachines/vm1?api-version=2024-07-01"
    )
    emu.region_outage("eastus")
    status, _, body = raw(emu, vm_path)
    assert (status, body["error"]["code"]) == (504, "GatewayTimeout")
    assert raw(emu, vault_path(emu) + "/replicationProtectedItems?api-version=2025-08-01")[0] == 200
    recovery_side = vm_path.replace("rg-asr-vms/", "rg-asr-vms-asr/")  # the VM's ASR target group in westus
    assert raw(emu, recovery_side)[0] != 504
    emu.region_outage("eastus", down=False)
    assert raw(emu, vm_path)[0] != 504
