"""``python -m drctl``: start, drive and inspect DR runs from a terminal, sharing the app's Table state.

Exit codes: 0 success, 1 the run did not succeed (or the operation was refused), 2 bad arguments or settings
(an unreachable storage account included), 130 interrupted (Ctrl-C; the run goes on when continued).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from drctl.cli import UsageError, parse, request_payload
from drctl.errors import Interrupted, describe, storage_at
from drctl.lease_wait import continue_when_free
from drctl.render import LiveProgress, history_table, jsonable, link_lines, runs_table, vm_table
from lib.api import control
from lib.api.targets import start_checked
from lib.bootstrap import App, build
from lib.domain.runs import RunRecord, RunStatus
from lib.engine import Driver, WatchInterrupted
from lib.reports import ReportNotReady
from lib.settings import Settings

FOREVER_S = 7 * 24 * 3600.0
PROG = "python -m drctl"


def _drive(app: App, run_id: str, timeout: float | None, console: Console, as_json: bool) -> RunRecord:
    """Drive ``run_id`` and only it; other runs that are due are listed, never touched."""
    live = None if as_json else LiveProgress(console, run_id)
    driver = Driver(app.engine, janitor_every_s=30.0, on_transition=live)

    def other(other_id: str) -> None:
        print(f"drctl: run {other_id} is due too; left alone ({PROG} continue {other_id} --wait)", file=sys.stderr)

    try:
        return driver.drive(run_id, deadline_s=timeout or FOREVER_S, on_other_due=other).run
    except WatchInterrupted as exc:
        raise Interrupted(run_id, exc.released) from None


def _finish(app: App, run: RunRecord, console: Console, as_json: bool, *, ok: RunStatus = RunStatus.SUCCEEDED) -> int:
    if as_json:
        print(json.dumps(jsonable({"run": run})))
    else:
        console.print(vm_table(run))
        console.print(f"[bold]{run.status.value}[/]: {run.error or run.reason}")
        if run.status is RunStatus.AWAITING_APPROVAL:
            console.print(f"waiting for approval '{run.approval}': {PROG} approve {run.run_id}")
        if run.status is RunStatus.AWAITING_DECISION:
            console.print(f"waiting for a decision: {PROG} {'|'.join(run.choices)} {run.run_id}")
    return 0 if run.status is ok else 1


def _setup(argv: Sequence[str]) -> tuple[App, Any] | int:
    """The app and the parsed arguments, or the exit code when either is unusable."""
    try:
        args = parse(argv)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    settings = Settings.from_env()
    if missing := settings.missing():
        print(f"drctl: missing settings: {', '.join(missing)} (set them in the environment)", file=sys.stderr)
        return 2
    try:
        return build(settings), args
    except ValueError as exc:  # a malformed setting: say which, like a bad argument
        print(f"drctl: {exc}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    console = Console(stderr=False, highlight=False)
    try:
        setup = _setup(sys.argv[1:] if argv is None else argv)
        if isinstance(setup, int):
            return setup
        app, args = setup
        return _command(app, args, console, bool(getattr(args, "json", False)))
    except BaseException as exc:
        known = describe(exc, storage_at(Settings.from_env()))
        if known is None:
            raise
        code, line = known
        print(line, file=sys.stderr)
        return code


def _start(app: App, args: Any, console: Console, as_json: bool) -> int:
    started = start_checked(app, args.command, request_payload(args), args.key, actor="drctl")
    if not as_json:
        state = "started" if started.created else "already exists for this key"
        console.print(f"run [bold]{started.run_id}[/] {state}")
    if not args.wait:
        if as_json:
            print(json.dumps({"run_id": started.run_id, "created": started.created}))
        return 0
    return _finish(app, _drive(app, started.run_id, args.timeout, console, as_json), console, as_json)


def _runs(app: App, args: Any, console: Console, as_json: bool) -> int:
    page = app.engine.list_runs(args.status, args.limit)
    if as_json:
        print(json.dumps(jsonable({"runs": page.items, "continuation": page.continuation})))
    else:
        console.print(runs_table(page.items))
    return 0


def _show(app: App, args: Any, console: Console, as_json: bool) -> int:
    view = app.engine.get(args.run_id)
    if as_json:
        lease = view.lease.to_json() if view.lease else None
        print(json.dumps(jsonable({"run": view.run, "history": view.history, "lease": lease})))
    else:
        console.print(vm_table(view.run))
        for line in link_lines(view.run):
            console.print(line, soft_wrap=True)
        console.print(history_table(view.history))
        if view.lease is not None:
            state = "expired (its holder is gone: continue takes over)" if view.lease.expired else "live"
            console.print(f"lease: {view.lease.holder} until {view.lease.expires_at.isoformat()} ({state})")
    return 0


def _report(app: App, args: Any, console: Console, as_json: bool) -> int:
    try:
        data = app.reports.read(args.run_id, "json")
        page = app.reports.read(args.run_id, "html") if args.html else None
    except ReportNotReady as exc:
        print(f"drctl: {exc}", file=sys.stderr)
        return 1
    if page is not None:
        Path(args.html).write_bytes(page)
        print(f"drctl: wrote {args.html}", file=sys.stderr)
    sys.stdout.write(data.decode() + "\n")
    return 0


_OPERATIONS: dict[str, Callable[[App, str], RunRecord]] = {
    "approve": lambda app, run_id: control.approve(app.engine, run_id, by="drctl"),
    "cancel": lambda app, run_id: app.engine.cancel(run_id, by="drctl"),
    "resume": lambda app, run_id: app.engine.resume(run_id, by="drctl"),
    "continue": lambda app, run_id: control.continue_run(app.engine, run_id, by="drctl"),
    "commit": lambda app, run_id: control.commit(app.engine, run_id, by="drctl"),
    "retry": lambda app, run_id: control.retry(app.engine, run_id, by="drctl"),
    "rollback": lambda app, run_id: control.rollback(app.engine, run_id, by="drctl"),
}


def _control(app: App, args: Any, console: Console, as_json: bool) -> int:
    """An operation on a run, then (with --wait) drive that run, and only it, to its end. ``continue --wait``
    waits out a live lease (printing who holds it) instead of refusing."""
    if args.command == "continue" and args.wait:
        run = continue_when_free(app.engine, args.run_id, by="drctl", timeout_s=args.timeout or FOREVER_S)
    else:
        run = _OPERATIONS[args.command](app, args.run_id)
    if args.command == "cancel" and run.active and not args.wait:
        # Accepted as a request: the run stops its ASR jobs itself (a cancel while nothing runs ends it at once).
        if not as_json:
            console.print(f"{run.reason}\nfollow it: {PROG} continue {run.run_id} --wait", soft_wrap=True)
        return _finish(app, run, console, as_json, ok=run.status)
    if getattr(args, "wait", False):
        run = _drive(app, run.run_id, args.timeout, console, as_json)
    return _finish(
        app, run, console, as_json, ok=RunStatus.CANCELLED if args.command == "cancel" else RunStatus.SUCCEEDED
    )


_COMMANDS: dict[str, Callable[[App, Any, Console, bool], int]] = {
    "failover": _start,
    "failback": _start,
    "drill": _start,
    "runs": _runs,
    "show": _show,
    "report": _report,
}


def _command(app: App, args: Any, console: Console, as_json: bool) -> int:
    app.ensure_storage()
    return _COMMANDS.get(args.command, _control)(app, args, console, as_json)


if __name__ == "__main__":
    sys.exit(main())
