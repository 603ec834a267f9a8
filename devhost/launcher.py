"""Run ``python -m devhost`` as a subprocess for the duration of a ``with`` block (tests, ``make dev``, benches).

with running_devhost(env={"AzureWebJobsStorage": conn, ...}, script_root=tmp, app="function_app:app") as host:
    status, headers, body = host.request("GET", "/api/health", key=host.function_key)
    host.log()  # the host's stderr so far

The child gets the current environment plus ``env``, the repository on ``PYTHONPATH``, and its stderr goes to a
file (``host.log_path``) unless ``stderr`` is given. Stopping sends SIGTERM, then kills after 10 s.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from devhost.process import Child

__all__ = ["DevhostError", "DevhostInfo", "running_devhost"]

ROOT = Path(__file__).resolve().parent.parent


class DevhostError(RuntimeError):
    """The devhost did not start (the message carries its stderr)."""


@dataclass(frozen=True)
class DevhostInfo:
    url: str
    function_key: str
    master_key: str
    eventgrid_key: str
    pid: int
    log_path: Path | None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def log_with(self, *texts: str, timeout: float = 15.0) -> str:
        """The log once it holds every one of ``texts``: one thread writes it, so a record of a request the
        caller has just seen answered may reach the file a moment later. Raises with the log after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not all(text in (log := self.log()) for text in texts):
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts!r} not all in the devhost log after {timeout} s:\n{log[-4000:]}")
            time.sleep(0.05)
        return log

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP call; ``body`` may be bytes, str or JSON-able. Any status is returned, never raised."""
        data = body if isinstance(body, bytes) or body is None else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode()
        )  # fmt: skip
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            all_headers["x-functions-key"] = key
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers.items()), exc.read()


@contextlib.contextmanager
def running_devhost(
    *,
    env: Mapping[str, str] | None = None,
    app: str = "function_app:app",
    script_root: str | Path | None = None,
    port: int = 0,
    start_timeout: float = 60.0,
    stderr: IO[bytes] | None = None,
) -> Iterator[DevhostInfo]:
    """Start the devhost; ``script_root`` defaults to the repository (its host.json and local.settings.json)."""
    workdir = Path(tempfile.mkdtemp(prefix="devhost-"))
    root = Path(script_root) if script_root is not None else ROOT
    cmd = [sys.executable, "-m", "devhost", "--port", str(port), "--app", app, "--script-root", str(root)]
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    log_path = None if stderr is not None else workdir / "stderr.log"
    log_file = stderr if stderr is not None else open(workdir / "stderr.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log_file, cwd=ROOT, env=child_env)
    child = Child(proc, io.BytesIO())  # the shared start-wait-stop helper; its own log file is not used here
    try:
        line = child.read_line(start_timeout)
        try:
            ready = json.loads(line)
        except ValueError:
            child.stop()
            text = log_path.read_text(errors="replace")[-4000:] if log_path else "(stderr not captured)"
            raise DevhostError(
                f"devhost did not report ready within {start_timeout:.0f}s (exit code {proc.poll()}). "
                f"stdout: {line[:500]!r}\nstderr:\n{text}"
            ) from None
        yield DevhostInfo(
            url=ready["url"],
            function_key=ready["functionKey"],
            master_key=ready["masterKey"],
            eventgrid_key=ready["eventGridKey"],
            pid=proc.pid,
            log_path=log_path,
        )
    finally:
        child.stop()
        if proc.stdout:
            proc.stdout.close()
        if stderr is None:
            log_file.close()
        shutil.rmtree(workdir, ignore_errors=True)
