"""AUTH_MODE=easyauth: the principal App Service forwards decides; the caller is recorded on the run."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest

from tests.integration.api.conftest import topology

pytestmark = pytest.mark.integration

OID = "7d1c53a0-0000-4000-8000-00000000abcd"


def principal(*roles: str, name: str = "ada@contoso.com") -> dict[str, str]:
    claims = [
        {"typ": "name", "val": name},
        {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": OID},
        *({"typ": "roles", "val": role} for role in roles),
    ]
    data = {"auth_typ": "aad", "claims": claims, "name_typ": "name", "role_typ": "roles"}
    return {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(data).encode()).decode()}


BODY = {"target": {"vms": ["web-1"]}, "autoCommit": False, "reason": "maintenance window"}


def test_missing_principal_401_wrong_role_403_and_nothing_changes(api_stack: Any) -> None:
    with api_stack(topology(["web-1"]), auth_mode="easyauth") as api:
        api.stack.emu.reset_requests()
        no_one = api.start("failover", BODY)
        assert no_one.status == 401 and no_one.json["error"]["code"] == "Unauthenticated"
        assert "WWW-Authenticate" in no_one.headers
        assert api.call("GET", "runs").status == 401
        assert api.call("GET", "openapi.json").status == 401
        garbage = api.call("GET", "runs", headers={"X-MS-CLIENT-PRINCIPAL": "not base64 json!"})
        assert garbage.status == 401
        reader = api.start("failover", BODY, headers=principal("DR.Reader"))
        assert reader.status == 403 and "DR.Operator" in reader.json["error"]["message"]
        assert api.call("POST", "runs/x/cancel", headers=principal("DR.Reader")).status == 403
        assert api.call("GET", "runs", headers=principal("Other.Role")).status == 403
        assert api.call("GET", "runs", headers=principal("DR.Reader")).status == 200
        assert api.runs_stored() == 0 and api.stack.emu.requests_count()["total"] == 0


def test_an_operator_s_name_and_object_id_are_on_the_run_its_history_and_the_audit_log(
    api_stack: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="autopilot.audit")
    with api_stack(topology(["web-1"]), auth_mode="easyauth") as api:
        started = api.start("failover", BODY, headers=principal("DR.Operator"))
        assert started.status == 202
        run_id = started.json["runId"]
        api.stack.finish(run_id)
        view = api.call("GET", f"runs/{run_id}", headers=principal("DR.Reader")).json
        assert view["requestedBy"] == {"name": "ada@contoso.com", "objectId": OID}
        assert view["why"] == "maintenance window"
        approved = api.call("POST", f"runs/{run_id}/approve", headers=principal("DR.Operator", name="bob"))
        assert approved.status == 200
        history = api.call("GET", f"runs/{run_id}/history", headers=principal("DR.Reader")).json["history"]
        assert history[0]["actor"] == f"ada@contoso.com ({OID})"
        # Approving the commit question is choosing "commit"; who chose is recorded.
        assert [h["actor"] for h in history if h["event"] == "decide"] == [f"bob ({OID})"]
        lines = [json.loads(r.getMessage().split(" ", 1)[1]) for r in caplog.records if r.name == "autopilot.audit"]
        assert [(x["operation"], x["status"], x["actor"], x["actorId"]) for x in lines] == [
            ("startFailover", 202, "ada@contoso.com", OID),
            ("approveRun", 200, "bob", OID),
        ]
        assert lines[0]["runId"] == run_id == lines[1]["runId"]
