"""``commitMode: per-vm`` on the emulator: with one VM's failover slow, the others commit and reprotect before it
ends; without it (the default) no VM commits before every failover ended. Job times are ASR's (the emulator's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from lib.domain.asr import Job
from lib.domain.runs import RunStatus
from lib.engine import CrashPoint, InjectedCrash
from tests.integration.workflows.conftest import topology
from tests.integration.workflows.test_crash_then_continue import continue_when_free, die_holding_a_message

pytestmark = pytest.mark.integration

VMS = ["web-1", "web-2", "web-3"]
SLOW = "web-3"
# Emulated ASR at 200x real time: a step call of the app (a few hundred ms, more on a loaded machine) is a minute
# or so of ASR time, small against the 40 minutes web-3's failover takes longer than the others' (jobSlow), which
# leaves the others' failover (~3 min), commit (seconds) and switch-protection (~9 min) room to happen before it ends.
TIME_SCALE = 200.0
SLOW_S = 2400
SCENARIOS = {
    "failover": "UnplannedFailover",
    "commit": "CommitFailover",
    "reprotect": "SwitchReplicationGroupProtection",
}


def _jobs(stack: Any) -> dict[tuple[str, str], Job]:
    """(phase, vm) -> the job at the emulator (one each: the run never starts an action twice)."""
    by_scenario = {scenario: phase for phase, scenario in SCENARIOS.items()}
    found: dict[tuple[str, str], Job] = {}
    for job in stack.app.deps.asr.list_jobs():
        phase = by_scenario.get(job.scenario)
        if phase is not None:
            key = (phase, job.target_name.lower())
            assert key not in found, f"two {phase} jobs for {key[1]}"
            found[key] = job
    return found


def _start(job: Job) -> datetime:
    assert job.start_time is not None
    return job.start_time


def _end(job: Job) -> datetime:
    assert job.end_time is not None
    return job.end_time


def _run(stack: Any, slow_s: int, **options: Any) -> dict[tuple[str, str], Job]:
    stack.emu.add_fault({"kind": "jobSlow", "vm": SLOW, "operation": "UnplannedFailover", "seconds": slow_s})
    run = stack.finish(stack.start("failover", {"vms": VMS, **options}))
    assert run.status is RunStatus.SUCCEEDED, run.error or run.reason
    actions: tuple[str, ...] = ("unplannedFailover", "failoverCommit", "switchprotection")
    if options.get("auto_reprotect") is False:
        actions = actions[:2]
    for action in actions:
        assert stack.posts(action) == len(VMS), action  # never an action twice
    jobs = _jobs(stack)
    assert {vm for _phase, vm in jobs} == set(VMS) and len(jobs) == len(actions) * len(VMS)
    return jobs


def test_per_vm_commit_moves_the_fast_vms_on_while_the_slow_failover_still_runs(dr_stack: Any) -> None:
    with dr_stack(topology(VMS), time_scale=TIME_SCALE) as stack:
        jobs = _run(stack, SLOW_S, commit_mode="per-vm")
        slow_end = _end(jobs[("failover", SLOW)])
        for vm in ("web-1", "web-2"):
            assert _start(jobs[("commit", vm)]) < slow_end
            assert _start(jobs[("reprotect", vm)]) < slow_end
            assert _start(jobs[("reprotect", vm)]) >= _end(jobs[("commit", vm)])  # its own commit came first
            assert _start(jobs[("commit", vm)]) >= _end(jobs[("failover", vm)])
        assert _start(jobs[("commit", SLOW)]) >= slow_end


def test_the_default_commits_nothing_before_every_failover_ended(dr_stack: Any) -> None:
    with dr_stack(topology(VMS), time_scale=TIME_SCALE) as stack:
        jobs = _run(stack, 600, auto_reprotect=False)  # the barrier holds however long: no need to wait for more
        last_failover = max(_end(jobs[("failover", vm)]) for vm in VMS)
        assert all(_start(jobs[("commit", vm)]) >= last_failover for vm in VMS)


@pytest.mark.parametrize("action", ["failoverCommit", "switchprotection"])
def test_a_worker_killed_after_a_pipelined_action_then_continue_starts_nothing_twice(
    dr_stack: Any, action: str
) -> None:
    """The crash matrix's worst point on the new path: the failover step sent a VM's commit (or switch-protection)
    and died before recording it; the next worker observes ASR first and adopts it."""
    killed: list[str] = []
    stacks: list[Any] = []

    def kill(at: CrashPoint, run: Any) -> None:
        if at is CrashPoint.AFTER_STEP and run.step == "failover" and not killed and stacks[0].posts(action):
            killed.append(run.run_id)
            raise InjectedCrash(at.value, run.run_id)

    with dr_stack(topology(VMS), crash_hook=kill, time_scale=TIME_SCALE) as stack:
        stacks.append(stack)
        stack.emu.add_fault({"kind": "jobSlow", "vm": SLOW, "operation": "UnplannedFailover", "seconds": SLOW_S})
        engine = stack.app.engine
        run_id = stack.start("failover", {"vms": VMS, "commit_mode": "per-vm"})
        die_holding_a_message(engine, attempts=400)
        assert killed == [run_id]
        continue_when_free(engine, run_id)
        run = stack.driver().run_until_finished(run_id, deadline_s=180)
        assert run.status is RunStatus.SUCCEEDED, run.error
        for sent in ("unplannedFailover", "failoverCommit", "switchprotection"):
            assert stack.posts(sent) == len(VMS), sent
