"""The app's region must not be a protected region: main.bicep refuses it with ``fail()`` before creating anything.

The rule is evaluated here from main.bicep's own expressions (tests/infra/bicep.py), with parameter values, and
the resource group (the first thing created) must take its location from the checked value.
"""

from __future__ import annotations

import pytest

from tests.infra import bicep


def _app_location(location: str, protected: list[str], recovery: list[str] | None = None) -> object:
    params = {"location": location, "protectedRegions": protected, "recoveryRegions": recovery or ["westus"]}
    return bicep.Evaluator(bicep.main(), params).variable("appLocation")


@pytest.mark.parametrize(
    ("location", "protected"),
    [("eastus", ["eastus"]), ("EastUS", ["eastus"]), ("East US", ["eastus", "northeurope"]), ("westus", ["West US"])],
)
def test_a_protected_region_is_refused(location: str, protected: list[str]) -> None:
    with pytest.raises(bicep.BicepFail, match="protected region"):
        _app_location(location, protected)


@pytest.mark.parametrize(
    ("location", "protected", "expected"),
    [
        ("westus", ["eastus"], "westus"),
        ("West Europe", ["northeurope"], "westeurope"),
        ("centralus", ["eastus"], "centralus"),
    ],
)
def test_a_recovery_or_third_region_is_accepted(location: str, protected: list[str], expected: str) -> None:
    assert _app_location(location, protected) == expected


def _references(node: bicep.Node, name: str) -> bool:
    if isinstance(node, str):
        return node == name or f"${{{name}}}" in node
    if isinstance(node, dict):
        return any(_references(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_references(v, name) for v in node)
    return False


def test_every_resource_and_module_in_main_takes_the_checked_location() -> None:
    """Nothing reads the raw ``location`` parameter except the rule itself, so nothing can bypass it."""
    tree = bicep.main()
    assert tree["resources"]["rg"]["config"]["location"] == "appLocation"
    users = [f"resource {n}" for n, r in tree["resources"].items() if _references(r["config"], "location")]
    users += [f"module {n}" for n, m in tree["modules"].items() if _references(m["config"], "location")]
    users += [f"output {n}" for n, o in tree["outputs"].items() if _references(o["value"], "location")]
    users += [
        f"variable {n}"
        for n, v in tree["variables"].items()
        if n not in {"appRegion", "appLocation", "resourceToken"} and _references(v["value"], "location")
    ]
    assert not users, f"these use the unchecked location parameter instead of appLocation: {users}"


def test_the_evaluator_does_not_invent_functions() -> None:
    tree = {"variables": {"x": {"value": {"function": {"type": "no_such", "parameters": {}}}}}}
    with pytest.raises(bicep.Unsupported, match="no_such"):
        bicep.Evaluator(tree, {}).variable("x")
