"""Issue 10, finding 6, end to end: a failover of a plan that does not exist fails at the first attempt with
the plan named (the emulator sees one GET of it), instead of being retried five times as weather."""

from __future__ import annotations

from typing import Any

import pytest

from lib.domain.runs import RunEvent, RunStatus
from tests.integration.workflows.conftest import topology

pytestmark = pytest.mark.integration

PLAN_ROUTE = (
    "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices"
    "/vaults/{resourceName}/replicationRecoveryPlans/{recoveryPlanName}"
)


def test_a_failover_of_a_missing_plan_fails_at_once_naming_the_plan(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"])) as stack:
        run_id = stack.start("failover", {"plan": "no-such-plan"})
        run = stack.finish(run_id, deadline_s=60)

        assert run.status is RunStatus.FAILED
        assert "no-such-plan" in run.error and "permanent" in run.reason
        history = stack.app.engine.get(run_id).history
        assert not [h for h in history if h.event is RunEvent.STEP_RETRY]
        assert stack.emu.requests_count()["byRoute"].get(PLAN_ROUTE) == 1
        assert stack.posts("unplannedFailover") == 0
