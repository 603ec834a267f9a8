"""Start a helper process (Azurite, the ASR emulator), wait until it is ready, and always stop it.

The launchers differ only in how a child says it is ready (ports that answer, a line on stdout); the rest —
where its output goes, what is shown when it does not start, and how it is stopped — lives here once.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

STOP_GRACE_S = 10.0


@dataclass
class Child:
    """A started process and the file that holds its output (stderr, and stdout unless piped)."""

    proc: subprocess.Popen[bytes]
    log: BinaryIO

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_until(self, ready: Callable[[], bool], timeout: float, poll_s: float = 0.1) -> bool:
        """Poll ``ready`` until it holds or ``timeout`` passes; ``True`` only if it holds and the child lives."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            if ready():
                break
            time.sleep(poll_s)
        return self.alive() and ready()

    def read_line(self, timeout: float) -> bytes:
        """The first line the child writes to its piped stdout, or what came before ``timeout``/EOF."""
        assert self.proc.stdout is not None, "read_line needs the child started with pipe_stdout=True"
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        buffer = b""
        deadline = time.monotonic() + timeout
        try:
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    break
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buffer += chunk
        finally:
            selector.close()
        return buffer.split(b"\n", 1)[0]

    def kill(self) -> None:
        """Stop at once (a child that did not start has nothing to finish)."""
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        """SIGTERM, then kill if it has not exited within the grace period."""
        if not self.alive():
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, limit: int) -> str:
        """The last ``limit`` characters of the child's output, for an error message."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-limit:]


@contextlib.contextmanager
def spawned(
    cmd: Sequence[str],
    log_path: Path,
    *,
    cwd: Path | str,
    env: Mapping[str, str] | None = None,
    pipe_stdout: bool = False,
) -> Iterator[Child]:
    """Run ``cmd`` for the duration of the block, its output in ``log_path``; stopped and closed on exit."""
    log = open(log_path, "w+b")  # noqa: SIM115 - closed in finally, after the child has gone
    try:
        proc = subprocess.Popen(
            list(cmd),
            stdout=subprocess.PIPE if pipe_stdout else log,
            stderr=log if pipe_stdout else subprocess.STDOUT,
            cwd=cwd,
            env=env,
        )
        child = Child(proc, log)
        try:
            yield child
        finally:
            child.stop()
            if proc.stdout:
                proc.stdout.close()
    finally:
        log.close()
