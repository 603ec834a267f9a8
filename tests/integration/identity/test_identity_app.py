"""The real ``function_app.py`` under the devhost with the settings main.bicep deploys (identity-based storage, no
connection string): /api/health is satisfied, and a failover run is driven to its end by the queue trigger, its
runs, history, locks and work items all on Azurite reached with the managed identity's tokens."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from devhost.appenv import app_env
from devhost.launcher import running_devhost
from devhost.local import local_settings
from emulator.launcher import EmulatorInfo, running_emulator
from lib.bootstrap import build
from lib.domain.runs import RunStatus
from lib.settings import Settings
from tests.integration.devhost.conftest import write_script_root
from tests.integration.identity.conftest import CLIENT_ID, OAuthAzurite, identity_env
from tests.integration.identity.fake_identity import FakeIdentityEndpoint

pytestmark = pytest.mark.integration

HOST_JSON = {"version": "2.0", "extensions": {"queues": {"maxPollingInterval": "00:00:00.500", "batchSize": 4}}}
TOPOLOGY = {
    "subscriptionId": "6f4e2a10-0000-4000-8000-00000000a5a6", "resourceGroup": "rg-dr", "vault": "vault-dr",
    "primaryRegion": "eastus", "recoveryRegion": "westus", "vms": [{"name": "vm1", "diskGiB": 16}],
}  # fmt: skip


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorInfo]:
    with running_emulator(TOPOLOGY, time_scale=600) as emu:
        yield emu


def _settings(oauth_azurite: OAuthAzurite, emulator: EmulatorInfo) -> Settings:
    name = "i" + uuid.uuid4().hex[:12]
    names = local_settings(
        emulator, "", timer_scale=0.01,
        work_queue=name, runs_table=f"{name}runs", run_index_table=f"{name}idx", locks_table=f"{name}locks",
    )  # fmt: skip
    storage = Settings.from_env(identity_env(oauth_azurite.azurite))
    return replace(
        names,
        storage_table_uri=storage.storage_table_uri,
        storage_queue_uri=storage.storage_queue_uri,
        storage_blob_uri=storage.storage_blob_uri,
        storage_credential=storage.storage_credential,
        storage_client_id=storage.storage_client_id,
        azure_client_id=storage.azure_client_id,
    )


def test_a_failover_runs_to_the_end_on_identity_based_storage(
    oauth_azurite: OAuthAzurite, identity: FakeIdentityEndpoint, emulator: EmulatorInfo, tmp_path: Path
) -> None:
    settings = _settings(oauth_azurite, emulator)
    env = app_env(settings)
    assert env["AzureWebJobsStorage"] == "" and "AccountKey" not in json.dumps(env)
    app = build(settings)  # the test's own view of the same storage, through the same identity-based clients
    app.ensure_storage()
    asked_by_test = len(identity.requests)
    root = write_script_root(tmp_path / "root", HOST_JSON, {})
    host_env = env | identity.env() | {"REQUESTS_CA_BUNDLE": str(oauth_azurite.ca_bundle)}
    with running_devhost(env=host_env, app="function_app:app", script_root=root) as host:
        status, _, body = host.request("GET", "/api/health")
        health = json.loads(body)
        assert status == 200 and health["missingSettings"] == [] and health["settingProblems"] == [], health
        timing = {"jobPollSeconds": 10, "healthPollSeconds": 20, "healthPollMaxSeconds": 60}
        run_id = app.start("failover", {"target": {"vms": ["vm1"]}, "timing": timing}, actor="test").run_id
        deadline = time.monotonic() + 120
        while (run := app.engine.get(run_id).run).active:
            assert time.monotonic() < deadline, f"run still {run.status} at {run.step}:\n{host.log()[-4000:]}"
            time.sleep(0.2)
        steps = host.log().count("Executed 'Functions.engine_work' (Succeeded")
    assert run.status is RunStatus.SUCCEEDED, (run.reason, run.error)
    assert emulator.vm_state("vm1")["primaryRegion"] == "westus"
    assert steps >= 3  # the devhost's queue trigger ran the steps, reading the work queue with a token
    by_host = identity.requests[asked_by_test:]
    assert by_host, "the app under the devhost never asked the identity endpoint for a storage token"
    assert {(r.client_id, r.header_ok) for r in identity.requests} == {(CLIENT_ID, True)}
