"""ARM reads of a running run, counted at the emulator: one jobs listing per poll for all of a run's jobs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.workflows.conftest import topology

pytestmark = pytest.mark.integration

VMS = [f"app-{i}" for i in range(6)]
JOB_STEPS = {"failover", "commit", "reprotect"}


def test_a_vm_list_run_reads_its_running_jobs_with_one_listing_per_poll(dr_stack: Any) -> None:
    with dr_stack(topology(VMS)) as stack:
        run_id = stack.start("failover", {"vms": VMS, "parallelism": 6})
        stack.emu.reset_requests()
        run = stack.finish(run_id)
        assert run.status.value == "succeeded", run.error
        by_route: dict[str, int] = stack.emu.requests_count()["byRoute"]
        history = stack.app.engine.get(run_id).history
    job_gets = sum(n for route, n in by_route.items() if route.startswith("GET ") and route.endswith("/{jobName}"))
    job_lists = sum(
        n for route, n in by_route.items() if route.startswith("GET ") and route.endswith("/replicationJobs")
    )
    phase_calls = sum(1 for h in history if h.step in JOB_STEPS)
    assert job_gets == 0  # never one GET per job (each of the 18 jobs ran for several polls)
    assert 3 <= job_lists <= phase_calls  # at most one listing per call of a phase step, whatever the VM count
