"""The policy: defaults, the JSON form and its hash, where it is read from, and every bad policy refused with
the JSON path of each error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lib.guard import (
    Mode,
    OnApprovalTimeout,
    Policy,
    PolicyErrors,
    PolicyInvalid,
    Target,
    parse_policy,
    policy_from_env,
)
from lib.signals import DEFAULT_SERVICES

FULL = {
    "killSwitch": False,
    "regions": {
        "eastus": {
            "targets": [{"recoveryPlan": "rp-east"}, {"vms": ["web-1", "web-2"]}],
            "mode": "approval",
            "minSources": 2,
            "dwellMinutes": 10,
            "cooldownMinutes": 60,
            "maxVms": 50,
            "approvalTimeoutMinutes": 30,
            "onApprovalTimeout": "proceed",
            "requireDrillWithinDays": 30,
            "includeMaintenance": True,
            "unavailableVmShare": 0.25,
            "services": ["Virtual Machines", "Storage"],
            "probes": [{"url": "https://app.example.com/health", "failuresToSignal": 5}],
            "failover": {
                "recoveryPoint": "LatestProcessed",
                "shutdownSource": False,
                "autoCommit": False,
                "autoReprotect": False,
            },
        },
        "northeurope": {"targets": [{"vms": ["db-1"]}]},
    },
}


def ok(data: Any) -> Policy:
    parsed = parse_policy(json.dumps(data))
    assert isinstance(parsed, Policy), parsed
    return parsed


def test_every_key_is_read() -> None:
    east = ok(FULL).regions["eastus"]
    assert east.targets == (Target(recovery_plan="rp-east"), Target(vms=("web-1", "web-2")))
    assert (east.mode, east.min_sources, east.dwell_minutes, east.cooldown_minutes) == (Mode.APPROVAL, 2, 10, 60)
    assert (east.max_vms, east.approval_timeout_minutes) == (50, 30)
    assert east.on_approval_timeout is OnApprovalTimeout.PROCEED
    assert (east.require_drill_within_days, east.include_maintenance, east.unavailable_vm_share) == (30, True, 0.25)
    assert east.services == ("Virtual Machines", "Storage")
    assert east.probes[0].url == "https://app.example.com/health" and east.probes[0].failures_to_signal == 5
    assert east.failover.recovery_point == "LatestProcessed"
    assert not (east.failover.shutdown_source or east.failover.auto_commit or east.failover.auto_reprotect)


def test_defaults_are_the_issues() -> None:
    region = ok({"regions": {"westus": {"targets": [{"recoveryPlan": "rp"}]}}}).regions["westus"]
    assert region.to_json() == {
        "targets": [{"recoveryPlan": "rp"}],
        "mode": "dry-run",
        "minSources": 1,
        "dwellMinutes": 0,
        "cooldownMinutes": 1440,
        "maxVms": 500,
        "approvalTimeoutMinutes": 60,
        "onApprovalTimeout": "expire",
        "requireDrillWithinDays": None,
        "includeMaintenance": False,
        "unavailableVmShare": 0.5,
        "services": list(DEFAULT_SERVICES),
        "probes": [],
        "failover": {
            "recoveryPoint": "Latest",
            "shutdownSource": True,
            "autoCommit": True,
            "autoReprotect": True,
            "commitMode": "together",
        },
        "rpoTargetSeconds": None,
    }


def test_json_round_trip_and_a_stable_hash() -> None:
    policy = ok(FULL)
    assert Policy.from_json(policy.to_json()) == policy
    reordered = json.loads(json.dumps(FULL))
    reordered["regions"] = dict(reversed(list(reordered["regions"].items())))
    assert ok(reordered).policy_hash == policy.policy_hash
    minimal = {"regions": {"westus": {"targets": [{"recoveryPlan": "rp"}]}}}
    explicit = ok(minimal).to_json()
    assert ok(explicit).policy_hash == ok(minimal).policy_hash  # defaults written out mean the same policy
    changed = json.loads(json.dumps(FULL))
    changed["killSwitch"] = True
    assert ok(changed).policy_hash != policy.policy_hash
    assert len(policy.policy_hash) == 16


def test_from_json_raises_naming_the_first_field_and_keeps_them_all() -> None:
    with pytest.raises(PolicyInvalid) as caught:
        Policy.from_json({"killSwitch": "yes", "regions": {"eastus": {"targets": [], "mode": "x"}}})
    assert caught.value.field == "killSwitch"
    assert len(caught.value.errors) == 3


def test_where_the_policy_comes_from() -> None:
    text = json.dumps(FULL)
    files = {"/etc/dr.json": text}
    assert policy_from_env({"DR_POLICY": text}, files.__getitem__) == ok(FULL)
    assert policy_from_env({"DR_POLICY_FILE": "/etc/dr.json"}, files.__getitem__) == ok(FULL)
    assert policy_from_env({}, files.__getitem__) == Policy()
    both = policy_from_env({"DR_POLICY": text, "DR_POLICY_FILE": "/etc/dr.json"}, files.__getitem__)
    assert isinstance(both, PolicyErrors) and both.lines == (
        "DR_POLICY_FILE: give DR_POLICY or DR_POLICY_FILE, not both",
    )

    def missing(path: str) -> str:
        raise FileNotFoundError(2, "No such file or directory", path)

    unreadable = policy_from_env({"DR_POLICY_FILE": "/nope.json"}, missing)
    assert isinstance(unreadable, PolicyErrors)
    assert unreadable.lines[0].startswith("DR_POLICY_FILE: cannot read '/nope.json'")
    bad = policy_from_env({"DR_POLICY_FILE": "/etc/dr.json"}, {"/etc/dr.json": "{"}.__getitem__)
    assert isinstance(bad, PolicyErrors) and bad.origin == "DR_POLICY_FILE"
    assert bad.lines[0].startswith("DR_POLICY_FILE: is not JSON")


def region(**keys: Any) -> dict[str, Any]:
    return {"regions": {"eastus": {"targets": [{"recoveryPlan": "rp"}], **keys}}}


BAD: list[tuple[str, Any, str]] = [
    ("not an object", [], "policy: must be an object"),
    ("unknown top key", {"regions": {}, "killswitch": True}, "killswitch: unknown key"),
    ("kill switch text", {"killSwitch": "true"}, "killSwitch: must be true or false"),
    ("regions a list", {"regions": ["eastus"]}, "regions: must be an object keyed by ARM region name"),
    (
        "display name",
        {"regions": {"East US": {"targets": [{"recoveryPlan": "rp"}]}}},
        "regions.East US: is not an ARM region name",
    ),
    (
        "unknown region",
        {"regions": {"moonbase1": {"targets": [{"recoveryPlan": "rp"}]}}},
        "regions.moonbase1: is not an ARM region name",
    ),
    ("mode", region(mode="on"), "regions.eastus.mode: must be one of off, dry-run, approval, auto"),
    ("unknown region key", region(dwell=5), "regions.eastus.dwell: unknown key"),
    ("no targets", {"regions": {"eastus": {"mode": "auto"}}}, "regions.eastus.targets: is required"),
    ("empty targets", region(targets=[]), "regions.eastus.targets: must list at least one target"),
    (
        "plan and vms",
        region(targets=[{"recoveryPlan": "rp", "vms": ["a"]}]),
        "regions.eastus.targets[0]: give exactly one",
    ),
    (
        "bad vm name",
        region(targets=[{"vms": ["ok", "no spaces"]}]),
        "regions.eastus.targets[0].vms[1]: 'no spaces' is not a valid VM name",
    ),
    ("vm twice", region(targets=[{"vms": ["a", "A"]}]), "regions.eastus.targets[0].vms[1]: 'A' is listed twice"),
    (
        "more vms than one run takes",
        region(targets=[{"vms": [f"vm-{i}" for i in range(501)]}]),
        "regions.eastus.targets[0].vms: lists 501 VMs; one run takes at most 500: split them into more targets",
    ),
    ("unknown target key", region(targets=[{"plan": "rp"}]), "regions.eastus.targets[0].plan: unknown key"),
    ("min sources zero", region(minSources=0), "regions.eastus.minSources: must be an integer from 1 to 7, got 0"),
    ("dwell negative", region(dwellMinutes=-1), "regions.eastus.dwellMinutes: must be an integer from 0 to 10080"),
    ("cooldown text", region(cooldownMinutes="1d"), "regions.eastus.cooldownMinutes: must be an integer"),
    ("max vms bool", region(maxVms=True), "regions.eastus.maxVms: must be an integer from 1 to 10000, got True"),
    (
        "approval timeout float",
        region(approvalTimeoutMinutes=1.5),
        "regions.eastus.approvalTimeoutMinutes: must be an integer",
    ),
    (
        "on timeout",
        region(onApprovalTimeout="retry"),
        "regions.eastus.onApprovalTimeout: must be one of expire, proceed",
    ),
    (
        "drill days zero",
        region(requireDrillWithinDays=0),
        "regions.eastus.requireDrillWithinDays: must be an integer from 1 to 3650",
    ),
    ("maintenance text", region(includeMaintenance="no"), "regions.eastus.includeMaintenance: must be true or false"),
    (
        "share above one",
        region(unavailableVmShare=1.5),
        "regions.eastus.unavailableVmShare: must be a number above 0 and at most 1",
    ),
    ("share zero", region(unavailableVmShare=0), "regions.eastus.unavailableVmShare: must be a number above 0"),
    ("services empty", region(services=[]), "regions.eastus.services: must be a non-empty list"),
    ("service not text", region(services=["Storage", 7]), "regions.eastus.services[1]: must be a service name"),
    ("probe url", region(probes=[{"url": "ftp://x"}]), "regions.eastus.probes[0].url: must be an http(s) URL"),
    (
        "probe failures",
        region(probes=[{"url": "https://x", "failuresToSignal": 0}]),
        "regions.eastus.probes[0].failuresToSignal: must be an integer from 1 to 100",
    ),
    ("probes object", region(probes={"url": "https://x"}), "regions.eastus.probes: must be a list"),
    (
        "recovery point",
        region(failover={"recoveryPoint": "Newest"}),
        "regions.eastus.failover.recoveryPoint: must be one of Latest",
    ),
    ("failover key", region(failover={"force": True}), "regions.eastus.failover.force: unknown key"),
    (
        "auto commit text",
        region(failover={"autoCommit": "yes"}),
        "regions.eastus.failover.autoCommit: must be true or false",
    ),
    (
        "commit mode",
        region(targets=[{"vms": ["a"]}], failover={"commitMode": "each"}),
        "regions.eastus.failover.commitMode: must be one of together, per-vm",
    ),
    (
        "per-vm on a plan",
        region(targets=[{"vms": ["a"]}, {"recoveryPlan": "rp"}], failover={"commitMode": "per-vm"}),
        "regions.eastus.failover.commitMode: per-vm applies to VM-list targets; targets[1] is recovery plan 'rp'",
    ),
    (
        "per-vm without auto commit",
        region(targets=[{"vms": ["a"]}], failover={"commitMode": "per-vm", "autoCommit": False}),
        "regions.eastus.failover.commitMode: per-vm commits without asking",
    ),
    (
        "vm in two regions",
        {"regions": {"eastus": {"targets": [{"vms": ["db-1"]}]}, "westus": {"targets": [{"vms": ["x", "DB-1"]}]}}},
        "regions.westus.targets[0].vms[1]: 'DB-1' is already a target of regions.eastus.targets[0]",
    ),
    (
        "plan in two regions",
        {"regions": {"eastus": {"targets": [{"recoveryPlan": "rp"}]}, "westus": {"targets": [{"recoveryPlan": "rp"}]}}},
        "regions.westus.targets[0].recoveryPlan: 'rp' is already a target of regions.eastus.targets[0]",
    ),
]


@pytest.mark.parametrize(("data", "expected"), [(d, e) for _, d, e in BAD], ids=[n for n, _, _ in BAD])
def test_a_bad_policy_names_the_path_and_the_reason(data: Any, expected: str) -> None:
    parsed = parse_policy(json.dumps(data))
    assert isinstance(parsed, PolicyErrors)
    assert any(line.startswith(expected) for line in parsed.lines), parsed.lines
    assert parsed.to_json()["errors"][0]["path"]


def test_every_error_is_reported_at_once() -> None:
    data = {"killSwitch": 1, "regions": {"eastus": {"targets": [{"vms": []}], "mode": "x", "maxVms": 0}}}
    parsed = parse_policy(json.dumps(data))
    assert isinstance(parsed, PolicyErrors)
    assert [e.path for e in parsed.errors] == [
        "killSwitch",
        "regions.eastus.targets[0].vms",
        "regions.eastus.mode",
        "regions.eastus.maxVms",
    ]


def test_not_json_names_the_origin() -> None:
    parsed = parse_policy("{'regions': 1}", origin="DR_POLICY")
    assert isinstance(parsed, PolicyErrors)
    assert parsed.lines[0].startswith("DR_POLICY: is not JSON")


def test_per_vm_commit_reaches_the_runs_the_policy_starts() -> None:
    policy = ok({"regions": {"eastus": {"targets": [{"vms": ["a", "b"]}], "failover": {"commitMode": "per-vm"}}}})
    options = policy.regions["eastus"].failover
    assert options.commit_mode == "per-vm" and options.to_json()["commitMode"] == "per-vm"
    from lib.autopilot.orders import StartOrder
    from lib.autopilot.runs import failover_request

    target = policy.regions["eastus"].targets[0]
    order = StartOrder("eastus", "inc-1", target, "d-1", policy.policy_hash, options)
    assert failover_request(order).per_vm_commit
