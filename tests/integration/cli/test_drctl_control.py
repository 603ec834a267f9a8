"""drctl as an operator uses it when something goes wrong: Ctrl-C while watching, continue, honest listings,
one-line errors for a bad filter and an unreachable storage account."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from emulator.launcher import EmulatorInfo
from tests.integration.cli.test_drctl import ROOT, drctl

pytestmark = pytest.mark.integration


def _posts(emu: EmulatorInfo, action: str) -> int:
    by_route: dict[str, int] = emu.requests_count()["byRoute"]
    return sum(n for route, n in by_route.items() if route.startswith("POST ") and route.endswith("/" + action))


def _run_state(env: dict[str, str], run_id: str) -> dict[str, Any]:
    shown = drctl(env, "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    run: dict[str, Any] = json.loads(shown.stdout)["run"]
    return run


def _as_a_shell_starts_it() -> None:
    """Ctrl-C reaches a command an operator starts from a shell: SIGINT neither ignored nor blocked. A test worker
    may carry either from an earlier test (both survive exec), which would make the command deaf to the signal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _signal_state(pid: int) -> str:
    """The kernel's view of a process's signal masks (for a failure message)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return " ".join(line.strip() for line in status if line.startswith(("SigBlk", "SigIgn", "SigCgt")))


def test_ctrl_c_while_watching_exits_130_and_the_printed_command_finishes_the_run(
    env: dict[str, str], emulator: EmulatorInfo
) -> None:
    emulator.set_time_scale(5)  # the failover job runs for a while: Ctrl-C lands mid-run
    proc = subprocess.Popen(
        [sys.executable, "-m", "drctl", "failover", "--vms", "web-1", "--wait"],
        cwd=ROOT, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_as_a_shell_starts_it,  # noqa: PLW1509 -- it only resets two signal settings before exec
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()
    run_id = re.search(r"run (\S+) started", first)
    assert run_id, first
    deadline = time.monotonic() + 60
    while _posts(emulator, "unplannedFailover") == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    signals = _signal_state(proc.pid)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"drctl did not stop within 60 s of SIGINT; its signal state then: {signals}") from None
    assert proc.returncode == 130, first + out + err
    assert "Traceback" not in err and "Traceback" not in out
    command = re.search(r"python -m drctl (continue \S+ --wait)", err)
    assert command and run_id.group(1) in command.group(1), err
    assert _run_state(env, run_id.group(1))["status"] in ("running", "waiting")
    shown = drctl(env, "show", run_id.group(1), "--json")
    assert json.loads(shown.stdout)["lease"] is None  # handed back: nobody has to wait for it to lapse

    emulator.set_time_scale(3000)
    done = drctl(env, *command.group(1).split())
    assert done.returncode == 0, done.stdout + done.stderr
    assert _run_state(env, run_id.group(1))["status"] == "succeeded"
    assert _posts(emulator, "unplannedFailover") == 1 and _posts(emulator, "failoverCommit") == 1


def test_runs_shows_whole_ids_at_80_columns_with_step_and_reason(env: dict[str, str]) -> None:
    started = drctl(env, "failover", "--vms", "web-2", "--json")
    assert started.returncode == 0, started.stderr
    run_id = json.loads(started.stdout)["run_id"]
    listed = drctl({**env, "COLUMNS": "80"}, "runs")
    assert listed.returncode == 0, listed.stderr
    assert run_id in listed.stdout and max(len(line) for line in listed.stdout.splitlines()) <= 80
    assert "preflight" in listed.stdout and "created" in listed.stdout


def test_a_bad_status_filter_is_one_line_naming_the_allowed_values(env: dict[str, str]) -> None:
    bad = drctl(env, "runs", "--status", "bogus")
    assert bad.returncode == 2 and bad.stdout == "", bad.stdout
    assert len(bad.stderr.strip().splitlines()) == 1 and "bogus" in bad.stderr
    assert "awaiting-decision" in bad.stderr and "running" in bad.stderr


def test_an_unreachable_storage_account_is_one_line_naming_the_endpoint(env: dict[str, str]) -> None:
    account = "AccountName=devstoreaccount1;AccountKey=" + "a" * 88
    endpoints = ";".join(f"{kind}Endpoint=http://127.0.0.1:9/devstoreaccount1" for kind in ("Table", "Queue", "Blob"))
    broken = {**env, "AzureWebJobsStorage": f"DefaultEndpointsProtocol=http;{account};{endpoints}"}
    listed = drctl(broken, "runs")
    assert listed.returncode == 2, listed.stdout + listed.stderr
    assert len(listed.stderr.strip().splitlines()) == 1 and "Traceback" not in listed.stderr
    assert "http://127.0.0.1:9/devstoreaccount1" in listed.stderr


def test_wait_drives_only_its_own_run_and_lists_the_other_due_run(env: dict[str, str], emulator: EmulatorInfo) -> None:
    abandoned = drctl(env, "failover", "--vms", "web-1", "--json")
    assert abandoned.returncode == 0, abandoned.stderr
    other = json.loads(abandoned.stdout)["run_id"]
    mine = drctl(env, "failover", "--vms", "web-2", "--wait")
    assert mine.returncode == 0, mine.stdout + mine.stderr
    assert f"run {other} is due too; left alone" in mine.stderr and f"continue {other} --wait" in mine.stderr
    assert _run_state(env, other)["status"] == "pending" and _posts(emulator, "unplannedFailover") == 1
    assert emulator.state()["vms"]["web-1"]["runningIn"] == "eastus"
