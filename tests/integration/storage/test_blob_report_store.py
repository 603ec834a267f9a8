"""The blob ReportStore on Azurite: create-only writes, reads, names by prefix, a container made on first use."""

from __future__ import annotations

import pytest

from lib.adapters.blob_report_store import BlobReportStore
from lib.adapters.storage_clients import StorageClients

pytestmark = pytest.mark.integration


def test_create_only_get_and_names(storage_connection_string: str, unique_name: str) -> None:
    clients = StorageClients.from_connection_string(storage_connection_string)
    store = BlobReportStore(lambda: clients.container(f"{unique_name}rep"))  # never ensured: made on first write
    assert store.names("runs/") == set() and store.get("runs/2026/11/a.json") is None

    assert store.put_once("runs/2026/11/a.json", b'{"v": 1}', "application/json") is True
    assert store.put_once("runs/2026/11/a.json", b'{"v": 2}', "application/json") is False  # If-None-Match: *
    assert store.put_once("runs/2026/12/b.html", b"<p>b</p>", "text/html; charset=utf-8") is True

    assert store.get("runs/2026/11/a.json") == b'{"v": 1}'
    assert store.names("runs/2026/11/") == {"runs/2026/11/a.json"}
    blob = clients.container(f"{unique_name}rep")
    kind = blob.get_blob_client("runs/2026/12/b.html").get_blob_properties().content_settings.content_type
    assert kind == "text/html; charset=utf-8"
    store.ensure()  # idempotent
