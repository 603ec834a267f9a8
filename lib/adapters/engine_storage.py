"""Builds the engine's storage adapters (runs, index, work queue, poison queue) on the app's storage account."""

from __future__ import annotations

from dataclasses import dataclass

from lib.adapters.storage_clients import StorageClients
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
    clients: StorageClients, *, queue_name: str, runs_table: str, index_table: str, clock: Clock | None = None
) -> EngineStorage:
    """SDK client options (e.g. ``RequestCounter().client_kwargs()``) ride on ``clients``."""
    return EngineStorage(
        store=TableRunStore.from_clients(clients, runs_table, index_table),
        queue=StorageWorkQueue.from_clients(clients, queue_name, clock),
        poison=StorageWorkQueue.from_clients(clients, f"{queue_name}-poison", clock),
    )
