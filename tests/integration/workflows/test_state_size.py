"""The largest run the app accepts fits in the run store, with room to spare, on Azurite.

The row shape comes from a real VM-list failover → healthy on the emulator, captured at every transition; each
captured state is replicated to ``MAX_VMS`` rows with distinct names and job ids (``tests/fixtures/run_state``)
and goes through the real ``TableRunStore``: created as the run's first state, then saved step after step with
the run's ETag and delta (MERGE) saves, loaded back after each save and compared.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lib.adapters import table_codec as codec
from lib.adapters.table_run_store import TableRunStore
from lib.domain.dr import MAX_VMS
from lib.domain.runs import HistoryRecord, RunEvent, RunRecord, RunStatus
from lib.ports.run_store import StaleRun
from lib.workflows.runstate import RunState
from tests.fixtures.run_state import replicate_state, vm_name
from tests.integration.workflows.conftest import topology

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ROOM = 0.5  # the largest accepted run may use at most half of an entity: the rest is headroom (errors, parking)


def _captured_states(stack: Any) -> list[tuple[str, dict[str, Any]]]:
    """A real VM-list failover → healthy: the state stored at each transition, in order."""
    seen: list[tuple[str, dict[str, Any]]] = []
    run_id = stack.start("failover", {"vms": ["app-1", "app-2", "db-1"]})
    driver = stack.driver()
    driver.on_transition = lambda run, rows: seen.append((run.step, dict(run.state)))
    run = driver.run_until_finished(run_id, deadline_s=180)
    assert run.status is RunStatus.SUCCEEDED, run.error
    return seen


def _row(seq: int, version: int, step: str) -> HistoryRecord:
    return HistoryRecord(seq=seq, at=T0 + timedelta(seconds=seq), event=RunEvent.STEP_NEXT,
                         from_status=RunStatus.RUNNING, to_status=RunStatus.RUNNING, step=step, version=version,
                         outcome="next", reason=f"{step} done", details={}, actor="test")  # fmt: skip


def _raw(stack: Any, run_id: str) -> dict[str, Any]:
    entity: dict[str, Any] = stack.app.clients.table(stack.app.settings.runs_table).get_entity(run_id, codec.RUN_ROW)
    return entity


def test_the_largest_accepted_vm_list_run_is_saved_and_loaded_step_after_step(dr_stack: Any) -> None:
    with dr_stack(topology(["app-1", "app-2", "db-1"])) as stack:
        captured = _captured_states(stack)
        steps = [step for step, _ in captured]
        assert {"failover", "commit", "reprotect", "await_healthy", "report"} <= set(steps)
        # One state per step (the last one seen), grown to the largest request the app accepts.
        by_step = {step: state for step, state in captured}
        grown = [(step, RunState.load(replicate_state(by_step[step], MAX_VMS)).to_json()) for step in dict(by_step)]
        assert len(RunState.load(grown[-1][1]).vms) == MAX_VMS
        assert len(codec.dump_json(grown[-1][1])) > codec.ENTITY_LIMIT  # as plain JSON it could never fit

        store: TableRunStore = stack.app.storage.store
        names = [vm_name(i) for i in range(MAX_VMS)]
        run = RunRecord(run_id="big-run", workflow="failover", status=RunStatus.RUNNING, step=grown[0][0],
                        version=1, input={"kind": "failover", "target": {"vms": names}}, state=grown[0][1],
                        created_at=T0, updated_at=T0, step_started_at=T0)  # fmt: skip
        etag = store.create(run, [_row(1, 1, run.step)])
        sizes = [codec.entity_size(_raw(stack, run.run_id))]
        for seq, (step, state) in enumerate(grown[1:], start=2):
            new = replace(run, step=step, version=run.version + 1, state=state, history_seq=seq)
            etag = store.save(new, etag, [_row(seq, new.version, step)], previous=run)
            loaded = store.load(run.run_id)
            assert loaded is not None and loaded.etag == etag
            assert loaded.run.state == state and RunState.load(loaded.run.state).to_json() == state
            raw = _raw(stack, run.run_id)
            assert raw["state_enc"] == "zlib" and isinstance(raw["state_0"], bytes)
            sizes.append(codec.entity_size(raw))
            run = new
        assert max(sizes) <= ROOM * codec.ENTITY_LIMIT, sizes
        # The ETag still guards the big entity: a save under the old ETag loses the race.
        with pytest.raises(StaleRun):
            store.save(replace(run, version=run.version + 1), "W/\"datetime'2020-01-01T00%3A00%3A00Z'\"", [],
                       previous=run)  # fmt: skip


def test_a_run_stored_as_string_chunks_loads_and_its_next_save_compresses_it(dr_stack: Any) -> None:
    with dr_stack(topology(["app-1", "app-2", "db-1"])) as stack:
        store: TableRunStore = stack.app.storage.store
        state = RunState.load(replicate_state(_captured_states(stack)[-1][1], 120)).to_json()
        run = RunRecord(run_id="old-run", workflow="failover", status=RunStatus.RUNNING, step="await_healthy",
                        version=3, input={"kind": "failover"}, state=state, created_at=T0, updated_at=T0,
                        step_started_at=T0)  # fmt: skip
        # The entity as the codec wrote it before compression: the state as UTF-16 string chunks.
        old = codec.run_scalars(run)
        codec.put_chunks(old, "input", codec.dump_json(run.input))
        codec.put_chunks(old, "state", codec.dump_json(run.state))
        assert old["state_n"] >= 5 and codec.entity_size(old) < codec.ENTITY_LIMIT
        stack.app.clients.table(stack.app.settings.runs_table).create_entity(old)

        loaded = store.load(run.run_id)
        assert loaded is not None and loaded.run.state == state
        done = {**state, "evidence": {"rto_s": 1.0, "rpo_s": 2.0, "vms": {}}}
        new = replace(loaded.run, step="report", version=4, state=done)
        store.save(new, loaded.etag, [_row(1, 4, "report")], previous=loaded.run)
        raw = _raw(stack, run.run_id)
        assert raw["state_enc"] == "zlib" and raw["state_n"] < old["state_n"]
        assert all(raw[f"state_{i}"] == "" for i in range(raw["state_n"], old["state_n"]))  # old chunks blanked
        again = store.load(run.run_id)
        assert again is not None and again.run.state == done
