"""Job cancellation (op-status ``Canceled``), LRO result URL while running, time scale and seed determinism."""

from __future__ import annotations

import json
import ssl
import urllib.request
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline import PipelineResponse

from emulator.launcher import EmulatorInfo
from tests.integration.emulator.conftest import EmulatorFactory, make_client
from tests.integration.emulator.helpers import Client, begin, failover_input, find_item, where

pytestmark = pytest.mark.integration


def _get(emu: EmulatorInfo, url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": "Bearer t"})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=emu.ca_bundle)) as response:
        return response.status, response.read()


def test_location_answers_202_until_the_job_ends(emu: EmulatorInfo, client: Client) -> None:
    item = find_item(client, emu, "vm1")
    locations: list[str] = []

    def hook(response: PipelineResponse[Any, Any]) -> None:
        location = response.http_response.headers.get("Location")
        if location and not locations:
            locations.append(location)

    poller = client.replication_protected_items.begin_unplanned_failover(
        emu.resource_group, emu.vault, *where(item), failover_input(), raw_response_hook=hook
    )
    status, body = _get(emu, locations[0])
    assert (status, body) == (202, b"")
    emu.advance(600)
    poller.result()
    status, body = _get(emu, locations[0])
    assert (
        status == 200
        and json.loads(body)["properties"]["protectionState"] == "UnplannedFailoverCommitPendingStatesBegin"
    )


def test_cancelled_job_is_reported_as_canceled_to_the_poller(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    item = find_item(client, emu, "vm1")
    poller, job_name = begin(
        client.replication_protected_items.begin_unplanned_failover, rg, vault, *where(item), failover_input()
    )
    job = client.replication_jobs.begin_cancel(rg, vault, job_name).result()
    assert job.properties.state == "Cancelled"
    with pytest.raises(HttpResponseError) as cancelled:
        poller.result()
    assert "canceled" in str(cancelled.value).lower()
    emu.advance(600)  # nothing of the cancelled job happens later
    item = find_item(client, emu, "vm1")
    assert item.properties.protection_state == "Protected"
    assert "UnplannedFailover" in item.properties.allowed_operations


def test_same_seed_same_jobs_and_a_scaled_clock_runs_on_its_own(emulator_factory: EmulatorFactory) -> None:
    runs = []
    for _ in range(2):
        emu = emulator_factory(time_scale=6000, seed=42)
        client = make_client(emu)
        item = find_item(client, emu, "vm1")
        poller, job_name = begin(client.replication_protected_items.begin_unplanned_failover,
                                 emu.resource_group, emu.vault, *where(item), failover_input())  # fmt: skip
        assert poller.result().properties.active_location == "Recovery"  # no advance(): time runs 6000x
        job = client.replication_jobs.get(emu.resource_group, emu.vault, job_name)
        durations = [
            (t.end_time - t.start_time).total_seconds() for t in job.properties.tasks if t.state == "Succeeded"
        ]
        runs.append((item.name, job_name, durations))
    assert runs[0] == runs[1]
    assert 120 <= sum(runs[0][2]) <= 180  # an A2A failover takes ~2-3 emulated minutes
