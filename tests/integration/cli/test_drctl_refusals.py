"""Issue 10, finding 6 through drctl: a start whose plan does not exist is refused before any run exists, with or
without ``--wait`` (one line naming the plan; nothing queued that could never succeed)."""

from __future__ import annotations

import json

import pytest

from emulator.launcher import EmulatorInfo
from tests.integration.cli.test_drctl import drctl

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("wait", [[], ["--wait"]])
def test_a_missing_plan_is_refused_before_any_run_exists(
    env: dict[str, str], emulator: EmulatorInfo, wait: list[str]
) -> None:
    refused = drctl(env, "failover", "--plan", "no-such-plan", *wait)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr, refused.stdout + refused.stderr
    assert "recovery plan 'no-such-plan' does not exist" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    listed = drctl(env, "runs", "--json")
    assert json.loads(listed.stdout)["runs"] == []
