"""The signals table on Azurite: an evaluation reads only the region's live partition; incidents closed longer ago
than the retention are set aside as one tombstone each and come back with a late notification, so the guard's
reading of them never changes (the same story as tests/unit/autopilot/test_retention.py, on the Table store)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.data.tables import TableServiceClient

from lib.adapters.table_autopilot import TableSignalStore
from tests.unit.autopilot.harness import NOW, Harness, evaluate_message, policy
from tests.unit.autopilot.payloads import custom_event

pytestmark = pytest.mark.integration


def test_closed_incidents_are_set_aside_and_a_late_notification_brings_them_back(
    storage_connection_string: str, unique_name: str
) -> None:
    table = TableServiceClient.from_connection_string(storage_connection_string).get_table_client(unique_name)
    table.create_table()
    h = Harness(policy(mode="dry-run"))
    store = TableSignalStore(table, h.clock.now)
    h = Harness(policy(mode="dry-run"), clock=h.clock, signals=store)
    for i in range(30):  # a chatty incident: many updates, then resolved
        h.event(custom_event(state="active", incident="x", at=NOW - timedelta(hours=3, minutes=i), event_id=f"a{i}"))
    h.event(custom_event(state="resolved", incident="x", at=NOW - timedelta(hours=1), event_id="r1"))
    h.event(custom_event(state="active", incident="y", at=NOW - timedelta(hours=1), event_id="y1"))
    h.later(days=8)
    assert h.outcomes()[-1] == "dry-run"
    h.service.process(evaluate_message("eastus"))

    def partition(name: str) -> list[str]:
        return sorted(r["RowKey"] for r in table.query_entities("PartitionKey eq @p", parameters={"p": name}))

    assert [s.incident for s in store.list("eastus")] == ["custom:y"]  # what the next evaluation reads
    assert len(partition("eastus")) == 1 and len(partition("eastus~closed")) == 1
    [late] = h.event(custom_event(state="active", incident="x", at=NOW - timedelta(hours=2), event_id="a-late"))
    assert late.decision.outcome.value == "dry-run" and late.decision.incident == "custom:y"
    assert "custom:x" in late.decision.incidents  # weighed again, as resolved: its resolve came back
    assert partition("eastus~closed") == [] and len(partition("eastus")) == 3
    x_late = [s for s in store.list("eastus") if s.incident == "custom:x"]
    assert sorted(s.state.value for s in x_late) == ["active", "resolved"]
