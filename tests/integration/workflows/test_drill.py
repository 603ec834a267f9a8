"""Drills on the engine and the emulator: test VMs created and cleaned up, production never touched."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lib.domain.runs import RunStatus
from tests.integration.workflows.conftest import NETWORK, topology

pytestmark = pytest.mark.integration


class _App(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def app_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _App)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_drill_creates_and_cleans_up_test_vms_and_moves_last_test_time(dr_stack: Any, app_url: str) -> None:
    plan = {"name": "app", "groups": [["db"], ["web-1"]]}
    with dr_stack(topology(["db", "web-1"], [plan])) as stack:
        assert [stack.vm(vm)["lastSuccessfulTestFailoverTime"] for vm in ("db", "web-1")] == [None, None]
        seen_running: set[str] = set()

        def watch(run: Any, rows: Any) -> None:
            if run.step == "validate":  # the test failover is done: its VMs must be up right now
                seen_running.update(vm for vm in ("db", "web-1") if stack.vm(vm)["testVmRunning"])

        run_id = stack.start("drill", {"plan": "app", "test_network_id": NETWORK, "probe_url": f"{app_url}/healthz"})
        driver = stack.driver()
        driver.on_transition = watch
        run = driver.run_until_finished(run_id, deadline_s=120)
        assert run.status is RunStatus.SUCCEEDED, run.error
        assert seen_running == {"db", "web-1"}
        for vm in ("db", "web-1"):
            s = stack.vm(vm)
            assert s["testVmRunning"] is False and s["testFailoverState"] in ("None", "MarkedForDeletion")
            assert s["lastSuccessfulTestFailoverTime"] is not None  # it was None before the drill (asserted above)
            assert s["originalDirection"] and s["protectionState"] == "Protected" and s["activeLocation"] == "Primary"
        assert stack.posts("unplannedFailover") == 0 and stack.posts("switchprotection") == 0
        validation = run.state["evidence"]["validation"]
        assert validation["ok"] and validation["probe"]["ok"]


def test_failed_validation_still_cleans_up_and_reports_failure(dr_stack: Any, app_url: str) -> None:
    with dr_stack(topology(["web-1", "web-2"])) as stack:
        run_id = stack.start(
            "drill", {"vms": ["web-1", "web-2"], "test_network_id": NETWORK, "probe_url": f"{app_url}/broken"}
        )
        run = stack.finish(run_id)
        assert run.status is RunStatus.FAILED and run.error_code == "DrillFailed"
        assert "HTTP 503" in run.error and "cleaned up" in run.error
        for vm in ("web-1", "web-2"):
            s = stack.vm(vm)
            assert s["testVmRunning"] is False and s["testFailoverState"] in ("None", "MarkedForDeletion")
        assert stack.posts("testFailoverCleanup") == 2
        steps = [h.step for h in stack.app.engine.get(run_id).history]
        assert steps.index("cleanup") > steps.index("validate")


def test_drill_with_a_failed_test_failover_cleans_up_the_others(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1", "web-2"])) as stack:
        stack.emu.add_fault({"kind": "jobFailure", "vm": "web-1", "operation": "TestFailover", "count": 1,
                             "code": "28031", "message": "Test network not found."})  # fmt: skip
        run = stack.finish(stack.start("drill", {"vms": ["web-1", "web-2"], "test_network_id": NETWORK}))
        assert run.status is RunStatus.FAILED and "28031" in str(run.state["evidence"]["vms"]["web-1"]["error"])
        web2 = stack.vm("web-2")
        assert web2["testVmRunning"] is False and web2["testFailoverState"] in ("None", "MarkedForDeletion")
