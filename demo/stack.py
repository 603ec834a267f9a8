"""The local stand-ins the demo runs on: Azurite, the HTTPS ASR emulator and the devhost serving
``function_app.py``. Every process is stopped when the block exits, on an error and on Ctrl-C alike."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from demo import topology
from devhost.appenv import app_env
from devhost.azurite import running_azurite
from devhost.launcher import DevhostInfo, running_devhost
from devhost.local import local_settings
from emulator.launcher import EmulatorInfo, running_emulator

__all__ = ["Stack", "running_stack"]

# Queue polling tightened so that durable timers turn around quickly (the host.json semantics Azure applies).
HOST_JSON = {
    "version": "2.0",
    "extensions": {"queues": {"maxPollingInterval": "00:00:00.250", "visibilityTimeout": "00:00:01",
                              "batchSize": 16, "maxDequeueCount": 5}},
}  # fmt: skip
# The drill timer fires when the demo says so (through the host's admin API), never on its own schedule.
NEVER = "0 0 0 1 1 *"


@dataclass(frozen=True)
class Stack:
    host: DevhostInfo
    emu: EmulatorInfo
    storage: str


@contextlib.contextmanager
def running_stack(*, time_scale: float, timer_scale: float, log_dir: Path | None = None) -> Iterator[Stack]:
    with contextlib.ExitStack() as stack:
        azurite = stack.enter_context(running_azurite())
        emu = stack.enter_context(running_emulator(topology.topology(), time_scale=time_scale))
        settings = local_settings(
            emu, azurite.connection_string, timer_scale=timer_scale,
            asr_cache_storage_accounts=topology.cache_accounts(),
        )  # fmt: skip
        env = app_env(settings) | {
            "DR_POLICY": json.dumps(topology.policy()),
            "DRILL_SCHEDULE": NEVER,
            "PROBE_SCHEDULE": NEVER,
            "READINESS_SCHEDULE": NEVER,
        }
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="demo-host-", dir=log_dir)))
        (root / "host.json").write_text(json.dumps(HOST_JSON))
        host = stack.enter_context(running_devhost(env=env, script_root=root))
        yield Stack(host, emu, azurite.connection_string)
