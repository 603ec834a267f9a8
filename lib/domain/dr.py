"""What an operator asks for (a DR request), its one parser, and the form a run stores.

Two formats on purpose:

* the **request body** (``parse_request``) is the public contract shared by HTTP and ``drctl``: camelCase,
  ``{"target": {"recoveryPlan": ..} | {"vms": [..]} | {"groups": [[..], ..]}, ...}``, unknown fields refused;
* the **stored input** (``DrRequest.to_json`` / ``request_from_json``) is internal and snake_case. It is what
  runs started before the HTTP API already hold, so it stays as it is and the public body can evolve apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from lib.domain.asr import RecoveryPointType
from lib.domain.errors import ValidationError

__all__ = [
    "BODY_FIELDS",
    "COMMIT_MODES",
    "DRILL_ONLY",
    "KINDS",
    "ON_APPROVAL_TIMEOUT",
    "TIMING_FIELDS",
    "ApprovalGate",
    "DrRequest",
    "Kind",
    "Timing",
    "parse_request",
    "request_from_json",
]

Kind = Literal["failover", "failback", "drill"]
KINDS: tuple[Kind, ...] = ("failover", "failback", "drill")
_VM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_POINT_TYPES = {p.value for p in RecoveryPointType}
MAX_VMS = 500
MAX_TEXT = 1000

DRILL_ONLY = ("testNetworkId", "probeUrl")
BODY_FIELDS = (
    "target",
    "recoveryPoint",
    "shutdownSource",
    "autoCommit",
    "autoReprotect",
    "commitMode",
    "parallelism",
    "reason",
    "timing",
    *DRILL_ONLY,
)
TARGET_FIELDS = ("recoveryPlan", "vms", "groups")


@dataclass(frozen=True)
class Timing:
    """How often to poll ASR and how long reprotect may take; seconds."""

    job_poll_s: float = 30.0  # longest wait between two reads of a running job (``lib.domain.polling``)
    health_poll_s: float = 60.0  # reprotect: the wait while no replication rate is known yet
    health_poll_max_s: float = 600.0  # reprotect: longest wait (``polling.STALL_CAP_S`` caps it lower)
    health_poll_backoff: float = 1.5  # kept for stored runs and bodies; adaptive polling does not back off
    reprotect_warn_s: float = 2 * 3600.0
    reprotect_max_s: float = 8 * 3600.0


# Body name -> Timing field. The body speaks camelCase like the rest of the API.
TIMING_FIELDS = {
    "jobPollSeconds": "job_poll_s",
    "healthPollSeconds": "health_poll_s",
    "healthPollMaxSeconds": "health_poll_max_s",
    "healthPollBackoff": "health_poll_backoff",
    "reprotectWarnSeconds": "reprotect_warn_s",
    "reprotectMaxSeconds": "reprotect_max_s",
}


ON_APPROVAL_TIMEOUT = ("expire", "proceed")

# How a VM-list failover commits: "together" (the default) commits only when every VM failed over and none
# failed (a partial failover never commits on its own); "per-vm" commits, then reprotects, each VM as soon as its
# own failover is done, for VMs the operator says are independent (a failed VM no longer holds the others back,
# and a commit cannot be undone).
TOGETHER, PER_VM = "together", "per-vm"
COMMIT_MODES = (TOGETHER, PER_VM)


@dataclass(frozen=True)
class ApprovalGate:
    """An operator approves the run before any ASR action; at ``timeout_s`` it expires or proceeds.

    Set by the autopilot (approval mode, drill gate); not part of the public request body yet.
    """

    timeout_s: float
    on_timeout: str = "expire"  # one of ON_APPROVAL_TIMEOUT

    @property
    def proceeds(self) -> bool:
        return self.on_timeout == "proceed"


@dataclass(frozen=True)
class DrRequest:
    kind: Kind
    plan: str | None = None
    vms: tuple[str, ...] = ()
    # Boot order for VM lists: groups run one after the other, VMs in a group in parallel (bounded).
    groups: tuple[tuple[str, ...], ...] = ()
    recovery_point: str = RecoveryPointType.LATEST_PROCESSED.value
    shutdown_source: bool = True
    auto_commit: bool = True
    auto_reprotect: bool = True
    commit_mode: str = TOGETHER  # one of COMMIT_MODES; "per-vm" only on VM lists with auto-commit on
    test_network_id: str | None = None
    probe_url: str | None = None
    parallelism: int = 10
    reason: str = ""
    requested_by: str = ""  # the caller's name (or "drctl", "alert", ...)
    requested_by_id: str = ""  # the caller's Entra object id when known
    timing: Timing = field(default_factory=Timing)
    approval: ApprovalGate | None = None  # pause for an operator before any ASR action
    # Who or what triggered the run when it was not a person: the autopilot's decision id, region, incident and
    # policy hash, so the run links back to the decision. Stored only; never read from a request body.
    trigger: Mapping[str, Any] | None = None

    @property
    def target_label(self) -> str:
        return f"plan {self.plan}" if self.plan else f"VMs {', '.join(self.vms)}"

    @property
    def per_vm_commit(self) -> bool:
        return self.commit_mode == PER_VM and not self.plan

    @property
    def recovery_point_id(self) -> str | None:
        return None if self.recovery_point in _POINT_TYPES else self.recovery_point

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.plan:
            del data["vms"], data["groups"]
        else:
            del data["plan"]
            data["vms"] = list(self.vms)
            data["groups"] = [list(g) for g in self.groups]
        if not self.requested_by_id:
            del data["requested_by_id"]  # keeps the stored form of runs without one unchanged
        if self.commit_mode == TOGETHER:
            del data["commit_mode"]  # likewise: a run that did not ask for per-VM commit stores what it did before
        if self.trigger is not None:
            data["trigger"] = dict(self.trigger)
        return {k: v for k, v in data.items() if v is not None}


# -- the stored form ----------------------------------------------------------------------------------


def request_from_json(data: Mapping[str, Any]) -> DrRequest:
    """Rebuild a request from a run's stored input (``DrRequest.to_json``; validated when the run started)."""
    known = {f.name for f in fields(Timing)}
    timing = {k: float(v) for k, v in dict(data.get("timing") or {}).items() if k in known}
    plan = data.get("plan")
    return DrRequest(
        kind=_kind(str(data["kind"])),
        plan=str(plan) if plan else None,
        vms=tuple(str(v) for v in data.get("vms", ())),
        groups=tuple(tuple(str(v) for v in g) for g in data.get("groups", ())),
        recovery_point=str(data.get("recovery_point", RecoveryPointType.LATEST_PROCESSED.value)),
        shutdown_source=bool(data.get("shutdown_source", True)),
        auto_commit=bool(data.get("auto_commit", True)),
        auto_reprotect=bool(data.get("auto_reprotect", True)),
        commit_mode=PER_VM if data.get("commit_mode") == PER_VM else TOGETHER,
        test_network_id=data.get("test_network_id"),
        probe_url=data.get("probe_url"),
        parallelism=int(data.get("parallelism", 10)),
        reason=str(data.get("reason", "")),
        requested_by=str(data.get("requested_by", "")),
        requested_by_id=str(data.get("requested_by_id", "")),
        timing=Timing(**timing),
        approval=_stored_gate(data.get("approval")),
        trigger=dict(data["trigger"]) if isinstance(data.get("trigger"), Mapping) else None,
    )


def _stored_gate(data: object) -> ApprovalGate | None:
    if not isinstance(data, Mapping):
        return None
    on_timeout = str(data.get("on_timeout", "expire"))
    return ApprovalGate(float(data.get("timeout_s", 0)), on_timeout if on_timeout in ON_APPROVAL_TIMEOUT else "expire")


# -- the request body: one small validator per field --------------------------------------------------


def _kind(kind: str) -> Kind:
    for known in KINDS:
        if kind == known:
            return known
    raise ValidationError("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")


def _known_fields(kind: Kind, payload: Mapping[str, Any]) -> None:
    for name in payload:
        if name not in BODY_FIELDS:
            raise ValidationError(str(name), f"unknown field; the body takes {', '.join(BODY_FIELDS)}")
        if name in DRILL_ONLY and kind != "drill":
            raise ValidationError(name, f"applies to drills only, not to a {kind}")


def _names(value: Any, field_name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValidationError(field_name, "must be a non-empty list of VM names")
    if len(value) > MAX_VMS:
        raise ValidationError(field_name, f"lists {len(value)} VMs; at most {MAX_VMS} per request")
    seen: set[str] = set()
    for name in value:
        if not isinstance(name, str) or not _VM_NAME.match(name):
            raise ValidationError(field_name, f"{name!r} is not a valid VM name")
        if name.lower() in seen:
            raise ValidationError(field_name, f"{name!r} is listed twice")
        seen.add(name.lower())
    return tuple(value)


def _groups(value: Any) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list) or not value:
        raise ValidationError("target.groups", "must be a non-empty list of lists of VM names (boot order)")
    groups = tuple(_names(g, f"target.groups[{i}]") for i, g in enumerate(value))
    flat = [vm.lower() for g in groups for vm in g]
    if len(set(flat)) != len(flat):
        raise ValidationError("target.groups", "a VM appears in more than one group")
    return groups


def _plan(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("target.recoveryPlan", "must be a recovery plan name")
    if len(value) > 260:
        raise ValidationError("target.recoveryPlan", "is longer than 260 characters")
    return value.strip()


def _target(payload: Mapping[str, Any]) -> tuple[str | None, tuple[str, ...], tuple[tuple[str, ...], ...]]:
    target = payload.get("target")
    if target is None:
        raise ValidationError("target", "is required: {'recoveryPlan': name} or {'vms': [names]}")
    if not isinstance(target, Mapping):
        raise ValidationError("target", "must be an object: {'recoveryPlan': name} or {'vms': [names]}")
    for name in target:
        if name not in TARGET_FIELDS:
            raise ValidationError(f"target.{name}", f"unknown field; the target takes {', '.join(TARGET_FIELDS)}")
    has_plan, has_vms = "recoveryPlan" in target, "vms" in target or "groups" in target
    if has_plan == has_vms:
        raise ValidationError("target", "give exactly one of 'recoveryPlan' or 'vms' (optionally with 'groups')")
    if has_plan:
        return _plan(target["recoveryPlan"]), (), ()
    if "groups" not in target:
        vms = _names(target["vms"], "target.vms")
        return None, vms, (vms,)
    groups = _groups(target["groups"])
    flat = tuple(vm for g in groups for vm in g)
    if "vms" in target and {v.lower() for v in _names(target["vms"], "target.vms")} != {v.lower() for v in flat}:
        raise ValidationError("target.vms", "must list the same VMs as 'groups' (or leave 'vms' out)")
    return None, flat, groups


def _recovery_point(kind: Kind, value: Any, single_vm: bool) -> str:
    if value is None:
        return RecoveryPointType.LATEST_PROCESSED.value
    if not isinstance(value, str) or not value:
        raise ValidationError("recoveryPoint", "must be a recovery point type or a recovery point id")
    if value not in _POINT_TYPES:
        if "/recoveryPoints/" not in value:
            kinds = ", ".join(sorted(_POINT_TYPES))
            raise ValidationError("recoveryPoint", f"{value!r} is not one of {kinds} nor a recovery point ARM id")
        if not single_vm:
            raise ValidationError("recoveryPoint", "a specific recovery point id applies to a single VM only")
    if kind == "drill" and value == RecoveryPointType.LATEST.value:
        return RecoveryPointType.LATEST_PROCESSED.value  # ASR test failover takes processed points only
    return value


def _test_network(kind: Kind, value: Any) -> str | None:
    if kind != "drill":
        return None
    if value is None:
        raise ValidationError("testNetworkId", "a drill needs the ARM id of an isolated virtual network")
    if not isinstance(value, str) or "/virtualNetworks/" not in value or len(value) > MAX_TEXT:
        raise ValidationError("testNetworkId", "must be the ARM id of a virtual network (.../virtualNetworks/name)")
    return value


def _probe(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value) or len(value) > MAX_TEXT:
        raise ValidationError("probeUrl", "must be an http(s) URL")
    return value


def _parallelism(value: Any) -> int:
    if value is None:
        return 10
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise ValidationError("parallelism", f"must be an integer from 1 to 100, got {value!r}")
    return value


def _bool(payload: Mapping[str, Any], name: str) -> bool:
    value = payload.get(name)
    if value is None:  # null means "the default", as for every optional field
        return True
    if not isinstance(value, bool):
        raise ValidationError(name, f"must be true or false, got {value!r}")
    return value


def _commit_mode(kind: Kind, value: Any, *, plan: str | None, auto_commit: bool) -> str:
    if value is None:
        return TOGETHER
    if not isinstance(value, str) or value not in COMMIT_MODES:
        raise ValidationError("commitMode", f"must be one of {', '.join(COMMIT_MODES)}, got {value!r}")
    if value == TOGETHER:
        return value
    if kind == "drill":
        raise ValidationError("commitMode", "applies to failover and failback, not to a drill (it commits nothing)")
    if plan:
        raise ValidationError("commitMode", "per-vm applies to VM lists; a recovery plan commits with its plan job")
    if not auto_commit:
        raise ValidationError("commitMode", "per-vm commits without asking, which autoCommit false forbids")
    return value


def _reason(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("reason", "must be text")
    if len(value) > MAX_TEXT:
        raise ValidationError("reason", f"is longer than {MAX_TEXT} characters")
    return value


def _seconds(name: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= 7 * 24 * 3600:
        raise ValidationError(f"timing.{name}", f"must be a positive number of seconds up to a week, got {raw!r}")
    return float(raw)


def _timing(value: Any) -> Timing:
    if value is None:
        return Timing()
    if not isinstance(value, Mapping):
        raise ValidationError("timing", "must be an object of seconds")
    values: dict[str, float] = {}
    for name, raw in value.items():
        if name not in TIMING_FIELDS:
            raise ValidationError(f"timing.{name}", f"unknown setting; known: {', '.join(TIMING_FIELDS)}")
        values[TIMING_FIELDS[name]] = _seconds(name, raw)
    timing = Timing(**values)
    if timing.reprotect_warn_s > timing.reprotect_max_s:
        raise ValidationError("timing.reprotectWarnSeconds", "must not exceed timing.reprotectMaxSeconds")
    return timing


def parse_request(kind: str, payload: Any, *, actor: str = "", actor_id: str = "") -> DrRequest:
    """Validate a request body from HTTP or ``drctl``; raises ``ValidationError(field, reason)``.

    ``actor``/``actor_id`` say who asks; they come from the caller's identity, never from the body.
    """
    checked = _kind(kind)
    if not isinstance(payload, Mapping):
        raise ValidationError("body", f"must be a JSON object, got {type(payload).__name__}")
    _known_fields(checked, payload)
    plan, vms, groups = _target(payload)
    auto_commit = _bool(payload, "autoCommit")
    return DrRequest(
        kind=checked,
        plan=plan,
        vms=vms,
        groups=groups,
        recovery_point=_recovery_point(checked, payload.get("recoveryPoint"), plan is None and len(vms) == 1),
        shutdown_source=_bool(payload, "shutdownSource"),
        auto_commit=auto_commit,
        auto_reprotect=_bool(payload, "autoReprotect"),
        commit_mode=_commit_mode(checked, payload.get("commitMode"), plan=plan, auto_commit=auto_commit),
        test_network_id=_test_network(checked, payload.get("testNetworkId")),
        probe_url=_probe(payload.get("probeUrl")),
        parallelism=_parallelism(payload.get("parallelism")),
        reason=_reason(payload.get("reason")),
        requested_by=actor,
        requested_by_id=actor_id,
        timing=_timing(payload.get("timing")),
    )
