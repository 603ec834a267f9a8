"""Queue triggers, fed from the storage account named by each function's ``connection`` setting.

What the Functions host (Storage queues extension) does, and so what this does:
- poll with Get Messages for up to ``batchSize`` messages; fetch another batch once no more than ``newBatchThreshold``
  (default batchSize/2) are still running, so at most batchSize + newBatchThreshold run at once; after an empty
  poll wait, doubling from 100 ms up to ``maxPollingInterval``;
- decode the body (``messageEncoding``, default base64) and call the function with a ``func.QueueMessage``
  carrying id, dequeue count, pop receipt and the message times;
- success: delete the message. Failure: if its dequeue count reached ``maxDequeueCount``, send a copy of the
  body to ``<queue>-poison`` and delete it; otherwise make it visible again after ``visibilityTimeout``.
A message is held (invisible) for ``HOLD_S`` (``DEVHOST_MESSAGE_HOLD_S`` changes it, e.g. for crash tests) while its
function runs; a host that dies mid-call leaves it to reappear then, as a crashed worker does in Azure. Messages
received but not started when the host stops are released at once.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import azure.functions.queue as func_queue
from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.queue import QueueClient, QueueMessage

from devhost.discovery import QueueFunction
from devhost.hostjson import QueueOptions
from devhost.invoke import invoke
from lib.adapters.storage_clients import StorageClients
from lib.settings import Settings
from lib.storage_config import StorageConfigError

__all__ = ["HOLD_S", "MIN_POLL_S", "Backoff", "QueueListener", "decode_body"]

log = logging.getLogger("devhost.queue")

HOLD_S = 600  # the host's initial hold (10 min); it renews while running, we simply hold long enough
MIN_POLL_S = 0.1


class Backoff:
    """Empty-poll waits: 100 ms, doubling, capped at ``maximum``; a message found resets it."""

    def __init__(self, maximum: float) -> None:
        self.maximum = max(MIN_POLL_S, maximum)
        self.current = MIN_POLL_S

    def empty(self) -> float:
        wait = self.current
        self.current = min(self.current * 2, self.maximum)
        return wait

    def found(self) -> None:
        self.current = MIN_POLL_S


class BadMessage(ValueError):
    """The body cannot be decoded with the configured ``messageEncoding``."""


def decode_body(content: str, encoding: str) -> bytes:
    if encoding == "none":
        return content.encode("utf-8")
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise BadMessage("the message body is not valid base64 (host.json messageEncoding is base64)") from None


def _storage(function: QueueFunction, env: dict[str, str]) -> StorageClients:
    """As the host resolves a connection: the setting (or ``AzureWebJobs<name>``) as a connection string, else
    the identity-based ``<name>__*`` settings (read as the app reads them, for its own ``AzureWebJobsStorage``)."""
    name = function.connection or "AzureWebJobsStorage"
    value = env.get(name) or env.get(f"AzureWebJobs{name}")
    if value:
        return StorageClients.from_connection_string(value)
    if name == "AzureWebJobsStorage" and any(key.startswith(f"{name}__") and v for key, v in env.items()):
        try:
            return StorageClients.from_settings(Settings.from_env(env))
        except StorageConfigError as exc:
            raise ValueError(f"function {function.name}: {exc}") from None
    raise ValueError(f"function {function.name}: connection setting {name!r} is not set (environment or "
                     "local.settings.json Values)")  # fmt: skip


@dataclass
class _Clients:
    queue: QueueClient
    poison: QueueClient


class QueueListener:
    """One listener per queue trigger, on its own thread; ``stop`` lets running invocations finish."""

    def __init__(self, function: QueueFunction, options: QueueOptions, env: dict[str, str]) -> None:
        self.function = function
        self.options = options
        self._hold_s = int(env.get("DEVHOST_MESSAGE_HOLD_S") or HOLD_S)
        storage = _storage(function, env)
        try:
            self._clients = _Clients(storage.queue(function.queue_name), storage.queue(f"{function.queue_name}-poison"))
        except StorageConfigError as exc:  # e.g. identity-based settings without a queue endpoint
            raise ValueError(f"function {function.name}: {exc}") from None
        self._stop = threading.Event()
        workers = options.batch_size + options.refill_below
        # The Python worker runs sync functions on PYTHON_THREADPOOL_THREAD_COUNT threads (its default on Python
        # 3.9+: min(32, CPUs + 4)). Set, it caps this listener's invocations the same way; unset, it does not.
        limit = env.get("PYTHON_THREADPOOL_THREAD_COUNT", "")
        if limit.isdigit() and int(limit) > 0:
            workers = min(workers, int(limit))
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=f"queue-{function.name}")
        self._running: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=f"listener-{function.name}", daemon=True)

    def start(self) -> None:
        # The host creates a missing trigger queue, too. One try, no SDK retries (the storage default backs off
        # for about a minute): unreachable storage must not hold back the ready line; the loop keeps trying.
        try:
            self._clients.queue.create_queue(retry_total=0, timeout=5)
        except ResourceExistsError:
            pass
        except AzureError as exc:
            log.warning("queue %s: storage unreachable at start (%s); polling keeps trying", self.function.queue_name,
                        type(exc).__name__)  # fmt: skip
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self._pool.shutdown(wait=True)  # started invocations finish; the rest are released in _process

    # -- polling ----------------------------------------------------------------------------------

    def _loop(self) -> None:
        backoff = Backoff(self.options.max_polling_interval_s)
        while not self._stop.is_set():
            try:
                found = self._poll()
            except AzureError as exc:  # storage down or the queue deleted: keep polling, as the host does
                log.warning("queue %s: polling failed: %s", self.function.queue_name, exc)
                found = 0
                with contextlib.suppress(AzureError):
                    self._clients.queue.create_queue()
            except Exception:  # a host bug must not end the listener: log it and poll again
                log.exception("queue %s: listener error", self.function.queue_name)
                found = 0
            if found:
                backoff.found()
                continue
            self._stop.wait(backoff.empty())

    def _room(self) -> int:
        with self._lock:
            self._running = {f for f in self._running if not f.done()}
            running = len(self._running)
        # The host fetches a whole new batch at that point: at most batchSize + newBatchThreshold run at once.
        return self.options.batch_size if running <= self.options.refill_below else 0

    def _poll(self) -> int:
        room = self._room()
        if room <= 0:
            self._stop.wait(0.05)
            return 1  # busy, not empty: do not back off
        page: Any = next(
            self._clients.queue.receive_messages(messages_per_page=room, visibility_timeout=self._hold_s).by_page(), []
        )
        messages = list(page)
        for message in messages:
            future = self._pool.submit(self._process_logged, message)
            with self._lock:
                self._running.add(future)
        return len(messages)

    # -- one message ------------------------------------------------------------------------------

    def _process_logged(self, message: QueueMessage) -> None:
        try:
            self._process(message)
        except Exception:  # the message reappears after its hold; the host goes on
            log.exception("queue %s: could not handle message %s", self.function.queue_name, message.id)

    def _process(self, message: QueueMessage) -> None:
        if self._stop.is_set():  # stopping: hand it back instead of holding it for HOLD_S
            self._clients.queue.update_message(message.id, message.pop_receipt, visibility_timeout=0)
            return
        count = int(message.dequeue_count or 1)
        if count > self.options.max_dequeue_count:  # a failure we could not record last time
            self._poison(message, count)
            return
        try:
            argument = self._argument(message)
        except BadMessage as exc:
            log.error("queue %s: message %s: %s", self.function.queue_name, message.id, exc)
            self._failed(message, count)
            return
        details = f"Reason='New queue message detected on '{self.function.queue_name}'.', MessageId={message.id}"
        outcome = invoke(self.function.name, self.function.target, self.function.arg_name, argument, details)
        try:
            if outcome.ok:
                self._clients.queue.delete_message(message.id, message.pop_receipt)
            else:
                self._failed(message, count)
        except AzureError as exc:
            log.warning("queue %s: could not complete message %s: %s", self.function.queue_name, message.id, exc)

    def _argument(self, message: QueueMessage) -> Any:
        return func_queue.QueueMessage(
            id=message.id,
            body=decode_body(str(message.content or ""), self.options.message_encoding),
            dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on,
            insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )

    def _failed(self, message: QueueMessage, count: int) -> None:
        if count >= self.options.max_dequeue_count:
            self._poison(message, count)
            return
        delay = int(self.options.visibility_timeout_s)
        self._clients.queue.update_message(message.id, message.pop_receipt, visibility_timeout=delay)
        log.info(
            "queue %s: message %s failed (attempt %d of %d); visible again in %ds",
            self.function.queue_name, message.id, count, self.options.max_dequeue_count, delay,
        )  # fmt: skip

    def _poison(self, message: QueueMessage, count: int) -> None:
        poison = self._clients.poison
        with contextlib.suppress(ResourceExistsError):
            poison.create_queue()
        poison.send_message(message.content, time_to_live=-1)
        self._clients.queue.delete_message(message.id, message.pop_receipt)
        log.warning(
            "queue %s: message %s moved to %s after %d attempts (maxDequeueCount %d)",
            self.function.queue_name, message.id, poison.queue_name, count, self.options.max_dequeue_count,
        )  # fmt: skip
