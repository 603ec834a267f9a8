"""``python -m drctl``: start, drive and inspect DR runs from a terminal, sharing the app's Table state.

Exit codes: 0 success, 1 the run did not succeed (or the operation was refused), 2 bad arguments or settings.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console

from drctl.cli import UsageError, parse, request_payload
from drctl.render import LiveProgress, history_table, jsonable, runs_table, vm_table
from lib.bootstrap import App, build
from lib.domain.errors import AutopilotError, ValidationError
from lib.domain.runs import RunRecord, RunStatus
from lib.engine import DeadlineExceeded, Driver, RunNotFound
from lib.settings import Settings

FOREVER_S = 7 * 24 * 3600.0


def _drive(app: App, run_id: str, timeout: float | None, console: Console, as_json: bool) -> RunRecord:
    live = None if as_json else LiveProgress(console, run_id)
    driver = Driver(app.engine, janitor_every_s=30.0, on_transition=live)
    return driver.run_until_finished(run_id, deadline_s=timeout or FOREVER_S)


def _finish(app: App, run: RunRecord, console: Console, as_json: bool) -> int:
    if as_json:
        print(json.dumps(jsonable({"run": run})))
    else:
        console.print(vm_table(run))
        console.print(f"[bold]{run.status.value}[/]: {run.error or run.reason}")
        if run.status is RunStatus.AWAITING_APPROVAL:
            console.print(f"waiting for approval '{run.approval}': python -m drctl approve {run.run_id}")
    return 0 if run.status is RunStatus.SUCCEEDED else 1


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
    setup = _setup(sys.argv[1:] if argv is None else argv)
    if isinstance(setup, int):
        return setup
    app, args = setup
    as_json = bool(getattr(args, "json", False))
    try:
        return _command(app, args, console, as_json)
    except ValidationError as exc:
        print(f"drctl: {exc.field}: {exc.reason}", file=sys.stderr)
        return 2
    except RunNotFound as exc:
        print(f"drctl: {exc}", file=sys.stderr)
        return 1
    except DeadlineExceeded as exc:
        print(f"drctl: gave up waiting: {exc} (the run goes on; see `drctl show`)", file=sys.stderr)
        return 1
    except AutopilotError as exc:
        print(f"drctl: {exc}", file=sys.stderr)
        return 1


def _start(app: App, args: Any, console: Console, as_json: bool) -> int:
    started = app.start(args.command, request_payload(args), key=args.key, actor="drctl")
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
        print(json.dumps(jsonable({"run": view.run, "history": view.history})))
    else:
        console.print(vm_table(view.run))
        console.print(history_table(view.history))
    return 0


def _control(app: App, args: Any, console: Console, as_json: bool) -> int:
    """approve, cancel or resume, then (with --wait) drive the run to its end."""
    if args.command == "approve":
        run = app.engine.approve(args.run_id, by="drctl")
    elif args.command == "cancel":
        run = app.engine.cancel(args.run_id, by="drctl")
    else:
        run = app.engine.resume(args.run_id, by="drctl")
    if getattr(args, "wait", False):
        run = _drive(app, run.run_id, args.timeout, console, as_json)
    return _finish(app, run, console, as_json)


_COMMANDS: dict[str, Callable[[App, Any, Console, bool], int]] = {
    "failover": _start,
    "failback": _start,
    "drill": _start,
    "runs": _runs,
    "show": _show,
}


def _command(app: App, args: Any, console: Console, as_json: bool) -> int:
    app.ensure_storage()
    return _COMMANDS.get(args.command, _control)(app, args, console, as_json)


if __name__ == "__main__":
    sys.exit(main())
