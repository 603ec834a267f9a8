"""Queue, timer and Event Grid triggers through the devhost, on Azurite."""

from __future__ import annotations

import base64
import contextlib
import json
import time
import uuid

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from lib.adapters.storage_clients import StorageClients
from lib.adapters.storage_work_queue import StorageWorkQueue
from tests.integration.devhost.conftest import SampleHost

pytestmark = pytest.mark.integration


def _raw(sample: SampleHost, name: str) -> QueueClient:
    return StorageClients.from_connection_string(sample.connection_string).queue(name)


def test_a_message_the_engine_adapter_enqueues_reaches_the_trigger_decoded(sample: SampleHost) -> None:
    queue = StorageWorkQueue.from_clients(StorageClients.from_connection_string(sample.connection_string), sample.queue)
    body = json.dumps({"run": "r1", "text": "héllo"})
    message_id = queue.send(body)
    (record,) = sample.wait_for("queue", where=lambda r: r["id"] == message_id)
    assert record["body"] == body
    assert record["dequeue_count"] == 1 and record["pop_receipt"]
    assert record["insertion_time"] and record["expiration_time"]
    assert record["type"] == "azure.functions.queue.QueueMessage"
    deadline = time.monotonic() + 10
    while queue.approximate_count() and time.monotonic() < deadline:  # deleted after success
        time.sleep(0.1)
    assert queue.approximate_count() == 0


def test_messages_are_base64_on_the_wire(sample: SampleHost) -> None:
    raw = _raw(sample, sample.queue)
    raw.send_message(base64.b64encode(b"plain bytes").decode())
    assert sample.wait_for("queue", where=lambda r: r["body"] == "plain bytes")


def test_a_raising_trigger_is_redelivered_then_moved_to_the_poison_queue(sample: SampleHost) -> None:
    body = f"doomed-{uuid.uuid4().hex[:6]}"
    sent = _raw(sample, sample.fail_queue).send_message(base64.b64encode(body.encode()).decode())
    attempts = sample.wait_for("fail", 3, where=lambda r: r["id"] == sent.id)
    (poisoned,) = sample.wait_for("poison", where=lambda r: r["body"] == body)
    assert [a["dequeue_count"] for a in attempts] == [1, 2, 3]  # maxDequeueCount 3 in the sample host.json
    assert poisoned["id"] != sent.id and poisoned["dequeue_count"] == 1  # a new message with the same body
    time.sleep(1.5)  # longer than visibilityTimeout: a fourth attempt would have happened by now
    assert len([r for r in sample.records("fail") if r["id"] == sent.id]) == 3
    props = _raw(sample, sample.fail_queue).get_queue_properties()
    assert props.approximate_message_count == 0
    assert sample.host.log_with(f"message {sent.id} moved to {sample.fail_queue}-poison after 3 attempts")


def test_redelivery_waits_for_the_visibility_timeout(sample: SampleHost) -> None:
    body = f"slow-{uuid.uuid4().hex[:6]}"
    sent = _raw(sample, sample.fail_queue).send_message(base64.b64encode(body.encode()).decode())
    started = time.monotonic()
    first_two = sample.wait_for("fail", 2, where=lambda r: r["id"] == sent.id)[:2]
    assert [r["dequeue_count"] for r in first_two] == [1, 2]
    assert time.monotonic() - started >= 1.0  # visibilityTimeout 00:00:01 between the attempts


def test_a_body_that_is_not_base64_ends_in_the_poison_queue_untouched(sample: SampleHost) -> None:
    _raw(sample, sample.queue).send_message("not base64 !!")
    poison = _raw(sample, f"{sample.queue}-poison")
    deadline, found = time.monotonic() + 20, []
    while time.monotonic() < deadline and "not base64 !!" not in found:
        time.sleep(0.2)
        with contextlib.suppress(ResourceNotFoundError):  # the host creates the poison queue on first use
            found = [m.content for m in poison.peek_messages(max_messages=32)]
    assert "not base64 !!" in found
    assert all(r["body"] != "not base64 !!" for r in sample.records("queue"))


def test_messages_run_concurrently_up_to_batch_size(sample: SampleHost) -> None:
    queue = StorageWorkQueue.from_clients(
        StorageClients.from_connection_string(sample.connection_string), sample.slow_queue
    )
    for i in range(8):
        queue.send(f"slow {i}")
    sample.wait_for("slow-end", 8, timeout=30)
    running, most = 0, 0
    lines = [json.loads(line) for line in sample.record_file.read_text().splitlines()]
    for record in lines:  # file order is the order the invocations started and ended
        if record["kind"] in ("slow-start", "slow-end"):
            running += 1 if record["kind"] == "slow-start" else -1
            most = max(most, running)
    assert 2 <= most <= 6  # batchSize 4 + newBatchThreshold 2 (its default) in the sample host.json


def test_run_on_startup_fires_once_and_a_schedule_fires_on_time(sample: SampleHost) -> None:
    (startup,) = sample.wait_for("startup")
    assert startup == {"kind": "startup", "past_due": False, "type": "TimerRequest"}
    sample.wait_for("tick", 2, timeout=10)  # "*/2 * * * * *": every two seconds
    time.sleep(0.5)
    assert len(sample.records("startup")) == 1


def _eventgrid(
    sample: SampleHost, body: object, headers: dict[str, str], key: str | None = "eg"
) -> tuple[int, dict[str, str], bytes]:
    code = {"eg": sample.host.eventgrid_key, "master": sample.host.master_key}.get(key or "", key)
    query = "functionName=on_event" + (f"&code={code}" if code else "")
    return sample.host.request("POST", f"/runtime/webhooks/eventgrid?{query}", body, headers=headers)


def test_eventgrid_subscription_validation_handshake(sample: SampleHost) -> None:
    event = {
        "id": "v1", "topic": "t", "subject": "", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2026-01-01T00:00:00Z", "dataVersion": "2",
        "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6", "validationUrl": "https://x"},
    }  # fmt: skip
    status, _, body = _eventgrid(sample, [event], {"aeg-event-type": "SubscriptionValidation"})
    assert status == 200 and json.loads(body) == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}
    assert sample.records("event") == [] or all(r["id"] != "v1" for r in sample.records("event"))


def test_eventgrid_schema_array_calls_the_function_once_per_event(sample: SampleHost) -> None:
    events = [
        {"id": f"e{i}", "topic": "/subscriptions/x", "subject": f"vm{i}", "eventType": "Sample.Happened",
         "eventTime": "2026-01-01T00:00:00Z", "dataVersion": "1", "data": {"n": i}}
        for i in range(3)
    ]  # fmt: skip
    status, _, _ = _eventgrid(sample, events, {"aeg-event-type": "Notification"}, key="master")
    assert status == 202
    got = {r["id"]: r for r in sample.wait_for("event", 3, where=lambda r: r["id"] in {"e0", "e1", "e2"})}
    assert got["e2"] == {"kind": "event", "id": "e2", "type": "Sample.Happened", "subject": "vm2", "data": {"n": 2}}


def test_cloudevents_single_and_batch_and_the_options_handshake(sample: SampleHost) -> None:
    host = sample.host
    path = f"/runtime/webhooks/eventgrid?functionName=on_event&code={host.eventgrid_key}"
    status, headers, _ = host.request("OPTIONS", path, headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
    assert status == 200 and headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    one = {"specversion": "1.0", "id": "c1", "source": "/src", "type": "Sample.Cloud", "data": {"a": 1}}
    status, _, _ = host.request("POST", path, one, headers={"Content-Type": "application/cloudevents+json"})
    assert status == 202
    batch = [{**one, "id": "c2"}, {**one, "id": "c3"}]
    status, _, _ = host.request("POST", path, batch, headers={"Content-Type": "application/cloudevents-batch+json"})
    assert status == 202
    got = {r["id"]: r for r in sample.wait_for("cloudevent", 3)}
    assert set(got) == {"c1", "c2", "c3"}
    assert got["c1"] == {"kind": "cloudevent", "id": "c1", "type": "Sample.Cloud", "source": "/src", "data": {"a": 1}}


@pytest.mark.parametrize("key", [None, "wrong"])
def test_eventgrid_webhook_needs_the_system_or_master_key(sample: SampleHost, key: str | None) -> None:
    status, _, _ = _eventgrid(sample, [], {"aeg-event-type": "Notification"}, key=key)
    assert status == 401
    status, _, _ = sample.host.request(
        "POST", "/runtime/webhooks/eventgrid?functionName=on_event", [], key=sample.host.function_key
    )
    assert status == 401  # a function key is not enough


def test_eventgrid_bad_deliveries_and_a_failing_handler(sample: SampleHost) -> None:
    assert _eventgrid(sample, b"{not json", {})[0] == 400
    assert _eventgrid(sample, {"id": "x", "eventType": "y", "subject": "z"}, {})[0] == 400  # EG schema needs an array
    assert _eventgrid(sample, [{"id": "x"}], {})[0] == 400
    failing = [{"id": "f1", "subject": "s", "eventType": "Sample.Fail", "data": {}, "dataVersion": "1"}]
    status, _, body = _eventgrid(sample, failing, {"aeg-event-type": "Notification"})
    assert status == 500 and b"invocationId" in body  # Event Grid will retry the delivery
    path = f"/runtime/webhooks/eventgrid?functionName=nope&code={sample.host.master_key}"
    assert sample.host.request("POST", path, [])[0] == 404


def test_admin_api_runs_a_timer_or_queue_function_now_with_the_master_key(sample: SampleHost) -> None:
    host = sample.host
    status, _, body = host.request("POST", "/admin/functions/on_message", {"input": "by admin"}, key=host.master_key)
    assert status == 202 and json.loads(body)["status"] == "Succeeded"
    (record,) = sample.records("queue") and [r for r in sample.records("queue") if r["body"] == "by admin"]
    assert record["dequeue_count"] == 1
    status, _, body = host.request("POST", "/admin/functions/every_two_seconds", {}, key=host.master_key)
    assert status == 202 and json.loads(body)["status"] == "Succeeded"
    status, _, body = host.request("POST", "/admin/functions/on_failing_message", {"input": "x"}, key=host.master_key)
    assert status == 202 and json.loads(body)["status"] == "Failed"
    assert host.request("POST", "/admin/functions/every_two_seconds", {}, key=host.function_key)[0] == 401
    assert host.request("POST", "/admin/functions/nope", {"input": ""}, key=host.master_key)[0] == 404
    assert host.request("POST", "/admin/functions/on_message", {"input": 3}, key=host.master_key)[0] == 400
