"""The approval gate the autopilot puts on its runs (``DrRequest.approval``): the run finds and locks its VMs,
pauses before any ASR action, and then proceeds when approved, expires, or proceeds at the timeout."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from lib.domain.dr import ApprovalGate, parse_request, request_from_json
from lib.domain.runs import RunStatus
from lib.engine import Driver
from lib.workflows.approval import EXPIRED_CODE
from lib.workflows.failover import FAILOVER_WORKFLOW
from tests.unit.workflows.fake_asr import FakeSiteRecovery
from tests.unit.workflows.harness import MemoryLocks, _engine, backend_of, make_deps, run

FAST = {"jobPollSeconds": 1, "healthPollSeconds": 1, "healthPollMaxSeconds": 4}
TRIGGER = {"decision": "d-1", "region": "eastus", "incident": "service-health:7K2Q", "policyHash": "abc"}


def _request(on_timeout: str, timeout_s: float = 3600) -> dict[str, Any]:
    req = parse_request("failover", {"target": {"vms": ["web-1", "web-2"]}, "timing": FAST}, actor="autopilot")
    return replace(req, approval=ApprovalGate(timeout_s, on_timeout), trigger=TRIGGER).to_json()


def test_the_gate_and_the_trigger_are_kept_in_the_stored_request_only_when_set() -> None:
    stored = _request("proceed", 90)
    assert stored["approval"] == {"timeout_s": 90, "on_timeout": "proceed"} and stored["trigger"] == TRIGGER
    back = request_from_json(stored)
    assert back.approval == ApprovalGate(90, "proceed") and back.approval.proceeds and back.trigger == TRIGGER
    plain = parse_request("failover", {"target": {"vms": ["a"]}}).to_json()
    assert "approval" not in plain and "trigger" not in plain


def test_an_expired_approval_ends_the_run_with_no_asr_action_and_frees_the_vms() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"])
    deps = make_deps(asr)
    result = run(FAILOVER_WORKFLOW, deps, _request("expire"))
    assert result.run.status is RunStatus.FAILED and result.run.error_code == EXPIRED_CODE
    assert "approval expired" in result.run.error and asr.actions == []
    assert deps.locks.acquire(["web-1", "web-2"], "someone-else", timedelta(minutes=5)) == {}


def test_proceed_at_the_timeout_fails_over() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"])
    result = run(FAILOVER_WORKFLOW, make_deps(asr), _request("proceed"))
    assert result.run.status is RunStatus.SUCCEEDED
    assert [a for a, _vm in asr.actions].count("failover") == 2


def test_the_run_waits_paused_and_an_approval_proceeds() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"])
    deps = make_deps(asr)
    backend = backend_of(deps)
    engine = _engine(FAILOVER_WORKFLOW, deps, backend, [], 200)
    run_id = engine.start("failover", _request("expire"), actor="autopilot").run_id
    Driver(engine, sleep=lambda _s: None).drain(deadline_s=0.3)  # the clock stands still: no timeout
    paused = engine.get(run_id).run
    assert (paused.status, paused.step, paused.approval) == (RunStatus.AWAITING_APPROVAL, "preflight", "failover")
    assert isinstance(deps.locks, MemoryLocks) and sorted(deps.locks.holders) == ["web-1", "web-2"]
    assert asr.actions == []
    engine.approve(run_id, by="ada")
    done = Driver(engine, sleep=backend.sleep).run_until_finished(run_id, deadline_s=30)
    assert done.status is RunStatus.SUCCEEDED and ("failover", "web-1") in asr.actions
