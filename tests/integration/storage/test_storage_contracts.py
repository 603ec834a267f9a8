"""The RunStore and WorkQueue contracts on the Azure Table and Queue adapters, against a real Azurite
(the same tests run on the in-memory adapters in the unit tier: tests/unit/adapters/test_memory_contracts.py)."""

from __future__ import annotations

import time

import pytest

from lib.adapters.clocks import SystemClock
from lib.adapters.storage_clients import StorageClients
from lib.adapters.storage_work_queue import StorageWorkQueue
from lib.adapters.table_run_store import TableRunStore
from tests.contracts.run_store import RunStoreContract
from tests.contracts.work_queue import QueueBackend, WorkQueueContract

pytestmark = pytest.mark.integration


@pytest.fixture
def store(storage_connection_string: str, unique_name: str) -> TableRunStore:
    made = TableRunStore.from_clients(
        StorageClients.from_connection_string(storage_connection_string), f"{unique_name}runs", f"{unique_name}idx"
    )
    made.create_tables()
    return made


@pytest.fixture
def queues(storage_connection_string: str, unique_name: str) -> QueueBackend:
    clock = SystemClock()
    queue = StorageWorkQueue.from_clients(
        StorageClients.from_connection_string(storage_connection_string), unique_name, clock
    )
    queue.create_queue()
    return QueueBackend(queue, clock.now, time.sleep)


class TestTableRunStore(RunStoreContract):
    pass


class TestStorageWorkQueue(WorkQueueContract):
    pass
