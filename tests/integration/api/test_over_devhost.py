"""DR over real HTTP through the devhost: its queue trigger runs the steps, as the Functions host does in Azure."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.api.conftest import NETWORK, topology
from tests.integration.api.test_refusals import CASES

pytestmark = pytest.mark.integration

PLAN = {"name": "app", "groups": [["db"], ["web-1", "web-2"]]}
VMS = ["db", "web-1", "web-2"]


def test_plan_failover_reaches_healthy_and_failback_returns_every_vm(http_stack: Any) -> None:
    with http_stack(topology(VMS, [PLAN])) as api:
        reply = api.start("failover", {"target": {"recoveryPlan": "app"}, "reason": "eastus outage"})
        assert reply.status == 202, reply.raw
        run_id = reply.json["runId"]
        assert reply.headers["Location"] == f"/api/runs/{run_id}"
        view = api.wait(run_id)
        assert view["status"] == "succeeded", view
        assert all(v["health"] == "Normal" and v["reprotectPercent"] == 100 for v in view["vms"])
        assert all(api.vm(vm)["primaryRegion"] == "westus" for vm in VMS)
        assert {j["phase"] for j in view["jobs"]} == {"failover", "commit", "reprotect"}
        assert view["evidence"]["rtoSeconds"] > 0 and view["why"] == "eastus outage"

        back = api.start("failback", {"target": {"recoveryPlan": "app"}})
        assert back.status == 202
        assert api.wait(back.json["runId"])["status"] == "succeeded"
        for vm in VMS:
            s = api.vm(vm)
            assert s["originalDirection"] and s["protectionState"] == "Protected", (vm, s)
            assert s["replicationHealth"] == "Normal" and s["primaryRegion"] == "eastus"


def test_drill_runs_validates_and_cleans_up(http_stack: Any) -> None:
    with http_stack(topology(["web-1", "web-2"])) as api:
        reply = api.start("drill", {"target": {"vms": ["web-1", "web-2"]}, "testNetworkId": NETWORK})
        assert reply.status == 202, reply.raw
        view = api.wait(reply.json["runId"])
        assert view["status"] == "succeeded" and view["evidence"]["validation"]["ok"], view
        for vm in ("web-1", "web-2"):
            s = api.vm(vm)
            assert s["testVmRunning"] is False and s["testFailoverState"] in ("None", "MarkedForDeletion")
            assert s["lastSuccessfulTestFailoverTime"] is not None
        assert api.posts("testFailoverCleanup") == 2 and api.posts("unplannedFailover") == 0


def test_auto_commit_off_pauses_approve_proceeds_cancel_after_the_end_is_409(http_stack: Any) -> None:
    with http_stack(topology(["web-1"])) as api:
        run_id = api.start("failover", {"target": {"vms": ["web-1"]}, "autoCommit": False}).json["runId"]
        paused = api.wait(run_id)
        assert (paused["status"], paused["approval"]) == ("awaiting-decision", "commit")
        assert api.posts("failoverCommit") == 0
        approved = api.call("POST", f"runs/{run_id}/approve", {"comment": "app checked in westus"})
        assert approved.status == 200, approved.raw
        assert api.wait(run_id)["status"] == "succeeded"
        assert api.posts("failoverCommit") == 1
        refused = api.call("POST", f"runs/{run_id}/cancel")
        assert refused.status == 409 and "succeeded" in refused.json["error"]["message"]


def test_twenty_concurrent_requests_with_one_idempotency_key_make_one_run(http_stack: Any) -> None:
    with http_stack(topology(VMS)) as api:
        api.emu.reset_requests()

        def send(_: int) -> Any:
            return api.start("failover", {"target": {"vms": VMS}}, headers={"Idempotency-Key": "incident-4711"})

        with ThreadPoolExecutor(20) as pool:
            replies = list(pool.map(send, range(20)))
        assert [r.status for r in replies] == [202] * 20, [r.raw for r in replies if r.status != 202]
        assert len({r.json["runId"] for r in replies}) == 1
        run_id = replies[0].json["runId"]
        assert api.wait(run_id)["status"] == "succeeded"
        assert [r["runId"] for r in api.call("GET", "runs").json["runs"]] == [run_id]
        assert api.posts("unplannedFailover") == len(VMS)  # one failover POST per VM
        late = api.start("failover", {"target": {"vms": VMS}}, headers={"Idempotency-Key": "incident-4711"})
        assert late.status == 202 and late.json["runId"] == run_id
        drill = {"target": {"vms": VMS}, "testNetworkId": NETWORK}
        other = api.start("drill", drill, headers={"Idempotency-Key": "incident-4711"})
        assert other.status == 409 and other.field == "Idempotency-Key"


def test_malformed_requests_over_http_and_keys(http_stack: Any) -> None:
    with http_stack(topology(["web-1", "web-2"], [{"name": "app", "groups": [["web-1"], ["web-2"]]}])) as api:
        assert api.call("GET", "runs", key=False).status == 401  # no function key: the host refuses
        assert api.start("failover", {"target": {"vms": ["web-1"]}}, key=False).status == 401
        health = api.call("GET", "health", key=False)
        assert health.status == 200 and health.json["missingSettings"] == []
        assert api.call("GET", "openapi.json").json["openapi"] == "3.1.0"
        api.emu.reset_requests()
        failures = []
        for name, method, target, body, headers, status, field in CASES:
            path, _, qs = target.partition("?")
            query = dict(p.split("=", 1) for p in qs.split("&")) if qs else None
            if isinstance(body, bytes):
                reply = api.call(method, path, raw=body, headers=headers, query=query)
            else:
                reply = api.call(method, path, body, headers=headers, query=query)
            if (reply.status, reply.field) != (status, field):
                failures.append(f"{name}: expected {(status, field)}, got {reply.status}: {reply.raw[:200]!r}")
        assert not failures, "\n".join(failures)
        assert not [r for r in api.emu.requests_count()["byRoute"] if not r.startswith("GET ")]
        assert api.call("GET", "runs").json["runs"] == []


def _principal(*roles: str) -> dict[str, str]:
    claims = [{"typ": "name", "val": "ada"}, {"typ": "oid", "val": "oid-7"}]
    claims += [{"typ": "roles", "val": r} for r in roles]
    data = {"auth_typ": "aad", "claims": claims, "name_typ": "name", "role_typ": "roles"}
    return {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(data).encode()).decode()}


def test_easyauth_over_http_401_without_principal_403_wrong_role(http_stack: Any) -> None:
    with http_stack(topology(["web-1"]), auth_mode="easyauth") as api:
        body = {"target": {"vms": ["web-1"]}, "autoCommit": False}
        assert api.start("failover", body).status == 401
        assert api.start("failover", body, headers=_principal("DR.Reader")).status == 403
        assert api.call("GET", "runs", headers=_principal("DR.Reader")).json["runs"] == []
        started = api.start("failover", body, headers=_principal("DR.Operator"))
        assert started.status == 202
        view = api.wait(started.json["runId"], headers=_principal("DR.Reader"))
        assert view["requestedBy"] == {"name": "ada", "objectId": "oid-7"}
