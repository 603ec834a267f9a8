"""Starting the failover run of a decision: the request from the policy's ``failover`` options, the incident's
idempotency key, and the same synchronous refusals as an operator's start (``lib.api.targets.check_target``).

One incident starts at most one run per target, however many workers evaluate it at once: the key maps every
start of (region, incident, target) to one run, and a target another run holds is refused (409) and recorded as
not started, never started twice.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from lib.autopilot.orders import ACTOR, Started, StartOrder, StartRefused
from lib.domain.dr import DrRequest, parse_request

if TYPE_CHECKING:
    from lib.bootstrap import App

__all__ = ["failover_request", "start_failover"]


def failover_request(order: StartOrder) -> DrRequest:
    options = order.options
    body = {
        "target": order.target.to_json(), "recoveryPoint": options.recovery_point,
        "shutdownSource": options.shutdown_source, "autoCommit": options.auto_commit,
        "autoReprotect": options.auto_reprotect, "commitMode": options.commit_mode,
        "reason": f"autopilot: incident {order.incident} in {order.region} (decision {order.decision_id})"[:1000],
    }  # fmt: skip
    trigger = {"decision": order.decision_id, "region": order.region, "incident": order.incident,
               "policyHash": order.policy_hash}  # fmt: skip
    return replace(parse_request("failover", body, actor=ACTOR), approval=order.approval, trigger=trigger)


def start_failover(app: App, order: StartOrder) -> Started:
    from lib.api.errors import ApiError  # the API layer imports the bootstrap: import it when called
    from lib.api.targets import check_target

    request = failover_request(order)
    app.ensure_storage()
    try:
        existing = check_target(app, request, order.key)
    except ApiError as err:
        if err.status >= 500:
            raise
        raise StartRefused(f"{err.message} ({err.code})") from None
    if existing is not None:
        return Started(existing, False)
    result = app.engine.start("failover", request.to_json(), order.key, actor=ACTOR)
    return Started(result.run_id, result.created)
