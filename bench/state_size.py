"""Stored run state size: bytes per VM of a run's state at each step, and the largest VM-list run that fits.

A real VM-list failover → healthy and a recovery-plan failover → healthy run on the HTTPS emulator through the
engine on Azurite (``lib.bootstrap.build``, as the app wires it). Every checkpoint the run store writes is
measured: the state's JSON (``json_bytes``, what the rows hold) and the run entity as the Table service counts
it (``entity_bytes``, after the codec's encoding), and the largest history row the save appends (its details
are per-VM too, stored as string chunks). Reported per step, as the largest save of that step per VM, plus which
parts of the state take the room at the end (``compressed_bytes_per_vm_by_part_at_max_vms``).

``fit``: the finished VM-list run's rows replicated with distinct names and job ids (as
``tests/integration/workflows/test_state_size.py`` does) until the run entity passes the store's limit: the
largest run that fits, against the largest the app accepts (``lib.domain.dr.MAX_VMS``). Prints one JSON line.
``STATE_SIZE_VMS`` sets the VM count of the real runs (default 20).
"""

from __future__ import annotations

import json
import os
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from devhost.azurite import running_azurite
from devhost.local import local_settings
from emulator.launcher import running_emulator
from lib.adapters import table_codec as codec
from lib.adapters.table_run_store import TableRunStore
from lib.bootstrap import build
from lib.domain.dr import MAX_VMS
from lib.domain.runs import RunRecord
from lib.engine import Driver
from lib.workflows.runstate import RunState
from tests.fixtures.run_state import replicate_state

TIMING = {"jobPollSeconds": 10, "healthPollSeconds": 20, "healthPollMaxSeconds": 60}


def _topology(vms: list[str]) -> dict[str, Any]:
    return {
        "subscriptionId": "6f4e2a10-0000-4000-8000-00000000b005",
        "resourceGroup": "rg-bench",
        "vault": "vault-bench",
        "primaryRegion": "eastus",
        "recoveryRegion": "westus",
        "vms": [{"name": vm, "diskGiB": 32} for vm in vms],
        "recoveryPlans": [{"name": "app", "groups": [vms[: len(vms) // 2], vms[len(vms) // 2 :]]}],
    }


@contextmanager
def _recording(sizes: dict[str, dict[str, int]]) -> Iterator[None]:
    """Wrap the store's save: remember, per step, the largest state JSON and run entity written."""
    original = TableRunStore.save

    def save(self: TableRunStore, run: RunRecord, etag: str, history: Any, *, previous: RunRecord | None) -> str:
        vms = max(len(run.state.get("vms") or {}), 1)
        entry = sizes.setdefault(
            run.step, {"json_bytes_per_vm": 0, "entity_bytes_per_vm": 0, "history_bytes_per_vm": 0}
        )
        raw = len(codec.dump_json(run.state).encode())
        entity = codec.entity_size(codec.run_to_entity(run))
        entry["json_bytes_per_vm"] = max(entry["json_bytes_per_vm"], raw // vms)
        entry["entity_bytes_per_vm"] = max(entry["entity_bytes_per_vm"], entity // vms)
        rows = [codec.entity_size(codec.history_to_entity(run.run_id, h)) for h in history]
        entry["history_bytes_per_vm"] = max([entry["history_bytes_per_vm"]] + [size // vms for size in rows])
        return original(self, run, etag, history, previous=previous)

    TableRunStore.save = save  # type: ignore[method-assign]  # bench only: measure every checkpoint
    try:
        yield
    finally:
        TableRunStore.save = original  # type: ignore[method-assign]


def _parts(state: dict[str, Any]) -> dict[str, int]:
    """Bytes of the state's JSON by part: the VM rows' keys summed over rows, and the run-level parts."""
    vms = len(state.get("vms") or {}) or 1
    parts: dict[str, int] = {}
    for row in (state.get("vms") or {}).values():
        for key, value in row.items():
            parts[f"vms.*.{key}"] = parts.get(f"vms.*.{key}", 0) + len(codec.dump_json(value).encode()) + len(key) + 4
    for key, value in state.items():
        if key != "vms":
            parts[key] = len(codec.dump_json(value).encode()) + len(key) + 4
    return {k: v // vms for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if v // vms}


def _run(conn: str, kind: str, vms: list[str]) -> dict[str, Any]:
    name = f"ss{uuid.uuid4().hex[:8]}"
    sizes: dict[str, dict[str, int]] = {}
    with running_emulator(_topology(vms), time_scale=3000.0) as emu:
        settings = local_settings(
            emu, conn, work_queue=f"{name}q", runs_table=f"{name}runs", run_index_table=f"{name}idx",
            locks_table=f"{name}locks", timer_scale=0.01,
        )  # fmt: skip
        app = build(settings)
        app.ensure_storage()
        target = {"recoveryPlan": "app"} if kind == "plan" else {"vms": vms}
        run_id = app.start("failover", {"target": target, "timing": TIMING}, actor="bench").run_id
        with _recording(sizes):
            run = Driver(app.engine, workers=1, janitor_every_s=2.0).run_until_finished(run_id, deadline_s=300)
    state = dict(run.state)
    return {"status": run.status.value, "vms": len(vms), "by_step": sizes, "parts_per_vm": _parts(state),
            "state": state}  # fmt: skip


def _compressed_parts(state: dict[str, Any]) -> dict[str, int]:
    """What each part of a MAX_VMS state costs once compressed: the compressed size with it minus without it."""
    grown: dict[str, Any] = RunState.load(replicate_state(state, MAX_VMS)).to_json()
    vms: dict[str, dict[str, Any]] = dict(grown["vms"])

    def packed(value: Any) -> int:
        return len(zlib.compress(codec.dump_json(value).encode(), 6))

    whole = packed(grown)
    out = {"whole": whole // MAX_VMS}
    for key in [k for k in grown if k != "vms"]:
        out[key] = (whole - packed({k: v for k, v in grown.items() if k != key})) // MAX_VMS
    for key in {k for row in vms.values() for k in row}:
        rows = {vm: {k: v for k, v in row.items() if k != key} for vm, row in vms.items()}
        out[f"vms.*.{key}"] = (whole - packed({**grown, "vms": rows})) // MAX_VMS
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _largest_fit(state: dict[str, Any], run_id: str) -> tuple[int, int]:
    """The largest VM count whose replicated state still fits in one run entity, and its entity bytes at MAX_VMS."""

    def size(n: int) -> int:
        grown = RunState.load(replicate_state(state, n)).to_json()  # through the typed state, as a step saves it
        record = _record(run_id, grown)
        return codec.entity_size(codec.run_to_entity(record))

    low, high = 1, 1
    while _fits(size, high) and high < 100_000:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if _fits(size, mid) else (low, mid)
    return low, size(MAX_VMS) if _fits(size, MAX_VMS) else -1


def _fits(size: Any, n: int) -> bool:
    try:
        return bool(size(n) <= codec.ENTITY_LIMIT)
    except Exception:  # the codec's own too-large error: does not fit
        return False


def _record(run_id: str, state: dict[str, Any]) -> RunRecord:
    from datetime import UTC, datetime

    from lib.domain.runs import RunStatus

    now = datetime.now(UTC)
    return RunRecord(run_id=run_id, workflow="failover", status=RunStatus.RUNNING, step="await_healthy", version=9,
                     input={"target": {"vms": ["x"] * MAX_VMS}}, state=state, created_at=now, updated_at=now,
                     step_started_at=now)  # fmt: skip


def main() -> dict[str, Any]:
    count = int(os.environ.get("STATE_SIZE_VMS", "20"))
    vms = [f"app-vm-{i:03d}" for i in range(count)]
    with running_azurite() as azurite:
        vm_list = _run(azurite.connection_string, "vms", vms)
        plan = _run(azurite.connection_string, "plan", vms)
    largest, at_max = _largest_fit(vm_list["state"], "bench-run")
    return {
        "bench": "state-size",
        "vms": count,
        "vm_list": {k: v for k, v in vm_list.items() if k != "state"},
        "plan": {k: v for k, v in plan.items() if k != "state"},
        "largest_vm_list_run_that_fits": largest,
        "max_vms_accepted": MAX_VMS,
        "entity_bytes_at_max_vms": at_max,
        "entity_limit": codec.ENTITY_LIMIT,
        "row_sample": json.loads(json.dumps(next(iter(vm_list["state"]["vms"].values())))),
        "compressed_bytes_per_vm_by_part_at_max_vms": _compressed_parts(vm_list["state"]),
    }
