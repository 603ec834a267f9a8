"""Issue 10, finding 1, end to end: waiting on a drill of spare-1 must not drive an abandoned failover of
web-1. The failover's run entity keeps its ETag, and the emulator sees no further action on web-1."""

from __future__ import annotations

import time
from typing import Any

import pytest

from lib.domain.runs import RunStatus
from lib.ports.work_queue import WorkItem
from tests.integration.workflows.conftest import topology

pytestmark = pytest.mark.integration

NETWORK = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/drill-net"


def test_waiting_on_a_drill_leaves_an_abandoned_failover_alone(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1", "spare-1"])) as stack:
        engine = stack.app.engine
        abandoned = stack.start("failover", {"vms": ["web-1"]})
        (msg,) = engine.queue.receive(1, 60)
        engine.executor().process(msg, held=True)  # the failover starts and waits; then its driver goes away
        left = engine.runtime.store.load(abandoned)
        assert left is not None and left.run.status is RunStatus.WAITING
        time.sleep(0.3)  # its poll timer (10 s at 0.01) is due: a driver taking its message would run it
        failovers = stack.posts("unplannedFailover")
        assert failovers == 1

        drill = stack.start("drill", {"vms": ["spare-1"], "test_network_id": NETWORK})
        result = stack.driver().drive(drill, deadline_s=120)

        assert result.run.status is RunStatus.SUCCEEDED and result.others_due == (abandoned,)
        after = engine.runtime.store.load(abandoned)
        assert after is not None and after.etag == left.etag and after.run == left.run
        assert stack.posts("unplannedFailover") == failovers
        assert stack.posts("failoverCommit") == 0 and stack.posts("switchprotection") == 0
        assert any(WorkItem.decode(m.body).run_id == abandoned for m in engine.queue.receive(32, 1))
