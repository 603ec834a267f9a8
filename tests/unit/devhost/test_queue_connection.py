"""The devhost resolves a queue trigger's connection as the host does: a connection string first, else the
identity-based ``AzureWebJobsStorage__*`` settings; what is missing is named."""

from __future__ import annotations

import pytest

from devhost.discovery import QueueFunction
from devhost.queue_host import _storage

FUNCTION = QueueFunction("engine_work", "msg", lambda msg: None, "drwork", "AzureWebJobsStorage")


def test_a_connection_string_is_used_as_is() -> None:
    clients = _storage(FUNCTION, {"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert clients.config.connection_string == "UseDevelopmentStorage=true"
    assert clients.queue("drwork").url == "http://127.0.0.1:10001/devstoreaccount1/drwork"


def test_identity_based_settings_stand_in_for_it() -> None:
    env = {"AzureWebJobsStorage": "", "AzureWebJobsStorage__queueServiceUri": "https://st1.queue.core.windows.net",
           "AzureWebJobsStorage__credential": "managedidentity"}  # fmt: skip
    clients = _storage(FUNCTION, env)
    assert clients.config.uses_identity and clients.config.url("queue") == "https://st1.queue.core.windows.net"


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"AzureWebJobsStorage__credential": ""}, "connection setting 'AzureWebJobsStorage' is not set"),
        ({"AzureWebJobsStorage__accountName": "st1", "AzureWebJobsStorage__credential": "key"},
         "engine_work: AzureWebJobsStorage__credential: is not supported"),
    ],
)  # fmt: skip
def test_what_is_missing_or_wrong_is_named(env: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        _storage(FUNCTION, env)


@pytest.mark.parametrize(("pool", "workers"), [("", 24), ("6", 6), ("64", 24), ("x", 24)])
def test_the_worker_s_thread_pool_size_caps_concurrent_invocations_when_set(pool: str, workers: int) -> None:
    from devhost.hostjson import QueueOptions
    from devhost.queue_host import QueueListener

    env = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "PYTHON_THREADPOOL_THREAD_COUNT": pool}
    listener = QueueListener(FUNCTION, QueueOptions(batch_size=16), env)
    assert listener._pool._max_workers == workers
    listener._pool.shutdown()
