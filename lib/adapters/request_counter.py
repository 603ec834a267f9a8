"""Counts storage requests (each one a billed storage transaction) by kind, through azure-core's request hook.

Pass ``counter.client_kwargs()`` to the Table and Queue clients. The hook sits after the SDK's retry policy,
so a retried request counts every time it is sent, exactly like the service bills it.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any
from urllib.parse import urlparse

KINDS = (
    "table_read",
    "table_query",
    "table_write",
    "table_tx",
    "queue_receive",
    "queue_send",
    "queue_update",
    "queue_delete",
    "other",
)


def _classify_queue(method: str, path: str) -> str:
    has_id = not path.rstrip("/").endswith("/messages")
    if method == "GET":
        return "queue_receive"
    if method == "POST":
        return "queue_send"
    if method == "PUT" and has_id:
        return "queue_update"
    if method == "DELETE" and has_id:
        return "queue_delete"
    return "other"


def _classify_table(method: str, path: str) -> str:
    if "(" in path:  # entity addressing: table(PartitionKey='..',RowKey='..') or table() queries
        if method == "GET":
            return "table_read" if "PartitionKey=" in path else "table_query"
        return "table_write"
    if method == "POST" and not path.endswith("/Tables"):  # insert entity: POST /<account>/<table>
        return "table_write"
    return "other"  # creating tables and queues, queue properties


def classify(method: str, url: str) -> str:
    path = urlparse(url).path
    method = method.upper()
    if path.endswith("/$batch"):
        return "table_tx"
    if "/messages" in path:
        return _classify_queue(method, path)
    return _classify_table(method, path)


class RequestCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def hook(self, request: Any) -> None:
        http = request.http_request
        kind = classify(str(http.method), str(http.url))
        with self._lock:
            self._counts[kind] += 1

    def client_kwargs(self) -> dict[str, Any]:
        return {"raw_request_hook": self.hook}

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {kind: self._counts.get(kind, 0) for kind in KINDS}

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
