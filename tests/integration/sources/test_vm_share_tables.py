"""The protected-VM share on Table storage (Azurite) with the vault's items from the HTTPS emulator: the region
turns active at the threshold and resolves below it whatever the delivery order, duplicates and stale reports
change nothing, and concurrent deliveries (real ETag races) raise exactly one signal."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from devhost.local import local_settings
from emulator.launcher import EmulatorInfo
from lib.adapters.asr_client import ClientOptions
from lib.adapters.asr_sdk import build_site_recovery
from lib.adapters.clocks import SystemClock
from lib.adapters.storage_clients import StorageClients
from lib.adapters.table_source_state import TableVmHealth
from lib.autopilot.vault_index import VaultIndex
from lib.autopilot.vm_share import VmShare
from lib.guard.policy import Policy, RegionPolicy, Target
from lib.signals import IgnoreCode, Ignored, RegionHealthSignal, SignalState, Source
from tests.integration.sources.conftest import vm_id

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
POLICY = Policy({"eastus": RegionPolicy((Target(vms=("vm1", "vm2", "vm3", "vm4")),), unavailable_vm_share=0.5)})
FAST = ClientOptions(retry_total=2, retry_status=1, retry_backoff_factor=0.01, retry_backoff_max=0.05)


def report(vm: str, minute: int, *, down: bool = True) -> RegionHealthSignal:
    state = SignalState.ACTIVE if down else SignalState.RESOLVED
    return RegionHealthSignal(
        source=Source.HEALTH_RESOURCES, incident=f"health-resources:{vm_id(vm).lower()}", state=state,
        notification=f"health-resources:{vm}-{minute}", at=T0 + timedelta(minutes=minute), resource_id=vm_id(vm),
        regions=("eastus",), health="Unavailable" if down else "Available",
    )  # fmt: skip


@pytest.fixture(scope="module")
def vault(emu: EmulatorInfo) -> VaultIndex:
    return VaultIndex(build_site_recovery(local_settings(emu), options=FAST), SystemClock())


def distinct(out: list[RegionHealthSignal | Ignored | None]) -> list[RegionHealthSignal]:
    """The region signals as the intake sees them: deduplicated on the notification key (a redelivered flip gives
    the very same signal again)."""
    found: dict[str, RegionHealthSignal] = {}
    for o in out:
        if isinstance(o, RegionHealthSignal):
            assert found.setdefault(o.notification, o) == o
    return list(found.values())


def fresh(vault: VaultIndex, storage_connection_string: str, unique_name: str, n: int) -> tuple[VmShare, TableVmHealth]:
    table = TableVmHealth.from_clients(
        StorageClients.from_connection_string(storage_connection_string), f"{unique_name}{n}"
    )
    table.create_table()
    return VmShare(vault, table), table


def test_active_at_the_threshold_resolved_below_it_in_any_order(
    vault: VaultIndex, storage_connection_string: str, unique_name: str
) -> None:
    down = [
        report("vm1", 1),
        report("vm2", 2),
        report("vm3", 0, down=False),
    ]  # vm3's report is older: it changes nothing
    up = [report("vm1", 5, down=False), report("vm2", 6, down=False)]
    orders = [down, down[::-1], [down[1], down[2], down[0]]]
    seen: set[tuple[str, str]] = set()
    for n, order in enumerate(orders):
        share, table = fresh(vault, storage_connection_string, unique_name, n)
        out = [share(r, POLICY) for r in [*order, *order]]  # every report twice
        signals = distinct(out)
        assert [s.state for s in signals] == [SignalState.ACTIVE], out
        assert all(isinstance(o, Ignored) and o.code is IgnoreCode.VM_SHARE for o in out if o not in signals)
        seen.add((signals[0].incident, signals[0].notification))
        assert table.share("eastus").value.active_since == T0 + timedelta(minutes=2)
        back = [share(r, POLICY) for r in (up if n % 2 else up[::-1]) + [report("vm1", 3)]]  # a late "down" too
        resolved = distinct(back)
        assert [(s.state, s.incident) for s in resolved] == [(SignalState.RESOLVED, signals[0].incident)]
        assert table.share("eastus").value.active_since is None
        assert {vm: a.available for vm, a in table.latest("eastus").items()} == {"vm1": True, "vm2": True, "vm3": True}
    since = (T0 + timedelta(minutes=2)).isoformat()
    assert seen == {(f"resource-health:vm-share:eastus@{since}", f"resource-health:vm-share:eastus@{since}:active")}


def test_concurrent_deliveries_raise_exactly_one_signal(
    vault: VaultIndex, storage_connection_string: str, unique_name: str
) -> None:
    share, table = fresh(vault, storage_connection_string, unique_name, 9)
    reports = [report(vm, m) for vm, m in itertools.product(("vm1", "vm2", "vm3", "vm4"), (1, 2))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        out = list(pool.map(lambda r: share(r, POLICY), reports * 2))
    signals = distinct(out)
    assert len(signals) == 1 and signals[0].active, out
    assert table.share("eastus").value.active_since == signals[0].at
    assert all(not a.available for a in table.latest("eastus").values()) and len(table.latest("eastus")) == 4
