"""The names the Bicep wires to the app are the names function_app.py registers, read from the app object.

main.bicep keeps them in one variable, ``appContract``: the Event Grid function the HealthResources subscription
delivers to, and the HTTP route the action group's secure webhook posts to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import azure.functions as func
from azure.functions.decorators.eventgrid import EventGridTrigger
from azure.functions.decorators.http import HttpTrigger

from tests.app_functions import registered_functions
from tests.infra import bicep

ROOT = bicep.ROOT


def _contract() -> dict[str, Any]:
    contract = bicep.variable("appContract")
    assert isinstance(contract, dict), "main.bicep's appContract must be an object literal"
    return contract


def _triggers(functions: Iterable[Any] | None = None) -> list[tuple[str, Any]]:
    listed = registered_functions() if functions is None else functions
    return [(str(f.get_function_name()), f.get_trigger()) for f in listed]


def _route_prefix() -> str:
    host = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))
    return str(host.get("extensions", {}).get("http", {}).get("routePrefix", "api"))


def _methods(trigger: HttpTrigger) -> set[str]:
    return {str(getattr(m, "value", m)).upper() for m in (trigger.methods or [])}


def event_grid_problems(functions: Iterable[Any] | None = None) -> list[str]:
    name = _contract()["eventGridFunction"]
    event_grid = sorted(n for n, t in _triggers(functions) if isinstance(t, EventGridTrigger))
    if name in event_grid:
        return []
    return [
        f"main.bicep (appContract.eventGridFunction) subscribes HealthResources events to function '{name}', "
        f"but function_app.app registers no Event Grid trigger by that name (Event Grid triggers: {event_grid})"
    ]


def alerts_route_problems(functions: Iterable[Any] | None = None) -> list[str]:
    contract = _contract()
    route = contract["alertsRoute"]
    posts = sorted(
        str(t.route)
        for _, t in _triggers(functions)
        if isinstance(t, HttpTrigger) and (not t.methods or "POST" in _methods(t))
    )
    problems = []
    if route not in posts:
        problems.append(
            f"main.bicep (appContract.alertsRoute) points the action group's webhook at POST /{route}, but "
            f"function_app.app has no HTTP trigger with that route accepting POST (POST routes: {posts})"
        )
    if contract["routePrefix"] != _route_prefix():
        problems.append(
            f"appContract.routePrefix {contract['routePrefix']!r} differs from host.json's {_route_prefix()!r}"
        )
    return problems


def test_event_grid_subscription_targets_an_event_grid_function_of_the_app() -> None:
    problems = event_grid_problems()
    assert not problems, problems[0]


def test_action_group_webhook_posts_to_an_http_route_of_the_app() -> None:
    problems = alerts_route_problems()
    assert not problems, "\n".join(problems)


def test_the_checks_pass_for_an_app_with_the_contracts_names_and_fail_without() -> None:
    contract = _contract()
    app = func.FunctionApp()
    app.event_grid_trigger(arg_name="event")(app.function_name(contract["eventGridFunction"])(lambda event: None))
    app.route(route=contract["alertsRoute"], methods=["POST"])(lambda req: None)
    functions = tuple(app.get_functions())  # the SDK allows one call per app
    assert event_grid_problems(functions) == []
    assert alerts_route_problems(functions) == []
    other = func.FunctionApp()
    other.event_grid_trigger(arg_name="event")(other.function_name("something_else")(lambda event: None))
    other.route(route=contract["alertsRoute"], methods=["GET"])(lambda req: None)
    others = tuple(other.get_functions())
    assert "something_else" in event_grid_problems(others)[0]
    assert "accepting POST" in alerts_route_problems(others)[0]


def test_the_bicep_uses_the_contract_and_nothing_else() -> None:
    """The webhook URL and the subscription's function come from appContract, and the modules use them as such."""
    signals = bicep.main()["modules"]["signals"]["config"]["params"]
    assert signals["eventGridFunctionName"] == {
        "operator": {
            "type": "property_accessor",
            "operands": {"operand_1": "appContract", "operand_2": "eventGridFunction"},
        }
    }
    assert signals["alertsUrl"] == (
        "https://${function.outputs.defaultHostName}/${appContract.routePrefix}/${appContract.alertsRoute}"
    )
    module = bicep.parse(bicep.INFRA / "app" / "signals.bicep")["resources"]
    subscription = module["healthSubscription"]["config"]
    assert subscription["condition"] == "subscribeHealthEvents"
    destination = subscription["config"]["properties"]["destination"]
    assert destination["endpointType"] == "AzureFunction"
    assert destination["properties"]["resourceId"] == "${functionAppId}/functions/${eventGridFunctionName}"
    (receiver,) = module["actionGroup"]["config"]["properties"]["webhookReceivers"]
    assert receiver["serviceUri"] == "alertsUrl"
    assert receiver["useAadAuth"] is True, "the webhook must be a secure webhook (Entra ID token, no key in the URL)"
    assert receiver["useCommonAlertSchema"] is True


def test_paths_easy_auth_lets_through_are_anonymous_routes_or_the_event_grid_webhook() -> None:
    site = bicep.parse(bicep.INFRA / "app" / "function.bicep")["resources"]["auth"]["config"]["properties"]
    excluded = site["globalValidation"]["excludedPaths"]
    prefix = _route_prefix()
    anonymous = {
        f"/{prefix}/{t.route}"
        for _, t in _triggers()
        if isinstance(t, HttpTrigger) and str(t.auth_level) in {"anonymous", str(func.AuthLevel.ANONYMOUS)}
    }
    for path in excluded:
        assert path == "/runtime/webhooks/eventgrid" or path in anonymous, (
            f"authsettingsV2 lets {path} through without a token, but it is not an anonymous route of the app "
            f"(anonymous: {sorted(anonymous)})"
        )
