"""The whole stack for DR workflow tests: engine on Azurite + the production ASR adapter over HTTPS to the
emulator, wired by ``lib.bootstrap.build`` exactly as the app wires it (only names and speeds differ)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from devhost.local import local_settings
from emulator.launcher import EmulatorError, EmulatorInfo, running_emulator
from lib.adapters.asr_client import ClientOptions
from lib.bootstrap import App, build
from lib.domain.runs import RunRecord
from lib.engine import CrashHook, Driver, EngineConfig, RetryPolicy
from lib.ports.notifier import Notifier
from lib.workflows.deps import DrDeps

pytestmark = pytest.mark.integration

# Workflow timers are scaled by 0.01 (a 10 s job poll takes 0.1 s); emulated ASR runs 3000x real time.
TIMING = {"jobPollSeconds": 10, "healthPollSeconds": 20, "healthPollMaxSeconds": 60}
TIMER_SCALE = 0.01
ENGINE = EngineConfig(
    lease=timedelta(seconds=1),
    step_budget=timedelta(milliseconds=300),
    retry=RetryPolicy(max_retries=4, first_delay=timedelta(seconds=10)),
    janitor_grace=timedelta(seconds=100),
)
FAST_RETRIES = ClientOptions(retry_total=4, retry_status=3, retry_backoff_factor=0.02, retry_backoff_max=0.2)
NETWORK = (
    "/subscriptions/6f4e2a10-0000-4000-8000-00000000a5a5/resourceGroups/rg-dr-test"
    "/providers/Microsoft.Network/virtualNetworks/vnet-isolated"
)


def topology(vms: list[str], plans: list[dict[str, Any]] | None = None, disk_gib: int = 16) -> dict[str, Any]:
    return {
        "subscriptionId": "6f4e2a10-0000-4000-8000-00000000a5a5",
        "resourceGroup": "rg-dr",
        "vault": "vault-dr",
        "primaryRegion": "eastus",
        "recoveryRegion": "westus",
        "vms": [{"name": vm, "diskGiB": disk_gib} for vm in vms],
        "recoveryPlans": plans or [],
    }


@dataclass
class Stack:
    app: App
    emu: EmulatorInfo

    def driver(self, workers: int = 1) -> Driver[DrDeps]:
        return Driver(self.app.engine, workers=workers, janitor_every_s=2.0)

    def start(self, kind: str, payload: dict[str, Any], key: str | None = None) -> str:
        return self.app.start(kind, api_body(payload), key=key, actor="test").run_id

    def finish(self, run_id: str, deadline_s: float = 180.0, workers: int = 1) -> RunRecord:
        return self.driver(workers).run_until_finished(run_id, deadline_s=deadline_s)

    def posts(self, action: str) -> int:
        by_route: dict[str, int] = self.emu.requests_count()["byRoute"]
        return sum(n for route, n in by_route.items() if route.startswith("POST ") and route.endswith("/" + action))

    def vm(self, name: str) -> dict[str, Any]:
        vms: dict[str, Any] = self.emu.state()["vms"]
        return dict(vms[name])


def api_body(short: dict[str, Any]) -> dict[str, Any]:
    """The tests' shorthand ({"plan"|"vms", snake_case options}) as the API's request body, with fast timing."""
    body: dict[str, Any] = {"timing": TIMING}
    for name, value in short.items():
        if name in ("plan", "vms"):
            body["target"] = {"recoveryPlan": value} if name == "plan" else {"vms": value}
        else:
            head, *rest = name.split("_")
            body[head + "".join(part.capitalize() for part in rest)] = value
    return body


MakeStack = Callable[..., Any]


@pytest.fixture
def dr_stack(storage_connection_string: str, unique_name: str) -> Callable[..., Any]:
    @contextmanager
    def make(
        topo: dict[str, Any],
        *,
        crash_hook: CrashHook | None = None,
        time_scale: float = 3000.0,
        overrides: dict[str, Any] | None = None,
        notifier: Notifier | None = None,
    ) -> Iterator[Stack]:
        try:
            emu_cm = running_emulator(topo, time_scale=time_scale)
            emu = emu_cm.__enter__()
        except EmulatorError as exc:  # fail loudly, never skip
            pytest.fail(f"the ASR emulator is required and could not start: {exc}", pytrace=False)
        try:
            settings = local_settings(
                emu,
                storage_connection_string,
                work_queue=f"{unique_name}q",
                runs_table=f"{unique_name}runs",
                run_index_table=f"{unique_name}idx",
                locks_table=f"{unique_name}locks",
                timer_scale=TIMER_SCALE,
                **(overrides or {}),
            )
            app = build(settings, engine_config=ENGINE, asr_options=FAST_RETRIES, notifier=notifier)
            app.ensure_storage()
            if crash_hook is not None:
                app.engine.set_crash_hook(crash_hook)
            yield Stack(app, emu)
        finally:
            emu_cm.__exit__(None, None, None)

    return make
