"""CLI: ``python -m emulator --topology FILE [--port N] [--time-scale X] [--seed N] [--cert-dir DIR]``.

Prints exactly one JSON line on stdout when ready (endpoint, caBundle, ids), then serves until SIGTERM/SIGINT.
Logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from emulator import history, outage
from emulator import topology as topo
from emulator.backend import Backend
from emulator.clock import SimClock
from emulator.errors import TopologyError
from emulator.faults import FaultRegistry
from emulator.server import EmulatorServer, make_tls


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--topology", required=True, help="topology JSON file")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = a free port)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="emulated seconds per real second")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and duration jitter")
    parser.add_argument("--cert-dir", help="where to write ca.pem (default: a temporary directory)")
    parser.add_argument("--retry-after", type=float, help="Retry-After seconds on LRO responses (default 30; 0: none)")
    parser.add_argument("--page-size", type=int, help="items per page of list calls (default 50)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        raw = json.loads(Path(args.topology).read_text())
        if args.retry_after is not None:
            raw["retryAfterSeconds"] = args.retry_after
        if args.page_size is not None:
            raw["pageSize"] = args.page_size
        topology = topo.parse_topology(raw)
    except (OSError, ValueError, TopologyError) as exc:
        print(f"emulator: cannot load topology {args.topology}: {exc}", file=sys.stderr)
        return 2
    temp_dir = None if args.cert_dir else tempfile.mkdtemp(prefix="asr-emulator-")
    cert_dir = Path(args.cert_dir or temp_dir or ".")
    try:
        tls, ca_path = make_tls(cert_dir)
        clock = SimClock(args.time_scale)
        faults = FaultRegistry(args.seed)
        backend = Backend(topology, clock, seed=args.seed, faults=faults)
        history.preload_jobs(backend, history.preload_count(backend), backend.sync())
        outage.apply_topology(backend, backend.sync())
        server = EmulatorServer(args.port, backend, tls, verbose=args.verbose)
    except (OSError, ValueError) as exc:
        print(f"emulator: cannot start: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Short polls: a test suite starts and stops hundreds of emulators, and each stop waits for both loops.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    ready = {
        "endpoint": server.endpoint,
        "caBundle": str(ca_path),
        "subscriptionId": topology.subscription_id,
        "resourceGroup": topology.resource_group,
        "vault": topology.vault,
        "primaryRegion": topology.primary_region,
        "recoveryRegion": topology.recovery_region,
        "timeScale": args.time_scale,
        "seed": args.seed,
        "items": {
            item.vm: {
                "name": item.name,
                "fabric": topo.fabric_name(item.primary),
                "container": topo.container_name(item.primary),
            }
            for item in backend.items.values()
        },
    }
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    try:
        while not stop.wait(0.05):
            pass
    finally:
        server.shutdown()
        server.server_close()
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
