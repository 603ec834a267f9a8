"""What a health payload means once classified: a ``RegionHealthSignal`` to weigh, or ``Ignored`` with the reason.

A signal says what one notification reports; it decides nothing. The policy (quorum, dwell, services, the
opt-in for maintenance) decides, and it keys duplicates on ``notification`` and incidents on ``incident``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from lib.domain.errors import ValidationError
from lib.signals.fields import items, mapping, parse_time, text
from lib.signals.regions import EVERY_REGION

__all__ = [
    "Classified",
    "IgnoreCode",
    "Ignored",
    "Impact",
    "RegionHealthSignal",
    "SignalParseError",
    "SignalState",
    "Source",
    "service_key",
]


class Source(StrEnum):
    SERVICE_HEALTH = "service-health"  # Azure Service Health incident or maintenance (region-level)
    RESOURCE_HEALTH = "resource-health"  # a Resource Health alert about one resource
    HEALTH_RESOURCES = "health-resources"  # Event Grid HealthResources system topic (one resource)
    METRIC = "metric"  # a metric alert rule (stateful: Fired / Resolved)
    LOG = "log"  # a log search alert rule (stateful unless configured otherwise)
    PROBE = "probe"  # our own probes of the policy's URLs
    CUSTOM = "custom"  # an ``Autopilot.RegionHealth`` event published by anyone on a custom topic


class SignalState(StrEnum):
    ACTIVE = "active"  # the region (or resource) is reported unhealthy
    RESOLVED = "resolved"  # the report is over (resolved, mitigated, available again)


class IgnoreCode(StrEnum):
    SYNTHETIC = "synthetic-test"  # an action group's test notification, or a custom event marked as a test
    NOT_INCIDENT = "not-incident"  # Service Health communication that is not an incident (advisory, security...)
    USER_INITIATED = "user-initiated"  # someone stopped or restarted the resource on purpose
    UNKNOWN_HEALTH = "unknown-health"  # health reported as Unknown: the state most likely did not change
    UNKNOWN_STATE = "unknown-state"  # neither active nor resolved can be read from the notification
    NO_REGION = "no-region"  # no region and no resource to find one from
    NOT_HEALTH = "not-health"  # a known envelope carrying something other than health (blob created, audit...)
    UNKNOWN_SCHEMA = "unknown-schema"  # a JSON object in no schema we read
    UNRESOLVED_REGION = "unresolved-region"  # a resource-level signal whose resource's region cannot be found
    VM_SHARE = "vm-share"  # one protected VM's own health: counted toward its region's share, which did not flip


class SignalParseError(ValidationError):
    """The body cannot be read at all (not a JSON object, or a schema we know without its required fields):
    ``field`` names the part, ``reason`` says why. The webhook answers 400 with both."""


def service_key(name: str) -> str:
    """Service names compare without case or spacing ("Virtual Machines" == "virtual  machines")."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Impact:
    """One impacted service of a Service Health notification and the regions (ARM names) it is impacted in."""

    service: str
    regions: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "regions": list(self.regions)}

    @classmethod
    def from_json(cls, data: object) -> Impact:
        body = mapping(data)
        return cls(str(body.get("service", "")), tuple(str(r) for r in items(body.get("regions"))))


@dataclass(frozen=True)
class RegionHealthSignal:
    """One notification about the health of one or more regions, or of one resource whose region is resolved
    later (``regions`` empty, ``resource_id`` set).

    ``incident`` groups the notifications of one incident (Service Health tracking id, alert id, resource);
    ``notification`` identifies this notification: a redelivery has the same one. Both are prefixed with the
    source so keys of different sources never collide. ``raw`` is the payload as received, for the record.
    """

    source: Source
    incident: str
    notification: str
    state: SignalState
    at: datetime  # when the event happened (the source's own time, UTC), for ordering out-of-order deliveries
    regions: tuple[str, ...] = ()  # ARM names; may hold EVERY_REGION for a global incident
    resource_id: str | None = None  # the resource a resource-level signal is about
    impacts: tuple[Impact, ...] = ()  # Service Health: services and the regions each is impacted in
    maintenance: bool = False  # planned maintenance, not an outage: the policy acts on it only if it opts in
    health: str | None = None  # the resource's availability (Unavailable, Degraded, Available) when reported
    stage: str | None = None  # the source's own word for the state (stage, status, monitorCondition)
    title: str = ""
    raw: Mapping[str, object] = field(default_factory=dict, hash=False, repr=False)

    @property
    def active(self) -> bool:
        return self.state is SignalState.ACTIVE

    @property
    def services(self) -> tuple[str, ...]:
        """The impacted services' names, in the order the notification lists them."""
        return tuple(dict.fromkeys(i.service for i in self.impacts))

    def regions_for(self, services: Iterable[str]) -> tuple[str, ...]:
        """The regions this signal concerns for a workload depending on ``services``.

        Only Service Health names services: there, a region counts when one of ``services`` is impacted in it
        (a Storage incident in westus and a Cosmos DB one in eastus concern only westus for a VM workload).
        Other sources are about a region or a resource as a whole, so all their regions count.
        """
        if not self.impacts:
            return self.regions
        wanted = {service_key(s) for s in services}
        hit = (i for i in self.impacts if service_key(i.service) in wanted)
        return tuple(dict.fromkeys(r for i in hit for r in i.regions))

    def concerns(self, region: str, services: Iterable[str]) -> bool:
        regions = self.regions_for(services)
        return region in regions or EVERY_REGION in regions

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "incident": self.incident,
            "notification": self.notification,
            "state": self.state.value,
            "at": self.at.isoformat(),
            "regions": list(self.regions),
            "resourceId": self.resource_id,
            "impacts": [i.to_json() for i in self.impacts],
            "maintenance": self.maintenance,
            "health": self.health,
            "stage": self.stage,
            "title": self.title,
            "raw": dict(self.raw),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> RegionHealthSignal:
        """The signal back from ``to_json``; a stored record that lost a required field is a SignalParseError."""
        moment = parse_time(data.get("at"))
        if moment is None:
            raise SignalParseError("at", "missing or not an ISO-8601 time")
        return cls(
            source=_enum(Source, data, "source"),
            incident=_required(data, "incident"),
            notification=_required(data, "notification"),
            state=_enum(SignalState, data, "state"),
            at=moment,
            regions=tuple(str(r) for r in items(data.get("regions"))),
            resource_id=text(data.get("resourceId")),
            impacts=tuple(Impact.from_json(i) for i in items(data.get("impacts"))),
            maintenance=data.get("maintenance") is True,
            health=text(data.get("health")),
            stage=text(data.get("stage")),
            title=str(data.get("title") or ""),
            raw=dict(mapping(data.get("raw"))),
        )


@dataclass(frozen=True)
class Ignored:
    """A notification that must never be acted on, and why: ``code`` for machines, ``reason`` for people."""

    reason: str
    code: IgnoreCode
    source: Source | None = None
    notification_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "code": self.code.value,
            "source": self.source.value if self.source else None,
            "notificationKey": self.notification_key,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Ignored:
        source = text(data.get("source"))
        return cls(
            reason=str(data.get("reason") or ""),
            code=_enum(IgnoreCode, data, "code"),
            source=_enum(Source, data, "source") if source else None,
            notification_key=text(data.get("notificationKey")),
        )


Classified = RegionHealthSignal | Ignored

_E = TypeVar("_E", bound=StrEnum)


def _required(data: Mapping[str, object], name: str) -> str:
    value = text(data.get(name))
    if value is None:
        raise SignalParseError(name, "missing or empty")
    return value


def _enum(kind: type[_E], data: Mapping[str, object], name: str) -> _E:
    value = data.get(name)
    try:
        return kind(str(value))
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise SignalParseError(name, f"{value!r} is not one of {allowed}") from None
