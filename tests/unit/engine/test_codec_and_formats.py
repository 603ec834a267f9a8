"""Entity encoding (chunked JSON, size limits), work-item bodies, timer rounding and request classification."""

from __future__ import annotations

import random
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


def _noise(n: int, seed: int = 1) -> str:
    """Text that does not compress (hex of random bytes): sizes in these tests mean what they say."""
    return random.Random(seed).randbytes(n // 2 + 1).hex()[:n]


def test_a_thousand_vm_state_is_compressed_into_binary_chunks_under_the_property_limit_and_round_trips() -> None:
    state = {"vms": {f"vm-{i:04d}": {"status": "active", "jobs": {"failover": _noise(200, i)}, "pct": i % 100}
                     for i in range(1000)}, "note": "naïve ünïcode 😀"}  # fmt: skip
    entity = codec.run_to_entity(_run(state))
    assert entity["state_enc"] == "zlib" and entity["state_n"] > 1
    chunks = [entity[f"state_{i}"] for i in range(entity["state_n"])]
    assert all(isinstance(c, bytes) and len(c) <= codec.BINARY_CHUNK < 64 * 1024 for c in chunks)
    assert codec.entity_size(entity) < codec.ENTITY_LIMIT
    assert codec.entity_to_run(entity).state == state


def test_a_state_stored_as_string_chunks_before_compression_still_loads() -> None:
    state = {"version": 2, "vms": {f"vm-{i}": {"item": "ü" * 100, "done": ["failover"]} for i in range(400)}}
    entity = codec.run_scalars(_run(state))
    codec.put_chunks(entity, "input", codec.dump_json({"vms": ["a"]}))
    codec.put_chunks(entity, "state", codec.dump_json(state))  # the layout the codec wrote before
    assert entity["state_n"] > 1 and "state_enc" not in entity
    assert codec.entity_to_run(entity).state == state


def test_the_first_compressed_save_over_a_string_state_blanks_every_old_chunk() -> None:
    old = _run({"blob": _noise(200_000)})
    stored = codec.run_scalars(old)
    codec.put_chunks(stored, "state", codec.dump_json(old.state))
    codec.put_chunks(stored, "input", codec.dump_json(old.input))
    new = _run({"blob": "small now"})
    delta = codec.run_delta(new, old, stored_state_chunks=codec.chunk_count(codec.dump_json(old.state)))
    merged = {**stored, **delta}  # what a MERGE leaves on the service
    assert stored["state_n"] == 7 and merged["state_n"] == 1
    assert all(merged[f"state_{i}"] == "" for i in range(1, 7))
    assert codec.entity_to_run(merged).state == {"blob": "small now"}


def test_an_oversized_state_is_refused_before_the_service_sees_it() -> None:
    with pytest.raises(EntityTooLarge) as caught:
        codec.run_to_entity(_run({"blob": _noise(2_100_000)}))  # ~1.05 MB once compressed: hex is 4 bits a byte
    assert caught.value.size > caught.value.limit and caught.value.run_id == "r1"
    assert caught.value.what == "the run (state + input)"


def test_a_state_that_compresses_well_fits_far_past_the_raw_limit() -> None:
    entity = codec.run_to_entity(_run({"blob": "y" * 3_000_000}))
    assert codec.entity_size(entity) < 10_000


def test_a_shrinking_state_blanks_the_chunks_it_no_longer_uses() -> None:
    big, small = _run({"blob": _noise(130_000)}), _run({"blob": "z"})
    assert codec.run_to_entity(big)["state_n"] == 2
    delta = codec.run_delta(small, big, stored_state_chunks=codec.chunk_count(codec.dump_json(big.state)))
    assert delta["state_n"] == 1 and delta["state_1"] == "" and delta["state_2"] == ""
    assert "input_n" not in delta  # the input never changes after creation
    assert "state_n" not in codec.run_delta(big, big, 3)  # unchanged state is not sent again
    many = codec.run_delta(small, big, stored_state_chunks=500)
    assert max(int(k[6:]) for k in many if k[6:].isdigit()) == codec.MAX_STATE_CHUNKS - 1


def test_a_missing_or_damaged_chunk_is_a_corrupt_run() -> None:
    entity = codec.run_to_entity(_run({"blob": _noise(200_000)}))
    damages: list[tuple[dict[str, Any], str]] = [
        ({"state_1": None}, "state_1"),
        ({"state_1": b"x"}, "error"),
        ({"state_enc": "lz4"}, "lz4"),
        ({"state_n": None}, "state_n"),
    ]
    for damage, why in damages:
        broken = {k: v for k, v in {**entity, **damage}.items() if v is not None}
        with pytest.raises(CorruptRun) as caught:
            codec.entity_to_run(broken)
        assert caught.value.field == "state" and why in str(caught.value)


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
