"""Many runs at once stay inside the subscription's ARM read budget, counted at the emulator.

Eight runs watch reprotect at the same time (the ``await_healthy`` step as the engine calls it: ride-out and
budget included), on the production ASR adapter over HTTPS and the Table-backed budget on Azurite. Time is
simulated: the loop always executes the run whose poll is due first, at that time, so an hour and a half of polling
take seconds. Every ARM request the emulator counts during a call is put at that call's time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devhost.local import local_settings
from emulator.launcher import EmulatorError, EmulatorInfo, running_emulator
from lib.adapters.arm_read_meter import ArmReadMeter
from lib.adapters.asr_client import ClientOptions
from lib.adapters.asr_sdk import build_site_recovery
from lib.adapters.log_notifier import LogNotifier
from lib.adapters.storage_clients import StorageClients
from lib.adapters.table_read_budget import TableReadBudget
from lib.domain.dr import parse_request
from lib.domain.read_budget import ReadPace
from lib.engine import StepContext, Wait
from lib.workflows.deps import DrDeps
from lib.workflows.health import await_healthy
from lib.workflows.runstate import RunState
from lib.workflows.vmstate import VmProgress
from tests.integration.workflows.conftest import topology
from tests.unit.workflows.harness import MemoryLocks, ScriptedProbe

pytestmark = pytest.mark.integration

RUNS = 8
BUDGET = 120.0  # reads per hour: 8 runs listing the vault every 60 s would want 480
T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
HOURS = 1.5


@pytest.fixture
def emulator() -> Iterator[EmulatorInfo]:
    try:
        with running_emulator(topology([f"vm-{i}" for i in range(RUNS)]), time_scale=1.0) as emu:
            yield emu
    except EmulatorError as exc:  # fail loudly, never skip
        pytest.fail(f"the ASR emulator is required and could not start: {exc}", pytrace=False)


def _watching_state(deps: DrDeps, vm: str) -> dict[str, Any]:
    """A run past reprotect, watching ``vm`` for a direction it never reaches: every poll is a full one."""
    item = next(i for i in deps.asr.list_protected_items() if i.vm_name == vm)
    state = RunState(locked_at=T0 + timedelta(days=30))  # the no-op locks need no renewal in this test
    row = state.vms[vm] = VmProgress.new(item, 0)
    row.to_region, row.done = item.primary_location + "-x", ["failover", "commit", "reprotect"]
    return state.to_json()


def test_many_runs_at_once_stay_inside_the_read_budget(
    emulator: EmulatorInfo, storage_connection_string: str, unique_name: str
) -> None:
    meter = ArmReadMeter()
    settings = local_settings(emulator)
    asr = build_site_recovery(settings, options=ClientOptions(retry_total=2, retry_backoff_factor=0.02), observer=meter)
    table = StorageClients.from_connection_string(storage_connection_string).table(unique_name)
    budget = TableReadBudget(table, settings.asr_subscription_id, ReadPace(per_hour=BUDGET))
    budget.ensure_table()
    deps = DrDeps(asr, MemoryLocks(), LogNotifier(), ScriptedProbe(), budget=budget, read_meter=meter.reads)
    request = parse_request("failover", {"target": {"vms": ["vm-0"]}}).to_json()
    runs = {f"run-{i}": _watching_state(deps, f"vm-{i}") for i in range(RUNS)}
    due = dict.fromkeys(runs, T0)
    reads_at: list[tuple[datetime, int]] = []
    waits = 0
    while min(due.values()) < T0 + timedelta(hours=HOURS):
        run_id = min(due, key=lambda r: due[r])
        now = due[run_id]
        before = int(emulator.requests_count()["total"])
        ctx = StepContext(run_id, "failover", "await_healthy", request, runs[run_id], now, T0, T0)
        outcome = await_healthy(ctx, deps)
        reads_at.append((now, int(emulator.requests_count()["total"]) - before))
        assert isinstance(outcome, Wait), outcome
        waits += "ARM read budget" in outcome.reason
        due[run_id] = now + outcome.delay
    # Counted at the emulator: no hour (sliding, from any poll) holds more than the budget and one bucket.
    per_hour = [sum(n for t, n in reads_at if start <= t < start + timedelta(hours=1)) for start, _n in reads_at]
    assert max(per_hour) <= BUDGET + ReadPace(per_hour=BUDGET).per_bucket
    assert max(per_hour) >= 0.8 * BUDGET  # the budget is used, not wasted: it binds, it does not starve
    # ... and the runs recorded that they had to slow down.
    assert waits > 0
    assert all(RunState.load(state).budget_waits > 0 for state in runs.values())
