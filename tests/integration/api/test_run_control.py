"""Steering a run over real HTTP (devhost): a partial failover asks, commit/retry/rollback answer, and
refusals are 409s that name the reason and the choices."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.conftest import topology

pytestmark = pytest.mark.integration

VMS = ["web-1", "web-2"]


def _partial(api: Any) -> str:
    api.emu.add_fault({"kind": "jobFailure", "vm": "web-2", "operation": "UnplannedFailover", "count": 1})
    run_id = api.start("failover", {"target": {"vms": VMS}}).json["runId"]
    view = api.wait(run_id)
    assert view["status"] == "awaiting-decision", view
    assert api.posts("failoverCommit") == 0
    return str(run_id)


def test_partial_failover_commit_then_retry_over_http(http_stack: Any) -> None:
    with http_stack(topology(VMS)) as api:
        run_id = _partial(api)
        refused = api.call("POST", f"runs/{run_id}/cancel")
        assert refused.status == 409, refused.raw
        assert refused.json["error"]["choices"] == ["commit", "rollback"] and "web-1" in refused.json["error"]["reason"]
        committed = api.call("POST", f"runs/{run_id}/commit", {"comment": "web-1 serves"})
        assert committed.status == 200, committed.raw
        assert api.wait(run_id)["status"] == "partially-succeeded"
        assert api.posts("failoverCommit") == 1 and api.vm("web-2")["originalDirection"]
        again = api.call("POST", f"runs/{run_id}/retry", {"reason": "web-2 again"})
        assert again.status == 200, again.raw
        assert api.wait(run_id)["status"] == "succeeded"
        assert all(api.vm(vm)["primaryRegion"] == "westus" for vm in VMS)
        assert api.posts("unplannedFailover") == 3 and api.posts("failoverCommit") == 2


def test_rollback_over_http_and_a_refused_rollback_names_the_choices(http_stack: Any) -> None:
    with http_stack(topology(VMS)) as api:
        run_id = _partial(api)
        rolled = api.call("POST", f"runs/{run_id}/rollback", {"reason": "web-2 is the database"})
        assert rolled.status == 200, rolled.raw
        view = api.wait(run_id)
        assert view["status"] == "partially-succeeded", view
        again = api.call("POST", f"runs/{run_id}/rollback")
        assert again.status == 409 and again.json["error"]["choices"] == ["retry"], again.raw
        history = api.call("GET", f"runs/{run_id}/history").json["history"]
        linked = next(h["details"]["linked_run"] for h in history if "linked_run" in h.get("details", {}))
        assert api.wait(linked)["status"] == "succeeded"
        for vm in VMS:
            s = api.vm(vm)
            assert (s["primaryRegion"], s["originalDirection"], s["protectionState"]) == ("eastus", True, "Protected")
        assert api.posts("unplannedFailover") == 3  # web-1 and web-2 once, web-1 back once


def test_continue_and_commit_refused_on_a_finished_run(http_stack: Any) -> None:
    with http_stack(topology(["web-1"])) as api:
        run_id = api.start("failover", {"target": {"vms": ["web-1"]}}).json["runId"]
        assert api.wait(run_id)["status"] == "succeeded"
        for op in ("continue", "commit", "rollback"):
            refused = api.call("POST", f"runs/{run_id}/{op}")
            assert refused.status == 409 and refused.json["error"]["status"] == "succeeded", (op, refused.raw)
            assert refused.json["error"]["choices"] == [], refused.raw
