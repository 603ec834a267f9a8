"""Entity encoding (chunked JSON, size limits), work-item bodies, timer rounding and request classification."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lib.adapters import table_codec as codec
from lib.adapters.request_counter import classify
from lib.domain.runs import RunRecord, RunStatus
from lib.engine import TimerScale
from lib.ports.run_store import CorruptRun, EntityTooLarge
from lib.ports.work_queue import BadWorkItem, WorkItem

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _run(state: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        run_id="r1", workflow="wf", status=RunStatus.RUNNING, step="a", version=1, input={"vms": ["a"]},
        state=state, created_at=NOW, updated_at=NOW, step_started_at=NOW, due_at=NOW,
    )  # fmt: skip


def test_a_thousand_vm_state_is_split_under_the_property_limit_and_round_trips() -> None:
    state = {"vms": {f"vm-{i:04d}": {"status": "active", "jobs": {"failover": "x" * 200}, "pct": i % 100}
                     for i in range(1000)}, "note": "naïve ünïcode"}  # fmt: skip
    entity = codec.run_to_entity(_run(state))
    assert entity["state_n"] > 1
    chunks = [v for k, v in entity.items() if k.startswith("state_") and k != "state_n"]
    assert all(len(v.encode("utf-16-le")) <= 2 * codec.CHUNK_UNITS for v in chunks)
    assert codec.entity_size(entity) < codec.ENTITY_LIMIT
    assert codec.entity_to_run(entity).state == state


def test_chunks_are_cut_by_utf16_units_and_never_split_a_surrogate_pair() -> None:
    text = "a" + "😀" * 40_000  # each emoji is two UTF-16 code units
    chunks = codec.split_utf16(text, units=1001)
    assert "".join(chunks) == text
    assert all(len(c.encode("utf-16-le")) <= 2002 for c in chunks)
    assert codec.utf16_units("ü😀") == 3 and codec.entity_size({"s": "ü"}) < codec.entity_size({"s": "😀"})


def test_an_oversized_state_is_refused_before_the_service_sees_it() -> None:
    with pytest.raises(EntityTooLarge) as caught:
        codec.run_to_entity(_run({"blob": "y" * 600_000}))
    assert caught.value.size > caught.value.limit and caught.value.run_id == "r1"


def test_a_shrinking_state_blanks_the_chunks_it_no_longer_uses() -> None:
    big, small = _run({"blob": "z" * 70_000}), _run({"blob": "z"})
    delta = codec.run_delta(small, big, stored_state_chunks=codec.chunk_count(codec.dump_json(big.state)))
    assert delta["state_n"] == 1 and delta["state_1"] == "" and delta["state_2"] == ""
    assert "input_n" not in delta  # the input never changes after creation
    assert "state_n" not in codec.run_delta(big, big, 3)  # unchanged state is not sent again


def test_a_missing_chunk_is_a_corrupt_run() -> None:
    entity = codec.run_to_entity(_run({"blob": "q" * 40_000}))
    del entity["state_1"]
    with pytest.raises(CorruptRun) as caught:
        codec.entity_to_run(entity)
    assert caught.value.field == "state"


def test_index_keys_sort_newest_first() -> None:
    older = codec.index_row_key("r-old", NOW)
    newer = codec.index_row_key("r-new", NOW + timedelta(milliseconds=1))
    assert newer < older


def test_work_items_round_trip_and_bad_bodies_are_typed_errors() -> None:
    item = WorkItem("r1", 4, base=3)
    assert WorkItem.decode(item.encode()) == item
    assert WorkItem.decode(b'{"run_id": "r1", "version": 2}') == WorkItem("r1", 2)
    assert item.failed_deliveries(4) == 0 and item.failed_deliveries(6) == 2
    for body in ("nope", "[]", '{"run_id": "", "version": 1}', '{"run_id": "r", "version": true}'):
        with pytest.raises(BadWorkItem):
            WorkItem.decode(body)


def test_visibility_is_whole_seconds_capped_at_the_queue_limit() -> None:
    timing = TimerScale(scale=1.0, max_visibility=timedelta(days=7))
    assert timing.visible_in_s(NOW + timedelta(seconds=60), NOW) == 60
    assert timing.visible_in_s(NOW + timedelta(seconds=0.2), NOW) == 0  # within tolerance: show up now
    assert timing.visible_in_s(NOW + timedelta(seconds=0.6), NOW) == 1
    assert timing.visible_in_s(NOW + timedelta(days=30), NOW) == 7 * 24 * 3600  # chained past 7 days
    assert timing.visible_in_s(None, NOW) == 0
    assert TimerScale(scale=0.01).scaled(timedelta(seconds=60)) == timedelta(seconds=0.6)


@pytest.mark.parametrize(
    ("method", "url", "kind"),
    [
        ("POST", "http://h/acct/$batch", "table_tx"),
        ("GET", "http://h/acct/runs(PartitionKey='r1',RowKey='run')", "table_read"),
        ("GET", "http://h/acct/runs()?$filter=x", "table_query"),
        ("PATCH", "http://h/acct/runs(PartitionKey='r1',RowKey='run')", "table_write"),
        ("POST", "http://h/acct/runindex", "table_write"),
        ("POST", "http://h/acct/Tables", "other"),
        ("GET", "http://h/acct/work?comp=metadata", "other"),
        ("GET", "http://h/acct/work/messages?numofmessages=32", "queue_receive"),
        ("POST", "http://h/acct/work/messages", "queue_send"),
        ("PUT", "http://h/acct/work/messages/abc?popreceipt=x", "queue_update"),
        ("DELETE", "http://h/acct/work/messages/abc?popreceipt=x", "queue_delete"),
    ],
)
def test_requests_are_classified_by_kind(method: str, url: str, kind: str) -> None:
    assert classify(method, url) == kind
