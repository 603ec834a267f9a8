"""Signals of incidents closed long ago are set aside, and a late notification brings them back: what an
evaluation reads stays small, and the guard reads every incident as it did before (pure rule, then the service on
fakes; tests/integration/autopilot/test_signal_retention.py runs the same story on Azurite)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lib.adapters.memory_autopilot import MemorySignalStore
from lib.guard.retention import closed_incidents
from lib.signals import from_event_grid_event
from tests.unit.autopilot.harness import NOW, Harness, evaluate_message, policy
from tests.unit.autopilot.payloads import custom_event


def _signal(state: str, incident: str, minutes_ago: float, event_id: str) -> Any:
    return from_event_grid_event(custom_event(state=state, incident=incident, at=NOW - timedelta(minutes=minutes_ago),
                                              event_id=event_id))  # fmt: skip


def test_an_incident_is_closed_when_its_latest_signal_is_a_resolve_stored_before_the_horizon() -> None:
    old, recent = NOW - timedelta(days=9), NOW - timedelta(days=1)
    rows = [
        (_signal("active", "done", 600, "d1"), old), (_signal("resolved", "done", 500, "d2"), old),
        (_signal("active", "live", 600, "l1"), old),  # never resolved: the region may still be down
        (_signal("resolved", "fresh", 500, "f1"), recent),  # resolved, but stored after the horizon
        (_signal("resolved", "back", 500, "b1"), old), (_signal("active", "back", 400, "b2"), old),  # active again
        (_signal("resolved", "unknown", 500, "u1"), None),  # no storedAt: kept
    ]  # fmt: skip
    [closed] = closed_incidents(rows, NOW - timedelta(days=7))
    assert closed.incident == "custom:done"
    assert closed.last.notification.endswith("d2") and len(closed.notifications) == 2


def test_a_late_active_older_than_a_pruned_resolve_leaves_the_incident_resolved() -> None:
    h = Harness(policy(mode="dry-run"))
    h.event(custom_event(state="active", incident="x", at=NOW - timedelta(hours=2), event_id="a1"))
    h.event(custom_event(state="resolved", incident="x", at=NOW - timedelta(hours=1), event_id="r1"))
    h.event(custom_event(state="active", incident="y", at=NOW - timedelta(hours=1), event_id="y1"))
    assert h.outcomes() == ["dry-run", "recovered", "dry-run"]
    h.later(days=8)
    h.service.process(evaluate_message("eastus"))  # decides, then sets x aside (y is still active)
    store = h.store
    assert isinstance(store, MemorySignalStore)
    assert [s.incident for s in store.list("eastus")] == ["custom:y"]
    assert list(store.tombstones) == [("eastus", "custom:x")]
    h.event(custom_event(state="resolved", incident="y", at=NOW - timedelta(minutes=30), event_id="y2"))
    # x's late "active", older than its resolve: the tombstone comes back first, so x stays resolved.
    [late] = h.event(custom_event(state="active", incident="x", at=NOW - timedelta(minutes=90), event_id="a2"))
    assert late.decision.outcome.value == "recovered", late.decision.reasons
    assert sorted(s.notification[-2:] for s in store.list("eastus") if s.incident == "custom:x") == ["a2", "r1"]
    assert store.tombstones == {}
