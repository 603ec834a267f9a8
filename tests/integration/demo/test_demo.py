"""The demo's scenario, played by ``python -m demo`` as a user runs it (a child process, its summary as JSON): the
incident's duplicate deliveries gave one run per target, every VM came back to its original direction, and the
drill cleaned up after itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from demo import topology
from tests.conftest import computed_once

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One demo per test session, whichever workers its tests land on."""
    data: dict[str, Any] = computed_once(tmp_path_factory, "demo-summary", lambda: _play(tmp_path_factory))
    return data


def _play(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("demo") / "summary.json"
    env = {**os.environ, "DEMO_SUMMARY": str(out), "COLUMNS": "160"}
    done = subprocess.run(
        [sys.executable, "-m", "demo", "--time-scale", "600", "--timeout", "120"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    assert out.exists(), f"no summary written; exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    data: dict[str, Any] = json.loads(out.read_text())
    data["exitCode"] = done.returncode
    data["stdout"] = done.stdout
    return data


def _act(summary: dict[str, Any], number: str) -> dict[str, Any]:
    return next(a for a in summary["acts"] if a["name"].startswith(number))


def test_the_demo_exits_0_with_every_check_held(summary: dict[str, Any]) -> None:
    failed = [c for c in summary["checks"] if not c["ok"]]
    assert summary["exitCode"] == 0 and summary["ok"] and not failed, failed or summary["stdout"][-2000:]
    assert len(summary["acts"]) == 4


def test_duplicate_deliveries_gave_one_failover_run_per_target(summary: dict[str, Any]) -> None:
    runs = _act(summary, "1.")["runs"]
    assert [r["kind"] for r in runs] == ["failover"] * len(topology.TARGETS)
    assert all(r["status"] == "succeeded" for r in runs)
    labels = sorted(r["label"] for r in runs)
    assert labels == sorted({r["label"] for r in runs})  # no target twice


def test_the_resolve_failed_nothing_back_and_the_operator_failback_did(summary: dict[str, Any]) -> None:
    assert _act(summary, "2.")["runs"] == []
    failbacks = _act(summary, "3.")["runs"]
    assert len(failbacks) == len(topology.TARGETS) and all(r["status"] == "succeeded" for r in failbacks)
    back = {c["name"]: c["ok"] for c in summary["checks"]}
    assert back[f"every VM runs in {topology.PRIMARY}, protected, after the failback"]


def test_the_drill_ran_validated_and_cleaned_up(summary: dict[str, Any]) -> None:
    drills = _act(summary, "4.")["runs"]
    assert [r["kind"] for r in drills] == ["drill"] and drills[0]["status"] == "succeeded"
    checks = {c["name"]: c for c in summary["checks"]}
    assert checks["drill cleaned up"]["ok"], checks["drill cleaned up"]["detail"]


def test_each_vm_has_an_rto_and_an_rpo_after_the_failover(summary: dict[str, Any]) -> None:
    vms = [v for r in _act(summary, "1.")["runs"] for v in r["vms"]]
    assert len(vms) == len(topology.topology()["vms"])
    assert all(v["rtoSeconds"] is not None for v in vms), vms
