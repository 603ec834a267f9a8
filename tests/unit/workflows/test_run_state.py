"""Typed run state: layout 2 round-trips, runs stored in layout 1 (captured from the dict-based code) load
and go on, and an unknown or broken layout fails with a message naming it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lib.domain.asr import JobError
from lib.engine import Done
from lib.workflows.drill import DRILL_WORKFLOW
from lib.workflows.failover import FAILOVER_WORKFLOW
from lib.workflows.json_fields import MESSAGE_LIMIT
from lib.workflows.runstate import LAYOUT, JobRecord, RunState, StateLayoutError
from lib.workflows.vmstate import ACTIVE, FAILED, VmProgress
from tests.unit.workflows.fake_asr import T0, FakeSiteRecovery
from tests.unit.workflows.harness import make_deps, run

FIXTURES = Path(__file__).parent / "fixtures"


def _fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


@pytest.mark.parametrize(
    "name", ["layout1_failover_partial.json", "layout1_failover_paused.json", "layout1_drill_failed.json"]
)
def test_layout1_loads_and_saves_the_same_facts_with_a_version(name: str) -> None:
    stored = _fixture(name)["state"]
    state = RunState.load(stored)
    saved = state.to_json()
    assert saved["version"] == LAYOUT == 2
    # Every fact of layout 1 survives; layout 2 adds the version and no longer repeats a phase's job end per VM.
    ends = {(vm, phase): end for vm, row in stored["vms"].items() for phase, end in row.pop("phase_end", {}).items()}
    assert ends and {k: v for k, v in saved.items() if k != "version"} == stored
    assert RunState.from_json(saved) == state
    plan_jobs = stored.get("plan", {}).get("jobs", {}) if stored.get("plan") else {}
    for (vm, phase), end in ends.items():  # still known: the end of the job that did the phase
        job = state.vms[vm].jobs.get(phase) or plan_jobs[phase]
        assert state.jobs[job].end == datetime.fromisoformat(end)


def test_layout1_fields_read_into_the_typed_names() -> None:
    state = RunState.load(_fixture("layout1_failover_partial.json")["state"])
    web1, web2 = state.vms["web-1"], state.vms["web-2"]
    assert (web1.status, web1.done, web1.jobs["failover"]) == (
        ACTIVE,
        ["failover", "commit", "reprotect", "healthy"],
        "job-1",
    )
    assert web1.rp is not None and (web1.rp.kind, web1.rp.time) == ("CrashConsistent", T0 - timedelta(minutes=5))
    assert web1.from_region == "eastus" and web1.to_region == "westus" and web1.reverse is False
    assert web1.started_at["failover"] == T0 and web1.healthy_at == T0 + timedelta(seconds=8.5)
    assert web2.status == FAILED and web2.error is not None
    assert (web2.error.phase, web2.error.code, web2.error.message) == ("failover", "70094", "failover failed for web-2")
    assert state.jobs["job-2"].errors[0].code == "70094" and state.jobs["job-1"].end == T0 + timedelta(minutes=3)
    assert state.trigger_at == T0 and state.locked_at == T0 and state.health_poll_s == 2.25


def test_a_run_paused_in_layout1_goes_on_to_its_end() -> None:
    # The same fake ASR history that produced the fixture (deterministic job names), then the stored run.
    fixture = _fixture("layout1_failover_paused.json")
    asr = FakeSiteRecovery(["web-1", "web-2"])
    deps = make_deps(asr)
    for vm in ("web-1", "web-2"):
        asr.unplanned_failover(asr.items[vm].ref, shutdown_source=True, recovery_point_id=None)
    for job in ("job-1", "job-2"):
        asr.get_job(job), asr.get_job(job)  # the fake finishes a job on its second read
    result = run(
        FAILOVER_WORKFLOW, deps, fixture["input"], state=fixture["state"], start_at=fixture["step"], approve=True
    )
    assert isinstance(result.outcome, Done) and not result.outcome.partial
    assert [a for a, _ in asr.actions] == ["failover", "failover", "commit", "commit", "reprotect", "reprotect"]
    assert result.state["version"] == 2
    assert result.state["vms"]["web-1"]["done"] == ["failover", "commit", "reprotect", "healthy"]


def test_resume_of_a_layout1_partial_run_retries_only_the_failed_vm() -> None:
    stored = _fixture("layout1_failover_partial.json")["state"]
    assert FAILOVER_WORKFLOW.on_resume is not None
    assert FAILOVER_WORKFLOW.on_resume(stored, "report") == "failover"
    assert stored["vms"]["web-2"]["status"] == "active" and stored["vms"]["web-2"]["error"] is None
    assert "failover" not in stored["vms"]["web-2"]["jobs"]  # the failed job is evidence, not polled again
    assert stored["vms"]["web-1"]["done"] == ["failover", "commit", "reprotect", "healthy"]


def test_resume_of_a_layout1_drill_starts_every_vm_again() -> None:
    stored = _fixture("layout1_drill_failed.json")["state"]
    assert DRILL_WORKFLOW.on_resume is not None
    assert DRILL_WORKFLOW.on_resume(stored, "report") == "test_failover"
    for row in stored["vms"].values():
        assert (row["status"], row["done"], row["jobs"], "drill_error" in row) == ("active", [], {}, False)
    assert "validation" not in stored and stored["plan"]["processed"] == []


def test_unknown_layout_fails_naming_it() -> None:
    with pytest.raises(StateLayoutError) as err:
        RunState.load({"version": 7, "vms": {}})
    assert err.value.layout == 7
    assert "run state layout 7 cannot be read" in str(err.value) and "layouts 1, 2" in str(err.value)


def test_broken_layout1_fails_naming_the_layout() -> None:
    with pytest.raises(StateLayoutError) as err:
        RunState.load({"vms": {"web-1": {"status": "active"}}})  # no "item": not a state this code wrote
    assert err.value.layout == 1 and "run state layout 1 cannot be read" in str(err.value) and "item" in str(err.value)


def test_empty_state_is_a_new_run() -> None:
    assert RunState.load({}) == RunState()


def test_reprotect_readings_and_the_last_listing_survive_a_save() -> None:
    state = RunState(health_read_at=T0)
    row = state.vms["web-1"] = VmProgress("rpi-web-1", "fb", "cb", 0)
    row.saw_progress(40, T0, T0 - timedelta(seconds=60.04))
    loaded = RunState.from_json(state.to_json())
    assert loaded.health_read_at == T0
    sample = loaded.vms["web-1"].ir_last
    # kept as seconds before the reading (a few bytes per VM), rounded so that it still bounds the change
    stored: Any = state.to_json()
    assert stored["vms"]["web-1"]["ir"]["last"] == {"at": T0.isoformat(), "pct": 40, "gap": 60.1}
    assert sample is not None and sample.after == T0 - timedelta(seconds=60.1)


def test_error_messages_are_kept_bounded_in_the_stored_state() -> None:
    # One VM error and one job error per VM: an unbounded ASR message times 500 VMs could fill the run entity.
    long = "x" * 5_000
    state = RunState(vms={"web-1": VmProgress("item-1", "f", "c", 0)})
    state.vms["web-1"].mark_failed("failover", "70094", long)
    state.jobs["job-1"] = JobRecord("failover", "web-1", "Failed", errors=[JobError("70094", long)])
    saved: Any = json.loads(json.dumps(state.to_json()))
    vm_message, job_message = saved["vms"]["web-1"]["error"]["message"], saved["jobs"]["job-1"]["errors"][0]["message"]
    assert len(vm_message) == len(job_message) == MESSAGE_LIMIT and vm_message.endswith("…")
    assert RunState.from_json(saved).to_json() == saved  # bounded once: a reload saves the same text
