"""``python -m demo``: start the local stack, play the outage, print the summary; exit 0 only when every check held.

Options: ``--time-scale`` (emulated ASR seconds per real second), ``--timer-scale`` (DR_TIMER_SCALE), ``--timeout``
(per wait, seconds). ``DEMO_SUMMARY=path.json`` also writes the summary as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from demo.client import DemoError
from demo.scenario import Act, Scenario
from demo.stack import running_stack
from demo.view import LiveRuns, summary_table

__all__ = ["main", "summarize"]


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--time-scale", type=float, default=240.0, help="emulated ASR seconds per real second")
    parser.add_argument("--timer-scale", type=float, default=0.01, help="DR_TIMER_SCALE: shrinks the app's waits")
    parser.add_argument("--timeout", type=float, default=150.0, help="longest wait for any one step, in seconds")
    return parser.parse_args(argv)


def _report_path(run: dict[str, Any]) -> str:
    created = datetime.fromisoformat(run["createdAt"])
    return f"drreports/runs/{created:%Y/%m}/{run['runId']}.html"


def _wall(run: dict[str, Any]) -> float | None:
    if not run.get("createdAt") or not run.get("updatedAt"):
        return None
    return (datetime.fromisoformat(run["updatedAt"]) - datetime.fromisoformat(run["createdAt"])).total_seconds()


def _run_row(run: dict[str, Any]) -> dict[str, Any]:
    target = (run.get("request") or {}).get("target") or {}
    label = f"{run['kind']} plan {target['recoveryPlan']}" if "recoveryPlan" in target else (
        f"{run['kind']} VMs {', '.join(target.get('vms', []))}"
    )  # fmt: skip
    return {
        "runId": run["runId"], "kind": run["kind"], "label": label, "status": run["status"],
        "vms": [{"vm": v["vm"], "rtoSeconds": v.get("rtoSeconds"), "rpoSeconds": v.get("rpoSeconds"),
                 "state": v.get("state"), "where": v.get("where")} for v in run.get("vms", [])],
        "jobs": len(run.get("jobs", [])), "wallSeconds": _wall(run), "report": _report_path(run),
    }  # fmt: skip


def summarize(scenario: Scenario, wall: float) -> dict[str, Any]:
    def act_row(act: Act) -> dict[str, Any]:
        return {"name": act.name, "seconds": round(act.seconds, 1), "armCalls": act.arm_calls,
                "runs": [_run_row(r) for r in act.runs]}  # fmt: skip

    return {
        "ok": bool(scenario.checks) and all(c.ok for c in scenario.checks),
        "wallSeconds": round(wall, 1),
        "acts": [act_row(a) for a in scenario.acts],
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in scenario.checks],
    }


def _play(args: argparse.Namespace, console: Console) -> tuple[Scenario, float]:
    started = time.monotonic()
    console.print("[bold]Starting Azurite, the ASR emulator and the Functions devhost...[/bold]")
    with running_stack(time_scale=args.time_scale, timer_scale=args.timer_scale) as stack, LiveRuns(console) as live:
        scenario = Scenario(stack, live.update, timeout=args.timeout)
        try:
            scenario.play()
        except DemoError as exc:
            console.print(f"[red]demo stopped:[/red] {exc}")
    return scenario, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    console = Console()
    if not console.is_terminal:  # piped or captured: a table wide enough to read, not the 80 columns default
        console = Console(width=160)
    try:
        scenario, wall = _play(args, console)
    except KeyboardInterrupt:
        console.print("interrupted: every process the demo started has been stopped")
        return 130
    summary = summarize(scenario, wall)
    console.print(summary_table(summary))
    for check in summary["checks"]:
        mark = "[green]ok[/green]  " if check["ok"] else "[red]FAIL[/red]"
        console.print(f"{mark} {check['name']}: {check['detail']}")
    console.print(f"wall time {summary['wallSeconds']} s; reports in Blob storage (container drreports)")
    if os.environ.get("DEMO_SUMMARY"):
        Path(os.environ["DEMO_SUMMARY"]).write_text(json.dumps(summary, indent=2))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
