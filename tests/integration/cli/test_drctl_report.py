"""``drctl report RUN [--html FILE]``: the report written when the run finished, from the same blob container."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.cli.test_drctl import drctl
from tests.integration.workflows.conftest import NETWORK

pytestmark = pytest.mark.integration


def test_report_prints_the_json_and_writes_the_page(env: dict[str, str], tmp_path: Path) -> None:
    done = drctl(env, "drill", "--vms", "web-1", "--test-network", NETWORK, "--wait", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = json.loads(done.stdout)["run"]["run_id"]

    page = tmp_path / "report.html"
    shown = drctl(env, "report", run_id, "--html", str(page))

    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["runId"] == run_id and report["requestedBy"]["name"] == "drctl"
    assert page.read_text().startswith("<!DOCTYPE html>") and run_id in page.read_text()
    missing = drctl(env, "report", "no-such-run")
    assert missing.returncode != 0 and "no-such-run" in missing.stderr
