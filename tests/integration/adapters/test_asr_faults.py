"""Retries (azure-core's, honouring Retry-After) and typed errors, with faults injected by the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lib.adapters.asr_client import ClientOptions
from lib.domain.errors import OperationNotAllowed, ResourceNotFound, Throttled, TransientSiteRecoveryError
from tests.integration.adapters.conftest import FAST_RETRIES, Harness, harness, topology

pytestmark = pytest.mark.integration

LIST_ROUTE = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices"
    "/vaults/{resourceName}/replicationProtectedItems"
)
VMS = ["t429", "t503", "tbad", "tfail", "treset", "tplan1", "tplan2", "tspare"]


@pytest.fixture(scope="module")
def shared() -> Iterator[Harness]:
    plans = [{"name": "fplan", "groups": [["tplan1", "tplan2"]]}]
    with harness(topology(VMS, plans)) as h:
        yield h


@pytest.fixture
def h(shared: Harness) -> Iterator[Harness]:
    shared.seen.clear()
    shared.emu.reset_requests()
    yield shared
    shared.emu.clear_faults()


def test_throttled_action_is_retried_after_retry_after_and_succeeds(h: Harness) -> None:
    item = h.item("t429")
    h.emu.add_fault(
        {"kind": "http", "status": 429, "method": "POST", "route": "/unplannedFailover", "count": 1, "retryAfter": 0.2}
    )
    job = h.wait_job(h.asr.unplanned_failover(item.ref, shutdown_source=False, recovery_point_id=None))
    assert job.succeeded
    assert h.statuses("POST", "/unplannedFailover") == [429, 202]
    assert len({j.name for j in h.asr.list_jobs() if j.target_name == "t429"}) == 1  # one job, not two


def test_server_errors_on_a_read_are_retried(h: Harness) -> None:
    item = h.item("t503")
    job_name = h.asr.test_failover(
        item.ref, network_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"
    )
    h.emu.add_fault({"kind": "http", "status": 503, "method": "GET", "route": "/replicationJobs/{jobName}", "count": 2})
    job = h.asr.get_job(job_name)
    assert job.name == job_name
    assert h.statuses("GET", f"/replicationJobs/{job_name}") == [503, 503, 200]


def test_dropped_connection_on_a_list_is_retried(h: Harness) -> None:
    h.emu.add_fault({"kind": "reset", "method": "GET", "route": "/replicationProtectedItems", "count": 1})
    items = h.asr.list_protected_items()
    assert {i.vm_name for i in items} == set(VMS)
    assert h.statuses("GET", "/replicationProtectedItems?") == [200]  # the dropped attempt has no status
    assert h.emu.requests_count()["byRoute"][f"GET {LIST_ROUTE}"] == 2  # ... but it reached the server


def test_persistent_server_error_becomes_transient(h: Harness) -> None:
    h.emu.add_fault({"kind": "http", "status": 500, "method": "GET", "route": "/replicationVaultHealth", "count": 10})
    with pytest.raises(TransientSiteRecoveryError) as caught:
        h.asr.get_vault_health()
    assert caught.value.status == 500 and caught.value.operation == "get_vault_health"
    assert h.statuses("GET", "/replicationVaultHealth") == [500] * (FAST_RETRIES.retry_status + 1)


def test_throttling_that_outlasts_the_retries_is_throttled_with_the_servers_hint(h: Harness) -> None:
    h.emu.add_fault(
        {
            "kind": "http",
            "status": 429,
            "method": "GET",
            "route": "/replicationRecoveryPlans",
            "count": 10,
            "retryAfter": 0.1,
        }
    )
    with pytest.raises(Throttled) as caught:
        h.asr.list_recovery_plans()
    assert caught.value.code == "SubscriptionRequestsThrottled"
    assert caught.value.retry_after == pytest.approx(0.1)
    assert len(h.statuses("GET", "/replicationRecoveryPlans")) == FAST_RETRIES.retry_status + 1


def test_action_not_allowed_in_the_current_state_carries_asrs_code(h: Harness) -> None:
    item = h.item("tbad")
    assert item.protection_state == "Protected"
    with pytest.raises(OperationNotAllowed) as caught:
        h.asr.commit(item.ref)  # nothing to commit: never failed over
    assert caught.value.code == "OperationNotAllowed" and caught.value.status == 400
    assert "Commit" in caught.value.message and caught.value.operation == f"commit {item.name}"
    assert h.statuses("POST", "/failoverCommit") == [400]  # never retried


def test_plan_failover_in_the_wrong_direction_is_refused(h: Harness) -> None:
    with pytest.raises(OperationNotAllowed) as caught:
        h.asr.plan_unplanned_failover(
            "fplan", direction="RecoveryToPrimary", shutdown_source=False, recovery_point_type="Latest"
        )
    assert caught.value.code and caught.value.status == 400


def test_failed_job_surfaces_asrs_error_code(h: Harness) -> None:
    item = h.item("tfail")
    h.emu.add_fault(
        {
            "kind": "jobFailure",
            "vm": "tfail",
            "operation": "UnplannedFailover",
            "code": "70094",
            "message": "Failover of {vm} failed.",
        }
    )
    job = h.wait_job(h.asr.unplanned_failover(item.ref, shutdown_source=False, recovery_point_id=None))
    assert job.state == "Failed" and not job.succeeded
    assert job.errors and job.errors[0].code == "70094"
    assert "tfail" in job.errors[0].message
    assert any(state == "Failed" for _, state in job.tasks)


def test_source_shutdown_failure_is_a_warning_on_a_succeeded_failover(h: Harness) -> None:
    item = h.item("tspare")
    h.emu.add_fault({"kind": "shutdownFailure", "vm": "tspare"})
    job = h.wait_job(h.asr.unplanned_failover(item.ref, shutdown_source=True, recovery_point_id=None))
    assert job.succeeded
    assert [e.level for e in job.errors] == ["Warning"]
    assert h.asr.get_protected_item(item.ref).failed_over


def test_missing_resources_are_not_found(h: Harness) -> None:
    with pytest.raises(ResourceNotFound) as job:
        h.asr.get_job("00000000-0000-0000-0000-000000000000")
    assert job.value.status == 404
    with pytest.raises(ResourceNotFound):
        h.asr.get_recovery_plan("no-such-plan")


def test_arm_token_bucket_throttling_is_absorbed_by_retries() -> None:
    many = [f"vm{i:02d}" for i in range(12)]
    options = ClientOptions(retry_total=8, retry_status=8, retry_backoff_factor=0.02, retry_backoff_max=0.2)
    with harness(topology(many, pageSize=2), options=options) as h:
        # One token a second: the six page reads outrun it unless each takes a second (at 4 a second, as before,
        # a loaded machine's slower reads let the bucket refill and nothing was throttled).
        h.emu.add_fault({"kind": "throttle", "reads": {"capacity": 2, "refillPerSecond": 1}})
        items = h.asr.list_protected_items()
        assert sorted(i.vm_name for i in items) == many
        statuses = h.statuses("GET", "/replicationProtectedItems")
        assert 429 in statuses and statuses.count(200) == 6
