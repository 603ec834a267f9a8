"""The Event Grid adapter against a local HTTPS topic (a trustme CA): key header, CloudEvents batch, failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme
from azure.core.credentials import AzureKeyCredential

from lib.adapters.eventgrid_publisher import EventGridPublisher
from lib.domain.events import OperatorEvent
from lib.ports.events import PublishFailed
from tests.integration.events.conftest import KEY, TopicState, local_topic

pytestmark = pytest.mark.integration

T = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.fixture
def https_topic(tmp_path: Path) -> Iterator[tuple[str, TopicState, str]]:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with local_topic(tls=ca) as (endpoint, state):
        yield endpoint, state, str(bundle)


def events() -> list[OperatorEvent]:
    return [
        OperatorEvent("r1/2/Started", "Autopilot.Run.Started", "runs/r1", T, {"runId": "r1"}),
        OperatorEvent("r1/5/Succeeded", "Autopilot.Run.Succeeded", "runs/r1", T, {"runId": "r1"}),
    ]


def test_events_are_posted_as_a_cloudevents_batch_with_the_key(https_topic: tuple[str, TopicState, str]) -> None:
    endpoint, topic, bundle = https_topic
    EventGridPublisher(endpoint, AzureKeyCredential(KEY), "/test", ca_bundle=bundle).send(events())
    assert [(e["id"], e["type"], e["source"], e["subject"]) for e in topic.accepted] == [
        ("r1/2/Started", "Autopilot.Run.Started", "/test", "runs/r1"),
        ("r1/5/Succeeded", "Autopilot.Run.Succeeded", "/test", "runs/r1"),
    ]
    assert topic.accepted[0]["data"] == {"runId": "r1"} and topic.accepted[0]["time"].startswith("2026-11-29T10:00")


def test_a_wrong_key_and_a_503_raise_publish_failed_after_one_request(https_topic: tuple[str, TopicState, str]) -> None:
    endpoint, topic, bundle = https_topic
    with pytest.raises(PublishFailed, match="HTTP 401"):
        EventGridPublisher(endpoint, AzureKeyCredential("wrong"), ca_bundle=bundle).send(events())
    topic.failing = True
    with pytest.raises(PublishFailed, match="HTTP 503"):
        EventGridPublisher(endpoint, AzureKeyCredential(KEY), ca_bundle=bundle).send(events())
    assert topic.requests == [401, 503]  # one try each: retries belong to the retry queue


def test_an_unknown_ca_is_a_publish_failure(https_topic: tuple[str, TopicState, str]) -> None:
    endpoint, topic, _ = https_topic
    with pytest.raises(PublishFailed):
        EventGridPublisher(endpoint, AzureKeyCredential(KEY)).send(events())
    assert topic.accepted == []
