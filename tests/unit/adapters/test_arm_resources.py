"""The ARM resource read's pure parts: the api-version per resource type and ARM's answer -> location or reason."""

from __future__ import annotations

import json

import pytest

from lib.adapters.arm_resources import DEFAULT_API_VERSION, _location, api_version_for
from lib.ports.resource_locations import LocationUnavailable

SA = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa1"


def test_the_api_version_follows_the_resource_type() -> None:
    assert api_version_for(SA) == "2023-05-01"
    assert api_version_for(SA.upper()) == "2023-05-01"
    assert api_version_for("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v") == (
        "2024-07-01"
    )
    assert (
        api_version_for("/subscriptions/s/resourceGroups/rg/providers/Contoso.Things/widgets/w") == DEFAULT_API_VERSION
    )
    assert api_version_for("/subscriptions/s/resourceGroups/rg") == DEFAULT_API_VERSION


def test_a_200_gives_the_location() -> None:
    assert _location(SA, 200, json.dumps({"id": SA, "location": " westeurope "})) == "westeurope"


@pytest.mark.parametrize(
    ("status", "body", "reason", "transient"),
    [
        (404, {"error": {"code": "ResourceNotFound", "message": "The Resource 'x' was not found."}},
         "ARM answered 404 ResourceNotFound: The Resource 'x' was not found.", False),
        (403, {"error": {"code": "AuthorizationFailed", "message": "no  access"}},
         "ARM answered 403 AuthorizationFailed: no access", False),
        (429, {}, "ARM answered 429 Http429", True),
        (503, "not json", "ARM answered 503 Http503", True),
        (200, {"id": SA}, "ARM's answer has no location", False),
    ],
)  # fmt: skip
def test_anything_else_is_the_reason(status: int, body: object, reason: str, transient: bool) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    with pytest.raises(LocationUnavailable) as caught:
        _location(SA, status, text)
    assert (caught.value.reason, caught.value.status, caught.value.transient) == (reason, status, transient)
    assert caught.value.resource_id == SA
