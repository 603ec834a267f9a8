"""Builds the engine's storage adapters (runs, index, work queue, poison queue) from one connection string."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lib.adapters.storage_work_queue import StorageWorkQueue
from lib.adapters.table_run_store import TableRunStore
from lib.ports.clock import Clock


@dataclass(frozen=True)
class EngineStorage:
    store: TableRunStore
    queue: StorageWorkQueue
    poison: StorageWorkQueue  # "<queue>-poison": where the Functions host moves messages that keep failing

    def provision(self) -> None:
        """Create the tables and queues if they do not exist (idempotent)."""
        self.store.create_tables()
        self.queue.create_queue()
        self.poison.create_queue()


def engine_storage(
    connection_string: str,
    *,
    queue_name: str,
    runs_table: str,
    index_table: str,
    clock: Clock | None = None,
    **client_kwargs: Any,
) -> EngineStorage:
    """``client_kwargs`` go to every SDK client (e.g. ``RequestCounter().client_kwargs()``)."""
    return EngineStorage(
        store=TableRunStore.from_connection_string(connection_string, runs_table, index_table, **client_kwargs),
        queue=StorageWorkQueue.from_connection_string(connection_string, queue_name, clock, **client_kwargs),
        poison=StorageWorkQueue.from_connection_string(
            connection_string, f"{queue_name}-poison", clock, **client_kwargs
        ),
    )
