"""One VM through every row of the A2A lifecycle table (asr-api.md §7.1), through the real SDK over HTTPS."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.recoveryservicessiterecovery import models as m

from emulator.launcher import EmulatorInfo
from tests.integration.emulator.helpers import (
    Client,
    arm_error,
    begin,
    container_id,
    failover_input,
    find_item,
    missing_keys,
    recorded,
    switch_input,
    where,
)

pytestmark = pytest.mark.integration

FORWARD_ALLOWED = ["UnplannedFailover", "DisableProtection", "TestFailover"]
PENDING = "UnplannedFailoverCommitPendingStatesBegin"
PENDING_ALLOWED = ["CompleteMigration", "Commit", "DisableProtection", "ChangePit"]
COMMITTED_ALLOWED = ["CompleteMigration", "DisableProtection", "SwitchProtection"]


def _row(
    item: Any,
    *,
    state: str,
    active: str,
    allowed: list[str],
    primary: str,
    recovery: str,
) -> None:
    props = item.properties
    details = props.provider_specific_details
    assert type(details).__name__ == "A2AReplicationDetails"
    assert props.protection_state == state
    assert props.active_location == active
    assert props.allowed_operations == allowed
    assert (details.primary_fabric_location, details.recovery_fabric_location) == (primary, recovery)
    assert (details.initial_primary_fabric_location, details.initial_recovery_fabric_location) == ("eastus", "westus")


def _get(client: Client, emu: EmulatorInfo, item: m.ReplicationProtectedItem) -> Any:
    return client.replication_protected_items.get(emu.resource_group, emu.vault, *where(item))


def test_one_vm_through_every_lifecycle_row(emu: EmulatorInfo, client: Client) -> None:
    # One story on one VM, told in three stages so that each reads at once; every stage hands its item on.
    item, forward_correlation = _forward_failover(emu, client)
    item = _switch_protection(emu, client, item, forward_correlation)
    _failback_and_reprotect(emu, client, item)


def _forward_failover(emu: EmulatorInfo, client: Client) -> tuple[Any, str]:
    """Rows 1-4: protected A -> B, failed over, committed."""
    rg, vault = emu.resource_group, emu.vault
    items = client.replication_protected_items

    # Row 1: protected A -> B.
    item = find_item(client, emu, "vm1")
    _row(item, state="Protected", active="Primary", allowed=FORWARD_ALLOWED, primary="eastus", recovery="westus")
    assert item.id.startswith("/Subscriptions/")
    assert where(item)[:2] == ("asr-a2a-default-eastus", "asr-a2a-default-eastus-container")
    assert item.properties.failover_health == "Warning"
    assert [e.error_code for e in item.properties.health_errors] == ["161011"]
    assert item.properties.current_scenario.scenario_name == "None"
    assert not missing_keys(recorded("a2a_rpi_1_forward_protected.cli-2022-08-01.json"), item.as_dict())
    forward_correlation = item.properties.event_correlation_id

    # Row 2: unplanned failover running -> stable state kept, no operations allowed, scenario = the job.
    poller, job_name = begin(items.begin_unplanned_failover, rg, vault, *where(item), failover_input())
    running = _get(client, emu, item)
    _row(running, state="Protected", active="Primary", allowed=[], primary="eastus", recovery="westus")
    assert running.properties.current_scenario.scenario_name == "UnplannedFailover"
    assert running.properties.current_scenario.job_id.endswith(f"/replicationJobs/{job_name}")
    assert client.replication_jobs.get(rg, vault, job_name).properties.state == "NotStarted"  # queued first
    emu.advance(5)
    assert client.replication_jobs.get(rg, vault, job_name).properties.state == "InProgress"

    # Row 3: failed over, commit pending.
    emu.advance(300)
    item = poller.result()
    _row(item, state=PENDING, active="Recovery", allowed=PENDING_ALLOWED, primary="eastus", recovery="westus")
    assert item.properties.protection_state_description == "Failover completed"
    assert item.properties.last_successful_failover_time is not None
    assert "/recoveryPoints/" in item.properties.failover_recovery_point_id
    assert item.properties.provider_specific_details.recovery_fabric_object_id.endswith("/virtualmachines/vm1")
    job = client.replication_jobs.get(rg, vault, job_name)
    assert (job.properties.state, job.properties.scenario_name) == ("Succeeded", "UnplannedFailover")
    assert emu.vm_state("vm1")["runningIn"] == "westus"

    # Row 4: committed (the item still lives at A).
    poller, _ = begin(items.begin_failover_commit, rg, vault, *where(item))
    emu.advance(120)
    item = poller.result()
    _row(item, state="UnplannedFailoverCommitted", active="Recovery", allowed=COMMITTED_ALLOWED,
         primary="eastus", recovery="westus")  # fmt: skip
    assert where(item)[0] == "asr-a2a-default-eastus"
    assert item.properties.health_errors == [] and item.properties.failover_health == "Normal"
    assert not missing_keys(recorded("a2a_rpi_2_unplanned_failover_committed.ps-2024-10-01.json"), item.as_dict())

    return item, forward_correlation


def _switch_protection(emu: EmulatorInfo, client: Client, item: Any, forward_correlation: str) -> Any:
    """Rows 5-7: switch protection, reverse initial replication, protected B -> A."""
    rg, vault = emu.resource_group, emu.vault

    # Row 5: switch-protection running on A's container; the item stays at A until the job is done.
    fabric, container, _ = where(item)
    poller, switch_job = begin(
        client.replication_protection_containers.begin_switch_protection,
        rg, vault, fabric, container, switch_input(item, container_id(item)),
    )  # fmt: skip
    assert _get(client, emu, item).properties.allowed_operations == []
    emu.advance(15 * 60)
    result = poller.result()
    assert type(result).__name__ == "ProtectionContainer" and result.name == container
    job = client.replication_jobs.get(rg, vault, switch_job)
    assert job.properties.scenario_name == "SwitchReplicationGroupProtection"
    assert type(job.properties.custom_details).__name__ == "SwitchProtectionJobDetails"
    new_id = job.properties.custom_details.new_replication_protected_item_id
    assert "/replicationFabrics/asr-a2a-default-westus/" in new_id and new_id.endswith(item.name)
    with pytest.raises(ResourceNotFoundError):
        _get(client, emu, item)

    # Row 6: reverse initial replication B -> A, progress rising.
    item = find_item(client, emu, "vm1")
    assert item.id.lower() == new_id.lower() and item.id != new_id  # /Subscriptions/ vs the job's /subscriptions/
    _row(item, state="InitialReplicationInProgress", active="Primary", allowed=["DisableProtection"],
         primary="westus", recovery="eastus")  # fmt: skip
    props = item.properties
    assert props.last_successful_failover_time is None and props.failover_recovery_point_id is None
    assert props.event_correlation_id != forward_correlation
    assert props.provider_specific_details.vm_protection_state == "UnprotectedStatesBegin"
    assert not missing_keys(
        recorded("a2a_rpi_3_reverse_initial_replication_in_progress.cli-2022-08-01.json"), item.as_dict()
    )
    progress = []
    for _ in range(3):
        emu.advance(10 * 60)
        progress.append(_get(client, emu, item).properties.provider_specific_details.monitoring_percentage_completion)
    assert progress == sorted(progress) and progress[-1] > progress[0]

    # Row 7: protected B -> A (reverse).
    emu.advance(3 * 3600)
    item = _get(client, emu, item)
    _row(item, state="Protected", active="Primary", allowed=FORWARD_ALLOWED, primary="westus", recovery="eastus")
    assert [e.error_code for e in item.properties.health_errors] == ["161011"]
    assert not missing_keys(recorded("a2a_rpi_4_reverse_protected.cli-2022-08-01.json"), item.as_dict())

    return item


def _failback_and_reprotect(emu: EmulatorInfo, client: Client, item: Any) -> None:
    """Rows 8-12: failback, commit, reprotect, protected in the original direction."""
    rg, vault = emu.resource_group, emu.vault
    items = client.replication_protected_items

    # Row 8: failback = unplanned failover on the reverse item, PrimaryToRecovery (RecoveryToPrimary is rejected).
    with pytest.raises(HttpResponseError) as rejected:
        items.begin_unplanned_failover(rg, vault, *where(item), failover_input("RecoveryToPrimary"))
    assert rejected.value.status_code == 400 and arm_error(rejected.value).code == "BadRequest"
    poller, failback_job = begin(items.begin_unplanned_failover, rg, vault, *where(item), failover_input(shutdown=True))

    # Row 9: failed back, commit pending; the workload runs in A again.
    emu.advance(300)
    item = poller.result()
    _row(item, state=PENDING, active="Recovery", allowed=PENDING_ALLOWED, primary="westus", recovery="eastus")
    tasks = client.replication_jobs.get(rg, vault, failback_job).properties.tasks
    shutdown = next(t for t in tasks if t.friendly_name == "Shut down the virtual machine")
    assert shutdown.state == "Succeeded"
    assert emu.vm_state("vm1")["vmRunning"] == {"eastus": True, "westus": False}

    # Row 10: failback committed.
    poller, _ = begin(items.begin_failover_commit, rg, vault, *where(item))
    emu.advance(120)
    item = poller.result()
    _row(item, state="UnplannedFailoverCommitted", active="Recovery", allowed=COMMITTED_ALLOWED,
         primary="westus", recovery="eastus")  # fmt: skip

    # Row 11: reprotect again (item-level reProtect accepted as an alias); the item moves back to A, IR A -> B.
    poller, _ = begin(
        items.begin_reprotect, rg, vault, *where(item), {"properties": {"failoverDirection": "PrimaryToRecovery"}}
    )
    emu.advance(15 * 60)
    item = poller.result()
    assert where(item)[:2] == ("asr-a2a-default-eastus", "asr-a2a-default-eastus-container")
    _row(item, state="InitialReplicationInProgress", active="Primary", allowed=["DisableProtection"],
         primary="eastus", recovery="westus")  # fmt: skip

    # Row 12: protected in the original direction.
    emu.advance(3 * 3600)
    item = _get(client, emu, item)
    _row(item, state="Protected", active="Primary", allowed=FORWARD_ALLOWED, primary="eastus", recovery="westus")
    assert emu.vm_state("vm1")["originalDirection"] is True
