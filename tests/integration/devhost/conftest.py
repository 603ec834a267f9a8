"""One devhost per test module, serving ``sample_app`` from a temp script root with small queue timeouts."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devhost.launcher import DevhostInfo, running_devhost

pytestmark = pytest.mark.integration

SAMPLE_HOST_JSON = {
    "version": "2.0",
    "extensions": {
        "queues": {
            "maxPollingInterval": "00:00:00.500",
            "visibilityTimeout": "00:00:01",
            "batchSize": 4,
            "maxDequeueCount": 3,
        }
    },
}


@dataclass
class SampleHost:
    host: DevhostInfo
    record_file: Path
    queue: str
    fail_queue: str
    slow_queue: str
    connection_string: str

    def records(self, kind: str) -> list[dict[str, Any]]:
        if not self.record_file.exists():
            return []
        lines = self.record_file.read_text(encoding="utf-8").splitlines()
        return [r for r in map(json.loads, lines) if r["kind"] == kind]

    def wait_for(
        self, kind: str, count: int = 1, timeout: float = 20.0, where: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """At least ``count`` records of ``kind`` (those ``where`` accepts; tests share one host per module)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in self.records(kind) if where is None or where(r)]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{count} {kind!r} record(s) expected, got {self.records(kind)}\n{self.host.log()}")


def write_script_root(root: Path, host_json: dict[str, Any], values: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "host.json").write_text(json.dumps(host_json))
    (root / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    return root


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory, storage_connection_string: str) -> Iterator[SampleHost]:
    root = tmp_path_factory.mktemp("sample-root")
    suffix = uuid.uuid4().hex[:10]
    record_file = root / "records.jsonl"
    values = {
        # the app reads these at import time: they must be in the environment before it is imported
        "SAMPLE_RECORD_FILE": str(record_file),
        "SAMPLE_QUEUE": f"q{suffix}",
        "SAMPLE_FAIL_QUEUE": f"f{suffix}",
        "SAMPLE_SLOW_QUEUE": f"s{suffix}",
        "SAMPLE_PRECEDENCE": "from-file",
        "SAMPLE_FROM_FILE": "file-only",
        "AzureWebJobsStorage": storage_connection_string,
    }
    write_script_root(root, SAMPLE_HOST_JSON, values)
    env = {"SAMPLE_PRECEDENCE": "from-env", "SAMPLE_FROM_ENV": "env-only", "DEVHOST_FUNCTION_KEY": "fixed-fn-key"}
    with running_devhost(env=env, app="tests.integration.devhost.sample_app:app", script_root=root) as host:
        yield SampleHost(
            host,
            record_file,
            values["SAMPLE_QUEUE"],
            values["SAMPLE_FAIL_QUEUE"],
            values["SAMPLE_SLOW_QUEUE"],
            storage_connection_string,
        )


Request = Callable[..., tuple[int, dict[str, str], bytes]]
