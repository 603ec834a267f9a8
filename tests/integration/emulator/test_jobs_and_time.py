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
from tests.integration.emulator.helpers import (
    Client,
    begin,
    container_id,
    failover_input,
    find_item,
    switch_input,
    where,
)
from tests.integration.emulator.test_actions import tfo_input

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


def test_a_test_failover_is_cancelled_through_an_lro_and_its_own_poller_reports_canceled(
    emu: EmulatorInfo, client: Client
) -> None:
    rg, vault = emu.resource_group, emu.vault
    item = find_item(client, emu, "vm1")
    poller, job_name = begin(
        client.replication_protected_items.begin_test_failover, rg, vault, *where(item), tfo_input()
    )
    assert client.replication_jobs.get(rg, vault, job_name).properties.allowed_actions == ["Cancel"]
    headers: list[Any] = []
    cancel = client.replication_jobs.begin_cancel(
        rg, vault, job_name, raw_response_hook=lambda r: headers.append(r.http_response)
    )
    first = headers[0]
    assert first.status_code == 202 and first.headers["Location"] and first.headers["Azure-AsyncOperation"]
    job = cancel.result()  # the cancel operation succeeded: its result is the cancelled job
    assert job.name == job_name and job.properties.state == "Cancelled" and job.properties.allowed_actions == []
    with pytest.raises(HttpResponseError) as cancelled:
        poller.result()
    assert "canceled" in str(cancelled.value).lower()
    emu.advance(600)  # nothing of the cancelled job happens later
    item = find_item(client, emu, "vm1")
    assert item.properties.protection_state == "Protected" and item.properties.test_failover_state in (None, "None")
    assert "TestFailover" in item.properties.allowed_operations


def test_a_failover_job_offers_no_cancel_and_refuses_one(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    item = find_item(client, emu, "vm1")
    _poller, job_name = begin(
        client.replication_protected_items.begin_unplanned_failover, rg, vault, *where(item), failover_input()
    )
    assert client.replication_jobs.get(rg, vault, job_name).properties.allowed_actions == []
    with pytest.raises(HttpResponseError) as refused:
        client.replication_jobs.begin_cancel(rg, vault, job_name)
    assert refused.value.status_code == 400 and "Cancel" in str(refused.value)


def test_a_reprotect_offers_cancel_only_before_it_starts_replicating(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    failover = client.replication_protected_items.begin_unplanned_failover(
        rg, vault, *where(find_item(client, emu, "vm1")), failover_input()
    )
    emu.advance(600)
    failover.result()
    commit = client.replication_protected_items.begin_failover_commit(rg, vault, *where(find_item(client, emu, "vm1")))
    emu.advance(600)
    commit.result()
    item = find_item(client, emu, "vm1")
    fabric, container, _ = where(item)
    _poller, job_name = begin(
        client.replication_protection_containers.begin_switch_protection,
        rg, vault, fabric, container, switch_input(item, container_id(item)),
    )  # fmt: skip
    assert client.replication_jobs.get(rg, vault, job_name).properties.allowed_actions == ["Cancel"]
    emu.advance(200)  # past the initial tasks (about 2 min): the reverse replication has started
    assert client.replication_jobs.get(rg, vault, job_name).properties.allowed_actions == []
    with pytest.raises(HttpResponseError) as refused:
        client.replication_jobs.begin_cancel(rg, vault, job_name)
    assert refused.value.status_code == 400


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
