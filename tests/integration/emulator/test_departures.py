"""The emulator's fixed departures from ASR (issue 14), each through the real SDK: casing, job states, the plan
list, MarkedForDeletion, documented $filter fields only, Latest recovery point, timing, job history volume and
the switch-protection input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.recoveryservicessiterecovery import models as m

from emulator.launcher import EmulatorInfo
from tests.integration.emulator.conftest import EmulatorFactory, make_client
from tests.integration.emulator.helpers import (
    SUBSCRIPTION,
    TEST_VNET,
    Client,
    arm_error,
    begin,
    container_id,
    failover_input,
    find_item,
    make_topology,
    where,
)
from tests.integration.emulator.test_faults import raw, vault_path

pytestmark = pytest.mark.integration

CACHE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-dr/providers/Microsoft.Storage/storageAccounts"


def _committed(emu: EmulatorInfo, client: Client, vm: str) -> Any:
    rg, vault = emu.resource_group, emu.vault
    item = find_item(client, emu, vm)
    begin(client.replication_protected_items.begin_unplanned_failover, rg, vault, *where(item), failover_input())
    emu.advance(600)
    begin(client.replication_protected_items.begin_failover_commit, rg, vault, *where(item))
    emu.advance(600)
    return find_item(client, emu, vm)


def _switch(item: Any, **a2a: Any) -> m.SwitchProtectionInput:
    return m.SwitchProtectionInput(
        properties=m.SwitchProtectionInputProperties(
            replication_protected_item_name=item.name,
            provider_specific_details=m.A2ASwitchProtectionInput(recovery_container_id=container_id(item), **a2a),
        )
    )


def test_job_target_name_is_lower_case_and_new_item_id_says_subscriptions(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory(make_topology(vms=[{"name": "AzureDemoVM", "diskGiB": 8}], plans=[]))
    client = make_client(emu)
    item = _committed(emu, client, "AzureDemoVM")
    fabric, container, _ = where(item)
    _, job_name = begin(client.replication_protection_containers.begin_switch_protection,
                        emu.resource_group, emu.vault, fabric, container, _switch(item))  # fmt: skip
    emu.advance(15 * 60)
    job = client.replication_jobs.get(emu.resource_group, emu.vault, job_name).properties
    assert job.target_object_name == "azuredemovm"  # as recorded for a VM named AzureDemoVM
    new_id = job.custom_details.new_replication_protected_item_id
    moved = find_item(client, emu, "AzureDemoVM")
    assert new_id.startswith("/subscriptions/") and moved.id.startswith("/Subscriptions/")
    assert new_id.lower() == moved.id.lower()


def test_a_new_job_is_not_started_then_in_progress(emu: EmulatorInfo, client: Client) -> None:
    item = find_item(client, emu, "vm1")
    _, job_name = begin(client.replication_protected_items.begin_unplanned_failover,
                        emu.resource_group, emu.vault, *where(item), failover_input())  # fmt: skip
    job = client.replication_jobs.get(emu.resource_group, emu.vault, job_name).properties
    assert job.state == "NotStarted" and {t.state for t in job.tasks} == {"NotStarted"}
    emu.advance(5)
    assert client.replication_jobs.get(emu.resource_group, emu.vault, job_name).properties.state == "InProgress"


@pytest.mark.parametrize(
    ("kind", "running", "ended"),
    [("jobSuspended", "Suspended", "Succeeded"), ("jobPartiallySucceeded", "InProgress", "PartiallySucceeded")],
)
def test_suspended_and_partially_succeeded_jobs_can_be_injected(
    emu: EmulatorInfo, client: Client, kind: str, running: str, ended: str
) -> None:
    emu.add_fault({"kind": kind, "vm": "vm1", "operation": "UnplannedFailover", "count": 1})
    item = find_item(client, emu, "vm1")
    _, job_name = begin(client.replication_protected_items.begin_unplanned_failover,
                        emu.resource_group, emu.vault, *where(item), failover_input())  # fmt: skip
    emu.advance(20)
    assert client.replication_jobs.get(emu.resource_group, emu.vault, job_name).properties.state == running
    emu.advance(600)
    assert client.replication_jobs.get(emu.resource_group, emu.vault, job_name).properties.state == ended


def test_plan_list_has_empty_groups_and_only_the_get_names_members(emu: EmulatorInfo, client: Client) -> None:
    listed = list(client.replication_recovery_plans.list(emu.resource_group, emu.vault))
    assert [p.name for p in listed] == ["plan1"] and listed[0].properties.groups == []
    one = client.replication_recovery_plans.get(emu.resource_group, emu.vault, "plan1")
    members = [i.id for g in one.properties.groups for i in g.replication_protected_items or []]
    assert len(members) == 2


def test_documented_filter_fields_apply_and_others_are_ignored(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory(make_topology(preloadJobs=12))
    client = make_client(emu)
    rg, vault = emu.resource_group, emu.vault
    items = client.replication_protected_items
    assert len(list(items.list(rg, vault, filter="friendlyName eq 'vm1'"))) == 2  # not in the spec: ignored
    assert len(list(items.list(rg, vault, filter="protectionState eq 'Nothing'"))) == 2
    assert [i.properties.friendly_name for i in items.list(rg, vault, filter="recoveryPlanName eq 'plan1'")]
    assert list(items.list(rg, vault, filter="sourceFabricName eq 'asr-a2a-default-westus'")) == []

    jobs = client.replication_jobs
    assert len(list(jobs.list(rg, vault, filter="scenarioName eq 'Nothing'"))) == 12  # ignored
    assert len(list(jobs.list(rg, vault, filter="targetObjectName eq 'vm1'"))) == 12  # ignored
    assert list(jobs.list(rg, vault, filter="jobStatus eq 'InProgress'")) == []
    recent = (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    newer = list(jobs.list(rg, vault, filter=f"startTime eq '{recent}'"))
    assert 0 < len(newer) < 12


def test_failover_without_a_point_processes_pending_data(emu: EmulatorInfo, client: Client) -> None:
    item = find_item(client, emu, "vm1")
    _, job_name = begin(client.replication_protected_items.begin_unplanned_failover,
                        emu.resource_group, emu.vault, *where(item), failover_input())  # fmt: skip
    emu.advance(600)
    job = client.replication_jobs.get(emu.resource_group, emu.vault, job_name).properties
    point_time = job.custom_details.protected_item_details[0].recovery_point_time
    assert abs((point_time - job.start_time).total_seconds()) < 1  # Latest: RPO ~0, not the newest 5-min point


def test_commit_takes_seconds_and_status_responses_carry_no_retry_after(emu: EmulatorInfo, client: Client) -> None:
    item = find_item(client, emu, "vm1")
    begin(client.replication_protected_items.begin_unplanned_failover,
          emu.resource_group, emu.vault, *where(item), failover_input())  # fmt: skip
    emu.advance(600)
    _, job_name = begin(client.replication_protected_items.begin_failover_commit,
                        emu.resource_group, emu.vault, *where(item))  # fmt: skip
    status, headers, _ = raw(emu, f"{vault_path(emu)}/replicationOperationStatus/{job_name}?api-version=2025-08-01")
    assert status == 200 and "Retry-After" not in headers
    emu.advance(20)
    job = client.replication_jobs.get(emu.resource_group, emu.vault, job_name).properties
    assert job.state == "Succeeded" and (job.end_time - job.start_time).total_seconds() < 15


def test_reverse_initial_replication_follows_disk_size(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory(make_topology(vms=[{"name": f"vm{n}"} for n in range(4)], plans=[]))  # 127 GiB each
    client = make_client(emu)
    durations = []
    for n in range(4):
        item = _committed(emu, client, f"vm{n}")
        fabric, container, _ = where(item)
        begin(client.replication_protection_containers.begin_switch_protection,
              emu.resource_group, emu.vault, fabric, container, _switch(item))  # fmt: skip
        emu.advance(11 * 60)  # the reprotect job itself (~9 min)
        first = find_item(client, emu, f"vm{n}").properties.provider_specific_details.monitoring_percentage_completion
        assert first is None or first < 10
        minutes = 0
        while emu.vm_state(f"vm{n}")["protectionState"] != "Protected":
            emu.advance(60)
            minutes += 1
        durations.append(minutes)
    assert all(25 <= d <= 48 for d in durations), durations  # ~30-46 min for 127 GiB as recorded


def test_job_history_preload_makes_a_full_listing_cost_pages(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory(make_topology(preloadJobs=3000))
    client = make_client(emu)
    emu.reset_requests()
    assert len(list(client.replication_jobs.list(emu.resource_group, emu.vault))) == 3000
    assert emu.requests_count()["total"] == 60  # 50 per page
    emu.reset_requests()
    since = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert list(client.replication_jobs.list(emu.resource_group, emu.vault, filter=f"startTime eq '{since}'")) == []
    assert emu.requests_count()["total"] == 1


def test_switch_protection_input_is_checked_and_recorded(emu: EmulatorInfo, client: Client) -> None:
    item = _committed(emu, client, "vm1")
    rg, vault = emu.resource_group, emu.vault
    fabric, container, _ = where(item)
    disk = item.properties.provider_specific_details.protected_managed_disks[0]
    target_rg = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-asr-vms"

    def disks(disk_id: str, account: str) -> list[m.A2AVmManagedDiskInputDetails]:
        return [
            m.A2AVmManagedDiskInputDetails(
                disk_id=disk_id,
                primary_staging_azure_storage_account_id=f"{CACHE}/{account}",
                recovery_resource_group_id=target_rg,
            )
        ]

    bad: list[tuple[dict[str, Any], str]] = [
        ({"recovery_resource_group_id": "rg-without-id"}, "recoveryResourceGroupId"),
        ({"policy_id": "/subscriptions/x/policies/p"}, "policyId"),
        ({"vm_managed_disks": disks(disk.recovery_target_disk_id, "asrcacheeastus")}, "must be in 'westus'"),
        ({"vm_managed_disks": disks(disk.recovery_target_disk_id + "x", "asrcachewestus")}, "is not a disk of"),
        ({"vm_managed_disks": disks(disk.recovery_target_disk_id, "cache-eastus")}, "must be in 'westus'"),
    ]
    for fields, reason in bad:
        with pytest.raises(HttpResponseError) as refused:
            client.replication_protection_containers.begin_switch_protection(
                rg, vault, fabric, container, _switch(item, **fields)
            )
        assert refused.value.status_code == 400 and reason in str(arm_error(refused.value).message)
    full = _switch(
        item,
        policy_id=item.properties.policy_id,
        recovery_resource_group_id=target_rg,
        vm_managed_disks=disks(disk.recovery_target_disk_id, "asrcachewestus"),
    )
    begin(client.replication_protection_containers.begin_switch_protection, rg, vault, fabric, container, full)
    recorded = emu.state()["switchProtectionInputs"]["vm1"][-1]
    assert recorded["vmManagedDisks"][0]["primaryStagingAzureStorageAccountId"].endswith("/asrcachewestus")
    assert recorded["policyId"] == item.properties.policy_id


def test_test_failover_state_lingers_marked_for_deletion(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    item = find_item(client, emu, "vm2")
    tfo = m.TestFailoverInput(properties=m.TestFailoverInputProperties(
        failover_direction="PrimaryToRecovery", network_type="VmNetworkAsInput", network_id=TEST_VNET,
        provider_specific_details=m.A2ATestFailoverInput()))  # fmt: skip
    begin(client.replication_protected_items.begin_test_failover, rg, vault, *where(item), tfo)
    emu.advance(600)
    cleanup = m.TestFailoverCleanupInput(properties=m.TestFailoverCleanupInputProperties(comments="ok"))
    begin(client.replication_protected_items.begin_test_failover_cleanup, rg, vault, *where(item), cleanup)
    emu.advance(200)
    assert find_item(client, emu, "vm2").properties.test_failover_state == "MarkedForDeletion"
    emu.advance(600)
    assert find_item(client, emu, "vm2").properties.test_failover_state == "None"
