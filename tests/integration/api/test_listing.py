"""GET /api/runs: newest first, filters, continuation pages that neither skip nor repeat a run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.integration.api.conftest import NETWORK, topology

pytestmark = pytest.mark.integration

VMS = [f"vm-{i}" for i in range(6)]


def test_pages_filters_and_since(api_stack: Any) -> None:
    with api_stack(topology(VMS)) as api:
        started = []
        for i, vm in enumerate(VMS):  # distinct VMs, so none is refused as busy; the runs stay pending
            body: dict[str, Any] = {"target": {"vms": [vm]}}
            kind = "drill" if i % 3 == 2 else "failover"
            if kind == "drill":
                body["testNetworkId"] = NETWORK
            reply = api.start(kind, body)
            assert reply.status == 202, reply.json
            started.append((reply.json["runId"], kind))
        newest_first = [run_id for run_id, _ in reversed(started)]

        seen: list[str] = []
        token = None
        for _ in range(10):
            query = {"limit": "4", **({"continuation": token} if token else {})}
            page = api.call("GET", "runs", query=query).json
            assert len(page["runs"]) <= 4
            seen += [r["runId"] for r in page["runs"]]
            token = page["continuation"]
            if token is None:
                break
        assert seen == newest_first

        drills = api.call("GET", "runs", query={"kind": "drill", "limit": "1"}).json
        assert [r["runId"] for r in drills["runs"]] == [newest_first[0]] and drills["continuation"]
        rest = api.call("GET", "runs", query={"kind": "drill", "continuation": drills["continuation"]}).json
        assert [r["runId"] for r in rest["runs"]] == [newest_first[3]]

        assert [r["runId"] for r in api.call("GET", "runs", query={"status": "pending"}).json["runs"]] == newest_first
        assert api.call("GET", "runs", query={"status": "succeeded"}).json["runs"] == []

        third = api.call("GET", f"runs/{started[2][0]}").json
        since = datetime.fromisoformat(third["createdAt"]).isoformat()
        recent = api.call("GET", "runs", query={"since": since}).json
        assert [r["runId"] for r in recent["runs"]] == newest_first[:4] and recent["continuation"] is None
