"""Cancel means a safe state (``Workflow.on_cancel`` of failover and failback).

Before any VM failed over, and with no failover job running, stopping leaves every VM as before the run:
the cancel goes through. Once a VM failed over, A2A offers no way back but commit or a return trip
(``failoverCancel`` is not allowed on A2A items), and a running A2A failover job cannot be cancelled: cancel
is refused, naming why and the choices (commit keeps the VMs where they are and protects them; rollback
brings them back).
"""

from __future__ import annotations

from collections.abc import Mapping

from lib.engine import CancelRefused
from lib.workflows.runstate import RunState, StateLayoutError

__all__ = ["CHOICES", "on_cancel"]

CHOICES = ("commit", "rollback")


def _running(state: RunState) -> list[str]:
    vms = [vm for vm, row in state.vms.items() if row.active and "failover" in row.jobs and "failover" not in row.done]
    plan = state.plan
    if plan is not None and "failover" in plan.jobs and "failover" not in plan.processed:
        vms += [vm for vm, row in state.vms.items() if row.active and "failover" not in row.done]
    return sorted(set(vms))


def _phase_words(state: RunState, moved: list[str]) -> str:
    rows = [state.vms[vm] for vm in moved]
    if any("reprotect" in row.done or "reprotect" in row.jobs for row in rows):
        return "committed and being (or already) reprotected"
    if any("commit" in row.done or "commit" in row.jobs for row in rows):
        return "committed"
    return "running in the target region, uncommitted"


def on_cancel(stored: Mapping[str, object], step: str) -> CancelRefused | None:
    """Pure: None lets the cancel through; a refusal says why and what the operator can do."""
    try:
        state = RunState.load(stored)
    except StateLayoutError:
        return CancelRefused("the run's state cannot be read, so where its VMs are is unknown", CHOICES)
    running = _running(state)
    if running:
        return CancelRefused(
            f"the failover job of {', '.join(running)} is running and an A2A failover job cannot be cancelled;"
            " when it ends, commit keeps the VMs in the target region and protects them, rollback brings them back",
            CHOICES,
        )
    moved = sorted(vm for vm, row in state.vms.items() if "failover" in row.done)
    if not moved:
        return None
    return CancelRefused(
        f"{', '.join(moved)} failed over ({_phase_words(state, moved)}): cancel cannot bring them back;"
        " commit keeps them in the target region and protects them, rollback is a return trip",
        CHOICES,
    )
