"""The storage clients we build on (made by ``StorageClients``) behave as we rely on, against a real Azurite."""

from __future__ import annotations

import json

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError
from azure.data.tables import UpdateMode

from lib.adapters.storage_clients import StorageClients

pytestmark = pytest.mark.integration


def test_entity_round_trip_and_etag_conditional_update(storage_connection_string: str, unique_name: str) -> None:
    table = StorageClients.from_connection_string(storage_connection_string).table(unique_name)
    table.create_table()
    table.create_entity({"PartitionKey": "run-1", "RowKey": "run", "status": "pending", "version": 0})

    first = table.get_entity("run-1", "run")
    assert first["status"] == "pending"
    etag = first.metadata["etag"]

    first["status"] = "running"
    first["version"] = 1
    table.update_entity(first, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified)

    # A second writer holding the old ETag loses: that is what makes "one step, one writer" possible.
    stale = dict(first)
    stale["status"] = "failed"
    with pytest.raises(ResourceModifiedError):
        table.update_entity(stale, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified)

    assert table.get_entity("run-1", "run")["status"] == "running"


def test_queue_message_round_trip_with_visibility_delay(storage_connection_string: str, unique_name: str) -> None:
    queue = StorageClients.from_connection_string(storage_connection_string).queue(unique_name)
    queue.create_queue()
    queue.send_message(json.dumps({"run_id": "r1", "version": 3}))
    queue.send_message(json.dumps({"run_id": "r2", "version": 1}), visibility_timeout=3600)

    received = list(queue.receive_messages(max_messages=32, visibility_timeout=30))
    assert [json.loads(m.content) for m in received] == [{"run_id": "r1", "version": 3}]
    queue.delete_message(received[0])

    # The delayed message exists but stays hidden until its time comes.
    assert queue.get_queue_properties().approximate_message_count == 1
    assert list(queue.receive_messages(max_messages=32)) == []
