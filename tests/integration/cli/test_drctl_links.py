"""Issue 10 through drctl: a cancel during a drill's test failover cancels the ASR job (counted at the emulator)
and ends the run cancelled (exit 0); a rollback's return trip is a linked run that both ``show``s name."""

from __future__ import annotations

import json
import re

import pytest

from emulator.launcher import EmulatorInfo
from tests.integration.cli.test_drctl import drctl
from tests.integration.cli.test_drctl_control import _posts, _run_state
from tests.integration.workflows.conftest import NETWORK

pytestmark = pytest.mark.integration


def test_cancel_during_a_drill_cancels_its_test_failover_job_and_ends_cancelled(
    env: dict[str, str], emulator: EmulatorInfo
) -> None:
    emulator.set_time_scale(2)  # the test failover job runs for minutes: the cancel lands while it runs
    started = drctl(env, "drill", "--vms", "web-1", "--test-network", NETWORK, "--json")
    run_id = json.loads(started.stdout)["run_id"]
    for _ in range(10):  # preflight, then the job starts: a few seconds of driving, more on a loaded machine
        stepped = drctl(env, "continue", run_id, "--wait", "--timeout", "3")
        assert "gave up waiting" in stepped.stderr, stepped.stdout + stepped.stderr
        if _posts(emulator, "testFailover"):
            break
    assert _posts(emulator, "testFailover") == 1 and emulator.vm_state("web-1")["currentJob"] is not None
    requested = drctl(env, "cancel", run_id)
    assert requested.returncode == 0, requested.stdout + requested.stderr
    assert "cancel requested by drctl" in requested.stdout and f"continue {run_id} --wait" in requested.stdout
    done = drctl(env, "continue", run_id, "--wait")
    assert done.returncode == 1 and _run_state(env, run_id)["status"] == "cancelled", done.stdout + done.stderr
    assert _posts(emulator, "cancel") == 1 and _posts(emulator, "testFailoverCleanup") == 0
    s = emulator.vm_state("web-1")
    assert (s["testVmRunning"], s["protectionState"]) == (False, "Protected")
    # MarkedForDeletion lingers a few emulated minutes after a cancelled test failover (as in ASR): no test VM.
    assert s["testFailoverState"] in ("None", "MarkedForDeletion")
    shown = drctl(env, "show", run_id)
    assert "ASR jobs cancelled:" in shown.stdout and "cancel-request" in shown.stdout


def test_rollback_is_a_linked_run_that_both_shows_name(env: dict[str, str], emulator: EmulatorInfo) -> None:
    paused = drctl(env, "failover", "--vms", "web-1", "--no-auto-commit", "--wait")
    run_id = re.search(r"run (\S+) started", paused.stdout)
    assert paused.returncode == 1 and run_id and "rollback" in paused.stdout, paused.stdout + paused.stderr
    rolled = drctl(env, "rollback", run_id.group(1), "--wait")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    links = _run_state(env, run_id.group(1))["state"]["links"]
    assert [(link["reason"], link["kind"], link["by"]) for link in links] == [("rollback", "failback", "drctl")]
    linked = links[0]["runId"]
    assert _run_state(env, linked)["status"] == "pending"  # --wait drove only its own run
    back = drctl(env, "continue", linked, "--wait")
    assert back.returncode == 0, back.stdout + back.stderr
    s = emulator.vm_state("web-1")
    assert (s["primaryRegion"], s["originalDirection"], s["protectionState"]) == ("eastus", True, "Protected")
    original = drctl(env, "show", run_id.group(1))
    assert f"rollback: linked run {linked} (failback, chosen by drctl)" in original.stdout
    assert f"linked from run {run_id.group(1)} (rollback, chosen by drctl)" in drctl(env, "show", linked).stdout
    assert _posts(emulator, "unplannedFailover") == 2 and _posts(emulator, "switchprotection") == 2
