"""Start-up failures end the host with the reason, never a half-started host."""

from __future__ import annotations

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


def test_a_missing_storage_setting_is_named(tmp_path: Path) -> None:
    root = write_script_root(tmp_path, {"version": "2.0"}, {"SAMPLE_RECORD_FILE": str(tmp_path / "r"),
                                                            "SAMPLE_QUEUE": "a", "SAMPLE_FAIL_QUEUE": "b"})  # fmt: skip
    env = {"AzureWebJobsStorage": ""}
    with (
        pytest.raises(DevhostError, match="connection setting 'AzureWebJobsStorage' is not set"),
        running_devhost(env=env, app="tests.integration.devhost.sample_app:app", script_root=root),
    ):
        pass
