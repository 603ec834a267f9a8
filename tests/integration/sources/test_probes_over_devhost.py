"""The probe timer's blueprint under the devhost, run through the admin API (as the Functions host's
``POST /admin/functions/{name}``), probing a local HTTP server that fails, then recovers: exactly one active signal
message after ``failuresToSignal`` failures, and one resolved after as many successes, on Azurite. The app is the
blueprint alone (``probes_app``): this test reads the signals queue, which the full app's intake consumes."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from azure.functions.timer import TimerRequest

from devhost.appenv import app_env
from devhost.launcher import DevhostInfo, running_devhost
from functions import probes as trigger
from lib.adapters.storage_clients import StorageClients
from lib.adapters.storage_work_queue import StorageWorkQueue
from lib.adapters.table_source_state import TableProbeStates
from lib.settings import Settings
from lib.signals import RegionHealthSignal, SignalState, Source
from tests.integration.devhost.conftest import write_script_root

pytestmark = pytest.mark.integration

FAILURES_TO_SIGNAL = 3
NEVER = "0 0 0 1 1 *"  # once a year: the test runs the timer itself


class FlakyApp:
    """``/health`` answers 503 while ``down`` is set, 200 otherwise; counts the probes it served."""

    def __init__(self) -> None:
        self.down = True
        self.served = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.served += 1
                status = 503 if outer.down else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky() -> Iterator[FlakyApp]:
    app = FlakyApp()
    yield app
    app.close()


def policy(url: str, failures: int = FAILURES_TO_SIGNAL) -> str:
    probes = [{"url": url, "failuresToSignal": failures}]
    return json.dumps({"regions": {"eastus": {"targets": [{"vms": ["vm1"]}], "mode": "auto", "probes": probes}}})


def settings(storage: str) -> Settings:
    name = "p" + uuid.uuid4().hex[:12]
    return Settings(
        storage_connection=storage, asr_subscription_id="s", asr_resource_group="rg", asr_vault_name="v",
        work_queue=f"{name}work", signals_queue=f"{name}signals", probes_table=f"{name}probes",
        vm_health_table=f"{name}vmhealth", probe_schedule=NEVER,
    )  # fmt: skip


def signals(queue: StorageWorkQueue) -> list[RegionHealthSignal]:
    out = []
    for message in queue.receive(32, 60):
        body = json.loads(message.body)
        assert set(body) == {"v", "kind", "signal"} and (body["v"], body["kind"]) == (1, "signal")
        out.append(RegionHealthSignal.from_json(body["signal"]))
        queue.delete(message)
    return out


def run_timer(host: DevhostInfo) -> None:
    status, _, body = host.request("POST", "/admin/functions/probe_regions", {}, key=host.master_key)
    assert status == 202 and json.loads(body)["status"] == "Succeeded", (body, host.log()[-3000:])


def test_the_probe_timer_signals_once_down_and_once_recovered(
    storage_connection_string: str, flaky: FlakyApp, tmp_path: Path
) -> None:
    app_settings = settings(storage_connection_string)
    queue = StorageWorkQueue.from_clients(
        StorageClients.from_connection_string(storage_connection_string), app_settings.signals_queue
    )
    env = {**app_env(app_settings), "DR_POLICY": policy(flaky.url)}
    root = write_script_root(tmp_path / "root", {"version": "2.0"}, {})
    with running_devhost(env=env, app="tests.integration.sources.probes_app:app", script_root=root) as host:
        for attempt in range(1, FAILURES_TO_SIGNAL + 2):
            run_timer(host)
            found = signals(queue)
            expected = 1 if attempt == FAILURES_TO_SIGNAL else 0
            assert len(found) == expected, f"after failure {attempt}: {found}"
            if found:
                active = found[0]
        assert (active.source, active.state, active.regions) == (Source.PROBE, SignalState.ACTIVE, ("eastus",))
        assert active.incident.startswith(f"probe:{flaky.url}@")

        flaky.down = False
        for attempt in range(1, FAILURES_TO_SIGNAL + 2):
            run_timer(host)
            found = signals(queue)
            assert len(found) == (1 if attempt == FAILURES_TO_SIGNAL else 0), f"after success {attempt}: {found}"
            if found:
                resolved = found[0]
        assert resolved.state is SignalState.RESOLVED and resolved.incident == active.incident
        assert flaky.served == 2 * (FAILURES_TO_SIGNAL + 1)
        assert host.log_with("probes: 1 probed, 1 failing, 1 signal(s) sent")
    stored = TableProbeStates.from_clients(
        StorageClients.from_connection_string(storage_connection_string), app_settings.probes_table
    )
    record = stored.load("eastus", flaky.url)
    assert record is not None and record.value.outbox == () and record.value.state.active_since is None


def test_a_bad_policy_probes_nothing_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[object] = []
    monkeypatch.setattr(trigger, "_sources", lambda: SimpleNamespace(probes=SimpleNamespace(run=ran.append)))
    monkeypatch.setenv("DR_POLICY", '{"regions": {"eastus": {"mode": "sometimes"}}}')
    monkeypatch.delenv("DR_POLICY_FILE", raising=False)
    with caplog.at_level("ERROR"):
        trigger.probe_regions(TimerRequest())
    assert ran == [] and "the policy is invalid, nothing is probed" in caplog.text
    assert "regions.eastus.mode" in caplog.text


def test_the_trigger_in_process_logs_each_flip(
    storage_connection_string: str, flaky: FlakyApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app_settings = settings(storage_connection_string)
    for name, value in {**app_env(app_settings), "DR_POLICY": policy(flaky.url, failures=1)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DR_POLICY_FILE", raising=False)
    trigger._sources.cache_clear()
    try:
        with caplog.at_level("INFO"):
            trigger.probe_regions(TimerRequest())
    finally:
        trigger._sources.cache_clear()
    assert f"probe {flaky.url} (eastus): HTTP 503 Service Unavailable -> active signal sent" in caplog.text
    assert "probes: 1 probed, 1 failing, 1 signal(s) sent" in caplog.text
    queue = StorageWorkQueue.from_clients(
        StorageClients.from_connection_string(storage_connection_string), app_settings.signals_queue
    )
    assert [s.state for s in signals(queue)] == [SignalState.ACTIVE]


def test_without_probes_nothing_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode() -> None:
        raise AssertionError("the sources were built")

    monkeypatch.setattr(trigger, "_sources", explode)
    monkeypatch.setenv("DR_POLICY", '{"regions": {"eastus": {"targets": [{"vms": ["vm1"]}]}}}')
    monkeypatch.delenv("DR_POLICY_FILE", raising=False)
    trigger.probe_regions(TimerRequest())
