"""The app on the emulator's fixed departures (issue 14): Suspended and PartiallySucceeded jobs, and a vault whose
job history holds thousands of old jobs (the app reads only jobs since its run began)."""

from __future__ import annotations

from typing import Any

import pytest

from lib.domain.runs import RunStatus
from lib.engine import CrashPoint, InjectedCrash
from tests.integration.workflows.conftest import topology
from tests.integration.workflows.test_cancel_phases import _step_until

pytestmark = pytest.mark.integration

JOB_STEPS = {"failover", "commit", "reprotect"}


def _job_list_requests(stack: Any) -> int:
    by_route: dict[str, int] = stack.emu.requests_count()["byRoute"]
    return sum(n for route, n in by_route.items() if route.startswith("GET ") and route.endswith("/replicationJobs"))


def test_a_suspended_job_is_waited_for_and_said_so(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"])) as stack:
        stack.emu.add_fault({"kind": "jobSuspended", "vm": "web-1", "operation": "UnplannedFailover", "count": 1})
        stack.emu.set_time_scale(5)  # the job runs for many polls, however slow the machine is
        run_id = stack.start("failover", {"vms": ["web-1"], "auto_commit": True, "auto_reprotect": False})
        _step_until(stack, run_id, lambda run: "suspended (waiting for input in ASR)" in run.reason)
        stack.emu.set_time_scale(3000)  # seen while it runs: the rest need not be slow
        run = stack.finish(run_id)
        assert run.status is RunStatus.SUCCEEDED, run.error
        reasons = [h.reason for h in stack.app.engine.get(run_id).history if h.step == "failover"]
        assert any("suspended (waiting for input in ASR) on web-1" in r for r in reasons), reasons


def test_a_partially_succeeded_job_counts_by_what_asr_shows(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1", "web-2"])) as stack:
        stack.emu.add_fault(
            {"kind": "jobPartiallySucceeded", "vm": "web-2", "operation": "UnplannedFailover", "count": 1}
        )
        run = stack.finish(stack.start("failover", {"vms": ["web-1", "web-2"], "auto_commit": True}))
        assert run.status is RunStatus.SUCCEEDED, run.error
        states = sorted(j["state"] for j in run.state["jobs"].values() if j["phase"] == "failover")
        assert states == ["PartiallySucceeded", "Succeeded"]  # web-2's item did fail over: the run went on
        assert stack.vm("web-2")["primaryRegion"] == "westus"


def test_adopting_a_finished_job_reads_only_recent_jobs_of_a_long_history(dr_stack: Any) -> None:
    crashed: list[str] = []

    def crash(point: CrashPoint, run: Any) -> None:
        if point is CrashPoint.AFTER_STEP and run.step == "failover" and not crashed:
            crashed.append(run.run_id)
            raise InjectedCrash(point, run.run_id)

    vms = ["Web-1", "AzureDemoVM"]  # ASR names job targets in lower case: the adoption still matches them
    with dr_stack({**topology(vms), "preloadJobs": 3000}, crash_hook=crash) as stack:
        stack.emu.reset_requests()
        run = stack.finish(stack.start("failover", {"vms": vms, "auto_commit": True}))
        assert crashed and run.status is RunStatus.SUCCEEDED, run.error
        assert stack.posts("unplannedFailover") == 2  # the redelivered step adopted the jobs it had started
        adopted = sorted(j["target"] for j in run.state["jobs"].values() if j["phase"] == "failover")
        assert adopted == ["azuredemovm", "web-1"]  # found by name, whatever ASR's casing
        phase_calls = sum(1 for h in stack.app.engine.get(run.run_id).history if h.step in JOB_STEPS)
        # The whole history is 60 pages. Every listing (the adoption's, and one per call of a phase step that
        # polls its jobs, the crashed call included) read only jobs since the run or its jobs began: one page each.
        assert 1 <= _job_list_requests(stack) <= phase_calls + 2 < 60
