"""Argument parsing for ``python -m drctl``. Bad arguments: a clear message and exit code 2."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from lib.domain.asr import RecoveryPointType

POINTS = [p.value for p in RecoveryPointType]


class UsageError(Exception):
    """Raised instead of argparse's own exit so tests and callers see one path."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UsageError(f"{self.prog}: {message}")


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="drctl", description="Drive Site Recovery Autopilot runs from a terminal (break-glass).")
    sub = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for kind in ("failover", "failback", "drill"):
        p = sub.add_parser(kind, help=f"start a {kind} run")
        target = p.add_mutually_exclusive_group(required=True)
        target.add_argument("--plan", help="recovery plan name")
        target.add_argument("--vms", help="comma-separated VM names")
        p.add_argument("--recovery-point", default=None, help=f"one of {', '.join(POINTS)} or a recovery point id")
        p.add_argument("--no-shutdown", action="store_true", help="do not shut the source VMs down first")
        p.add_argument("--no-auto-commit", action="store_true", help="pause for approval before committing")
        p.add_argument("--no-auto-reprotect", action="store_true", help="stop after commit, do not reprotect")
        p.add_argument(
            "--commit-per-vm",
            action="store_true",
            help="VM lists of independent VMs: commit and reprotect each VM as soon as its own failover is done",
        )
        p.add_argument("--test-network", dest="test_network", help="ARM id of the isolated VNet (drills)")
        p.add_argument("--probe-url", help="URL a drill checks answers (drills)")
        p.add_argument("--parallelism", type=int, default=None, help="VMs handled at once (VM lists)")
        p.add_argument("--reason", default="", help="why (kept in the run's history)")
        p.add_argument("--key", default=None, help="idempotency key (the same key returns the same run)")
        p.add_argument("--wait", action="store_true", help="run it here to the end with live progress")
        p.add_argument("--timeout", type=float, default=None, help="with --wait: give up after this many seconds")
        p.add_argument("--json", action="store_true", help="machine-readable output")
    runs = sub.add_parser("runs", help="list runs, newest first")
    runs.add_argument("--status", default=None)
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="a run and its history")
    show.add_argument("run_id")
    show.add_argument("--json", action="store_true")
    report = sub.add_parser("report", help="the report of a finished run (JSON on stdout)")
    report.add_argument("run_id")
    report.add_argument("--html", metavar="FILE", default=None, help="also write the printable page to FILE")
    operations = (
        ("approve", "approve a paused run"),
        ("cancel", "cancel a run (stops its running ASR jobs first; refused once VMs failed over: commit or rollback)"),
        ("resume", "resume a failed or partial run"),
        (
            "continue",
            "drive a pending, running or waiting run (takes over an expired lease; --wait waits out a live one)",
        ),
        ("commit", "commit what failed over (a partial failover's choice, or the commit approval)"),
        ("retry", "fail the failed VMs over again, or resume a failed or partial run"),
        ("rollback", "commit and reprotect what failed over, then fail it back (a linked run)"),
    )
    for name, text in operations:
        op = sub.add_parser(name, help=text)
        op.add_argument("run_id")
        op.add_argument("--wait", action="store_true")
        op.add_argument("--timeout", type=float, default=None)
        op.add_argument("--json", action="store_true")
    return root


def parse(argv: Sequence[str]) -> argparse.Namespace:
    return parser().parse_args(list(argv))


def request_payload(args: argparse.Namespace) -> dict[str, Any]:
    """Translate CLI flags into the request body the HTTP API takes (validated by the same parser in lib)."""
    target: dict[str, Any] = (
        {"recoveryPlan": args.plan} if args.plan else {"vms": [v.strip() for v in args.vms.split(",") if v.strip()]}
    )
    payload: dict[str, Any] = {
        "target": target,
        "shutdownSource": not args.no_shutdown,
        "autoCommit": not args.no_auto_commit,
        "autoReprotect": not args.no_auto_reprotect,
        "reason": args.reason,
    }
    optional = {
        "recoveryPoint": args.recovery_point,
        "testNetworkId": args.test_network,
        "probeUrl": args.probe_url,
        "parallelism": args.parallelism,
        "commitMode": "per-vm" if args.commit_per_vm else None,
    }
    payload.update({name: value for name, value in optional.items() if value is not None and value != ""})
    return payload
