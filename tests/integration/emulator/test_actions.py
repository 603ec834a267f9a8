"""Item test failover + cleanup, recovery points, and invalid actions rejected with ARM's error body."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.recoveryservicessiterecovery import models as m

from emulator.launcher import EmulatorInfo
from tests.integration.emulator.helpers import (
    TEST_VNET,
    Client,
    arm_error,
    begin,
    failover_input,
    find_item,
    where,
)

pytestmark = pytest.mark.integration


def tfo_input(network: str | None = TEST_VNET) -> m.TestFailoverInput:
    return m.TestFailoverInput(
        properties=m.TestFailoverInputProperties(
            failover_direction="PrimaryToRecovery",
            network_type="VmNetworkAsInput",
            network_id=network,
            provider_specific_details=m.A2ATestFailoverInput(),
        )
    )


def test_test_failover_then_cleanup_records_the_drill(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    items = client.replication_protected_items
    item = find_item(client, emu, "vm1")
    assert item.properties.last_successful_test_failover_time is None

    poller, tfo_job = begin(items.begin_test_failover, rg, vault, *where(item), tfo_input())
    emu.advance(600)
    item = poller.result()
    props = item.properties
    assert (props.protection_state, props.protection_state_description) == (
        "Protected",
        "Cleanup test failover pending",
    )
    assert props.test_failover_state == "WaitingForCompletion"
    assert props.allowed_operations == ["TestFailoverCleanup"]
    assert props.current_scenario.scenario_name == "TestFailover"
    assert props.current_scenario.job_id.endswith(tfo_job)
    assert props.provider_specific_details.tfo_azure_vm_name == "vm1-test"
    assert emu.vm_state("vm1")["testVmRunning"] is True
    job = client.replication_jobs.get(rg, vault, tfo_job)
    assert [t.friendly_name for t in job.properties.tasks] == [
        "Prerequisites check for test failover",
        "Create test virtual machine",
        "Preparing the virtual machine",
        "Start the virtual machine",
    ]
    assert type(job.properties.custom_details).__name__ == "TestFailoverJobDetails"
    health = client.replication_vault_health.get(rg, vault).properties.protected_items_health
    assert health.categorized_resource_counts["testFailoverWaitingProtectedItemsCount"] == 1

    cleanup = m.TestFailoverCleanupInput(properties=m.TestFailoverCleanupInputProperties(comments="drill ok"))
    poller, _ = begin(items.begin_test_failover_cleanup, rg, vault, *where(item), cleanup)
    emu.advance(600)
    item = poller.result()
    props = item.properties
    assert props.last_successful_test_failover_time is not None
    assert (props.test_failover_state, props.allowed_operations) == (
        "MarkedForDeletion",  # lingers for a while after the cleanup
        ["UnplannedFailover", "DisableProtection", "TestFailover"],
    )
    emu.advance(600)
    assert find_item(client, emu, "vm1").properties.test_failover_state == "None"
    assert props.health_errors == [] and props.failover_health == "Normal"
    assert props.current_scenario.scenario_name == "None"
    assert emu.vm_state("vm1")["testVmRunning"] is False
    counts = client.replication_vault_health.get(
        rg, vault
    ).properties.protected_items_health.categorized_resource_counts
    assert counts["protectedItemsTestFailoverWarningCount"] == 1  # only vm2 still lacks a drill


def test_invalid_actions_are_rejected_with_arm_errors(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    items = client.replication_protected_items
    item = find_item(client, emu, "vm1")

    with pytest.raises(HttpResponseError) as commit:
        items.begin_failover_commit(rg, vault, *where(item))
    error = arm_error(commit.value)
    assert commit.value.status_code == 400
    assert error.code == "BadRequest" and "'Commit' is not allowed" in error.message
    assert error.details[0].code == "OperationNotAllowed"

    with pytest.raises(HttpResponseError) as planned:
        items.begin_planned_failover(
            rg,
            vault,
            *where(item),
            {"properties": {"failoverDirection": "PrimaryToRecovery", "providerSpecificDetails": {}}},
        )
    assert planned.value.status_code == 400

    with pytest.raises(HttpResponseError) as no_network:
        items.begin_test_failover(rg, vault, *where(item), tfo_input(network=None))
    assert no_network.value.status_code == 400 and "networkId" in arm_error(no_network.value).message

    with pytest.raises(HttpResponseError) as switch:
        client.replication_protection_containers.begin_switch_protection(
            rg,
            vault,
            *where(item)[:2],
            {
                "properties": {
                    "replicationProtectedItemName": item.name,
                    "providerSpecificDetails": {"instanceType": "A2A"},
                }
            },
        )
    assert arm_error(switch.value).details[0].code == "OperationNotAllowed"

    with pytest.raises(ResourceNotFoundError):
        items.get(rg, vault, *where(item)[:2], "no-such-item")
    with pytest.raises(ResourceNotFoundError):
        items.get(rg, vault, "asr-a2a-default-westus", "asr-a2a-default-westus-container", item.name)

    # A second action while a job runs on the item is refused too.
    poller, _ = begin(items.begin_unplanned_failover, rg, vault, *where(item), failover_input())
    with pytest.raises(HttpResponseError) as busy:
        items.begin_test_failover(rg, vault, *where(item), tfo_input())
    assert "Allowed operations: []" in arm_error(busy.value).message
    emu.advance(600)
    poller.result()


def test_recovery_points_are_unsorted_and_usable_for_failover(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    item = find_item(client, emu, "vm2")
    points = list(client.recovery_points.list_by_replication_protected_items(rg, vault, *where(item)))
    times = [p.properties.recovery_point_time for p in points]
    assert len(points) > 5 and times != sorted(times) and times != sorted(times, reverse=True)
    assert {p.properties.recovery_point_type for p in points} == {"CrashConsistent", "ApplicationConsistent"}
    assert isinstance(points[0].properties.provider_specific_details, m.A2ARecoveryPointDetails)
    oldest = min(points, key=lambda p: p.properties.recovery_point_time)
    assert client.recovery_points.get(rg, vault, *where(item), oldest.name).id == oldest.id

    with pytest.raises(HttpResponseError) as bogus:
        client.replication_protected_items.begin_unplanned_failover(
            rg, vault, *where(item), failover_input(point=oldest.id.rsplit("/", 1)[0] + "/not-a-point")
        )
    assert bogus.value.status_code == 400

    poller, job_name = begin(
        client.replication_protected_items.begin_unplanned_failover,
        rg,
        vault,
        *where(item),
        failover_input(point=oldest.id),
    )
    emu.advance(600)
    item = poller.result()
    assert item.properties.failover_recovery_point_id.endswith(f"/recoveryPoints/{oldest.name}")
    details = client.replication_jobs.get(rg, vault, job_name).properties.custom_details
    assert type(details).__name__ == "FailoverJobDetails"
    assert details.protected_item_details[0].recovery_point_id == item.properties.failover_recovery_point_id
