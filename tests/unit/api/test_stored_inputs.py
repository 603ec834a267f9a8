"""Runs started before the HTTP API stored their input as ``DrRequest.to_json``; they must keep loading."""

from __future__ import annotations

import json
from pathlib import Path

from lib.domain.dr import DrRequest, Timing, parse_request, request_from_json

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "stored_inputs.json").read_text())
NET = FIXTURES["drill_vm_point"]["test_network_id"]


def test_stored_inputs_of_runs_started_by_the_previous_code_load_unchanged() -> None:
    plan = request_from_json(FIXTURES["failover_plan"])
    assert plan == DrRequest(kind="failover", plan="app", auto_commit=False, reason="region down",
                             requested_by="drctl")  # fmt: skip
    vms = request_from_json(FIXTURES["failover_vms"])
    assert vms.vms == ("web-1", "web-2") and vms.groups == (("web-1", "web-2"),)
    assert (vms.recovery_point, vms.shutdown_source, vms.parallelism) == ("Latest", False, 4)
    assert vms.timing == Timing(job_poll_s=10, health_poll_s=20)
    back = request_from_json(FIXTURES["failback_groups"])
    assert back.kind == "failback" and back.groups == (("db",), ("web-1", "web-2")) and not back.auto_reprotect
    drill = request_from_json(FIXTURES["drill_vm_point"])
    assert drill.recovery_point_id == "/subscriptions/x/recoveryPoints/rp1" and drill.test_network_id == NET
    assert drill.probe_url == "http://127.0.0.1:8080/healthz"


def test_the_stored_form_is_unchanged_for_new_runs_and_round_trips() -> None:
    body = {"target": {"recoveryPlan": "app"}, "autoCommit": False, "reason": "region down"}
    assert parse_request("failover", body, actor="drctl").to_json() == FIXTURES["failover_plan"]
    body = {"target": {"groups": [["db"], ["web-1", "web-2"]]}, "autoReprotect": False}
    assert parse_request("failback", body).to_json() == FIXTURES["failback_groups"]
    for name, stored in FIXTURES.items():
        if name != "_comment":
            assert request_from_json(stored).to_json() == stored


def test_the_caller_s_object_id_is_stored_when_known() -> None:
    req = parse_request("failover", {"target": {"vms": ["a"]}}, actor="Ada", actor_id="0000-oid")
    stored = req.to_json()
    assert (stored["requested_by"], stored["requested_by_id"]) == ("Ada", "0000-oid")
    assert request_from_json(stored) == req
