"""The app's HTTP triggers called in-process with real HttpRequest objects, the engine driven by the test driver:
the run view in detail, operations on paused runs, busy VMs. The same scenarios over real HTTP through the
devhost are in test_over_devhost.py."""

from __future__ import annotations

from typing import Any

import pytest

from lib.domain.runs import RunStatus
from tests.integration.api.conftest import NETWORK, topology

pytestmark = pytest.mark.integration

PLAN = {"name": "app", "groups": [["db"], ["web-1", "web-2"]]}
VMS = ["db", "web-1", "web-2"]


def _original(api: Any, vm: str) -> bool:
    s = api.stack.vm(vm)
    return bool(s["originalDirection"] and s["protectionState"] == "Protected" and s["replicationHealth"] == "Normal")


def test_plan_failover_over_http_reaches_healthy_and_failback_returns_every_vm(api_stack: Any) -> None:
    with api_stack(topology(VMS, [PLAN])) as api:
        reply = api.start("failover", {"target": {"recoveryPlan": "app"}, "reason": "region drill"})
        assert reply.status == 202, reply.json
        run_id = reply.json["runId"]
        assert reply.headers["Location"] == f"/api/runs/{run_id}"
        assert reply.json == {"runId": run_id, "status": "pending", "kind": "failover"}
        assert api.stack.finish(run_id).status is RunStatus.SUCCEEDED
        view = api.call("GET", f"runs/{run_id}").json
        assert view["status"] == "succeeded" and view["why"] == "region drill"
        assert view["requestedBy"]["name"] == "function-key"
        assert [s["step"] for s in view["steps"]][:3] == ["preflight", "failover", "await_commit"]
        assert all(s["startedAt"] and s["outcome"] for s in view["steps"])
        assert {j["phase"] for j in view["jobs"]} == {"failover", "commit", "reprotect"}
        assert all(j["state"] == "Succeeded" and j["startTime"] and j["endTime"] for j in view["jobs"])
        assert {v["vm"] for v in view["vms"]} == set(VMS)
        assert all(v["reprotectPercent"] == 100 and v["health"] == "Normal" for v in view["vms"])
        assert view["evidence"]["rtoSeconds"] > 0 and view["evidence"]["rpoSeconds"] is not None
        for vm in VMS:
            assert api.stack.vm(vm)["primaryRegion"] == "westus"
        history = api.call("GET", f"runs/{run_id}/history").json["history"]
        assert history[0]["event"] == "create" and history[-1]["to"] == "succeeded"

        back = api.start("failback", {"target": {"recoveryPlan": "app"}})
        assert back.status == 202
        assert api.stack.finish(back.json["runId"]).status is RunStatus.SUCCEEDED
        assert all(_original(api, vm) for vm in VMS)
        listed = api.call("GET", "runs", query={"kind": "failback"}).json["runs"]
        assert [r["runId"] for r in listed] == [back.json["runId"]]
        both = api.call("GET", "runs").json["runs"]
        assert [r["runId"] for r in both] == [back.json["runId"], run_id]  # newest first


def test_cancel_before_commit_is_409_naming_the_choices_and_cancel_before_any_action_ends_it(
    api_stack: Any,
) -> None:
    with api_stack(topology(["web-1", "web-2"])) as api:
        run_id = api.start("failover", {"target": {"vms": ["web-1"]}, "autoCommit": False}).json["runId"]
        api.stack.finish(run_id)
        refused = api.call("POST", f"runs/{run_id}/cancel", {"reason": "changed my mind"})
        assert refused.status == 409, refused.raw
        assert refused.json["error"]["choices"] == ["commit", "rollback"] and "web-1" in refused.json["error"]["reason"]
        assert api.call("GET", f"runs/{run_id}").json["status"] == "awaiting-decision"
        early = api.start("failover", {"target": {"vms": ["web-2"]}}).json["runId"]  # not driven: no ASR action
        cancelled = api.call("POST", f"runs/{early}/cancel", {"reason": "changed my mind"})
        assert cancelled.status == 200 and cancelled.json["status"] == "cancelled"
        history = api.call("GET", f"runs/{early}/history").json["history"]
        assert history[-1]["event"] == "cancel" and history[-1]["actor"] == "function-key"
        assert api.stack.posts("unplannedFailover") == 1


def test_a_second_request_for_vms_a_run_holds_is_409_and_creates_nothing(api_stack: Any) -> None:
    with api_stack(topology(["web-1", "web-2"])) as api:
        first = api.start("failover", {"target": {"vms": ["web-1"]}, "autoCommit": False}).json["runId"]
        api.stack.finish(first)  # paused, holding web-1
        runs, rows = api.runs_stored(), api.index_rows()
        second = api.start("failover", {"target": {"vms": ["web-2", "web-1"]}})
        assert second.status == 409 and second.field == "target" and first in second.json["error"]["message"]
        pending = api.start("failback", {"target": {"vms": ["web-2"]}})  # web-2 is free: accepted, stays pending
        assert pending.status == 202
        third = api.start("drill", {"target": {"vms": ["web-2"]}, "testNetworkId": NETWORK})
        assert third.status == 409  # the pending run has not locked web-2 yet, but it will
        assert (api.runs_stored(), api.index_rows()) == (runs + 1, rows + 1)
        assert api.stack.posts("unplannedFailover") == 1  # the first run's only; the refusals sent nothing


def test_a_vm_request_overlapping_a_pending_plan_run_is_409(api_stack: Any) -> None:
    plans = [{"name": "shop", "groups": [["web-1"], ["sql-1"]]}]
    with api_stack(topology(["web-1", "sql-1", "spare-1"], plans)) as api:
        plan_run = api.start("failover", {"target": {"recoveryPlan": "shop"}})
        assert plan_run.status == 202  # not driven: pending, no locks taken yet
        runs = api.runs_stored()
        overlap = api.start("failover", {"target": {"vms": ["sql-1"]}})
        assert overlap.status == 409 and overlap.field == "target"
        assert plan_run.json["runId"] in overlap.json["error"]["message"]
        assert api.start("failover", {"target": {"vms": ["spare-1"]}}).status == 202  # not in the plan
        assert api.runs_stored() == runs + 1


def test_an_idempotency_key_reused_for_another_request_is_409_and_creates_nothing(api_stack: Any) -> None:
    with api_stack(topology(["web-1", "web-2"])) as api:
        key = {"Idempotency-Key": "change-7"}
        first = api.start("failover", {"target": {"vms": ["web-1"]}}, headers=key)
        again = api.start("failover", {"target": {"vms": ["web-1"]}}, headers=key)
        assert first.status == again.status == 202 and again.json["runId"] == first.json["runId"]
        runs = api.runs_stored()
        other = api.start("failover", {"target": {"vms": ["web-2"]}}, headers=key)
        assert other.status == 409 and other.field == "Idempotency-Key"
        assert first.json["runId"] in other.json["error"]["message"]
        assert api.runs_stored() == runs and api.stack.posts("unplannedFailover") == 0
