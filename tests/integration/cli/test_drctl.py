"""``python -m drctl`` as an operator runs it: a subprocess with settings in the environment."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from drctl.__main__ import PROG
from drctl.__main__ import main as drctl_main
from emulator.launcher import EmulatorInfo

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def drctl_process(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m drctl`` as a real subprocess: the interpreter start, the environment and the exit code."""
    return subprocess.run(
        [sys.executable, "-m", "drctl", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def drctl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """What ``python -m drctl`` runs (``drctl.__main__.main``) in this process, with ``env`` as the whole
    environment and the output captured: the same entry point without an interpreter start per call (seconds on
    a loaded machine). The tests that use ``drctl_process`` or signal a watcher keep the real subprocess."""
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env, clear=True), redirect_stdout(out), redirect_stderr(err):
        try:
            code = drctl_main(list(args))
        except SystemExit as exc:  # what the interpreter makes of an exit from inside
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception:  # an unexpected error: the traceback and exit code 1, as the interpreter shows it
            traceback.print_exc()
            code = 1
    return subprocess.CompletedProcess([*PROG.split(), *args], code, out.getvalue(), err.getvalue())


def test_failover_with_wait_then_runs_and_show(env: dict[str, str], emulator: EmulatorInfo) -> None:
    # A real subprocess, as an operator runs it (most tests call the same entry point in process).
    done = drctl_process(env, "failover", "--vms", "web-1,web-2", "--recovery-point", "LatestCrashConsistent", "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reprotect web-1" in done.stdout and "succeeded" in done.stdout
    assert emulator.vm_state("web-1")["primaryRegion"] == "westus"

    listed = drctl(env, "runs", "--json")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)["runs"]
    assert [(r["workflow"], r["status"]) for r in runs] == [("failover", "succeeded")]

    shown = drctl(env, "show", runs[0]["run_id"], "--json")
    body: dict[str, Any] = json.loads(shown.stdout)
    assert body["run"]["state"]["vms"]["web-2"]["done"] == ["failover", "commit", "reprotect", "healthy"]
    assert any(h["step"] == "await_healthy" for h in body["history"])
    assert body["run"]["state"]["vms"]["web-1"]["rp"]["kind"] == "CrashConsistent"


def test_failback_refused_exits_non_zero_with_the_reason(env: dict[str, str]) -> None:
    refused = drctl(env, "failback", "--vms", "web-1", "--wait")
    assert refused.returncode == 1
    assert "original direction" in refused.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["failover"], "one of the arguments --plan --vms is required"),
        (["failover", "--vms", "a", "--plan", "p"], "not allowed with argument"),
        (["failover", "--vms", "bad name"], "vms: 'bad name' is not a valid VM name"),
        (["failover", "--vms", "a", "--recovery-point", "Newest"], "recoveryPoint: 'Newest' is not one of"),
        (["drill", "--vms", "a"], "testNetworkId: a drill needs"),
        (["explode"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(env: dict[str, str], args: list[str], message: str) -> None:
    result = drctl(env, *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_missing_settings_exit_2_naming_them() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASR_") and k != "AzureWebJobsStorage"}
    result = drctl_process(env, "runs")
    assert result.returncode == 2 and "ASR_SUBSCRIPTION_ID" in result.stderr


def test_an_unknown_vm_is_refused_before_any_run_exists(env: dict[str, str]) -> None:
    refused = drctl(env, "failover", "--vms", "web-1,ghost")
    assert refused.returncode == 1
    assert "target.vms: not protected items of the vault: ghost" in refused.stderr
    listed = drctl(env, "runs", "--json")
    assert json.loads(listed.stdout)["runs"] == []
