"""Malformed and refused requests: the status, the field, and proof that nothing changed in ASR or storage."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.conftest import NETWORK, topology

pytestmark = pytest.mark.integration

T = {"target": {"vms": ["web-1"]}}
P = {"target": {"recoveryPlan": "app"}}
NET = {"testNetworkId": NETWORK}
J = {"Content-Type": "application/json"}

# (name, method, path, body or raw bytes, headers, expected status, expected field)
CASES: list[tuple[str, str, str, Any, dict[str, str], int, str | None]] = [
    ("bad JSON", "POST", "failover", b"{not json", J, 400, "body"),
    ("truncated JSON", "POST", "failover", b'{"target": ', J, 400, "body"),
    ("not UTF-8", "POST", "failover", b"\xff\xfe{}", J, 400, "body"),
    ("deeply nested JSON", "POST", "failover", b"[" * 30000 + b"]" * 30000, J, 400, "body"),
    (
        "NaN seconds",
        "POST",
        "failover",
        b'{"target": {"vms": ["web-1"]}, "timing": {"jobPollSeconds": NaN}}',
        J,
        400,
        "timing.jobPollSeconds",
    ),
    ("array body", "POST", "failover", [1, 2], {}, 400, "body"),
    ("string body", "POST", "drills", "failover", {}, 400, "body"),
    ("null body", "POST", "failback", None, J, 400, "body"),
    ("unknown field", "POST", "failover", {**T, "force": True}, {}, 400, "force"),
    ("snake_case field", "POST", "failover", {**T, "auto_commit": False}, {}, 400, "auto_commit"),
    ("unknown target field", "POST", "failover", {"target": {"vm": ["web-1"]}}, {}, 400, "target.vm"),
    ("no target", "POST", "failover", {"reason": "x"}, {}, 400, "target"),
    ("target not object", "POST", "failover", {"target": "web-1"}, {}, 400, "target"),
    ("empty target", "POST", "failover", {"target": {}}, {}, 400, "target"),
    ("empty VM list", "POST", "failover", {"target": {"vms": []}}, {}, 400, "target.vms"),
    ("VMs not a list", "POST", "failover", {"target": {"vms": "web-1"}}, {}, 400, "target.vms"),
    ("VM name not text", "POST", "failover", {"target": {"vms": [7]}}, {}, 400, "target.vms"),
    ("VM listed twice", "POST", "failover", {"target": {"vms": ["web-1", "WEB-1"]}}, {}, 400, "target.vms"),
    ("plan and VMs", "POST", "failover", {"target": {"recoveryPlan": "app", "vms": ["web-1"]}}, {}, 400, "target"),
    ("blank plan", "POST", "failover", {"target": {"recoveryPlan": " "}}, {}, 400, "target.recoveryPlan"),
    ("VM in two groups", "POST", "failover", {"target": {"groups": [["web-1"], ["web-1"]]}}, {}, 400, "target.groups"),
    ("drill without network", "POST", "drills", T, {}, 400, "testNetworkId"),
    ("drill network not a VNet", "POST", "drills", {**T, "testNetworkId": "/subs/x"}, {}, 400, "testNetworkId"),
    ("network on a failover", "POST", "failover", {**T, **NET}, {}, 400, "testNetworkId"),
    ("unknown recovery point", "POST", "failover", {**T, "recoveryPoint": "Newest"}, {}, 400, "recoveryPoint"),
    ("point id on a plan", "POST", "failover", {**P, "recoveryPoint": "/x/recoveryPoints/1"}, {}, 400, "recoveryPoint"),
    ("parallelism zero", "POST", "failover", {**T, "parallelism": 0}, {}, 400, "parallelism"),
    ("parallelism text", "POST", "failover", {**T, "parallelism": "4"}, {}, 400, "parallelism"),
    ("parallelism bool", "POST", "failover", {**T, "parallelism": True}, {}, 400, "parallelism"),
    ("parallelism too big", "POST", "failover", {**T, "parallelism": 101}, {}, 400, "parallelism"),
    ("bool as text", "POST", "failover", {**T, "shutdownSource": "false"}, {}, 400, "shutdownSource"),
    ("unknown commit mode", "POST", "failover", {**T, "commitMode": "each"}, {}, 400, "commitMode"),
    ("per-vm commit on a plan", "POST", "failover", {**P, "commitMode": "per-vm"}, {}, 400, "commitMode"),
    (
        "per-vm, no autoCommit",
        "POST",
        "failback",
        {**T, "commitMode": "per-vm", "autoCommit": False},
        {},
        400,
        "commitMode",
    ),
    ("reason not text", "POST", "failover", {**T, "reason": 42}, {}, 400, "reason"),
    ("probe not a URL", "POST", "drills", {**T, **NET, "probeUrl": "ftp://x"}, {}, 400, "probeUrl"),
    ("bad timing", "POST", "failover", {**T, "timing": {"jobPollSeconds": -1}}, {}, 400, "timing.jobPollSeconds"),
    ("bad idempotency key", "POST", "failover", T, {"Idempotency-Key": "x" * 300}, 400, "Idempotency-Key"),
    (
        "text/plain body",
        "POST",
        "failover",
        b'{"target": {"vms": ["web-1"]}}',
        {"Content-Type": "text/plain"},
        415,
        "Content-Type",
    ),
    ("no content type", "POST", "failover", b'{"target": {"vms": ["web-1"]}}', {}, 415, "Content-Type"),
    ("body over 64 KiB", "POST", "failover", b'{"reason": "' + b"x" * 70000 + b'"}', J, 413, "body"),
    ("unknown VM", "POST", "failover", {"target": {"vms": ["web-1", "ghost"]}}, {}, 404, "target.vms"),
    ("unknown plan", "POST", "failover", {"target": {"recoveryPlan": "nope"}}, {}, 404, "target.recoveryPlan"),
    ("unknown run", "GET", "runs/20260101-000000-0000000000", None, {}, 404, "id"),
    ("odd run id", "GET", "runs/a%27b", None, {}, 404, "id"),
    ("approve unknown run", "POST", "runs/nope/approve", None, {}, 404, "id"),
    ("approve body unknown field", "POST", "runs/nope/approve", {"by": "me"}, {}, 400, "by"),
    ("cancel body not JSON", "POST", "runs/nope/cancel", b"{", J, 400, "body"),
    ("bad status filter", "GET", "runs?status=done", None, {}, 400, "status"),
    ("bad kind filter", "GET", "runs?kind=restore", None, {}, 400, "kind"),
    ("bad since", "GET", "runs?since=yesterday", None, {}, 400, "since"),
    ("bad limit", "GET", "runs?limit=0", None, {}, 400, "limit"),
    ("bad continuation", "GET", "runs?continuation=%%%", None, {}, 400, "continuation"),
]


def _send(api: Any, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    path, _, qs = path.partition("?")
    query = dict(part.split("=", 1) for part in qs.split("&")) if qs else None
    if isinstance(body, bytes):
        return api.call(method, path, raw=body, headers=headers, query=query)
    return api.call(method, path, body, headers=headers, query=query)


def test_every_malformed_request_names_its_field_and_changes_nothing(api_stack: Any) -> None:
    assert len(CASES) >= 25
    plan = {"name": "app", "groups": [["web-1"], ["web-2"]]}
    with api_stack(topology(["web-1", "web-2"], [plan])) as api:
        api.stack.app.ensure_storage()
        api.stack.emu.reset_requests()
        failures = []
        for name, method, path, body, headers, status, field in CASES:
            reply = _send(api, method, path, body, headers)
            got = (reply.status, reply.field)
            if got != (status, field):
                failures.append(f"{name}: expected {(status, field)}, got {got}: {reply.json}")
            elif not reply.json["error"]["message"]:
                failures.append(f"{name}: no message")
        assert not failures, "\n".join(failures)
        by_route = api.stack.emu.requests_count()["byRoute"]
        assert not [r for r in by_route if not r.startswith("GET ")]  # ASR saw reads only, no action
        assert api.runs_stored() == 0 and api.index_rows() == 0  # no run, no index row, no idempotency key
