"""The adapter on the real SDK client and azure-core pipeline, over a hand-written fake transport.

What is checked: the wire requests (paths, bodies as asr-api.md describes them), that actions never poll,
the job name taken from the 202 headers, retries done by azure-core's RetryPolicy (Retry-After honoured),
and the mapping of final errors onto the domain's typed errors.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
from azure.mgmt.recoveryservicessiterecovery import models as m

from lib.adapters.asr_client import ClientOptions, Connection, build_client
from lib.adapters.asr_mapping import protected_item
from lib.adapters.asr_sdk import SdkSiteRecovery
from lib.domain.asr import ItemRef
from lib.domain.errors import (
    ConfigurationError,
    ConfigurationProblem,
    OperationNotAllowed,
    ResourceNotFound,
    SiteRecoveryError,
    Throttled,
    TransientSiteRecoveryError,
)
from tests.unit.adapters.asr_fixtures import load
from tests.unit.adapters.fake_transport import FakeTransport, Reply

ENDPOINT = "https://127.0.0.1:9"
VAULT_PATH = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/vault"
JOB = "0b7e9d2a-1111-4222-8333-444455556666"
ACCEPTED = Reply(
    202,
    headers={
        "Azure-AsyncOperation": f"{ENDPOINT}/Subscriptions/sub/resourceGroups/rg/providers/Microsoft.RecoveryServices"
        f"/vaults/vault/replicationOperationStatus/{JOB}?api-version=2025-08-01&t=1&c=2&s=3&h=4",
        "Location": f"{ENDPOINT}/Subscriptions/sub/x/operationresults/{JOB}?api-version=2025-08-01",
        "Retry-After": "30",
    },
)
REF = ItemRef("fa", "ca", "rpi-1")
FAST = ClientOptions(retry_total=3, retry_status=3, retry_backoff_factor=0.5)


def adapter(
    transport: FakeTransport, *, options: ClientOptions = FAST, **kwargs: Any
) -> tuple[SdkSiteRecovery, list[tuple[str, str, int]]]:
    seen: list[tuple[str, str, int]] = []
    connection = Connection("sub", "rg", "vault", ENDPOINT)
    client = build_client(connection, options=options, transport=transport, observer=lambda *a: seen.append(a))
    return SdkSiteRecovery(lambda: client, resource_group="rg", vault="vault", **kwargs), seen


def path_of(url: str) -> str:
    return url.split("?", 1)[0].removeprefix(ENDPOINT)


def asr_error(status: int, code: str, message: str, inner: str | None = None, **headers: str) -> Reply:
    error: dict[str, Any] = {"code": code, "message": message}
    if inner:
        error["details"] = [{"code": inner, "message": f"inner {message}", "possibleCauses": "", "activityId": "a"}]
    return Reply(status, {"error": error}, headers)


# --- actions --------------------------------------------------------------------------------------------


def test_unplanned_failover_sends_the_a2a_body_and_returns_the_job_without_polling() -> None:
    transport = FakeTransport().queue(ACCEPTED)
    asr, _ = adapter(transport)
    job = asr.unplanned_failover(REF, shutdown_source=True, recovery_point_id="/rp/1")
    assert job == JOB
    assert len(transport.sent) == 1  # no operation-status polls
    sent = transport.sent[0]
    assert sent.method == "POST"
    item_path = f"{VAULT_PATH}/replicationFabrics/fa/replicationProtectionContainers/ca/replicationProtectedItems/rpi-1"
    assert path_of(sent.url) == f"{item_path}/unplannedFailover"
    assert sent.body == {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "sourceSiteOperations": "Required",
            "providerSpecificDetails": {"instanceType": "A2A", "recoveryPointId": "/rp/1"},
        }
    }
    assert sent.headers["Authorization"] == "Bearer local-emulator-token"


def test_latest_point_is_sent_as_an_absent_recovery_point_id() -> None:
    transport = FakeTransport().queue(ACCEPTED)
    asr, _ = adapter(transport)
    asr.unplanned_failover(REF, shutdown_source=False, recovery_point_id=None)
    assert transport.sent[0].body["properties"] == {
        "failoverDirection": "PrimaryToRecovery",
        "sourceSiteOperations": "NotRequired",
        "providerSpecificDetails": {"instanceType": "A2A"},
    }


def test_test_failover_cleanup_and_commit_requests() -> None:
    transport = FakeTransport().queue(ACCEPTED, ACCEPTED, ACCEPTED)
    asr, _ = adapter(transport)
    assert asr.test_failover(REF, network_id="/vnet/test") == JOB
    assert asr.test_failover_cleanup(REF, comments="drill done") == JOB
    assert asr.commit(REF) == JOB
    tfo, cleanup, commit = transport.sent
    assert path_of(tfo.url).endswith("/replicationProtectedItems/rpi-1/testFailover")
    assert tfo.body == {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "networkType": "VmNetworkAsInput",
            "networkId": "/vnet/test",
            "providerSpecificDetails": {"instanceType": "A2A"},
        }
    }
    assert path_of(cleanup.url).endswith("/testFailoverCleanup")
    assert cleanup.body == {"properties": {"comments": "drill done"}}
    assert path_of(commit.url).endswith("/replicationProtectedItems/rpi-1/failoverCommit")
    assert commit.body is None


def test_cancel_job_posts_cancel_and_returns_without_polling() -> None:
    transport = FakeTransport().queue(ACCEPTED)
    asr, _ = adapter(transport)
    assert asr.cancel_job("job-7") == JOB  # the name the 202 gives the operation; never polled
    (cancel,) = transport.sent
    assert cancel.method == "POST" and path_of(cancel.url) == f"{VAULT_PATH}/replicationJobs/job-7/cancel"
    assert cancel.body is None


def test_plan_actions() -> None:
    transport = FakeTransport().queue(ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED)
    asr, _ = adapter(transport)
    asr.plan_unplanned_failover(
        "plan-a", direction="RecoveryToPrimary", shutdown_source=False, recovery_point_type="Latest"
    )
    asr.plan_test_failover(
        "plan-a", network_id="/vnet/t", direction="PrimaryToRecovery", recovery_point_type="LatestProcessed"
    )
    asr.plan_test_failover_cleanup("plan-a", comments="ok")
    asr.plan_commit("plan-a")
    failover, tfo, cleanup, commit = transport.sent
    plan_path = f"{VAULT_PATH}/replicationRecoveryPlans/plan-a"
    assert path_of(failover.url) == f"{plan_path}/unplannedFailover"
    assert failover.body == {
        "properties": {
            "failoverDirection": "RecoveryToPrimary",
            "sourceSiteOperations": "NotRequired",
            "providerSpecificDetails": [{"instanceType": "A2A", "recoveryPointType": "Latest"}],
        }
    }
    assert path_of(tfo.url) == f"{plan_path}/testFailover"
    assert tfo.body == {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "networkType": "VmNetworkAsInput",
            "networkId": "/vnet/t",
            "providerSpecificDetails": [{"instanceType": "A2A", "recoveryPointType": "LatestProcessed"}],
        }
    }
    assert path_of(cleanup.url) == f"{plan_path}/testFailoverCleanup" and cleanup.body == {
        "properties": {"comments": "ok"}
    }
    assert path_of(commit.url) == f"{plan_path}/failoverCommit" and commit.body is None


def test_switch_protection_posts_on_the_items_current_container() -> None:
    committed = load("rpi_2_failover_committed")
    transport = FakeTransport().queue(Reply(200, committed), ACCEPTED)
    asr, _ = adapter(transport, cache_storage_accounts={"UKWest": "/sa/cache-ukwest"})
    item = protected_item(m.ReplicationProtectedItem(committed))
    assert asr.switch_protection(item) == JOB
    get, post = transport.sent
    assert get.method == "GET" and path_of(get.url).endswith(f"/replicationProtectedItems/{item.name}")
    fabric, container = "asr-a2a-default-uksouth", "asr-a2a-default-uksouth-container"
    assert path_of(post.url) == (
        f"{VAULT_PATH}/replicationFabrics/{fabric}/replicationProtectionContainers/{container}/switchprotection"
    )
    props = post.body["properties"]
    assert props["replicationProtectedItemName"] == item.name
    details = props["providerSpecificDetails"]
    assert details["instanceType"] == "A2A"
    assert details["recoveryContainerId"] == committed["id"].split("/replicationProtectedItems/")[0]
    assert details["policyId"].endswith("/replicationPolicies/24-hour-retention-policy")
    original_rg = "/subscriptions/7c943c1b-5122-4097-90c8-861411bdd574/resourceGroups/vijami-alertrg"
    assert details["recoveryResourceGroupId"] == original_rg
    (disk,) = details["vmManagedDisks"]
    assert disk["diskId"].endswith(
        "/resourceGroups/vijami-alertrg-asr-1/providers/Microsoft.Compute/disks/reprotectvm_OsDisk_1_3df79f45354b43f4ba8a28480582e708"
    )
    assert disk["primaryStagingAzureStorageAccountId"] == "/sa/cache-ukwest"
    assert disk["recoveryResourceGroupId"] == original_rg


def test_switch_protection_uses_the_fresh_location_and_omits_disks_it_cannot_build() -> None:
    committed = load("rpi_2_failover_committed")
    transport = FakeTransport().queue(Reply(200, committed), ACCEPTED)
    asr, _ = adapter(transport)  # no cache account configured for ukwest
    stale = replace(protected_item(m.ReplicationProtectedItem(committed)), protection_state="Protected")
    asr.switch_protection(stale)
    details = transport.sent[1].body["properties"]["providerSpecificDetails"]
    assert "vmManagedDisks" not in details
    assert details["recoveryResourceGroupId"].endswith("/resourceGroups/vijami-alertrg")


def test_switch_protection_without_provider_details_still_names_container_and_policy() -> None:
    bare = load("rpi_2_failover_committed")
    del bare["properties"]["providerSpecificDetails"]
    transport = FakeTransport().queue(Reply(200, bare), ACCEPTED)
    asr, _ = adapter(transport)
    asr.switch_protection(protected_item(m.ReplicationProtectedItem(bare)))
    details = transport.sent[1].body["properties"]["providerSpecificDetails"]
    assert set(details) == {"instanceType", "recoveryContainerId", "policyId"}


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Location": f"{ENDPOINT}/p/operationresults/{JOB}?api-version=1"}, None, JOB),
        (
            {"x-ms-request-id": f"/Subscriptions/s/resourceGroups/rg/providers/x/vaults/v/replicationJobs/{JOB}"},
            None,
            JOB,
        ),
    ],
)
def test_job_name_fallbacks(headers: dict[str, str], body: Any, expected: str) -> None:
    transport = FakeTransport().queue(Reply(202, body, headers))
    asr, _ = adapter(transport)
    assert asr.commit(REF) == expected


def test_synchronous_200_takes_the_job_from_the_running_scenario() -> None:
    body = load("rpi_hyperv_test_failover_waiting")
    transport = FakeTransport().queue(Reply(200, body))
    asr, _ = adapter(transport)
    assert asr.test_failover(REF, network_id="/n") == "2838f9b4-2609-4f76-a7e9-07e6387c5e98"


def test_accepted_without_any_job_reference_is_an_error() -> None:
    transport = FakeTransport().queue(Reply(202))
    asr, _ = adapter(transport)
    with pytest.raises(SiteRecoveryError) as caught:
        asr.commit(REF)
    assert caught.value.code == "NoJobInResponse" and "commit rpi-1" in caught.value.operation


# --- reads ----------------------------------------------------------------------------------------------


def test_list_protected_items_follows_every_next_link() -> None:
    rpi = load("rpi_1_forward_protected")
    pages = [
        Reply(
            200,
            {
                "value": [rpi, rpi],
                "nextLink": f"{ENDPOINT}{VAULT_PATH}/replicationProtectedItems?skipToken=p2&api-version=2025-08-01",
            },
        ),
        Reply(
            200,
            {
                "value": [rpi],
                "nextLink": f"{ENDPOINT}{VAULT_PATH}/replicationProtectedItems?skipToken=p3&api-version=2025-08-01",
            },
        ),
        Reply(200, {"value": [rpi]}),
    ]
    transport = FakeTransport().queue(*pages)
    asr, _ = adapter(transport)
    items = asr.list_protected_items()
    assert len(items) == 4
    assert [path_of(s.url) for s in transport.sent] == [f"{VAULT_PATH}/replicationProtectedItems"] * 3
    assert "skipToken=p3" in transport.sent[2].url


def test_reads_hit_the_documented_paths() -> None:
    transport = FakeTransport().queue(
        Reply(200, load("job_switchprotection_succeeded")),
        Reply(200, {"value": [load("job_spec_get"), load("job_failed_synthetic")]}),
        Reply(200, load("recovery_points_a2a_unsorted_synthetic")),
        Reply(200, load("vault_health")),
        Reply(200, load("plan_a2a")),
        Reply(200, {"value": [load("plan_a2a")]}),
        Reply(200, load("rpi_3_reverse_ir")),
    )
    asr, _ = adapter(transport)
    assert asr.get_job("7588f427-245a-44d6-9190-0164f2416949").new_item_id
    assert [j.state for j in asr.list_jobs()] == ["Succeeded", "Failed"]
    assert [p.name for p in asr.list_recovery_points(REF)] == ["p-old", "p-mid", "p-new"]
    assert asr.get_vault_health().item_count == 5
    assert asr.get_recovery_plan("cli-test-recovery-plan-A2A-1").groups == (("cli-test-protected-item-A2A-1",),)
    assert len(asr.list_recovery_plans()) == 1
    assert asr.get_protected_item(ItemRef("f2", "c2", "cli-test-protected-item-A2A-1")).monitoring_percentage == 43
    assert [path_of(s.url) for s in transport.sent] == [
        f"{VAULT_PATH}/replicationJobs/7588f427-245a-44d6-9190-0164f2416949",
        f"{VAULT_PATH}/replicationJobs",
        f"{VAULT_PATH}/replicationFabrics/fa/replicationProtectionContainers/ca/replicationProtectedItems/rpi-1/recoveryPoints",
        f"{VAULT_PATH}/replicationVaultHealth",
        f"{VAULT_PATH}/replicationRecoveryPlans/cli-test-recovery-plan-A2A-1",
        f"{VAULT_PATH}/replicationRecoveryPlans",
        f"{VAULT_PATH}/replicationFabrics/f2/replicationProtectionContainers/c2/replicationProtectedItems/cli-test-protected-item-A2A-1",
    ]


# --- retries and errors ---------------------------------------------------------------------------------


def test_throttled_action_is_retried_after_retry_after_and_succeeds() -> None:
    throttled = asr_error(429, "SubscriptionRequestsThrottled", "too many writes", **{"Retry-After": "2"})
    transport = FakeTransport().queue(throttled, ACCEPTED)
    asr, seen = adapter(transport)
    assert asr.commit(REF) == JOB
    assert transport.sleeps == [2.0]
    assert [s for _, _, s in seen] == [429, 202]


def test_throttling_that_outlasts_the_retries_is_throttled_with_the_hint() -> None:
    throttled = asr_error(429, "SubscriptionRequestsThrottled", "too many reads", **{"Retry-After": "7"})
    transport = FakeTransport().queue(*[throttled] * 4)
    asr, _ = adapter(transport)
    with pytest.raises(Throttled) as caught:
        asr.get_job(JOB)
    assert caught.value.retry_after == 7.0
    assert caught.value.code == "SubscriptionRequestsThrottled" and caught.value.status == 429
    assert f"get_job {JOB}" in caught.value.operation
    assert len(transport.sent) == 4 and transport.sleeps == [7.0, 7.0, 7.0]


def test_server_error_on_a_read_is_retried() -> None:
    transport = FakeTransport().queue(
        asr_error(503, "ServiceUnavailable", "busy"), Reply(500, None), Reply(200, load("plan_a2a"))
    )
    asr, seen = adapter(transport)
    assert asr.get_recovery_plan("p").name == "cli-test-recovery-plan-A2A-1"
    assert [s for _, _, s in seen] == [503, 500, 200]


def test_persistent_server_error_is_transient() -> None:
    transport = FakeTransport().queue(*[asr_error(500, "InternalError", "boom")] * 4)
    asr, _ = adapter(transport)
    with pytest.raises(TransientSiteRecoveryError) as caught:
        asr.list_protected_items()
    assert caught.value.code == "InternalError" and caught.value.status == 500
    assert caught.value.operation == "list_protected_items"


def test_connection_failures_are_transient() -> None:
    transport = FakeTransport().queue(*[Reply(connection_error=True)] * 5)
    asr, _ = adapter(transport)
    with pytest.raises(TransientSiteRecoveryError) as caught:
        asr.get_vault_health()
    assert caught.value.code == "ServiceRequestError"


def test_bad_request_uses_asrs_inner_code() -> None:
    transport = FakeTransport().queue(asr_error(400, "BadRequest", "not allowed", inner="OperationNotAllowed"))
    asr, _ = adapter(transport)
    with pytest.raises(OperationNotAllowed) as caught:
        asr.commit(REF)
    assert caught.value.code == "OperationNotAllowed"
    assert caught.value.message == "inner not allowed"
    assert caught.value.status == 400 and caught.value.operation == "commit rpi-1"
    assert len(transport.sent) == 1  # a 400 is final: never retried


def test_bad_request_without_details_uses_the_outer_code() -> None:
    transport = FakeTransport().queue(asr_error(400, "InvalidInput", "bad network"))
    asr, _ = adapter(transport)
    with pytest.raises(OperationNotAllowed) as caught:
        asr.test_failover(REF, network_id="x")
    assert (caught.value.code, caught.value.message) == ("InvalidInput", "bad network")


def test_not_found_and_other_statuses() -> None:
    transport = FakeTransport().queue(
        asr_error(404, "NotFound", "no such job"), asr_error(403, "AuthorizationFailed", "no"), Reply(502, None)
    )
    asr, _ = adapter(transport, options=replace(FAST, retry_total=0, retry_status=0))
    with pytest.raises(ResourceNotFound) as missing:
        asr.get_job("nope")
    assert (missing.value.code, missing.value.status) == ("NotFound", 404)
    with pytest.raises(ConfigurationError) as denied:  # 403 is configuration, not weather (issue 10)
        asr.get_job("x")
    assert denied.value.code == "AuthorizationFailed" and denied.value.problem is ConfigurationProblem.AUTHORIZATION
    assert denied.value.permanent and denied.value.status == 403
    with pytest.raises(TransientSiteRecoveryError) as bad_gateway:
        asr.get_job("y")
    assert bad_gateway.value.code == "Http502"


# --- construction ---------------------------------------------------------------------------------------


def test_client_is_built_once_and_only_when_first_needed() -> None:
    built: list[int] = []
    transport = FakeTransport().queue(Reply(200, load("plan_a2a")), Reply(200, load("plan_a2a")))

    def connect() -> SiteRecoveryManagementClient:
        built.append(1)
        return build_client(Connection("sub", "rg", "vault", ENDPOINT), transport=transport)

    asr = SdkSiteRecovery(connect, resource_group="rg", vault="vault")
    assert built == []
    asr.get_recovery_plan("a")
    asr.get_recovery_plan("b")
    assert built == [1]


def test_jobs_since_a_time_ask_asr_to_filter_on_start_time() -> None:
    transport = FakeTransport().queue(Reply(200, {"value": [load("job_spec_get")]}))
    asr, _ = adapter(transport)
    since = datetime(2026, 11, 29, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert len(asr.list_jobs(since=since)) == 1
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(transport.sent[0].url).query)
    assert query["$filter"] == ["startTime eq '2026-11-29T09:30:00Z'"]  # a documented field, in UTC
