"""The admin request log: every ARM request with its real arrival time, in order, filtered by ``since``."""

from __future__ import annotations

import json
import socket
import ssl
import time

import pytest

from emulator.launcher import EmulatorInfo
from tests.integration.emulator.helpers import Client, begin, failover_input, find_item, where
from tests.integration.emulator.test_faults import FAILOVER_ROUTE, LIST_ROUTE

pytestmark = pytest.mark.integration


def test_log_has_each_request_in_order_with_its_wall_clock_time(emu: EmulatorInfo, client: Client) -> None:
    emu.reset_requests()
    assert emu.request_log()["entries"] == []
    before = time.time()
    item = find_item(client, emu, "vm1")
    listed = time.time()
    begin(client.replication_protected_items.begin_unplanned_failover,
          emu.resource_group, emu.vault, *where(item), failover_input())  # fmt: skip
    after = time.time()

    entries = emu.request_log()["entries"]
    routes = [e["route"] for e in entries]
    assert routes[0] == LIST_ROUTE and FAILOVER_ROUTE in routes
    failover = next(e for e in entries if e["route"] == FAILOVER_ROUTE)
    assert failover["path"].endswith(f"/replicationProtectedItems/{item.name}/unplannedFailover")
    assert before <= entries[0]["time"] <= listed <= failover["time"] <= after
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert len(entries) == emu.requests_count()["total"]  # admin calls are neither counted nor logged


def test_since_returns_only_newer_entries_and_reset_empties_the_log(emu: EmulatorInfo, client: Client) -> None:
    find_item(client, emu, "vm1")
    last = emu.request_log()["last"]
    assert emu.request_log(since=last)["entries"] == []
    find_item(client, emu, "vm2")
    newer = emu.request_log(since=last)["entries"]
    assert [e["route"] for e in newer] == [LIST_ROUTE] and newer[0]["seq"] == last + 1
    emu.reset_requests()
    assert emu.request_log()["entries"] == []


def _send_cut_off(emu: EmulatorInfo, path: str, body: bytes, sent: int) -> None:
    """What a client killed between writing its headers and its body leaves on the wire: the headers, ``sent``
    bytes of the body, then the connection closes (the kernel's FIN of a dead process, no TLS close)."""
    host, port = emu.endpoint.split("//", 1)[1].split(":")
    tls = ssl.create_default_context(cafile=emu.ca_bundle)
    with tls.wrap_socket(socket.create_connection((host, int(port)), timeout=10), server_hostname=host) as conn:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer token\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        conn.sendall(head.encode() + body[:sent])


def test_a_request_whose_body_never_arrived_is_neither_counted_nor_acted_on(emu: EmulatorInfo, client: Client) -> None:
    # A drctl killed (SIGKILL) between the headers and the body of an action: counting it as a POST made tests
    # see an action twice (the next watcher starts the action the cut request never started).
    item = find_item(client, emu, "vm1")
    path = f"{item.id}/unplannedFailover?api-version=2023-08-01"
    body = json.dumps({"properties": {"failoverDirection": "PrimaryToRecovery", "sourceSiteOperations": "NotRequired",
                                      "providerSpecificDetails": {"instanceType": "A2A"}}}).encode()  # fmt: skip
    emu.reset_requests()
    for sent in (0, len(body) // 2):
        _send_cut_off(emu, path, body, sent)
    time.sleep(0.5)  # the server reads to the end of what it got; not a timing assertion
    assert emu.requests_count()["total"] == 0 and emu.request_log()["entries"] == []
    assert emu.state()["jobs"]["total"] == 0

    begin(client.replication_protected_items.begin_unplanned_failover,
          emu.resource_group, emu.vault, *where(item), failover_input())  # fmt: skip
    assert emu.requests_count()["byRoute"][FAILOVER_ROUTE] == 1  # the whole request: counted once, one job
    assert emu.state()["jobs"]["total"] == 1
