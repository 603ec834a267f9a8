"""Run the emulator as a subprocess for the duration of a ``with`` block (tests, demo, benchmarks).

with running_emulator({"subscriptionId": ..., "vms": [{"name": "vm1"}], ...}, time_scale=600) as emu:
    client = SiteRecoveryManagementClient(cred, emu.subscription_id, base_url=emu.endpoint,
                                          connection_verify=emu.ca_bundle)
    emu.add_fault({"kind": "http", "status": 429, "method": "POST", "count": 1})
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devhost.process import spawned

ROOT = Path(__file__).resolve().parent.parent


class EmulatorError(RuntimeError):
    """The emulator did not start (the message includes its stderr) or an admin call failed."""


@dataclass
class EmulatorInfo:
    endpoint: str
    ca_bundle: str
    subscription_id: str
    resource_group: str
    vault: str
    primary_region: str
    recovery_region: str
    items: dict[str, dict[str, str]] = field(default_factory=dict)  # VM name -> initial item name/fabric/container
    pid: int = 0

    def _ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_bundle)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call ``/_emulator/<path>`` and return the decoded JSON."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.endpoint}/_emulator/{path.lstrip('/')}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, context=self._ssl(), timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise EmulatorError(
                f"admin {method} {path} failed: {exc.code} {exc.read().decode(errors='replace')}"
            ) from exc

    def region_outage(self, region: str, down: bool = True) -> dict[str, Any]:
        """Take ``region`` down (or bring it back): ``POST /_emulator/regions/{region}/outage``."""
        result: dict[str, Any] = self.admin("POST", f"regions/{region}/outage", {"down": down})
        return result

    def requests_count(self) -> dict[str, Any]:
        """``{"total": N, "byRoute": {"GET /subscriptions/{subscriptionId}/...": n}}``."""
        result: dict[str, Any] = self.admin("GET", "requests")
        return result

    def request_log(self, since: int = 0) -> dict[str, Any]:
        """``{"entries": [{"seq", "time", "route", "path"}, ...], "last": N}``: ARM requests with ``seq > since``."""
        result: dict[str, Any] = self.admin("GET", f"requests/log?since={since}")
        return result

    def reset_requests(self) -> None:
        self.admin("POST", "requests/reset")

    def add_fault(self, rule: dict[str, Any]) -> str:
        return str(self.admin("POST", "faults", rule)["id"])

    def clear_faults(self) -> None:
        self.admin("DELETE", "faults")

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", "state")
        return result

    def vm_state(self, vm: str) -> dict[str, Any]:
        result: dict[str, Any] = self.state()["vms"][vm]
        return result

    def set_time_scale(self, scale: float) -> None:
        self.admin("POST", "time-scale", {"timeScale": scale})

    def advance(self, seconds: float) -> None:
        """Jump the emulated clock forward by ``seconds``."""
        self.admin("POST", "advance", {"seconds": seconds})

    def inject_health_issue(self, vm: str, **fields: Any) -> None:
        self.admin("POST", "health-issues", {"vm": vm, **fields})


@contextlib.contextmanager
def running_emulator(
    topology: dict[str, Any],
    *,
    time_scale: float = 600.0,
    seed: int = 0,
    retry_after: float | None = None,
    page_size: int | None = None,
    start_timeout: float = 30.0,
    verbose: bool = False,
) -> Iterator[EmulatorInfo]:
    """Start ``python -m emulator`` on a free port; stop it (SIGTERM, then kill) when the block exits."""
    workdir = Path(tempfile.mkdtemp(prefix="asr-emulator-"))
    topology_path = workdir / "topology.json"
    topology_path.write_text(json.dumps(topology))
    cmd = [
        sys.executable, "-m", "emulator", "--topology", str(topology_path), "--port", "0",
        "--time-scale", str(time_scale), "--seed", str(seed), "--cert-dir", str(workdir / "certs"),
    ]  # fmt: skip
    if retry_after is not None:
        cmd += ["--retry-after", str(retry_after)]
    if page_size is not None:
        cmd += ["--page-size", str(page_size)]
    if verbose:
        cmd.append("--verbose")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        with spawned(cmd, workdir / "stderr.log", cwd=ROOT, env=env, pipe_stdout=True) as child:
            line = child.read_line(start_timeout)
            try:
                ready = json.loads(line)
            except ValueError:
                child.kill()
                raise EmulatorError(
                    f"ASR emulator did not report ready within {start_timeout:.0f}s "
                    f"(exit code {child.proc.poll()}). stdout: {line[:500]!r}\nstderr:\n{child.log_tail(4000)}"
                ) from None
            yield EmulatorInfo(
                endpoint=ready["endpoint"],
                ca_bundle=ready["caBundle"],
                subscription_id=ready["subscriptionId"],
                resource_group=ready["resourceGroup"],
                vault=ready["vault"],
                primary_region=ready["primaryRegion"],
                recovery_region=ready["recoveryRegion"],
                items=ready.get("items", {}),
                pid=child.proc.pid,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
