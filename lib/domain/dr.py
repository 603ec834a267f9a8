"""What an operator asks for (a DR request) and its validation: bad input names the field and the reason."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from lib.domain.asr import RecoveryPointType
from lib.domain.errors import ValidationError

Kind = Literal["failover", "failback", "drill"]
KINDS: tuple[Kind, ...] = ("failover", "failback", "drill")
_VM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_POINT_TYPES = {p.value for p in RecoveryPointType}


@dataclass(frozen=True)
class Timing:
    """How often to poll ASR and how long reprotect may take; seconds."""

    job_poll_s: float = 30.0
    health_poll_s: float = 60.0
    health_poll_max_s: float = 600.0
    health_poll_backoff: float = 1.5
    reprotect_warn_s: float = 2 * 3600.0
    reprotect_max_s: float = 8 * 3600.0


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
    test_network_id: str | None = None
    probe_url: str | None = None
    parallelism: int = 10
    reason: str = ""
    requested_by: str = ""
    timing: Timing = field(default_factory=Timing)

    @property
    def target_label(self) -> str:
        return f"plan {self.plan}" if self.plan else f"VMs {', '.join(self.vms)}"

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
        return {k: v for k, v in data.items() if v is not None}


def _bool(payload: Mapping[str, Any], name: str, default: bool) -> bool:
    value = payload.get(name, default)
    if not isinstance(value, bool):
        raise ValidationError(name, f"must be true or false, got {value!r}")
    return value


def _names(value: Any, field_name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not value:
        raise ValidationError(field_name, "must be a non-empty list of VM names")
    names: list[str] = []
    for name in value:
        if not isinstance(name, str) or not _VM_NAME.match(name):
            raise ValidationError(field_name, f"{name!r} is not a valid VM name")
        if name.lower() in (n.lower() for n in names):
            raise ValidationError(field_name, f"{name!r} is listed twice")
        names.append(name)
    return tuple(names)


def _timing(value: Any) -> Timing:
    if value is None:
        return Timing()
    if not isinstance(value, Mapping):
        raise ValidationError("timing", "must be an object of seconds")
    known = Timing.__dataclass_fields__
    values: dict[str, float] = {}
    for key, raw in value.items():
        if key not in known:
            raise ValidationError(f"timing.{key}", f"unknown setting; known: {', '.join(sorted(known))}")
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
            raise ValidationError(f"timing.{key}", f"must be a positive number, got {raw!r}")
        values[key] = float(raw)
    timing = Timing(**values)
    if timing.reprotect_warn_s > timing.reprotect_max_s:
        raise ValidationError("timing.reprotect_warn_s", "must not exceed timing.reprotect_max_s")
    return timing


def parse_request(kind: str, payload: Mapping[str, Any]) -> DrRequest:
    """Validate a request from HTTP, the CLI or a trigger; raises ValidationError(field, reason)."""
    if kind not in KINDS:
        raise ValidationError("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    plan = payload.get("plan")
    vms_raw = payload.get("vms")
    groups_raw = payload.get("groups")
    if (plan is None) == (vms_raw is None and groups_raw is None):
        raise ValidationError("target", "give exactly one of 'plan' (a recovery plan name) or 'vms' (VM names)")
    if plan is not None and (not isinstance(plan, str) or not plan.strip()):
        raise ValidationError("plan", "must be a recovery plan name")
    groups: tuple[tuple[str, ...], ...] = ()
    vms: tuple[str, ...] = ()
    if groups_raw is not None:
        if not isinstance(groups_raw, list) or not groups_raw:
            raise ValidationError("groups", "must be a non-empty list of lists of VM names")
        groups = tuple(_names(g, f"groups[{i}]") for i, g in enumerate(groups_raw))
        flat = [vm for g in groups for vm in g]
        if len({v.lower() for v in flat}) != len(flat):
            raise ValidationError("groups", "a VM appears in more than one group")
        if vms_raw is not None and {v.lower() for v in _names(vms_raw, "vms")} != {v.lower() for v in flat}:
            raise ValidationError("vms", "must list the same VMs as 'groups' (or leave 'vms' out)")
        vms = tuple(flat)
    elif vms_raw is not None:
        vms = _names(vms_raw, "vms")
        groups = (vms,)

    point = payload.get("recovery_point", RecoveryPointType.LATEST_PROCESSED.value)
    if not isinstance(point, str) or not point:
        raise ValidationError("recovery_point", "must be a recovery point type or a recovery point id")
    if point not in _POINT_TYPES:
        if "/recoveryPoints/" not in point:
            raise ValidationError(
                "recovery_point", f"must be one of {', '.join(sorted(_POINT_TYPES))} or a recovery point ARM id"
            )
        if plan is not None or len(vms) != 1:
            raise ValidationError("recovery_point", "a specific recovery point id applies to a single VM only")
    if kind == "drill" and point == RecoveryPointType.LATEST.value:
        point = RecoveryPointType.LATEST_PROCESSED.value  # ASR test failover takes processed points only

    network = payload.get("test_network_id")
    if kind == "drill" and (not isinstance(network, str) or "/virtualNetworks/" not in network):
        raise ValidationError("test_network_id", "a drill needs the ARM id of an isolated virtual network")
    probe = payload.get("probe_url")
    if probe is not None and (not isinstance(probe, str) or not re.match(r"^https?://", probe)):
        raise ValidationError("probe_url", "must be an http(s) URL")
    parallelism = payload.get("parallelism", 10)
    if isinstance(parallelism, bool) or not isinstance(parallelism, int) or not 1 <= parallelism <= 100:
        raise ValidationError("parallelism", "must be an integer from 1 to 100")
    for text_field in ("reason", "requested_by"):
        if not isinstance(payload.get(text_field, ""), str):
            raise ValidationError(text_field, "must be text")

    return DrRequest(
        kind=kind,
        plan=plan.strip() if isinstance(plan, str) else None,
        vms=vms,
        groups=groups,
        recovery_point=point,
        shutdown_source=_bool(payload, "shutdown_source", True),
        auto_commit=_bool(payload, "auto_commit", True),
        auto_reprotect=_bool(payload, "auto_reprotect", True),
        test_network_id=network if isinstance(network, str) else None,
        probe_url=probe,
        parallelism=parallelism,
        reason=payload.get("reason", ""),
        requested_by=payload.get("requested_by", ""),
        timing=_timing(payload.get("timing")),
    )


def request_from_json(data: Mapping[str, Any]) -> DrRequest:
    """Rebuild a request stored in a run's input (it was validated when the run started)."""
    return parse_request(str(data["kind"]), data)
