"""Fault injection, throttling, paging, request counters and ARM request validation."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from emulator.launcher import EmulatorInfo
from tests.integration.emulator.conftest import EmulatorFactory, make_client
from tests.integration.emulator.helpers import (
    Client,
    arm_error,
    begin,
    failover_input,
    find_item,
    make_topology,
    where,
)

pytestmark = pytest.mark.integration

LIST_ROUTE = (
    "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices"
    "/vaults/{resourceName}/replicationProtectedItems"
)
FAILOVER_ROUTE = (
    "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices"
    "/vaults/{resourceName}/replicationFabrics/{fabricName}/replicationProtectionContainers/{protectionContainerName}"
    "/replicationProtectedItems/{replicatedProtectedItemName}/unplannedFailover"
)


def raw(emu: EmulatorInfo, path: str, *, token: bool = True) -> tuple[int, dict[str, str], Any]:
    headers = {"Authorization": "Bearer t"} if token else {}
    request = urllib.request.Request(f"{emu.endpoint}{path}", headers=headers)
    context = ssl.create_default_context(cafile=emu.ca_bundle)
    try:
        with urllib.request.urlopen(request, context=context) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def vault_path(emu: EmulatorInfo, subscriptions: str = "subscriptions") -> str:
    return (
        f"/{subscriptions}/{emu.subscription_id}/resourceGroups/{emu.resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{emu.vault}"
    )


def test_throttled_post_with_retry_after_is_retried_by_the_sdk(emu: EmulatorInfo, client: Client) -> None:
    item = find_item(client, emu, "vm1")
    emu.reset_requests()
    emu.add_fault(
        {"kind": "http", "status": 429, "method": "POST", "route": "/unplannedFailover", "retryAfter": 1, "count": 1}
    )
    poller, _ = begin(client.replication_protected_items.begin_unplanned_failover,
                      emu.resource_group, emu.vault, *where(item), failover_input())  # fmt: skip
    emu.advance(600)
    assert poller.result().properties.protection_state == "UnplannedFailoverCommitPendingStatesBegin"
    assert emu.requests_count()["byRoute"][FAILOVER_ROUTE] == 2


def test_server_errors_and_resets_on_reads_are_retried(emu: EmulatorInfo, client: Client) -> None:
    emu.reset_requests()
    emu.add_fault({"kind": "http", "status": 503, "method": "GET", "route": "/replicationProtectedItems", "count": 1})
    emu.add_fault({"kind": "http", "status": 500, "method": "GET", "route": "/replicationProtectedItems", "count": 1})
    emu.add_fault({"kind": "reset", "method": "GET", "route": "/replicationProtectedItems", "count": 1})
    assert len(list(client.replication_protected_items.list(emu.resource_group, emu.vault))) == 2
    assert emu.requests_count()["byRoute"][LIST_ROUTE] == 4
    assert emu.admin("GET", "faults")["rules"] == []  # every counted rule was used up


def test_failed_job_surfaces_asr_error_in_job_and_poller(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    item = find_item(client, emu, "vm1")
    emu.add_fault({"kind": "jobFailure", "vm": "vm1", "operation": "UnplannedFailover", "errorCode": "70038",
                   "errorMessage": "Failover of vm1 failed: target capacity unavailable.", "count": 1})  # fmt: skip
    poller, job_name = begin(
        client.replication_protected_items.begin_unplanned_failover, rg, vault, *where(item), failover_input()
    )
    emu.advance(600)
    with pytest.raises(HttpResponseError) as failed:
        poller.result()
    assert arm_error(failed.value).code == "70038"
    assert "target capacity" in arm_error(failed.value).message

    job = client.replication_jobs.get(rg, vault, job_name)
    assert (job.properties.state, job.properties.state_description) == ("Failed", "Failed")
    error = job.properties.errors[0].service_error_details
    assert (error.code, error.message) == ("70038", "Failover of vm1 failed: target capacity unavailable.")
    failed_task = next(t for t in job.properties.tasks if t.state == "Failed")
    assert failed_task.friendly_name == "Start failover"
    assert [t.state for t in job.properties.tasks][-1] == "NotStarted"

    item = find_item(client, emu, "vm1")  # the item is usable again, still protected
    assert item.properties.protection_state == "Protected"
    assert "UnplannedFailover" in item.properties.allowed_operations
    assert [j.name for j in client.replication_jobs.list(rg, vault, filter="jobStatus eq 'Failed'")] == [job_name]


def test_source_shutdown_failure_does_not_stop_the_failover(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    item = find_item(client, emu, "vm2")
    emu.add_fault({"kind": "shutdownFailure", "vm": "vm2"})
    poller, job_name = begin(client.replication_protected_items.begin_unplanned_failover, rg, vault, *where(item),
                             failover_input(shutdown=True))  # fmt: skip
    emu.advance(600)
    assert poller.result().properties.active_location == "Recovery"
    job = client.replication_jobs.get(rg, vault, job_name)
    assert (job.properties.state, job.properties.state_description) == ("Succeeded", "CompletedWithInformation")
    shutdown = next(t for t in job.properties.tasks if t.friendly_name == "Shut down the virtual machine")
    assert shutdown.state_description == "CompletedWithInformation"
    assert shutdown.errors[0].error_level == "Warning"
    assert emu.vm_state("vm2")["vmRunning"] == {"eastus": True, "westus": True}


def test_token_bucket_throttles_reads_and_the_sdk_waits(emu: EmulatorInfo, client: Client) -> None:
    emu.add_fault({"kind": "throttle", "reads": {"capacity": 2, "refillPerSecond": 4}})
    emu.reset_requests()
    for _ in range(4):
        assert find_item(client, emu, "vm1").name
    assert emu.requests_count()["byRoute"][LIST_ROUTE] > 4  # some attempts got 429 + Retry-After and were retried

    # An empty bucket that barely refills: the second raw read is refused the ARM way.
    emu.add_fault({"kind": "throttle", "reads": {"capacity": 1, "refillPerSecond": 0.01}})
    url = vault_path(emu) + "/replicationProtectedItems?api-version=2025-08-01"
    status, headers, _ = raw(emu, url)
    assert status == 200 and headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    status, headers, body = raw(emu, url)
    assert status == 429 and int(headers["Retry-After"]) >= 1
    assert body["error"]["code"] == "SubscriptionRequestsThrottled"
    emu.clear_faults()
    assert raw(emu, url)[0] == 200


def test_paging_follows_next_links_and_keeps_the_filter(emulator_factory: EmulatorFactory) -> None:
    vms = [{"name": f"vm{n:02d}"} for n in range(7)]
    emu = emulator_factory(make_topology(vms=vms, plans=[]), page_size=3)
    client = make_client(emu)
    emu.reset_requests()
    names = [i.properties.friendly_name for i in client.replication_protected_items.list(emu.resource_group, emu.vault)]
    assert sorted(names) == [vm["name"] for vm in vms]
    assert emu.requests_count() == {"total": 3, "byRoute": {LIST_ROUTE: 3}}

    status, _, first = raw(emu, vault_path(emu) + "/replicationProtectedItems?api-version=2025-08-01")
    assert status == 200 and first["nextLink"].startswith(f"{emu.endpoint}/")
    assert "api-version=2025-08-01" in first["nextLink"] and "skipToken=" in first["nextLink"]

    filtered = client.replication_protected_items.list(
        emu.resource_group, emu.vault, filter="sourceFabricName eq 'asr-a2a-default-eastus' and vCenterName eq 'x'"
    )
    assert len(list(filtered)) == 7  # unknown fields are ignored; the filter survives every nextLink
    eastus = client.replication_protected_items.list(
        emu.resource_group, emu.vault, filter="sourceFabricLocation eq 'EastUS'"
    )
    assert len(list(eastus)) == 7


def test_request_validation_and_counters(emu: EmulatorInfo) -> None:
    emu.reset_requests()
    status, _, body = raw(emu, vault_path(emu) + "/replicationProtectedItems")
    assert (status, body["error"]["code"]) == (400, "MissingApiVersionParameter")
    status, _, body = raw(emu, vault_path(emu) + "/replicationProtectedItems?api-version=2025-08-01", token=False)
    assert status == 401
    # ASR echoes "/Subscriptions/"; paths match case-insensitively.
    status, headers, body = raw(
        emu, vault_path(emu, "Subscriptions") + "/REPLICATIONPROTECTEDITEMS?api-version=2025-08-01"
    )
    assert status == 200 and len(body["value"]) == 2
    assert "x-ms-ratelimit-remaining-subscription-reads" in headers and "x-ms-request-id" in headers
    status, _, body = raw(emu, vault_path(emu) + "/replicationProtectedItems/x/y?api-version=2025-08-01")
    assert status == 404

    counts = emu.requests_count()
    assert counts["total"] == 4
    assert counts["byRoute"][LIST_ROUTE] == 3
    assert counts["byRoute"]["GET <unmatched>"] == 1
    emu.reset_requests()
    assert emu.requests_count() == {"total": 0, "byRoute": {}}


def test_lro_headers_match_the_recorded_service(emulator_factory: EmulatorFactory) -> None:
    default = emulator_factory(time_scale=0.001, retry_after=None)  # the CLI default Retry-After
    default_client = make_client(default)
    item = find_item(default_client, default, "vm1")
    headers: dict[str, str] = {}

    def hook(response: Any) -> None:
        if response.http_response.status_code == 202 and not headers:
            headers.update(response.http_response.headers)

    poller = default_client.replication_protected_items.begin_unplanned_failover(
        default.resource_group, default.vault, *where(item), failover_input(), raw_response_hook=hook
    )
    job_name = headers["Azure-AsyncOperation"].split("?")[0].rsplit("/", 1)[-1]
    assert headers["Location"] == (f"{default.endpoint}{item.id}/operationresults/{job_name}?api-version=2025-08-01")
    assert headers["Azure-AsyncOperation"].startswith(f"{default.endpoint}/Subscriptions/")
    assert headers["Retry-After"] == "30"  # as recorded
    assert headers["x-ms-request-id"].endswith(f"/replicationJobs/{job_name}")
    assert "x-ms-ratelimit-remaining-subscription-writes" in headers
    assert headers.get("Content-Length") == "0"
    poller.done()  # the recorded 30 s Retry-After would make a full poll slow; status is covered elsewhere


def test_injected_health_issue_shows_in_item_and_vault_health(emu: EmulatorInfo, client: Client) -> None:
    emu.inject_health_issue("vm2", code="10008", category="Replication", level="Error", message="RPO Throttled")
    item = find_item(client, emu, "vm2")
    assert (item.properties.replication_health, item.properties.failover_health) == ("Critical", "Critical")
    health = client.replication_vault_health.get(emu.resource_group, emu.vault).properties.protected_items_health
    assert health.categorized_resource_counts["protectedItemsCriticalCount"] == 1
    rpo = next(i for i in health.issues if i.summary_code == "10008")
    assert (rpo.severity, rpo.affected_resource_correlation_ids) == ("Error", [item.properties.event_correlation_id])
    emu.admin("DELETE", "health-issues?vm=vm2&code=10008")
    assert find_item(client, emu, "vm2").properties.replication_health == "Normal"
