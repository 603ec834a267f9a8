"""Responses deserialize into SDK 2.0.0 models and carry every key of the real (recorded) A2A bodies.

Item bodies are compared row by row in test_lifecycle.py; this file covers jobs, plans, vault health,
operation status, events and recovery points.
"""

from __future__ import annotations

import json
import re
import ssl
import urllib.request
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.recoveryservicessiterecovery import models as m

from emulator.launcher import EmulatorInfo
from tests.integration.emulator.helpers import (
    TEST_VNET,
    Client,
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

_FABRIC_KEY = re.compile(r"fabric_[0-9a-f-]{36}")


def _normalize(body: Any) -> Any:
    """Per-fabric counter keys embed the fabric GUID; compare them as one key."""
    text = _FABRIC_KEY.sub("fabric_<guid>", json.dumps(body))
    return json.loads(text)


def _raw_get(emu: EmulatorInfo, url: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": "Bearer x"})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=emu.ca_bundle)) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


def test_switch_protection_job_has_the_recorded_shape(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    item = find_item(client, emu, "vm1")
    poller, _ = begin(
        client.replication_protected_items.begin_unplanned_failover, rg, vault, *where(item), failover_input()
    )
    emu.advance(600)
    poller.result()
    poller, _ = begin(client.replication_protected_items.begin_failover_commit, rg, vault, *where(item))
    emu.advance(600)
    item = poller.result()
    fabric, container, _ = where(item)
    poller, job_name = begin(
        client.replication_protection_containers.begin_switch_protection,
        rg, vault, fabric, container, switch_input(item, container_id(item)),
    )  # fmt: skip

    emu.advance(5)  # past NotStarted
    running = client.replication_jobs.get(rg, vault, job_name)
    assert running.properties.state == "InProgress" and running.properties.end_time is None
    assert running.properties.allowed_actions == ["Cancel"]
    assert not missing_keys(recorded("a2a_job_switchprotection_inprogress.ps-2024-10-01.json"), running.as_dict())

    emu.advance(15 * 60)
    poller.result()
    done = client.replication_jobs.get(rg, vault, job_name)
    assert type(done.properties.custom_details).__name__ == "SwitchProtectionJobDetails"
    assert (done.properties.friendly_name, done.properties.state_description) == ("Reprotect", "Completed")
    assert not missing_keys(recorded("a2a_job_switchprotection_succeeded.ps-2024-10-01.json"), done.as_dict())
    skipped = next(t for t in done.properties.tasks if t.task_id == "CommitFailoverTask")
    assert (skipped.state, skipped.state_description) == ("Other", "Skipped")
    group = next(t for t in done.properties.tasks if t.task_id == "ProtectReplicaTask")
    assert group.friendly_name == "Reprotecting virtual machine (1)"

    status = _raw_get(
        emu,
        f"{emu.endpoint}{done.id.rsplit('/replicationJobs/', 1)[0]}/replicationOperationStatus/{job_name}"
        "?api-version=2025-08-01",
    )
    sample = recorded("operation_status_samples.cli-2022-08-01.json")["succeeded"]
    assert set(status) == set(sample) and status["status"] == "Succeeded" and status["name"] == job_name


def test_plan_and_vault_health_have_the_recorded_shape(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    plan = client.replication_recovery_plans.get(rg, vault, "plan1")
    assert type(plan).__name__ == "RecoveryPlan"
    assert not missing_keys(recorded("a2a_recovery_plan_get.cli-2022-08-01.json"), plan.as_dict())
    assert [g.group_type for g in plan.properties.groups] == ["Shutdown", "Failover", "Boot", "Boot"]
    assert plan.properties.replication_providers == ["A2A"]

    health = client.replication_vault_health.get(rg, vault)
    assert type(health).__name__ == "VaultHealthDetails"
    ours = _normalize(health.as_dict())
    assert not missing_keys(_normalize(recorded("vault_health_get.net-2021-02-10.json")), ours)
    items = health.properties.protected_items_health
    assert items.resource_count == 2
    assert items.categorized_resource_counts["protectedItemsFailoverHealthWarningCount"] == 2
    issue = items.issues[0]
    assert (issue.summary_code, issue.category, len(issue.affected_resource_correlation_ids)) == (
        "161011",
        "TestFailover",
        2,
    )

    refreshed = client.replication_vault_health.begin_refresh(rg, vault)
    emu.advance(60)
    assert isinstance(refreshed.result(), m.VaultHealthDetails)


def test_events_and_recovery_points_have_the_spec_envelope(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    emu.add_fault({"kind": "jobFailure", "vm": "vm2", "operation": "TestFailover", "errorCode": "28031"})
    item = find_item(client, emu, "vm2")
    body = {"properties": {"failoverDirection": "PrimaryToRecovery", "networkType": "VmNetworkAsInput",
                           "networkId": TEST_VNET, "providerSpecificDetails": {"instanceType": "A2A"}}}  # fmt: skip
    poller, _ = begin(client.replication_protected_items.begin_test_failover, rg, vault, *where(item), body)
    emu.advance(600)
    with pytest.raises(HttpResponseError):
        poller.result()

    events = list(client.replication_events.list(rg, vault, filter="eventType eq 'JobStatus'"))
    assert [e.properties.affected_object_friendly_name for e in events] == ["vm2"]
    event = events[0]
    assert (event.properties.severity, event.properties.description) == ("Critical", "TestFailover - Failed")
    assert event.properties.health_errors[0].error_code == "28031"
    assert type(event.properties.provider_specific_details).__name__ == "A2AEventDetails"
    assert client.replication_events.get(rg, vault, event.name).id == event.id
    spec_event = recorded("ReplicationEvents_List.json")["responses"]["200"]["body"]["value"][0]
    assert not missing_keys(spec_event, event.as_dict())

    point = next(iter(client.recovery_points.list_by_replication_protected_items(rg, vault, *where(item))))
    spec_point = recorded("RecoveryPoints_ListByReplicationProtectedItems.json")["responses"]["200"]["body"]["value"][0]
    assert not missing_keys(spec_point, point.as_dict())
