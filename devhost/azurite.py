"""Start and stop a private Azurite (Azure Storage emulator) on free loopback ports.

Used by the tests, the demo and the benchmarks so that every run gets its own in-memory storage account.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from devhost.process import spawned

ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = ROOT / "node_modules" / ".bin" / "azurite"
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key; it is public and only valid against the emulator.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class AzuriteError(RuntimeError):
    """Azurite could not be started; the message says why and how to fix it."""


@dataclass(frozen=True)
class AzuriteTls:
    """HTTPS for Azurite (``--cert``/``--key``, PEM files) with ``--oauth basic``: it then accepts bearer tokens,
    checking their issuer, audience and lifetime (not their signature), as the identity-based form needs."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Azurite:
    blob_port: int
    queue_port: int
    table_port: int
    https: bool = False  # started with AzuriteTls: HTTPS and OAuth

    def service_url(self, service: str) -> str:
        """The path-style endpoint of ``service`` ("blob", "queue", "table") for the development account."""
        port = {"blob": self.blob_port, "queue": self.queue_port, "table": self.table_port}[service]
        return f"{'https' if self.https else 'http'}://127.0.0.1:{port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        scheme = "https" if self.https else "http"
        host = f"{scheme}://127.0.0.1"
        return (
            f"DefaultEndpointsProtocol={scheme};AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={host}:{self.blob_port}/{ACCOUNT};"
            f"QueueEndpoint={host}:{self.queue_port}/{ACCOUNT};"
            f"TableEndpoint={host}:{self.table_port}/{ACCOUNT};"
        )


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def _all_answer(ports: tuple[int, ...]) -> bool:
    return all(_answers(p) for p in ports)


@contextlib.contextmanager
def running_azurite(start_timeout: float = 30.0, *, oauth_tls: AzuriteTls | None = None) -> Iterator[Azurite]:
    """Run Azurite (blob, queue, table; in-memory) for the duration of the block; with ``oauth_tls`` over HTTPS
    and accepting bearer tokens (``--oauth basic``)."""
    if not AZURITE_BIN.exists():
        raise AzuriteError(
            f"Azurite is not installed at {AZURITE_BIN}. Run `make setup` (it runs `npm ci`) and try again."
        )
    workdir = tempfile.mkdtemp(prefix="azurite-")
    last_error = ""
    try:
        for _attempt in range(3):  # a free port can be taken between probing and binding; try again
            blob, queue, table = _free_ports(3)
            cmd = [
                str(AZURITE_BIN), "--inMemoryPersistence", "--silent", "--skipApiVersionCheck", "--loose",
                "--disableProductStyleUrl",
                "--blobHost", "127.0.0.1", "--blobPort", str(blob),
                "--queueHost", "127.0.0.1", "--queuePort", str(queue),
                "--tableHost", "127.0.0.1", "--tablePort", str(table),
            ]  # fmt: skip
            if oauth_tls is not None:
                cmd += ["--oauth", "basic", "--cert", str(oauth_tls.cert), "--key", str(oauth_tls.key)]
            with spawned(cmd, Path(workdir) / "azurite.log", cwd=workdir) as child:
                if child.wait_until(partial(_all_answer, (blob, queue, table)), start_timeout):
                    yield Azurite(blob, queue, table, https=oauth_tls is not None)
                    return
                child.kill()
                last_error = child.log_tail(2000)
        raise AzuriteError(f"Azurite did not start within {start_timeout:.0f}s. Its output:\n{last_error}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
