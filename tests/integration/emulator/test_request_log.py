"""The admin request log: every ARM request with its real arrival time, in order, filtered by ``since``."""

from __future__ import annotations

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
