"""Item locks on real Azurite: all-or-nothing, renewable, and never kept by a dead or expired run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lib.adapters.storage_clients import StorageClients
from lib.adapters.table_locks import TableItemLocks

pytestmark = pytest.mark.integration
TTL = timedelta(minutes=30)


def _locks(conn: str, name: str, active: set[str] | None = None, now: list[datetime] | None = None) -> TableItemLocks:
    clock = now if now is not None else [datetime.now(UTC)]
    locks = TableItemLocks(
        StorageClients.from_connection_string(conn).table(name),
        holder_active=(lambda run: run in active) if active is not None else (lambda run: True),
        clock=lambda: clock[0],
    )
    locks.ensure_table()
    return locks


def test_second_run_is_refused_all_or_nothing(storage_connection_string: str, unique_name: str) -> None:
    locks = _locks(storage_connection_string, unique_name)
    assert locks.acquire(["web-1", "web-2"], "run-a", TTL) == {}
    assert locks.acquire(["web-1", "web-2"], "run-a", TTL) == {}  # renewing is fine
    assert locks.acquire(["web-2", "web-3"], "run-b", TTL) == {"web-2": "run-a"}
    # web-3 was not taken by the refused attempt.
    assert locks.acquire(["web-3"], "run-c", TTL) == {}
    locks.release(["web-1", "web-2"], "run-a")
    assert locks.acquire(["web-2"], "run-b", TTL) == {}


def test_expired_or_finished_holder_does_not_block(storage_connection_string: str, unique_name: str) -> None:
    now = [datetime(2026, 11, 24, 3, 0, tzinfo=UTC)]
    active = {"run-a"}
    locks = _locks(storage_connection_string, unique_name, active, now)
    assert locks.acquire(["db"], "run-a", TTL) == {}
    assert locks.acquire(["db"], "run-b", TTL) == {"db": "run-a"}
    now[0] += TTL + timedelta(seconds=1)
    assert locks.acquire(["db"], "run-b", TTL) == {}  # run-a crashed and stopped renewing
    active.discard("run-b")
    assert locks.acquire(["db"], "run-c", TTL) == {}  # run-b finished (failed) without releasing


def test_release_only_drops_own_locks(storage_connection_string: str, unique_name: str) -> None:
    locks = _locks(storage_connection_string, unique_name)
    locks.acquire(["a"], "run-a", TTL)
    locks.release(["a"], "run-b")
    assert locks.acquire(["a"], "run-b", TTL) == {"a": "run-a"}


def test_many_items_span_several_transactions(storage_connection_string: str, unique_name: str) -> None:
    locks = _locks(storage_connection_string, unique_name)
    names = [f"vm-{i:03d}" for i in range(250)]
    assert locks.acquire(names, "run-a", TTL) == {}
    assert locks.acquire(["vm-249"], "run-b", TTL) == {"vm-249": "run-a"}
    locks.release(names, "run-a")
    assert locks.acquire(names, "run-b", TTL) == {}
