"""A TCP proxy in front of one Azurite service that can hold its answers: requests reach storage at once, the
answers come back ``hold_answers_s`` later. That is storage stalling as a caller sees it, without a mock."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class StallProxy:
    port: int
    target_port: int
    hold_answers_s: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def serve(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if answers and self.hold_answers_s:
                    time.sleep(self.hold_answers_s)
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def stalling_proxy(target_port: int) -> Iterator[StallProxy]:
    listener = socket.create_server(("127.0.0.1", 0))
    proxy = StallProxy(listener.getsockname()[1], target_port)
    thread = threading.Thread(target=proxy.serve, args=(listener,), daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy._stop.set()
        listener.close()
