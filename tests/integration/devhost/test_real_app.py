"""The real ``function_app.py`` under the devhost: a work item whose trigger keeps raising is redelivered, moved to
the poison queue after ``maxDequeueCount``, and the poison trigger ends the run as failed with the reason.

The trigger raises because the table service is unreachable (a storage outage: a gate in front of Azurite's table
port shuts, the queue service stays up), which is exactly when ``functions/engine.py`` lets an exception escape.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from devhost.appenv import app_env
from devhost.azurite import Azurite
from devhost.launcher import DevhostInfo, running_devhost
from devhost.local import local_settings
from emulator.launcher import EmulatorInfo, running_emulator
from lib.adapters.storage_clients import StorageClients
from lib.adapters.storage_work_queue import StorageWorkQueue
from lib.bootstrap import build
from lib.domain.runs import RunStatus
from tests.integration.devhost.conftest import write_script_root
from tests.integration.devhost.tcp_gate import TcpGate

pytestmark = pytest.mark.integration

HOST_JSON = {
    "version": "2.0",
    "extensions": {
        "queues": {
            "maxPollingInterval": "00:00:00.500",
            "visibilityTimeout": "00:00:01",
            "batchSize": 4,
            "maxDequeueCount": 2,
        }
    },
}
TOPOLOGY = {
    "subscriptionId": "6f4e2a10-0000-4000-8000-00000000a5a5", "resourceGroup": "rg-dr", "vault": "vault-dr",
    "primaryRegion": "eastus", "recoveryRegion": "westus", "vms": [{"name": "vm1", "diskGiB": 16}],
}  # fmt: skip


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorInfo]:
    with running_emulator(TOPOLOGY, time_scale=600) as emu:
        yield emu


@pytest.fixture
def gate(azurite: Azurite) -> Iterator[TcpGate]:
    gate = TcpGate(azurite.table_port)
    yield gate
    gate.close()


def _wait_for_log(host: DevhostInfo, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in host.log():
        assert time.monotonic() < deadline, f"{text!r} never appeared in the devhost log:\n{host.log()}"
        time.sleep(0.1)


def test_engine_work_item_that_keeps_failing_is_poisoned_and_fails_its_run(
    azurite: Azurite, emulator: EmulatorInfo, gate: TcpGate, tmp_path: Path
) -> None:
    name = "p" + uuid.uuid4().hex[:12]
    direct = local_settings(
        emulator, azurite.connection_string, timer_scale=0.01,
        work_queue=name, runs_table=f"{name}runs", run_index_table=f"{name}idx", locks_table=f"{name}locks",
    )  # fmt: skip
    table_endpoint = f"TableEndpoint=http://127.0.0.1:{azurite.table_port}/"
    assert table_endpoint in direct.storage_connection
    gated = replace(
        direct,
        storage_connection=direct.storage_connection.replace(
            table_endpoint, f"TableEndpoint=http://127.0.0.1:{gate.port}/"
        ),
    )
    app = build(direct)  # the test's own view of the same storage, not through the gate
    app.ensure_storage()
    root = write_script_root(tmp_path / "root", HOST_JSON, {})
    with running_devhost(env=app_env(gated), app="function_app:app", script_root=root) as host:
        status, _, body = host.request("GET", "/api/health")  # the real HTTP trigger (anonymous)
        assert status == 200 and json.loads(body)["missingSettings"] == []
        assert host.request("GET", "/api/runs")[0] == 401  # a function-key route, asked without a key
        # Warm the app's storage while the tables answer: a message that is no work item is dropped, not retried.
        StorageWorkQueue.from_clients(StorageClients.from_connection_string(direct.storage_connection), name).send("{}")
        _wait_for_log(host, "Executed 'Functions.engine_work' (Succeeded")

        gate.shut()  # table service outage: the engine cannot load or save runs; the queue still delivers
        run_id = app.start("failover", {"target": {"vms": ["vm1"]}, "reason": "poison test"}, actor="test").run_id
        _wait_for_log(host, f"moved to {name}-poison after 2 attempts")
        log = host.log()
        assert "failed (attempt 1 of 2); visible again in 1s" in log
        assert log.count("Executed 'Functions.engine_work' (Failed") == 2
        assert "azure.core.exceptions.ServiceResponseError" in log  # the outage, as the trigger saw it
        assert app.engine.get(run_id).run.status is not RunStatus.FAILED  # nothing could touch the run yet

        gate.open()  # storage is back: the poison trigger can record the outcome
        deadline = time.monotonic() + 60
        while (run := app.engine.get(run_id).run).status is not RunStatus.FAILED:
            assert time.monotonic() < deadline, f"run still {run.status}:\n{host.log()}"
            time.sleep(0.2)
    assert "moved to the poison queue" in run.reason and "maxDequeueCount" in run.reason
    assert (
        StorageWorkQueue.from_clients(
            StorageClients.from_connection_string(direct.storage_connection), f"{name}-poison"
        ).approximate_count()
        == 0
    )


def test_a_failover_run_is_driven_to_the_end_by_the_devhost_queue_trigger(
    azurite: Azurite, emulator: EmulatorInfo, tmp_path: Path
) -> None:
    """One step per message, follow-ups as new messages: the way the engine runs in Azure, not the test driver."""
    name = "f" + uuid.uuid4().hex[:12]
    settings = local_settings(
        emulator, azurite.connection_string, timer_scale=0.01,
        work_queue=name, runs_table=f"{name}runs", run_index_table=f"{name}idx", locks_table=f"{name}locks",
    )  # fmt: skip
    app = build(settings)
    root = write_script_root(tmp_path / "root", HOST_JSON, {})
    emulator.reset_requests()
    with running_devhost(env=app_env(settings), app="function_app:app", script_root=root) as host:
        timing = {"jobPollSeconds": 10, "healthPollSeconds": 20, "healthPollMaxSeconds": 60}
        run_id = app.start("failover", {"target": {"vms": ["vm1"]}, "timing": timing}, actor="test").run_id
        deadline = time.monotonic() + 120
        while (run := app.engine.get(run_id).run).active:
            assert time.monotonic() < deadline, f"run still {run.status} at {run.step}:\n{host.log()[-4000:]}"
            time.sleep(0.2)
        steps = host.log().count("Executed 'Functions.engine_work' (Succeeded")
    assert run.status is RunStatus.SUCCEEDED, (run.reason, run.error)
    assert emulator.vm_state("vm1")["primaryRegion"] == "westus"
    posts = emulator.requests_count()["byRoute"]
    assert (
        sum(n for route, n in posts.items() if route.startswith("POST ") and route.endswith("/unplannedFailover")) == 1
    )
    assert steps >= 3  # several messages, each one step
