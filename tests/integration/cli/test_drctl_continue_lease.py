"""Issue 10: ``drctl continue RUN`` against a live lease refuses, naming the holder and expiry; with ``--wait``
it says who holds the lease and until when, waits for the holder to hand it back, then drives the run."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from emulator.launcher import EmulatorInfo
from lib.bootstrap import build
from lib.ports.run_store import Lease
from lib.settings import Settings
from tests.integration.cli.test_drctl import ROOT, drctl
from tests.integration.cli.test_drctl_control import _posts, _run_state

pytestmark = pytest.mark.integration

HOLDER = "w-elsewhere"


def test_continue_waits_for_a_live_lease_then_drives_the_run(env: dict[str, str], emulator: EmulatorInfo) -> None:
    started = drctl(env, "failover", "--vms", "web-1", "--json")
    assert started.returncode == 0, started.stderr
    run_id = json.loads(started.stdout)["run_id"]
    engine = build(Settings.from_env(env)).engine
    loaded = engine.runtime.store.load(run_id)
    assert loaded is not None
    until = datetime.now(UTC) + timedelta(seconds=60)  # far beyond the test: only the hand-back frees it
    engine.runtime.store.save_lease(run_id, loaded.etag, Lease(HOLDER, until, loaded.run.msg_id, 1))

    shown = drctl(env, "show", run_id)  # a held lease shows who holds it and until when
    assert f"lease: {HOLDER} until {until.isoformat()} (live)" in shown.stdout.replace("\n", " "), shown.stdout

    refused = drctl(env, "continue", run_id)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert HOLDER in refused.stderr and until.isoformat()[:19] in refused.stderr
    assert _posts(emulator, "unplannedFailover") == 0

    # The holder hands the lease back only once the waiting command has said who holds it, so the test does not
    # depend on how fast the command starts on a loaded machine.
    waiting = subprocess.Popen(
        [sys.executable, "-m", "drctl", "continue", run_id, "--wait", "--timeout", "120"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert waiting.stderr is not None
    said = [waiting.stderr.readline()]
    while said[-1] and "holds its lease" not in said[-1]:
        said.append(waiting.stderr.readline())
    handed_back = [datetime.now(UTC)]
    engine.release_lease(run_id, worker=HOLDER)
    out, rest = waiting.communicate(timeout=300)
    waited = subprocess.CompletedProcess(waiting.args, waiting.returncode, out, "".join(said) + rest)
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert f"worker {HOLDER} holds its lease until {until.isoformat()}" in waited.stderr
    assert waited.stderr.count(f"worker {HOLDER} holds") == 1  # said once, not at every poll
    assert _run_state(env, run_id)["status"] == "succeeded"
    history = json.loads(drctl(env, "show", run_id, "--json").stdout)["history"]
    continued = [h for h in history if h["event"] == "continue"]
    assert len(continued) == 1 and datetime.fromisoformat(continued[0]["at"]) >= handed_back[0]
    assert _posts(emulator, "unplannedFailover") == 1 and _posts(emulator, "failoverCommit") == 1


def test_continue_wait_gives_up_at_its_timeout_while_the_lease_is_held(env: dict[str, str]) -> None:
    started = drctl(env, "failover", "--vms", "web-2", "--json")
    run_id = json.loads(started.stdout)["run_id"]
    engine = build(Settings.from_env(env)).engine
    loaded = engine.runtime.store.load(run_id)
    assert loaded is not None
    until = datetime.now(UTC) + timedelta(seconds=60)
    engine.runtime.store.save_lease(run_id, loaded.etag, Lease(HOLDER, until, loaded.run.msg_id, 1))
    gave_up = drctl(env, "continue", run_id, "--wait", "--timeout", "2")
    assert gave_up.returncode == 1, gave_up.stdout + gave_up.stderr
    assert f"worker {HOLDER} holds its lease" in gave_up.stderr and "gave up waiting" in gave_up.stderr
    assert _run_state(env, run_id)["status"] == "pending"
