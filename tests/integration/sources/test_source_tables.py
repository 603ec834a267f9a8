"""The sources' Table adapters on Azurite: every write is ETag-guarded, a lost race is ``StaleWrite``; and the
ARM adapter names the cause when nothing answers."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from lib.adapters.arm_resources import ArmResourceLocations
from lib.adapters.asr_client import Connection
from lib.adapters.storage_clients import StorageClients
from lib.adapters.table_source_state import TableProbeStates, TableVmHealth
from lib.guard.probes import ProbeState
from lib.guard.vm_share import VmAvailability
from lib.ports.resource_locations import LocationUnavailable
from lib.ports.source_state import ProbeRecord, ShareState, StaleWrite, Versioned

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
URL = "https://app.example/health?x=1#frag"  # characters a row key may not hold


def test_probe_records_round_trip_and_refuse_stale_writes(storage_connection_string: str, unique_name: str) -> None:
    table = TableProbeStates.from_clients(StorageClients.from_connection_string(storage_connection_string), unique_name)
    table.create_table()
    table.create_table()  # idempotent
    assert table.load("eastus", URL) is None
    record = ProbeRecord(ProbeState("eastus", URL, failures=0, active_since=T0), ('{"v": 1}',))
    etag = table.save(record, None)
    with pytest.raises(StaleWrite):
        table.save(record, None)  # it exists already
    loaded = table.load("eastus", URL)
    assert loaded is not None and loaded.value == record and loaded.etag == etag
    newer = table.save(ProbeRecord(record.state, ()), etag)
    with pytest.raises(StaleWrite):
        table.save(record, etag)  # written meanwhile
    assert table.load("eastus", URL) == Versioned(ProbeRecord(record.state, ()), newer)


def test_vm_health_rows_and_the_share_row(storage_connection_string: str, unique_name: str) -> None:
    table = TableVmHealth.from_clients(StorageClients.from_connection_string(storage_connection_string), unique_name)
    table.create_table()
    etag = table.put_vm("EastUS", "VM1", VmAvailability(False, T0), None)
    table.put_vm("eastus", "vm2", VmAvailability(True, T0), None)
    table.put_vm("westus", "vm3", VmAvailability(False, T0), None)
    assert table.latest("eastus") == {"vm1": VmAvailability(False, T0), "vm2": VmAvailability(True, T0)}
    found = table.vm("eastus", "vm1")
    assert found is not None and found.etag == etag
    table.put_vm("eastus", "vm1", VmAvailability(True, T0), etag)
    with pytest.raises(StaleWrite):
        table.put_vm("eastus", "vm1", VmAvailability(False, T0), etag)
    empty = table.share("eastus")
    assert empty.value == ShareState() and empty.etag is None
    state = ShareState(T0, "resource-health:n1", {"source": "resource-health", "incident": "i"})
    share_etag = table.put_share("eastus", state, None)
    assert table.share("eastus").value == state and "share" not in table.latest("eastus")
    table.put_share("eastus", ShareState(), share_etag)
    with pytest.raises(StaleWrite):
        table.put_share("eastus", state, share_etag)
    assert table.share("eastus").value == ShareState()


def test_no_answer_from_arm_is_the_reason_not_a_crash() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    seen: list[tuple[str, str, int]] = []
    arm = ArmResourceLocations(
        Connection("s", "rg", "v", f"https://127.0.0.1:{port}"), observer=lambda *a: seen.append(a)
    )
    with pytest.raises(LocationUnavailable) as caught:
        arm.location_of("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa")
    assert caught.value.reason.startswith("ARM did not answer (connection-refused: ")
    assert not caught.value.transient and caught.value.status is None and seen == []
