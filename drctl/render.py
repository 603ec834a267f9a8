"""What drctl prints: runs, history and live per-VM progress (rich), or JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from lib.domain.runs import HistoryRecord, RunRecord, RunSummary
from lib.workflows.partial import placement
from lib.workflows.runstate import RunState

PHASES = ("failover", "commit", "reprotect", "healthy", "test_failover", "cleanup")


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def runs_table(runs: Sequence[RunSummary]) -> Table:
    """Run ids are never cut (they are copied into commands); the step and its reason wrap instead."""
    table = Table(title="Runs (newest first)", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("run", no_wrap=True, min_width=max((len(r.run_id) for r in runs), default=3))
    for col in ("kind", "status", "updated"):
        table.add_column(col, no_wrap=True)
    table.add_column("step: reason", overflow="fold", ratio=1)
    for r in runs:
        table.add_row(r.run_id, r.workflow, r.status.value, f"{r.updated_at:%H:%M:%S}", f"{r.step}: {r.reason}")
    return table


def vm_table(run: RunRecord) -> Table:
    table = Table(title=f"{run.workflow} {run.run_id}: {run.status.value} at {run.step}")
    for col in ("VM", "status", "where", "done", "reprotect %", "error"):
        table.add_column(col)
    moves = run.workflow in ("failover", "failback")
    for vm, row in sorted(RunState.load(run.state).vms.items()):
        error = row.error or row.drill_error
        table.add_row(
            vm,
            row.status,
            placement(row) if moves else "",
            " → ".join(p for p in row.done if p in PHASES),
            "" if row.progress is None else str(row.progress),
            f"{error.code} {error.message}".strip() if error else "",
        )
    return table


def link_lines(run: RunRecord) -> list[str]:
    """The runs linked to this one (a rollback's return trip, both ways) and a cancel under way."""
    lines: list[str] = []
    came_from = run.input.get("linkedFrom")
    if isinstance(came_from, Mapping):
        lines.append(
            f"linked from run {came_from.get('runId')} ({came_from.get('reason')}, chosen by {came_from.get('by')})"
        )
    state = RunState.load(run.state)
    for link in state.links:
        lines.append(
            f"{link.reason}: linked run {link.run_id} ({link.kind}, chosen by {link.by}) brings the VMs back"
            f" and reprotects them in the original direction: python -m drctl show {link.run_id}"
        )
    if state.stop_requested:
        lines.append("cancel requested: the run starts nothing more and stops its running ASR jobs first")
    if state.cancelled_jobs:
        lines.append(f"ASR jobs cancelled: {', '.join(state.cancelled_jobs)}")
    return lines


def history_table(history: Sequence[HistoryRecord]) -> Table:
    table = Table(title="History")
    for col in ("#", "at", "step", "event", "→ status", "reason"):
        table.add_column(col)
    for h in history:
        reason = h.reason or h.error
        table.add_row(str(h.seq), f"{h.at:%H:%M:%S}", h.step, h.event.value, h.to_status.value, reason)
    return table


class LiveProgress:
    """Re-renders per-VM progress after every checkpoint of the run being driven."""

    def __init__(self, console: Console, run_id: str) -> None:
        self.console = console
        self.run_id = run_id
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"))
        self.tasks: dict[str, Any] = {}

    def __call__(self, run: RunRecord, rows: Sequence[HistoryRecord]) -> None:
        if run.run_id != self.run_id:
            return
        for h in rows:
            self.console.print(f"[dim]{h.at:%H:%M:%S}[/] {h.step}: {h.reason or h.error}")
        for vm, row in RunState.load(run.state).vms.items():
            if "reprotect" not in row.done:
                continue
            pct = 100 if "healthy" in row.done else (row.progress or 0)
            if vm not in self.tasks:
                self.tasks[vm] = self.progress.add_task(f"reprotect {vm}", total=100)
            self.progress.update(self.tasks[vm], completed=pct)
        if self.tasks:
            self.console.print(Group(self.progress.get_renderable()))
