"""Reading the App Service principal and deciding by app role (pure)."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from lib.api.auth import Access, authorize, principal_from_header
from lib.api.dispatch import handle
from lib.api.errors import ApiError
from lib.api.http import ApiRequest
from lib.bootstrap import App


def _header(data: object) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def _req(header: str | None) -> ApiRequest:
    return ApiRequest("GET", headers={"x-ms-client-principal": header} if header is not None else {})


ROLE_URI = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"


def test_roles_follow_role_typ_and_the_entra_claim_names() -> None:
    data = {"auth_typ": "aad", "name_typ": "preferred_username", "role_typ": ROLE_URI,
            "claims": [{"typ": "preferred_username", "val": "ada"}, {"typ": ROLE_URI, "val": "DR.Reader"},
                       {"typ": "oid", "val": "o-1"}, {"typ": "groups", "val": "DR.Operator"}]}  # fmt: skip
    who = principal_from_header(_header(data))
    assert (who.name, who.object_id, who.roles) == ("ada", "o-1", frozenset({"DR.Reader"}))


@pytest.mark.parametrize(
    ("header", "access", "status"),
    [
        (None, Access.READ, 401),
        ("", Access.OPERATE, 401),
        ("%%%", Access.READ, 401),
        (_header([1, 2]), Access.READ, 401),
        (_header({"claims": "x"}), Access.READ, 401),
        (_header({"claims": [{"typ": "roles", "val": "DR.Reader"}]}), Access.OPERATE, 403),
        (_header({"claims": [{"typ": "roles", "val": 5}]}), Access.READ, 403),
    ],
)
def test_easyauth_refusals(header: str | None, access: Access, status: int) -> None:
    with pytest.raises(ApiError) as err:
        authorize("easyauth", _req(header), access)
    assert err.value.status == status


def test_keys_mode_trusts_the_host_and_anonymous_needs_nothing() -> None:
    assert authorize("keys", _req(None), Access.OPERATE).name == "function-key"
    assert authorize("easyauth", _req(None), Access.ANONYMOUS).name == "anonymous"
    with pytest.raises(ApiError) as err:
        authorize("nonsense", _req(None), Access.READ)
    assert err.value.status == 503


def test_a_refused_mutating_call_is_audited_with_its_caller(caplog: pytest.LogCaptureFixture) -> None:
    data = {
        "claims": [{"typ": "name", "val": "bob"}, {"typ": "oid", "val": "o-9"}, {"typ": "roles", "val": "DR.Reader"}]
    }
    req = ApiRequest("POST", headers={"x-ms-client-principal": _header(data)}, body=b"{}")
    caplog.set_level(logging.INFO, logger="autopilot.audit")

    def no_app() -> App:
        raise AssertionError("a refused call must not build the app")

    response = handle("startFailover", req, "easyauth", no_app)
    lines = [json.loads(r.getMessage().split(" ", 1)[1]) for r in caplog.records if r.name == "autopilot.audit"]
    assert response.status == 403
    assert lines == [{"operation": "startFailover", "status": 403, "actor": "bob", "actorId": "o-9", "runId": None,
                      "error": "Forbidden"}]  # fmt: skip
