"""Start-up failures end the host with the reason, never a half-started host."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from pathlib import Path

import pytest

from devhost.launcher import DevhostError, running_devhost
from tests.integration.devhost.conftest import write_script_root

pytestmark = pytest.mark.integration


def test_an_app_that_cannot_be_hosted_exits_with_the_reason(tmp_path: Path) -> None:
    root = write_script_root(tmp_path, {"version": "2.0"}, {})
    with (
        pytest.raises(DevhostError, match=r"exit code 2(.|\n)*is not an azure.functions.FunctionApp"),
        running_devhost(app="devhost.keys:Keys", script_root=root, start_timeout=30),
    ):
        pass


def _sample_values(tmp_path: Path) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {"SAMPLE_RECORD_FILE": str(tmp_path / "r"), "SAMPLE_QUEUE": f"a{suffix}", "SAMPLE_FAIL_QUEUE": f"b{suffix}"}


def test_a_missing_storage_setting_is_named(tmp_path: Path) -> None:
    root = write_script_root(tmp_path, {"version": "2.0"}, _sample_values(tmp_path))
    env = {"AzureWebJobsStorage": ""}
    with (
        pytest.raises(DevhostError, match="connection setting 'AzureWebJobsStorage' is not set"),
        running_devhost(env=env, app="tests.integration.devhost.sample_app:app", script_root=root),
    ):
        pass


def test_sigterm_stops_the_host_cleanly(tmp_path: Path, storage_connection_string: str) -> None:
    values = _sample_values(tmp_path)
    root = write_script_root(tmp_path, {"version": "2.0"}, {**values, "AzureWebJobsStorage": storage_connection_string})
    with running_devhost(app="tests.integration.devhost.sample_app:app", script_root=root) as host:
        assert host.request("GET", "/api/items/1")[0] == 200
        os.kill(host.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while "INFO devhost: stopped" not in host.log():
            assert time.monotonic() < deadline, host.log()
            time.sleep(0.05)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", int(host.url.rsplit(":", 1)[1])), timeout=2).close()
