"""Start-up and shut-down of the local host (see ``devhost/__main__.py`` for the command line)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import signal
import sys
import threading
from logging.handlers import QueueHandler
from logging.handlers import QueueListener as LogWriter
from pathlib import Path
from types import FrameType

from devhost.discovery import AppIndex, DiscoveryError, index_app, load_app
from devhost.hostjson import HostConfig, HostJsonError, read_host_json
from devhost.http_host import HttpHost, serve
from devhost.keys import Keys
from devhost.queue_host import QueueListener
from devhost.settings import SettingsError, apply_settings, read_local_settings
from devhost.timer_host import TimerRunner

__all__ = ["main"]

log = logging.getLogger("devhost")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost", description="Run a Functions app locally.")
    parser.add_argument("--port", type=int, default=7071, help="0 picks a free port (default 7071)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--app", default="function_app:app", help="module[:attr] of the FunctionApp")
    parser.add_argument("--script-root", default=".", help="folder with host.json and local.settings.json")
    return parser.parse_args(argv)


def _prepare(args: argparse.Namespace) -> tuple[HostConfig, AppIndex]:
    root = Path(args.script_root).resolve()
    added = apply_settings(read_local_settings(root / "local.settings.json"))
    os.environ.setdefault("FUNCTIONS_WORKER_RUNTIME", "python")  # the Functions host always sets it for its worker
    log.info("settings: %d value(s) from local.settings.json (the environment wins)", len(added))
    config = read_host_json(root / "host.json")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    index = index_app(load_app(args.app))  # imported only now: modules may read settings at import time
    for name in index.unsupported:
        log.warning("function %s: this host has no such trigger; it is not served", name)
    return config, index


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _log_in_background() -> LogWriter:
    """One thread writes the log: a request's thread only queues its records. Every invocation logs its start
    and end; written in place, a burst of requests and queue messages waits on the handler's lock, and behind
    whichever thread holds it while the OS has that thread descheduled (seconds on a loaded machine)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    root = logging.getLogger()
    root.handlers = [QueueHandler(records)]
    root.setLevel(logging.INFO)
    listener = LogWriter(records, handler)
    listener.start()
    return listener


def main(argv: list[str] | None = None) -> int:
    writer = _log_in_background()
    try:
        return _main(argv)
    finally:
        writer.stop()  # writes what is queued


def _main(argv: list[str] | None) -> int:
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDK logs every request at INFO
    args = _arguments(argv)
    # The ready line must be the first stdout line: whatever the app prints goes to stderr, with the logs.
    ready_out, sys.stdout = sys.stdout, sys.stderr
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        config, index = _prepare(args)
        keys = Keys.from_env(os.environ)
        listeners = [QueueListener(f, config.queues, dict(os.environ)) for f in index.queues]
        server = serve(HttpHost(index, keys, config.route_prefix), args.host, args.port)
    except (SettingsError, HostJsonError, DiscoveryError, ValueError, ImportError, OSError) as exc:
        log.error("cannot host the app: %s", exc)
        return 2
    try:
        for listener in listeners:
            listener.start()
    except Exception as exc:
        log.error("cannot start the queue listeners: %s", exc)
        server.server_close()
        return 2
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    url = f"http://{args.host}:{server.server_address[1]}"
    ready = {"url": url, "functionKey": keys.function, "masterKey": keys.master, "eventGridKey": keys.eventgrid}
    print(json.dumps(ready), file=ready_out, flush=True)
    log.info(
        "serving %d HTTP, %d queue, %d timer, %d Event Grid function(s) at %s",
        len(index.http), len(index.queues), len(index.timers), len(index.eventgrid), url,
    )  # fmt: skip
    timers = [TimerRunner(f) for f in index.timers]
    for timer in timers:
        timer.start()
    stop.wait()
    server.shutdown()
    server.server_close()
    for listener in listeners:
        listener.stop()
    for timer in timers:
        timer.stop()
    log.info("stopped")
    return 0
