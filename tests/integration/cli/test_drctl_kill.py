"""Issue 10: a real ``kill -9`` of the drctl process watching a failover started without an idempotency key, at
five points of the same run; ``drctl continue RUN --wait`` (a new process each time) picks it up, and the last
one finishes it with exactly one ASR action per VM per phase."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from emulator.launcher import EmulatorInfo
from tests.integration.cli.test_drctl import ROOT, drctl
from tests.integration.cli.test_drctl_control import _posts, _run_state

pytestmark = pytest.mark.integration

PHASE_DEADLINE_S = 30.0
ACTIONS = ("unplannedFailover", "failoverCommit", "switchprotection")


def _watch(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "drctl", *args],
        cwd=ROOT, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _kill(proc: subprocess.Popen[str]) -> str:
    """SIGKILL: no handler runs, so a lease the watcher holds stays until it lapses."""
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL, out + err  # it was still watching, not finished or failed
    assert "Traceback" not in out + err, out + err
    return out + err


def _until(proc: subprocess.Popen[str], reached: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PHASE_DEADLINE_S
    while not reached():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the watcher ended ({proc.returncode}) before {what}: {out}{err}")
        assert time.monotonic() < deadline, f"{what} not reached within {PHASE_DEADLINE_S} s"
        time.sleep(0.05)


def _wait_out_lease(env: dict[str, str], run_id: str) -> None:
    """A dead watcher's live lease makes ``continue`` refuse (exit 1, it names the expiry): wait until it lapses."""
    shown = drctl(env, "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    lease: dict[str, Any] | None = json.loads(shown.stdout)["lease"]
    if lease is not None and not lease["expired"]:
        left = (datetime.fromisoformat(lease["expires_at"]) - datetime.now(UTC)).total_seconds()
        assert left < 16, lease  # the 15 s floor: DR_TIMER_SCALE=0.01 scales the lease below it
        time.sleep(max(0.0, left) + 0.2)


def _actions(emulator: EmulatorInfo) -> list[str]:
    """The action POSTs ASR received, in order (what a failed count is read against)."""
    entries = emulator.request_log()["entries"]
    return [f"{e['seq']} {e['time']:.3f} {e['path']}" for e in entries if e["route"].startswith("POST ")]


def _continue(env: dict[str, str], run_id: str) -> subprocess.Popen[str]:
    _wait_out_lease(env, run_id)
    return _watch(env, "continue", run_id, "--wait")


def test_kill_9_at_five_points_then_continue_finishes_with_one_action_per_vm_per_phase(
    env: dict[str, str], emulator: EmulatorInfo
) -> None:
    # Emulated jobs at 60x: a failover takes ~3 s, a commit ~1 s, a reprotect ~9 s, so every point is reached
    # and held long enough to kill there; 5x while a dead watcher's lease lapses keeps its jobs running.
    emulator.set_time_scale(60)
    outputs: list[str] = []
    proc = _watch(env, "failover", "--vms", "web-1,web-2", "--wait")  # no idempotency key
    assert proc.stdout is not None
    first = proc.stdout.readline()
    found = re.search(r"run (\S+) started", first)
    assert found, first
    run_id = found.group(1)

    # (1) the run exists, no ASR action yet
    outputs.append(_kill(proc))
    assert _posts(emulator, "unplannedFailover") == 0

    # (2) the first failover was sent (the second may or may not be: killed inside the step). At 5x the
    # failover jobs still run after the dead watcher's lease (<= 15 s) lapsed: the next watcher must adopt them.
    emulator.set_time_scale(5)
    proc = _continue(env, run_id)
    _until(proc, lambda: _posts(emulator, "unplannedFailover") >= 1, "the first unplannedFailover")
    outputs.append(_kill(proc))

    # (3) a commit was sent
    proc = _continue(env, run_id)
    emulator.set_time_scale(60)
    _until(proc, lambda: _posts(emulator, "failoverCommit") >= 1, "a failoverCommit")
    outputs.append(_kill(proc))
    assert _posts(emulator, "switchprotection") == 0, _actions(emulator)

    # (4) a reprotect was sent
    proc = _continue(env, run_id)
    _until(proc, lambda: _posts(emulator, "switchprotection") >= 1, "a switchprotection")
    outputs.append(_kill(proc))
    emulator.set_time_scale(5)  # the reprotect jobs outlive the lease too: adopted, never started again

    # (5) both reprotects sent and the run waits for health (reverse replication takes minutes emulated). At 60x
    # the wait for health lasts seconds, long enough to see it on a loaded machine before the watcher ends it.
    proc = _continue(env, run_id)
    emulator.set_time_scale(60)
    _until(proc, lambda: _run_state(env, run_id)["step"] == "await_healthy", "waiting for health")
    outputs.append(_kill(proc))
    assert _posts(emulator, "switchprotection") == 2, _actions(emulator)

    emulator.set_time_scale(3000)
    _wait_out_lease(env, run_id)
    done = drctl(env, "continue", run_id, "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert _run_state(env, run_id)["status"] == "succeeded"
    assert {a: _posts(emulator, a) for a in ACTIONS} == dict.fromkeys(ACTIONS, 2), (outputs, _actions(emulator))


def test_killed_between_the_headers_and_the_body_of_its_reprotect_then_continue_reprotects_once(
    env: dict[str, str], emulator: EmulatorInfo, tmp_path: Path
) -> None:
    # A kill -9 can land between the two writes of an action POST. ASR never got that request: no job, nothing
    # counted (the emulator used to count it, which read as a second switchprotection in the five-point test).
    mark = tmp_path / "stalled"
    stalling = {
        **env,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "fixtures" / "stall_before_body"), str(ROOT)]),
        "STALL_POST_MARK": str(mark),
        "STALL_POST_PATH": "/switchprotection",
    }
    emulator.set_time_scale(3000)
    proc = _watch(stalling, "failover", "--vms", "web-1", "--wait")
    assert proc.stdout is not None
    found = re.search(r"run (\S+) started", proc.stdout.readline())
    assert found
    _until(proc, mark.exists, "the switchprotection POST's headers")
    output = _kill(proc)
    assert emulator.vm_state("web-1")["currentJob"] is None, output  # no reprotect job started
    assert _posts(emulator, "switchprotection") == 0, _actions(emulator)

    _wait_out_lease(env, found.group(1))
    done = drctl(env, "continue", found.group(1), "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _run_state(env, found.group(1))["status"] == "succeeded"
    assert {a: _posts(emulator, a) for a in ACTIONS} == dict.fromkeys(ACTIONS, 1), _actions(emulator)
