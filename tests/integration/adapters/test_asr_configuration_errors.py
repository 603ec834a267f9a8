"""Configuration and permanent errors through the real SDK against the HTTPS emulator (issue 10, finding 6):
a wrong host, a refused port, an untrusted or missing CA bundle, 401/403 and a missing plan or item are
typed, permanent errors naming the cause; 429 and 5xx stay weather. And A2A refuses ``failoverCancel``."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from azure.core.exceptions import HttpResponseError

from lib.adapters.asr_client import ClientOptions, Connection, StaticTokenCredential, build_client
from lib.adapters.asr_errors import Endpoint
from lib.adapters.asr_sdk import SdkSiteRecovery
from lib.domain.asr import ItemRef
from lib.domain.errors import (
    ConfigurationError,
    ConfigurationProblem,
    OperationNotAllowed,
    SiteRecoveryError,
    TargetNotFound,
    Throttled,
    TransientSiteRecoveryError,
)
from tests.integration.adapters.conftest import FAST_RETRIES, Harness, harness, topology

pytestmark = pytest.mark.integration

NO_RETRIES = ClientOptions(retry_total=0, retry_status=0, retry_backoff_factor=0.01, connection_timeout=5)


@pytest.fixture(scope="module")
def shared() -> Iterator[Harness]:
    with harness(topology(["cfg-1", "cfg-2"], [{"name": "cfg-plan", "groups": [["cfg-1"]]}])) as h:
        yield h


@pytest.fixture
def h(shared: Harness) -> Iterator[Harness]:
    shared.seen.clear()
    yield shared
    shared.emu.clear_faults()


def adapter_for(h: Harness, endpoint: str, ca_bundle: str) -> SdkSiteRecovery:
    """The production adapter on the real SDK, pointed somewhere else (with the emulator's token)."""
    connection = Connection(h.emu.subscription_id, h.emu.resource_group, h.emu.vault, endpoint, ca_bundle)
    return SdkSiteRecovery(
        lambda: build_client(connection, options=NO_RETRIES, credential=StaticTokenCredential()),
        resource_group=connection.resource_group,
        vault=connection.vault,
        endpoint=Endpoint(endpoint, ca_bundle),
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_host_that_does_not_resolve_is_a_configuration_error_naming_it(h: Harness) -> None:
    asr = adapter_for(h, "https://asr-endpoint.invalid", h.emu.ca_bundle)
    with pytest.raises(ConfigurationError) as caught:
        asr.list_recovery_plans()
    error = caught.value
    assert error.problem is ConfigurationProblem.DNS and error.host == "asr-endpoint.invalid"
    assert error.permanent and not isinstance(error, TransientSiteRecoveryError)
    assert "asr-endpoint.invalid" in str(error) and "ASR_ARM_ENDPOINT" in str(error)


def test_a_refused_connection_is_a_configuration_error_naming_host_and_port(h: Harness) -> None:
    port = closed_port()
    asr = adapter_for(h, f"https://127.0.0.1:{port}", h.emu.ca_bundle)
    with pytest.raises(ConfigurationError) as caught:
        asr.get_recovery_plan("cfg-plan")
    assert caught.value.problem is ConfigurationProblem.CONNECTION_REFUSED
    assert caught.value.host == f"127.0.0.1:{port}" and f"127.0.0.1:{port}" in str(caught.value)


def test_an_untrusted_certificate_names_the_ca_bundle_in_use(h: Harness, tmp_path: Path) -> None:
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    asr = adapter_for(h, h.emu.endpoint, str(other_ca))
    with pytest.raises(ConfigurationError) as caught:
        asr.list_protected_items()
    assert caught.value.problem is ConfigurationProblem.TLS and caught.value.ca_bundle == str(other_ca)
    assert str(other_ca) in str(caught.value) and "ASR_CA_BUNDLE" in str(caught.value)


def test_a_ca_bundle_file_that_does_not_exist_is_named(h: Harness, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "ca.pem"
    asr = adapter_for(h, h.emu.endpoint, str(missing))
    with pytest.raises(ConfigurationError) as caught:
        asr.list_protected_items()
    assert caught.value.problem is ConfigurationProblem.TLS and str(missing) in str(caught.value)


def test_401_is_an_authentication_error_and_not_retried(h: Harness) -> None:
    h.emu.add_fault({"kind": "http", "status": 401, "method": "GET", "route": "/replicationRecoveryPlans"})
    with pytest.raises(ConfigurationError) as caught:
        h.asr.list_recovery_plans()
    assert caught.value.problem is ConfigurationProblem.AUTHENTICATION and caught.value.status == 401
    assert caught.value.code == "InvalidAuthenticationToken"
    assert h.statuses("GET", "/replicationRecoveryPlans") == [401]


def test_403_names_the_principal_arm_names(h: Harness) -> None:
    message = (
        "The client 'autopilot-mi' with object id '11111111-2222-3333-4444-555555555555' does not have "
        "authorization to perform action 'Microsoft.RecoveryServices/vaults/replicationRecoveryPlans/read'."
    )
    h.emu.add_fault(
        {"kind": "http", "status": 403, "method": "GET", "route": "/replicationRecoveryPlans", "message": message}
    )
    with pytest.raises(ConfigurationError) as caught:
        h.asr.list_recovery_plans()
    assert caught.value.problem is ConfigurationProblem.AUTHORIZATION and caught.value.code == "AuthorizationFailed"
    assert caught.value.principal == "autopilot-mi (object id 11111111-2222-3333-4444-555555555555)"
    assert "autopilot-mi" in str(caught.value)


def test_a_missing_plan_is_a_permanent_target_not_found(h: Harness) -> None:
    with pytest.raises(TargetNotFound) as caught:
        h.asr.get_recovery_plan("no-such-plan")
    assert caught.value.resource == "recovery plan 'no-such-plan'" and caught.value.permanent
    assert "no-such-plan" in str(caught.value) and h.statuses("GET", "/no-such-plan") == [404]
    with pytest.raises(TargetNotFound):
        h.asr.plan_commit("no-such-plan")


def test_a_missing_item_is_a_permanent_target_not_found(h: Harness) -> None:
    real = h.item("cfg-2").ref
    ghost = ItemRef(real.fabric, real.container, "no-such-item")
    with pytest.raises(TargetNotFound) as caught:
        h.asr.get_protected_item(ghost)
    assert "no-such-item" in caught.value.resource


def test_a_missing_job_stays_an_ordinary_not_found(h: Harness) -> None:
    with pytest.raises(SiteRecoveryError) as caught:
        h.asr.get_job("00000000-0000-0000-0000-000000000000")
    assert caught.value.status == 404 and not caught.value.permanent


def test_throttling_and_server_errors_stay_weather(h: Harness) -> None:
    h.emu.add_fault({"kind": "http", "status": 503, "method": "GET", "route": "/replicationVaultHealth"})
    with pytest.raises(TransientSiteRecoveryError) as server:
        h.asr.get_vault_health()
    assert not server.value.permanent
    h.emu.clear_faults()
    h.emu.add_fault({"kind": "http", "status": 429, "method": "GET", "route": "/replicationJobs", "retryAfter": 0.05})
    with pytest.raises(Throttled) as throttled:
        h.asr.list_jobs()
    assert not throttled.value.permanent and len(h.statuses("GET", "/replicationJobs")) == FAST_RETRIES.retry_status + 1


# -- the emulator refuses failoverCancel on A2A items, as ASR does -------------------------------------------


def test_failover_cancel_is_refused_on_an_a2a_item_after_failover(h: Harness) -> None:
    item = h.item("cfg-1")
    job = h.wait_job(h.asr.unplanned_failover(item.ref, shutdown_source=False, recovery_point_id=None))
    assert job.succeeded
    failed_over = h.asr.get_protected_item(item.ref)
    assert "Commit" in failed_over.allowed_operations and "CancelFailover" not in failed_over.allowed_operations
    client = build_client(
        Connection(h.emu.subscription_id, h.emu.resource_group, h.emu.vault, h.emu.endpoint, h.emu.ca_bundle),
        options=NO_RETRIES,
    )
    with pytest.raises(HttpResponseError) as raw:
        client.replication_protected_items.begin_failover_cancel(
            h.emu.resource_group, h.emu.vault, item.ref.fabric, item.ref.container, item.ref.name
        ).result()
    assert raw.value.status_code == 400
    assert raw.value.error is not None and raw.value.error.code == "BadRequest"
    inner = raw.value.error.details[0]
    assert inner.code == "OperationNotAllowed" and "CancelFailover" in (inner.message or "")
    assert "Commit" in (inner.message or "")  # the refusal lists what the item does allow
    assert h.asr.get_protected_item(item.ref).failed_over  # nothing changed: still failed over, uncommitted
    assert not [j for j in h.asr.list_jobs() if j.target_name == "cfg-1" and "ancel" in j.scenario]


def test_failover_cancel_is_refused_on_an_a2a_plan(h: Harness) -> None:
    client = build_client(
        Connection(h.emu.subscription_id, h.emu.resource_group, h.emu.vault, h.emu.endpoint, h.emu.ca_bundle),
        options=NO_RETRIES,
    )
    with pytest.raises(HttpResponseError) as raw:
        client.replication_recovery_plans.begin_failover_cancel(h.emu.resource_group, h.emu.vault, "cfg-plan").result()
    assert raw.value.status_code == 400
    assert raw.value.error is not None and raw.value.error.details[0].code == "OperationNotAllowed"


def test_operation_not_allowed_is_not_permanent_for_the_engine(h: Harness) -> None:
    with pytest.raises(OperationNotAllowed) as caught:
        h.asr.commit(h.item("cfg-2").ref)
    assert not caught.value.permanent  # the workflows decide about refusals per VM
