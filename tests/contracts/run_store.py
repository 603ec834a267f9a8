"""The RunStore contract: ETag guards, atomic run + history writes, idempotency keys, the run index.

Needs a ``store`` fixture: an empty ``RunStore``.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lib.domain.errors import ValidationError
from lib.domain.runs import HistoryRecord, RunEvent, RunRecord, RunStatus, RunSummary
from lib.ports.run_store import EntityTooLarge, Lease, RunAlreadyExists, RunStore, StaleRun

T0 = datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)
# Random hex does not compress below half its length: over 1 MB even as the store's compressed state.
HUGE = random.Random(3).randbytes(1_100_000).hex()


def make_run(run_id: str = "r1", **changes: Any) -> RunRecord:
    run = RunRecord(
        run_id=run_id, workflow="failover", status=RunStatus.PENDING, step="preflight", version=1,
        input={"vms": ["web-1", "web-2"], "kind": "failover"}, state={}, created_at=T0, updated_at=T0,
        step_started_at=T0, due_at=T0, history_seq=1, idempotency_key="k-1", reason="created",
    )  # fmt: skip
    return replace(run, **changes)


def row(seq: int, version: int, **changes: Any) -> HistoryRecord:
    record = HistoryRecord(
        seq=seq, at=T0 + timedelta(seconds=seq), event=RunEvent.START, from_status=RunStatus.PENDING,
        to_status=RunStatus.RUNNING, step="preflight", version=version, outcome="next", reason=f"row {seq}",
        details={"seq": seq, "vms": ["web-1"]}, actor="w-1",
    )  # fmt: skip
    return replace(record, **changes)


def advanced(run: RunRecord, **changes: Any) -> RunRecord:
    """The run one checkpoint later (what the engine would save)."""
    return replace(run, **{"version": run.version + 1, "history_seq": run.history_seq + 1, **changes})


def summary(run_id: str, minutes: int, status: RunStatus = RunStatus.RUNNING) -> RunSummary:
    at = T0 + timedelta(minutes=minutes)
    return RunSummary(run_id, "failover", status, at, at, step="preflight", reason=f"{run_id} listed")


class RunStoreContract:
    # -- create and load ----------------------------------------------------------------------------

    def test_a_created_run_loads_back_field_for_field_with_its_history(self, store: RunStore) -> None:
        run = make_run(state={"vms": {"web-1": {"phase": "failover", "ünï": "😀"}}}, due_at=None)
        etag = store.create(run, [row(1, 1, event=RunEvent.CREATE, from_status=None, to_status=RunStatus.PENDING)])
        loaded = store.load("r1")
        assert loaded is not None and loaded.etag == etag and loaded.run == run
        found = store.load_with_history("r1")
        assert found is not None and found[0] == loaded
        assert [(h.seq, h.event, h.from_status, h.details) for h in found[1]] == [
            (1, RunEvent.CREATE, None, {"seq": 1, "vms": ["web-1"]})
        ]
        assert store.load_status("r1") is RunStatus.PENDING

    def test_unknown_runs_load_as_none(self, store: RunStore) -> None:
        assert store.load("nope") is None
        assert store.load_with_history("nope") is None
        assert store.load_status("nope") is None

    def test_a_second_create_of_the_same_run_is_refused_and_changes_nothing(self, store: RunStore) -> None:
        etag = store.create(make_run(), [row(1, 1)])
        with pytest.raises(RunAlreadyExists) as caught:
            store.create(make_run(step="other"), [row(1, 1, reason="again")])
        assert caught.value.run_id == "r1"
        found = store.load_with_history("r1")
        assert found is not None and found[0].etag == etag and found[0].run.step == "preflight"
        assert [h.reason for h in found[1]] == ["row 1"]

    # -- saves under the ETag -----------------------------------------------------------------------

    def test_a_save_appends_history_atomically_and_returns_a_new_etag(self, store: RunStore) -> None:
        run = make_run()
        etag = store.create(run, [row(1, 1)])
        new = advanced(run, status=RunStatus.RUNNING, state={"step": 1}, history_seq=3)
        etag2 = store.save(new, etag, [row(2, 2), row(3, 2)], previous=run)
        assert etag2 != etag
        found = store.load_with_history("r1")
        assert found is not None
        assert found[0].run == new and found[0].etag == etag2
        assert [h.seq for h in found[1]] == [1, 2, 3]
        assert store.load_status("r1") is RunStatus.RUNNING

    def test_a_save_with_an_old_etag_loses_and_writes_nothing(self, store: RunStore) -> None:
        run = make_run()
        etag = store.create(run, [row(1, 1)])
        winner = advanced(run, reason="winner")
        current = store.save(winner, etag, [row(2, 2, reason="winner")], previous=run)
        with pytest.raises(StaleRun) as caught:
            store.save(advanced(run, reason="loser"), etag, [row(3, 2, reason="loser")], previous=run)
        assert (caught.value.run_id, caught.value.etag) == ("r1", etag)
        found = store.load_with_history("r1")
        assert found is not None and found[0].etag == current and found[0].run.reason == "winner"
        assert [h.reason for h in found[1]] == ["row 1", "winner"]

    def test_a_save_whose_history_row_exists_already_loses(self, store: RunStore) -> None:
        run = make_run()
        etag = store.create(run, [row(1, 1)])
        with pytest.raises(StaleRun):
            store.save(advanced(run, reason="dup"), etag, [row(1, 2, reason="dup")], previous=run)
        loaded = store.load("r1")
        assert loaded is not None and loaded.etag == etag and loaded.run.reason == "created"

    def test_a_save_of_a_run_that_does_not_exist_loses(self, store: RunStore) -> None:
        with pytest.raises(StaleRun):
            store.save(make_run("ghost"), 'W/"x"', [row(2, 2)], previous=None)
        assert store.load("ghost") is None

    def test_merge_and_replace_saves_store_the_same_run_and_a_state_can_shrink(self, store: RunStore) -> None:
        big = make_run(state={"blob": "ü" * 70_000})  # several chunks
        etag = store.create(big, [row(1, 1)])
        small = advanced(big, state={"blob": "small"})
        etag = store.save(small, etag, [row(2, 2)], previous=big)  # a delta write
        loaded = store.load("r1")
        assert loaded is not None and loaded.run == small
        unchanged = advanced(small, reason="poll", state={"blob": "small"})
        etag = store.save(unchanged, etag, [row(3, 3)], previous=small)
        replaced = advanced(unchanged, state={"blob": "z" * 40_000})
        store.save(replaced, etag, [], previous=None)  # a full write
        loaded = store.load("r1")
        assert loaded is not None and loaded.run == replaced

    def test_the_lease_write_changes_only_the_lease_and_moves_the_etag(self, store: RunStore) -> None:
        run = make_run(state={"keep": True})
        etag = store.create(run, [row(1, 1)])
        until = T0 + timedelta(minutes=5)
        etag2 = store.save_lease("r1", etag, Lease("w-7", until, "m-1", 1))
        assert etag2 != etag
        loaded = store.load("r1")
        assert loaded is not None and loaded.etag == etag2
        assert loaded.run == replace(run, lease_owner="w-7", lease_until=until, msg_id="m-1", claims=1)
        with pytest.raises(StaleRun):
            store.save_lease("r1", etag, Lease("w-8", until, "m-2", 2))
        with pytest.raises(StaleRun):  # the lease write moved the ETag: a save under the old one loses
            store.save(advanced(run), etag, [row(2, 2)], previous=run)
        with pytest.raises(StaleRun):
            store.save_lease("ghost", etag2, Lease("w-8", None, "m-2", 1))

    def test_an_oversized_run_is_refused_and_the_stored_one_stays(self, store: RunStore) -> None:
        with pytest.raises(EntityTooLarge):
            store.create(make_run("huge", state={"blob": HUGE}), [row(1, 1)])
        assert store.load("huge") is None
        run = make_run()
        etag = store.create(run, [row(1, 1)])
        with pytest.raises(EntityTooLarge) as caught:
            store.save(advanced(run, state={"blob": HUGE}), etag, [row(2, 2)], previous=run)
        assert caught.value.run_id == "r1" and caught.value.size > caught.value.limit
        found = store.load_with_history("r1")
        assert found is not None and found[0].etag == etag and found[0].run == run and len(found[1]) == 1

    # -- idempotency keys -------------------------------------------------------------------------

    def test_an_idempotency_key_binds_to_its_first_caller(self, store: RunStore) -> None:
        first = store.claim_key("order-42", "r1", "failover", T0)
        assert first.claimed and first.run_id == "r1"
        later = store.claim_key("order-42", "r2", "drill", T0 + timedelta(minutes=1))
        assert (later.claimed, later.run_id, later.workflow, later.created_at) == (False, "r1", "failover", T0)
        other = store.claim_key("order-43", "r3", "drill", T0)
        assert other.claimed and other.run_id == "r3"

    # -- the index ----------------------------------------------------------------------------------

    def test_the_index_lists_newest_first_in_pages(self, store: RunStore) -> None:
        for minutes, run_id in enumerate(["a", "b", "c", "d", "e"]):
            store.index_put(summary(run_id, minutes))
        page = store.index_list(None, 2, None)
        seen = [s.run_id for s in page.items]
        while page.continuation:
            page = store.index_list(None, 2, page.continuation)
            seen += [s.run_id for s in page.items]
        assert seen == ["e", "d", "c", "b", "a"]
        assert store.index_list(None, 10, None).continuation is None
        listed = store.index_list(None, 1, None).items[0]
        assert listed == summary("e", 4)

    def test_the_index_filters_by_status_and_a_put_replaces_the_row(self, store: RunStore) -> None:
        store.index_put(summary("a", 0))
        store.index_put(summary("b", 1, RunStatus.FAILED))
        store.index_put(summary("c", 2))
        store.index_put(summary("a", 0, RunStatus.SUCCEEDED))  # same run, same created_at: one row
        assert [s.run_id for s in store.index_list(RunStatus.RUNNING, 10, None).items] == ["c"]
        assert [s.run_id for s in store.index_list(RunStatus.SUCCEEDED, 10, None).items] == ["a"]
        assert [s.run_id for s in store.index_list(None, 10, None).items] == ["c", "b", "a"]
        assert [s.run_id for s in store.index_active()] == ["c"]

    def test_status_pages_continue_past_rows_of_other_statuses(self, store: RunStore) -> None:
        for minutes in range(6):
            status = RunStatus.FAILED if minutes % 2 else RunStatus.SUCCEEDED
            store.index_put(summary(f"r{minutes}", minutes, status))
        first = store.index_list(RunStatus.FAILED, 2, None)
        assert [s.run_id for s in first.items] == ["r5", "r3"] and first.continuation
        rest = store.index_list(RunStatus.FAILED, 2, first.continuation)
        assert [s.run_id for s in rest.items] == ["r1"] and rest.continuation is None

    def test_index_rows_can_be_deleted_twice(self, store: RunStore) -> None:
        store.index_put(summary("a", 0))
        store.index_put(summary("b", 1))
        store.index_delete(summary("a", 0))
        store.index_delete(summary("a", 0))
        assert [s.run_id for s in store.index_list(None, 10, None).items] == ["b"]
        assert [s.run_id for s in store.index_active()] == ["b"]

    def test_active_rows_are_every_unfinished_status(self, store: RunStore) -> None:
        for minutes, status in enumerate(RunStatus):
            store.index_put(summary(status.value, minutes, status))
        active = {s.run_id for s in store.index_active()}
        assert active == {"pending", "running", "waiting", "awaiting-approval", "awaiting-decision"}

    def test_a_continuation_this_store_did_not_issue_names_the_field(self, store: RunStore) -> None:
        with pytest.raises(ValidationError) as caught:
            store.index_list(None, 10, "%%% not base64 %%%")
        assert caught.value.field == "continuation"
