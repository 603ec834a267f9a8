"""Route templates (spelled exactly as SDK 2.0.0 builds them) and case-insensitive matching.

ARM routing is case-insensitive and ASR echoes ``/Subscriptions/``; the SDK sends ``/subscriptions/``.
Request counters are keyed by ``"<METHOD> <template>"`` with these templates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VAULT = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.RecoveryServices/vaults/{resourceName}"
)
CONTAINER = VAULT + "/replicationFabrics/{fabricName}/replicationProtectionContainers/{protectionContainerName}"
ITEM = CONTAINER + "/replicationProtectedItems/{replicatedProtectedItemName}"
PLAN = VAULT + "/replicationRecoveryPlans/{recoveryPlanName}"
JOB = VAULT + "/replicationJobs/{jobName}"
RESOURCE = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/{resourceProviderNamespace}/{resourceType}/{resourceName}"
)
USAGES = "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}/usages"

# (name, method, template). Order matters only for templates that could match the same path.
ROUTES: list[tuple[str, str, str]] = [
    ("items.list", "GET", VAULT + "/replicationProtectedItems"),
    ("items.list_by_container", "GET", CONTAINER + "/replicationProtectedItems"),
    ("items.get", "GET", ITEM),
    ("items.unplanned_failover", "POST", ITEM + "/unplannedFailover"),
    ("items.planned_failover", "POST", ITEM + "/plannedFailover"),
    ("items.test_failover", "POST", ITEM + "/testFailover"),
    ("items.test_failover_cleanup", "POST", ITEM + "/testFailoverCleanup"),
    ("items.failover_commit", "POST", ITEM + "/failoverCommit"),
    ("items.failover_cancel", "POST", ITEM + "/failoverCancel"),
    ("items.reprotect", "POST", ITEM + "/reProtect"),
    ("points.list", "GET", ITEM + "/recoveryPoints"),
    ("points.get", "GET", ITEM + "/recoveryPoints/{recoveryPointName}"),
    ("fabrics.list", "GET", VAULT + "/replicationFabrics"),
    ("fabrics.get", "GET", VAULT + "/replicationFabrics/{fabricName}"),
    ("containers.list_by_fabric", "GET", VAULT + "/replicationFabrics/{fabricName}/replicationProtectionContainers"),
    ("containers.list", "GET", VAULT + "/replicationProtectionContainers"),
    ("containers.get", "GET", CONTAINER),
    ("containers.switch_protection", "POST", CONTAINER + "/switchprotection"),
    ("plans.list", "GET", VAULT + "/replicationRecoveryPlans"),
    ("plans.get", "GET", PLAN),
    ("plans.unplanned_failover", "POST", PLAN + "/unplannedFailover"),
    ("plans.planned_failover", "POST", PLAN + "/plannedFailover"),
    ("plans.test_failover", "POST", PLAN + "/testFailover"),
    ("plans.test_failover_cleanup", "POST", PLAN + "/testFailoverCleanup"),
    ("plans.failover_commit", "POST", PLAN + "/failoverCommit"),
    ("plans.failover_cancel", "POST", PLAN + "/failoverCancel"),
    ("plans.reprotect", "POST", PLAN + "/reProtect"),
    ("jobs.list", "GET", VAULT + "/replicationJobs"),
    ("jobs.get", "GET", JOB),
    ("jobs.cancel", "POST", JOB + "/cancel"),
    ("jobs.restart", "POST", JOB + "/restart"),
    ("jobs.resume", "POST", JOB + "/resume"),
    ("health.get", "GET", VAULT + "/replicationVaultHealth"),
    ("health.refresh", "POST", VAULT + "/replicationVaultHealth/default/refresh"),
    ("events.list", "GET", VAULT + "/replicationEvents"),
    ("events.get", "GET", VAULT + "/replicationEvents/{eventName}"),
    ("opstatus.get", "GET", VAULT + "/replicationOperationStatus/{jobName}"),
    ("usages.list", "GET", USAGES),
    # Any other resource (a VM, a storage account...): last, so every ASR route above wins.
    ("resources.get", "GET", RESOURCE),
]

# Resources whose ``Location`` URL is ``{resourcePath}/operationresults/{jobName}``.
RESULT_PARENTS: list[tuple[str, str]] = [
    ("items.get", ITEM),
    ("containers.get", CONTAINER),
    ("plans.get", PLAN),
    ("health.default", VAULT + "/replicationVaultHealth/default"),
    ("jobs.get", VAULT + "/replicationJobs/{cancelledJob}"),  # a job cancel's result (the job itself)
]


def _compile(template: str) -> re.Pattern[str]:
    pattern = ""
    for part in re.split(r"(\{[A-Za-z]+\})", template):
        if part.startswith("{") and part.endswith("}"):
            pattern += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(f"^{pattern}/?$", re.IGNORECASE)


_COMPILED = [(name, method, template, _compile(template)) for name, method, template in ROUTES]
_RESULTS = [(name, template, _compile(template + "/operationresults/{jobName}")) for name, template in RESULT_PARENTS]


@dataclass(frozen=True)
class RouteMatch:
    name: str
    template: str
    params: dict[str, str]


def match(method: str, path: str) -> RouteMatch | None:
    """Route for (method, path); ``None`` if unknown. A known path with the wrong method gets name ``!method``."""
    wrong_method: RouteMatch | None = None
    for name, route_method, template, regex in _COMPILED:
        found = regex.match(path)
        if found:
            if route_method == method:
                return RouteMatch(name, template, found.groupdict())
            wrong_method = RouteMatch("!method", template, found.groupdict())
    for parent, template, regex in _RESULTS:
        found = regex.match(path)
        if found:
            name = f"opresult:{parent}"
            full = template + "/operationresults/{jobName}"
            if method == "GET":
                return RouteMatch(name, full, found.groupdict())
            wrong_method = RouteMatch("!method", full, found.groupdict())
    return wrong_method
