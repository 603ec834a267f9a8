"""Readiness on Azurite + the HTTPS emulator: injected faults turn the right check, one event per change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lib.readiness import State
from tests.integration.monitoring.conftest import policy, topology

pytestmark = pytest.mark.integration

ONE_VM = {**topology(["vm1"]), "vms": [{"name": "vm1", "diskGiB": 16, "size": "Standard_D4s_v3"}]}


def _bad(result: Any) -> dict[str, str]:
    return {c.name: c.state.value for c in result.checks if c.state is not State.READY}


def test_a_fresh_vault_only_recommends_a_test_failover(monitor_stack: Callable[..., Any]) -> None:
    with monitor_stack(topology(["vm1", "vm2"], [{"name": "plan1", "groups": [["vm2"]]}])) as m:
        results = m.evaluate()
        assert set(results) == {"vms:vm1", "plan:plan1"}
        for result in results.values():
            assert _bad(result) == {"last test failover": "Warning"}, result.reasons
        assert results["plan:plan1"].region == "eastus"


def test_injected_faults_turn_the_right_checks(monitor_stack: Callable[..., Any]) -> None:
    with monitor_stack(ONE_VM, region="eastus", cache_accounts="") as m:
        m.emu.admin("POST", "vault-health", {"scope": "fabric", "region": "westus"})
        m.emu.admin("POST", "usages", {"region": "westus", "name": "standardDSv3Family", "limit": 2})
        m.emu.inject_health_issue("vm1")  # 10008 RPO Throttled: replication Critical
        m.emu.admin("POST", "agent", {"vm": "vm1", "isReplicationAgentUpdateRequired": True})
        result = m.evaluate(policy(rpoTargetSeconds=60))["vms:vm1"]
        assert result.state is State.ACTION_REQUIRED
        assert _bad(result) == {
            "vault health": "ActionRequired",  # fabric 708
            "vCPU quota": "ActionRequired",  # 4 vCPUs of DSv3 needed, 2 allowed in westus
            "replication health": "ActionRequired",
            "RPO": "ActionRequired",  # the emulator reports 393 s
            "cache storage for reprotect": "ActionRequired",
            "app region": "ActionRequired",  # the app "runs" in eastus, the region it protects
            "replication agent": "Warning",
            "last test failover": "Warning",
        }
        reasons = " | ".join(result.reasons)
        assert "standardDSv3Family needs 4, 2 free" in reasons and "no cache storage account for westus" in reasons
        assert "10008" in reasons and "708" in reasons


def test_a_state_change_publishes_one_event(monitor_stack: Callable[..., Any]) -> None:
    with monitor_stack(topology(["vm1"])) as m:
        m.evaluate()
        first = m.readiness_events()
        assert [(e["subject"], e["data"]["from"], e["data"]["to"]) for e in first] == [
            ("readiness/vms:vm1", None, "Warning")
        ]
        m.evaluate()
        assert len(m.readiness_events()) == 1  # nothing changed, nothing published
        m.emu.admin("POST", "vault-health", {"scope": "vault", "code": "1001", "message": "identity removed"})
        m.evaluate()
        events = m.readiness_events()
        assert len(events) == 2
        assert (events[1]["data"]["from"], events[1]["data"]["to"]) == ("Warning", "ActionRequired")
        assert any("identity removed" in r for r in events[1]["data"]["reasons"])
        store = m.api.stack.app.parts["monitoring"].readiness.store
        assert [h.state for h in store.history("vms:vm1")] == [State.ACTION_REQUIRED, State.WARNING, State.WARNING]
