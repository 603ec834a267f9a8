"""What the demo shows while it plays: ``rich`` progress bars per run and per VM (step, reprotect %), and at the end
a summary table. The numbers come from the app's own run view (``GET /api/runs/{id}``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

__all__ = ["LiveRuns", "summary_table"]

PHASES = {"failover": ("failover", "commit", "reprotect", "healthy"),
          "failback": ("failover", "commit", "reprotect", "healthy"),
          "drill": ("test-failover", "validate", "cleanup")}  # fmt: skip


def _label(run: dict[str, Any]) -> str:
    target = (run.get("request") or {}).get("target") or {}
    name = f"plan {target['recoveryPlan']}" if "recoveryPlan" in target else "VMs " + ", ".join(target.get("vms", []))
    return f"{run['kind']} {name}"


def vm_fraction(kind: str, vm: dict[str, Any]) -> float:
    """How far one VM is through its run's phases, reprotect counted by its own percentage."""
    phases = PHASES.get(kind, ())
    done = sum(1 for p in vm.get("phasesDone", []) if p in phases)
    partial = 0.0
    if kind != "drill" and "commit" in vm.get("phasesDone", []) and "reprotect" not in vm.get("phasesDone", []):
        partial = float(vm.get("reprotectPercent") or 0) / 100.0
    return min(1.0, (done + partial) / len(phases)) if phases else 0.0


def vm_text(vm: dict[str, Any]) -> str:
    pct = vm.get("reprotectPercent")
    extra = f" reprotect {pct}%" if pct is not None and vm.get("phase") in ("commit", "reprotect") else ""
    return f"{vm.get('phase', 'pending')}{extra} {vm.get('health') or ''}".strip()


class LiveRuns:
    """One bar per run (its current step) and one per VM. ``update`` is the scenario's ``watch``."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<34}"), BarColumn(bar_width=28), TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[note]}"), console=console, transient=False,
        )  # fmt: skip
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> LiveRuns:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _task(self, key: str, label: str) -> TaskID:
        if key not in self._tasks:
            self._tasks[key] = self.progress.add_task(label, total=1.0, note="")
        return self._tasks[key]

    def update(self, runs: list[dict[str, Any]]) -> None:
        for run in runs:
            vms = run.get("vms") or []
            fractions = [vm_fraction(run["kind"], vm) for vm in vms]
            done = 1.0 if run["status"] == "succeeded" else (sum(fractions) / len(fractions) if fractions else 0.0)
            note = f"{run['status']} · {run.get('step') or ''}"
            self.progress.update(self._task(run["runId"], _label(run)), completed=done, note=note)
            for vm, fraction in zip(vms, fractions, strict=True):
                task = self._task(f"{run['runId']}/{vm['vm']}", f"  {vm['vm']}")
                self.progress.update(task, completed=fraction, note=vm_text(vm))


def summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title="Site Recovery Autopilot demo: what happened", show_lines=False)
    for column in ("act", "run", "status", "VM: RTO s / RPO s", "ASR jobs", "ARM calls (act)", "wall s", "report"):
        table.add_column(column)
    for act in summary["acts"]:
        first = True
        for run in act["runs"] or [{}]:
            vms = ", ".join(
                f"{v['vm']} {_n(v.get('rtoSeconds'))}/{_n(v.get('rpoSeconds'))}" for v in run.get("vms", [])
            )
            table.add_row(
                act["name"] if first else "", run.get("label", "-"), run.get("status", "-"), vms or "-",
                str(run.get("jobs", "-")), str(act["armCalls"]) if first else "", _n(run.get("wallSeconds")),
                run.get("report", "-"),
            )  # fmt: skip
            first = False
    return table


def _n(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0f}"
