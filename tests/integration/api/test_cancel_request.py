"""Issue 10 over the API: a cancel while an ASR job runs is 202 (a request the run carries out), and the run view
shows it; the linked run of a rollback names where it came from (Azurite + the HTTPS emulator)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.workflows.conftest import NETWORK, topology
from tests.integration.workflows.test_cancel_phases import _step_until

pytestmark = pytest.mark.integration


def test_cancel_during_a_test_failover_is_202_then_the_run_ends_cancelled(api_stack: Any) -> None:
    with api_stack(topology(["web-1"])) as api:
        api.stack.emu.set_time_scale(5)
        run_id = api.start("drill", {"target": {"vms": ["web-1"]}, "testNetworkId": NETWORK}).json["runId"]
        _step_until(
            api.stack, run_id, lambda run: "test_failover" in run.state.get("vms", {}).get("web-1", {}).get("jobs", {})
        )
        accepted = api.call("POST", f"runs/{run_id}/cancel", {"reason": "maintenance window moved"})
        assert accepted.status == 202, accepted.raw
        assert accepted.json["status"] in ("running", "waiting") and accepted.json["cancel"]["requested"] is True
        assert "cancel requested by function-key: maintenance window moved" in accepted.json["reason"]
        _step_until(api.stack, run_id, lambda run: bool(run.state.get("cancelled_jobs")))  # the job's next poll
        api.stack.emu.set_time_scale(3000)
        run = api.stack.finish(run_id)
        assert run.status.value == "cancelled", run.reason
        view = api.call("GET", f"runs/{run_id}").json
        assert view["status"] == "cancelled" and len(view["cancel"]["cancelledJobs"]) == 1
        assert api.stack.posts("cancel") == 1 and api.stack.vm("web-1")["testVmRunning"] is False
        history = api.call("GET", f"runs/{run_id}/history").json["history"]
        assert [h["event"] for h in history if h["event"].startswith("cancel")] == ["cancel-request", "cancel"]
        again = api.call("POST", f"runs/{run_id}/cancel")
        assert again.status == 409, again.raw


def test_cancel_before_any_action_is_still_200_cancelled(api_stack: Any) -> None:
    with api_stack(topology(["web-1"])) as api:
        run_id = api.start("drill", {"target": {"vms": ["web-1"]}, "testNetworkId": NETWORK}).json["runId"]
        cancelled = api.call("POST", f"runs/{run_id}/cancel")
        assert cancelled.status == 200 and cancelled.json["status"] == "cancelled" and cancelled.json["cancel"] is None
        assert api.stack.posts("testFailover") == 0
