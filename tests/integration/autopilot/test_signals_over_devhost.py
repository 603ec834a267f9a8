"""Signals in, guarded failovers out, through the devhost over HTTP: the alert webhook and the Event Grid webhook
queue what they receive, the signals-queue trigger decides, and the engine's queue trigger runs the failovers
against the HTTPS ASR emulator. Every decision is read back from ``GET /api/decisions``."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.autopilot.conftest import AutopilotApi, outcomes
from tests.integration.workflows.conftest import topology
from tests.unit.autopilot.payloads import (
    RESOLVED,
    as_cloudevent,
    custom_event,
    maintenance,
    service_health,
    synthetic,
)
from tests.unit.signals.fixtures import load

pytestmark = pytest.mark.integration

DECISION_FIELDS = ["id", "at", "region", "incident", "sources", "outcome", "reasons", "runs", "policyHash"]


def _failovers(api: AutopilotApi) -> list[dict[str, Any]]:
    return [r for r in api.runs() if r["kind"] == "failover"]


def test_one_incident_delivered_twenty_times_starts_one_failover_and_noise_starts_nothing(
    autopilot_stack: Any,
) -> None:
    vms = ["web-1", "web-2"]
    policy = {"regions": {"eastus": {"targets": [{"vms": vms}], "mode": "auto"}}}
    with autopilot_stack(topology([*vms, "db"]), policy) as api:
        noise = [service_health(RESOLVED, tracking="OLD-1", data_id="old-1"), maintenance(), synthetic(),
                 service_health(region="West Europe", tracking="WE-1", data_id="we-1")]  # fmt: skip
        assert [api.alert(body).status for body in noise] == [202] * 4
        seen = api.wait_decisions(None, lambda d: len(d) >= 4)
        # A maintenance weighed after the old resolve reads "recovered": either way, nothing starts.
        assert len(seen) == 4 and {d["outcome"] for d in seen} <= {"ignored", "recovered"}
        assert api.runs() == [] and api.posts("unplannedFailover") == 0

        deliveries = [service_health()] * 20 + [service_health(RESOLVED, region="West US", tracking="9W",
                                                               data_id="west-resolved")] * 5  # fmt: skip
        random.Random(11).shuffle(deliveries)
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(api.alert, deliveries))
        assert [r.status for r in replies] == [202] * 25, [r.raw for r in replies if r.status != 202]
        east = api.wait_decisions("eastus", lambda d: "started" in outcomes(d))
        [run] = _failovers(api)
        view = api.wait(run["runId"])
        assert view["status"] == "succeeded", view
        assert api.posts("unplannedFailover") == len(vms)  # one failover POST per VM, however many deliveries
        assert all(api.vm(vm)["primaryRegion"] == "westus" for vm in vms)

        # Redeliveries found the notification stored: weighed (dropped) or being weighed (looked again later).
        assert outcomes(east).count("started") == 1, outcomes(east)
        trigger = view["request"]["trigger"]
        started = next(d for d in east if d["id"] == trigger["decision"])
        assert started["outcome"] == "started" and not any("already started" in r for r in started["reasons"])
        assert list(started)[: len(DECISION_FIELDS)] == DECISION_FIELDS
        assert started["runs"] == [run["runId"]] and started["incident"] == "service-health:7K2Q-LP0"
        assert started["sources"] == ["service-health"] and started["region"] == "eastus"
        assert view["requestedBy"]["name"] == "autopilot" and "7K2Q-LP0" in view["why"]
        assert (trigger["region"], trigger["policyHash"]) == ("eastus", started["policyHash"])
        assert all(run_id == run["runId"] for d in api.decisions("eastus") for run_id in d["runs"])
        assert "ignored" in outcomes(api.decisions("westus"))

        policy_view = api.call("GET", "policy").json
        assert policy_view["valid"] and policy_view["policyHash"] == started["policyHash"]
        assert policy_view["policy"]["regions"]["eastus"]["cooldownMinutes"] == 1440  # defaults filled in
        since = api.call("GET", "decisions", query={"since": started["at"], "region": "eastus"}).json["decisions"]
        assert since and all(d["at"] >= started["at"] for d in since)


def test_bad_webhook_bodies_are_refused_with_the_reason_and_nothing_is_queued(autopilot_stack: Any) -> None:
    bad_policy = '{"regions": {"eastus": {"targets": [{"vms": ["web-1"]}], "mode": "sometimes"}}}'
    with autopilot_stack(topology(["web-1"]), bad_policy) as api:
        health = api.call("GET", "health", key=False).json
        assert health["status"] == "degraded" and "DR_POLICY" in health["invalidSettings"]
        assert any(line.startswith("regions.eastus.mode:") for line in health["policyErrors"])
        assert "regions.eastus.mode" in api.host.log()  # the log line at start names the field
        policy_view = api.call("GET", "policy").json
        assert not policy_view["valid"] and policy_view["errors"][0]["path"] == "regions.eastus.mode"

        not_json = api.call("POST", "alerts", raw=b"{nope", headers={"Content-Type": "application/json"})
        assert not_json.status == 400 and not_json.field == "body"
        array = api.alert([1, 2])
        assert array.status == 400 and array.field, array.raw
        broken = service_health()
        del broken["data"]["essentials"]
        refused = api.alert(broken)
        assert refused.status == 400 and refused.field, refused.raw
        assert api.call("GET", "decisions", query={"region": "East US"}).status == 400
        assert api.alert({"hello": "world"}).status == 202  # valid JSON in no known schema: recorded as ignored
        [unknown] = api.wait_decisions(None, lambda d: len(d) >= 1)
        assert unknown["outcome"] == "ignored" and "unknown-schema" in unknown["reasons"][0]

        assert api.alert(service_health()).status == 202
        [suppressed] = api.wait_decisions("eastus", lambda d: len(d) >= 1)
        assert suppressed["outcome"] == "suppressed" and "the policy is invalid" in suppressed["reasons"][0]
        assert api.runs() == []


APPROVALS = {
    "eastus": {"targets": [{"vms": ["web-1"]}], "mode": "approval", "approvalTimeoutMinutes": 600},
    "centralus": {"targets": [{"vms": ["web-2"]}], "mode": "approval", "approvalTimeoutMinutes": 1},
    "southcentralus": {"targets": [{"vms": ["web-3"]}], "mode": "approval", "approvalTimeoutMinutes": 1,
                       "onApprovalTimeout": "proceed"},
    "northeurope": {"targets": [{"vms": ["web-4"]}], "mode": "dry-run"},
    "japaneast": {"targets": [{"vms": ["web-5"]}], "mode": "auto", "requireDrillWithinDays": 30},
}  # fmt: skip


def _run_of(api: AutopilotApi, region: str, outcome: str) -> str:
    decisions = api.wait_decisions(region, lambda d: any(x["outcome"] == outcome and x["runs"] for x in d))
    run_id: str = next(d for d in decisions if d["outcome"] == outcome)["runs"][0]
    return run_id


def test_approval_waits_expires_or_proceeds_and_dry_run_and_the_drill_gate_start_nothing_alone(
    autopilot_stack: Any,
) -> None:
    vms = [f"web-{i}" for i in range(1, 6)]
    with autopilot_stack(topology(vms), {"regions": APPROVALS}) as api:
        names = {"eastus": "East US", "centralus": "Central US", "southcentralus": "South Central US",
                 "northeurope": "North Europe", "japaneast": "Japan East"}  # fmt: skip
        for i, (region, name) in enumerate(names.items()):
            assert api.alert(service_health(region=name, tracking=f"T-{region}", data_id=f"n-{i}")).status == 202

        waiting = _run_of(api, "eastus", "awaiting-approval")
        paused = api.wait_status(waiting, "awaiting-approval")
        assert (paused["step"], paused["approval"]) == ("preflight", "failover")
        assert api.vm("web-1")["primaryRegion"] == "eastus"  # no ASR action before the approval

        expired = api.wait_status(_run_of(api, "centralus", "awaiting-approval"), "failed")
        assert expired["errorCode"] == "ApprovalExpired" and api.vm("web-2")["primaryRegion"] == "eastus"
        proceeded = api.wait_status(_run_of(api, "southcentralus", "awaiting-approval"), "succeeded")
        assert proceeded["requestedBy"]["name"] == "autopilot" and api.vm("web-3")["primaryRegion"] == "westus"

        gated = api.wait_decisions("japaneast", lambda d: len(d) >= 1)[0]
        assert gated["outcome"] == "awaiting-approval" and "no successful drill" in " ".join(gated["reasons"])
        assert api.wait_status(gated["runs"][0], "awaiting-approval")["approval"] == "failover"
        dry = api.wait_decisions("northeurope", lambda d: len(d) >= 1)[0]
        assert dry["outcome"] == "dry-run" and dry["runs"] == [] and dry["targets"][0]["action"] == "would-start"

        approved = api.call("POST", f"runs/{waiting}/approve", {"comment": "region is down, go"})
        assert approved.status == 200, approved.raw
        assert api.wait_status(waiting, "succeeded")["status"] == "succeeded"
        assert api.vm("web-1")["primaryRegion"] == "westus"

        # The expired incident notified again: it does not ask twice, and starts nothing.
        api.alert(service_health(region="Central US", tracking="T-centralus", data_id="again"))
        again = api.wait_decisions("centralus", lambda d: len(d) >= 2)[0]
        assert again["outcome"] == "suppressed" and "already started a run for incident" in " ".join(again["reasons"])
        assert api.vm("web-2")["primaryRegion"] == "eastus" and api.vm("web-4")["primaryRegion"] == "eastus"
        assert len(_failovers(api)) == 4  # eastus, centralus, southcentralus, japaneast; none for the dry run


GUARDS = {
    "westeurope": {"targets": [{"vms": ["web-1"]}], "mode": "auto", "minSources": 2},
    "francecentral": {"targets": [{"vms": ["web-2"]}], "mode": "auto", "dwellMinutes": 10},
    "uksouth": {"targets": [{"vms": ["web-3"]}], "mode": "auto", "dwellMinutes": 5},
    "eastasia": {"targets": [{"vms": ["web-4", "web-5"]}], "mode": "auto", "maxVms": 1},
    "australiaeast": {"targets": [{"vms": ["web-6"]}], "mode": "auto"},
}


def _now(seconds: float = 0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def test_quorum_over_event_grid_dwell_cap_and_cooldown(autopilot_stack: Any) -> None:
    with autopilot_stack(topology([f"web-{i}" for i in range(1, 7)]), {"regions": GUARDS}) as api:
        validation = load("eventgrid-subscription-validation-event.json")
        handshake = api.eventgrid(validation, {"aeg-event-type": "SubscriptionValidation"})
        assert handshake.status == 200 and handshake.json["validationResponse"]
        options = api.eventgrid(None, {"WebHook-Request-Origin": "eventgrid.azure.net"}, method="OPTIONS")
        assert options.status == 200 and options.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"

        # Quorum: Service Health alone waits; a custom event (a second source) over Event Grid completes it.
        api.alert(service_health(region="West Europe", tracking="WE-9", data_id="we-9"))
        assert outcomes(api.wait_decisions("westeurope", lambda d: len(d) >= 1)) == ["waiting-quorum"]
        event = custom_event(region="West Europe", incident="checkout-we", at=_now())
        elsewhere = custom_event(region="Brazil South", incident="br", at=_now())
        blob = load("eventgrid-schema-envelope-blobcreated.json")[0]
        broken = {**event, "data": {"state": "bogus"}, "id": "broken-1"}
        batch = [event] * 5 + [elsewhere] * 3 + [blob, broken]
        assert len(batch) == 10
        assert api.eventgrid(batch, {"aeg-event-type": "Notification"}).status == 202  # a bad event never fails it
        cloud = [as_cloudevent(event)] * 3
        headers = {"Content-Type": "application/cloudevents-batch+json"}
        assert api.eventgrid(cloud, headers).status == 202
        west = api.wait_decisions("westeurope", lambda d: "started" in outcomes(d))
        started = next(d for d in west if d["outcome"] == "started")
        assert started["sources"] == ["custom", "service-health"]
        assert outcomes(west).count("started") == 1  # duplicates in both schemas were one notification

        # Dwell: a resolve inside the dwell cancels it; without one, the timer starts the run.
        api.eventgrid([custom_event(region="France Central", incident="fr", at=_now(), event_id="fr-1")])
        api.eventgrid([custom_event(region="UK South", incident="uk", at=_now(), event_id="uk-1")])
        assert outcomes(api.wait_decisions("francecentral", lambda d: len(d) >= 1)) == ["waiting-dwell"]
        api.eventgrid([custom_event(region="France Central", incident="fr", state="resolved", at=_now(1),
                                    event_id="fr-2")])  # fmt: skip
        uk = api.wait_decisions("uksouth", lambda d: "started" in outcomes(d), deadline_s=30)
        assert outcomes(uk)[0] == "waiting-dwell" and next(d for d in uk if d["outcome"] == "started")["runs"]

        # Cap: two VMs for maxVms 1.
        api.alert(service_health(region="East Asia", tracking="EA-1", data_id="ea-1"))
        [capped] = api.wait_decisions("eastasia", lambda d: len(d) >= 1)
        assert capped["outcome"] == "suppressed" and "exceed maxVms 1" in capped["reasons"][0]

        # Cooldown: a second incident after an automatic failover of the same target.
        api.alert(service_health(region="Australia East", tracking="AU-1", data_id="au-1"))
        first = _run_of(api, "australiaeast", "started")
        assert api.wait(first)["status"] == "succeeded"
        api.alert(service_health(RESOLVED, region="Australia East", tracking="AU-1", data_id="au-1-end"))
        assert api.wait_decisions("australiaeast", lambda d: len(d) >= 2)[0]["outcome"] == "recovered"
        api.alert(service_health(region="Australia East", tracking="AU-2", data_id="au-2"))
        latest = api.wait_decisions("australiaeast", lambda d: len(d) >= 3)[0]
        assert latest["outcome"] == "suppressed" and "cooldown" in " ".join(latest["reasons"])

        # Past France Central's dwell (10 min x 0.01 = 6 s) its timer decides again: wait for that decision.
        france = api.wait_decisions("francecentral", lambda d: len(d) >= 3, deadline_s=60)
        assert "started" not in outcomes(france) and outcomes(france)[-1] == "recovered"
        assert len(outcomes(france)) >= 3  # waiting-dwell, recovered, and the timer's recovered
        assert api.vm("web-2")["primaryRegion"] == "eastus" and api.vm("web-4")["primaryRegion"] == "eastus"
        kinds = sorted(r["request"]["target"]["vms"][0] for r in
                       (api.call("GET", f"runs/{x['runId']}").json for x in _failovers(api)))  # fmt: skip
        assert kinds == ["web-1", "web-3", "web-6"]


def test_the_kill_switch_stops_an_automatic_failover_and_says_so(autopilot_stack: Any) -> None:
    vms = ["web-1", "web-2"]
    policy = {"killSwitch": True, "regions": {"eastus": {"targets": [{"vms": vms}], "mode": "auto"}}}
    with autopilot_stack(topology(vms), policy) as api:
        assert [api.alert(service_health()).status for _ in range(3)] == [202] * 3
        [decision] = api.wait_decisions("eastus", lambda d: len(d) >= 1)
        assert decision["outcome"] == "suppressed" and "kill switch" in decision["reasons"][0], decision
        assert decision["runs"] == [] and decision["incident"] == "service-health:7K2Q-LP0"
        time.sleep(2)  # redeliveries weighed too: still nothing started
        assert api.runs() == [] and api.posts("unplannedFailover") == 0
        assert all(api.vm(vm)["primaryRegion"] == "eastus" for vm in vms)
