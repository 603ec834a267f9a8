"""Issue 10, finding 6 through drctl: a start whose plan does not exist is refused before any run exists, with or
without ``--wait`` (one line naming the plan; nothing queued that could never succeed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trustme

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


def test_a_wrong_asr_endpoint_or_ca_bundle_fails_at_once_naming_the_cause(
    env: dict[str, str], emulator: EmulatorInfo, tmp_path: Path
) -> None:
    wrong_host = drctl({**env, "ASR_ARM_ENDPOINT": "https://127.0.0.1:9"}, "failover", "--vms", "web-1", "--wait")
    assert wrong_host.returncode != 0 and "Traceback" not in wrong_host.stderr, wrong_host.stdout + wrong_host.stderr
    assert "127.0.0.1:9" in wrong_host.stderr and "ServiceRequestError (None)" not in wrong_host.stderr
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_text(trustme.CA().cert_pem.bytes().decode())
    wrong_ca = drctl({**env, "ASR_CA_BUNDLE": str(other_ca)}, "failover", "--vms", "web-1", "--wait")
    assert wrong_ca.returncode != 0 and "Traceback" not in wrong_ca.stderr, wrong_ca.stdout + wrong_ca.stderr
    assert str(other_ca) in wrong_ca.stderr
    assert json.loads(drctl(env, "runs", "--json").stdout)["runs"] == []  # refused before any run existed
