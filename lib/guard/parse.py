"""Reading the policy from ``DR_POLICY`` (inline JSON) or ``DR_POLICY_FILE`` (a file's text), refusing a bad one.

Validation never stops at the first problem: ``PolicyErrors`` lists every one with its JSON path
(``regions.eastus.mode: must be one of off, dry-run, approval, auto``), so an operator fixes the policy in one go.
A bad policy acts on nothing automatically; the app stays up and shows the errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from lib.domain.asr import RecoveryPointType
from lib.domain.dr import COMMIT_MODES, MAX_VMS, PER_VM
from lib.domain.errors import ValidationError
from lib.guard.policy import FailoverOptions, Mode, OnApprovalTimeout, Policy, Probe, RegionPolicy, Target
from lib.signals import DEFAULT_SERVICES, arm_region, is_known_region

__all__ = [
    "POLICY_ENV",
    "POLICY_FILE_ENV",
    "PolicyError",
    "PolicyErrors",
    "PolicyInvalid",
    "parse_policy",
    "policy_from_data",
    "policy_from_env",
]

POLICY_ENV = "DR_POLICY"
POLICY_FILE_ENV = "DR_POLICY_FILE"

POLICY_KEYS = ("killSwitch", "regions", "drills")
REGION_KEYS = (
    "targets",
    "mode",
    "minSources",
    "dwellMinutes",
    "cooldownMinutes",
    "maxVms",
    "approvalTimeoutMinutes",
    "onApprovalTimeout",
    "requireDrillWithinDays",
    "includeMaintenance",
    "unavailableVmShare",
    "services",
    "probes",
    "failover",
    "rpoTargetSeconds",
)
TARGET_KEYS = ("recoveryPlan", "vms")
PROBE_KEYS = ("url", "failuresToSignal")
FAILOVER_KEYS = ("recoveryPoint", "shutdownSource", "autoCommit", "autoReprotect", "commitMode")

_VM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_URL = re.compile(r"^https?://[^\s/]+\S*$")
_WEEK_MINUTES = 7 * 24 * 60
_MAX_TEXT = 1000

_T = TypeVar("_T")


@dataclass(frozen=True)
class PolicyError:
    path: str  # JSON path of the bad value: regions.eastus.targets[0].vms[2]
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class PolicyInvalid(ValidationError):
    """Raised by ``Policy.from_json``: ``field``/``reason`` are the first error; ``errors`` all of them."""

    def __init__(self, errors: Sequence[PolicyError]) -> None:
        first = errors[0] if errors else PolicyError("policy", "is invalid")
        super().__init__(first.path, first.reason)
        self.errors = tuple(str(e) for e in errors)


@dataclass(frozen=True)
class PolicyErrors:
    """A policy that failed validation: every error, and where the text came from (``DR_POLICY`` or the file)."""

    errors: tuple[PolicyError, ...]
    origin: str = POLICY_ENV

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(str(e) for e in self.errors)

    def error(self) -> PolicyInvalid:
        return PolicyInvalid(self.errors)

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "errors": [{"path": e.path, "reason": e.reason} for e in self.errors],
        }


@dataclass
class _Errors:
    found: list[PolicyError] = field(default_factory=list)

    def add(self, path: str, reason: str) -> None:
        self.found.append(PolicyError(path, reason))


# -- entry points -------------------------------------------------------------------------------------------


def policy_from_env(env: Mapping[str, str], read_text: Callable[[str], str]) -> Policy | PolicyErrors:
    """The policy the app runs with. ``read_text(path)`` reads ``DR_POLICY_FILE`` (the caller's I/O).

    Neither variable set: an empty policy (no region acts). Both set: an error, since which one wins would be
    a guess.
    """
    inline, path = env.get(POLICY_ENV, "").strip(), env.get(POLICY_FILE_ENV, "").strip()
    if inline and path:
        reason = f"give {POLICY_ENV} or {POLICY_FILE_ENV}, not both"
        return PolicyErrors((PolicyError(POLICY_FILE_ENV, reason),), POLICY_FILE_ENV)
    if inline:
        return parse_policy(inline, origin=POLICY_ENV)
    if not path:
        return Policy()
    try:
        text = read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        return PolicyErrors((PolicyError(POLICY_FILE_ENV, f"cannot read {path!r}: {exc}"),), POLICY_FILE_ENV)
    return parse_policy(text, origin=POLICY_FILE_ENV)


def parse_policy(text: str, *, origin: str = POLICY_ENV) -> Policy | PolicyErrors:
    """The policy in ``text`` (JSON), or every error in it."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return PolicyErrors((PolicyError(origin, f"is not JSON ({exc})"),), origin)
    result = policy_from_data(data)
    if isinstance(result, PolicyErrors):
        return PolicyErrors(result.errors, origin)
    return result


def policy_from_data(data: object) -> Policy | PolicyErrors:
    """The policy from decoded JSON, or every error in it."""
    errors = _Errors()
    body = _object(data, "", POLICY_KEYS, errors)
    kill_switch = _bool(body, "killSwitch", "killSwitch", False, errors)
    regions = _regions(body.get("regions"), errors)
    _no_target_twice(regions, errors)
    from lib.guard.drill_parse import read_drills  # imported here: it reuses this module's readers

    drills = read_drills(body.get("drills"), errors)
    if errors.found:
        return PolicyErrors(tuple(errors.found))
    return Policy(regions=regions, kill_switch=kill_switch, drills=drills)


# -- the policy's parts ----------------------------------------------------------------------------------


def _regions(value: object, errors: _Errors) -> dict[str, RegionPolicy]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.add("regions", "must be an object keyed by ARM region name")
        return {}
    regions: dict[str, RegionPolicy] = {}
    for name, body in value.items():
        path = f"regions.{name}"
        if not isinstance(name, str) or name != arm_region(name) or not is_known_region(name):
            hint = arm_region(name) if isinstance(name, str) else None
            suggestion = f" (did you mean {hint!r}?)" if hint and is_known_region(hint) else ""
            errors.add(path, f"is not an ARM region name such as 'eastus' or 'northeurope'{suggestion}")
            continue
        region = _region(body, path, errors)
        if region is not None:
            regions[name] = region
    return regions


def _region(value: object, path: str, errors: _Errors) -> RegionPolicy | None:
    before = len(errors.found)
    body = _object(value, path, REGION_KEYS, errors)
    region = RegionPolicy(
        targets=_targets(body.get("targets"), f"{path}.targets", errors),
        mode=_choice(body, "mode", path, Mode.DRY_RUN, errors),
        min_sources=_int(body, "minSources", path, (1, 7, 1), errors),
        dwell_minutes=_int(body, "dwellMinutes", path, (0, _WEEK_MINUTES, 0), errors),
        cooldown_minutes=_int(body, "cooldownMinutes", path, (0, 30 * 24 * 60, 1440), errors),
        max_vms=_int(body, "maxVms", path, (1, 10_000, 500), errors),
        approval_timeout_minutes=_int(body, "approvalTimeoutMinutes", path, (1, _WEEK_MINUTES, 60), errors),
        on_approval_timeout=_choice(body, "onApprovalTimeout", path, OnApprovalTimeout.EXPIRE, errors),
        require_drill_within_days=_optional_int(body, "requireDrillWithinDays", path, (1, 3650), errors),
        include_maintenance=_bool(body, "includeMaintenance", f"{path}.includeMaintenance", False, errors),
        unavailable_vm_share=_share(body, "unavailableVmShare", path, errors),
        services=_services(body.get("services"), f"{path}.services", errors),
        probes=_list(body.get("probes"), f"{path}.probes", _probe, errors),
        failover=_failover(body.get("failover"), f"{path}.failover", errors),
        rpo_target_seconds=_optional_int(body, "rpoTargetSeconds", path, (1, 7 * 24 * 3600), errors),
    )
    _per_vm_needs_vm_lists(region, path, errors)
    return region if len(errors.found) == before else None


def _per_vm_needs_vm_lists(region: RegionPolicy, path: str, errors: _Errors) -> None:
    """A recovery plan commits with its plan job: per-VM commit applies to VM-list targets only."""
    if region.failover.commit_mode != PER_VM:
        return
    for i, target in enumerate(region.targets):
        if target.recovery_plan is not None:
            errors.add(
                f"{path}.failover.commitMode",
                f"per-vm applies to VM-list targets; targets[{i}] is recovery plan {target.recovery_plan!r}",
            )


def _targets(value: object, path: str, errors: _Errors) -> tuple[Target, ...]:
    if value is None:
        errors.add(path, "is required: a list of {'recoveryPlan': name} or {'vms': [names]}")
        return ()
    targets = _list(value, path, _target, errors)
    if isinstance(value, list) and not value:
        errors.add(path, "must list at least one target")
    return targets


def _target(value: object, path: str, errors: _Errors) -> Target | None:
    body = _object(value, path, TARGET_KEYS, errors)
    if not isinstance(value, Mapping):
        return None
    if ("recoveryPlan" in body) == ("vms" in body):
        errors.add(path, "give exactly one of 'recoveryPlan' or 'vms'")
        return None
    if "recoveryPlan" in body:
        plan = body["recoveryPlan"]
        if not isinstance(plan, str) or not plan.strip() or len(plan) > 260:
            errors.add(f"{path}.recoveryPlan", "must be a recovery plan name (1 to 260 characters)")
            return None
        return Target(recovery_plan=plan.strip())
    vms = _vm_names(body["vms"], f"{path}.vms", errors)
    return Target(vms=vms) if vms else None


def _vm_names(value: object, path: str, errors: _Errors) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        errors.add(path, "must be a non-empty list of VM names")
        return ()
    if len(value) > MAX_VMS:  # refused now, not when an outage starts the run (a run's request takes this many)
        errors.add(path, f"lists {len(value)} VMs; one run takes at most {MAX_VMS}: split them into more targets")
        return ()
    names: list[str] = []
    for i, name in enumerate(value):
        if not isinstance(name, str) or not _VM_NAME.match(name):
            errors.add(f"{path}[{i}]", f"{name!r} is not a valid VM name")
        elif name.lower() in {n.lower() for n in names}:
            errors.add(f"{path}[{i}]", f"{name!r} is listed twice")
        else:
            names.append(name)
    return tuple(names)


def _probe(value: object, path: str, errors: _Errors) -> Probe | None:
    body = _object(value, path, PROBE_KEYS, errors)
    url = body.get("url")
    if not isinstance(url, str) or not _URL.match(url) or len(url) > _MAX_TEXT:
        errors.add(f"{path}.url", "must be an http(s) URL")
        return None
    return Probe(url=url, failures_to_signal=_int(body, "failuresToSignal", path, (1, 100, 3), errors))


def _failover(value: object, path: str, errors: _Errors) -> FailoverOptions:
    body = _object(value, path, FAILOVER_KEYS, errors) if value is not None else {}
    point = body.get("recoveryPoint", RecoveryPointType.LATEST.value)
    kinds = [p.value for p in RecoveryPointType]
    if point not in kinds:
        errors.add(f"{path}.recoveryPoint", f"must be one of {', '.join(kinds)}")
        point = RecoveryPointType.LATEST.value
    auto_commit = _bool(body, "autoCommit", f"{path}.autoCommit", True, errors)
    mode = body.get("commitMode", COMMIT_MODES[0])
    if mode not in COMMIT_MODES:
        errors.add(f"{path}.commitMode", f"must be one of {', '.join(COMMIT_MODES)}, got {mode!r}")
        mode = COMMIT_MODES[0]
    elif mode == PER_VM and not auto_commit:
        errors.add(f"{path}.commitMode", "per-vm commits without asking, which autoCommit false forbids")
    return FailoverOptions(
        recovery_point=str(point),
        shutdown_source=_bool(body, "shutdownSource", f"{path}.shutdownSource", True, errors),
        auto_commit=auto_commit,
        auto_reprotect=_bool(body, "autoReprotect", f"{path}.autoReprotect", True, errors),
        commit_mode=str(mode),
    )


def _services(value: object, path: str, errors: _Errors) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_SERVICES
    if not isinstance(value, list) or not value:
        errors.add(path, "must be a non-empty list of Service Health service names")
        return DEFAULT_SERVICES
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errors.add(f"{path}[{i}]", "must be a service name such as 'Virtual Machines'")
    return tuple(" ".join(n.split()) for n in value if isinstance(n, str) and n.strip())


def _no_target_twice(regions: Mapping[str, RegionPolicy], errors: _Errors) -> None:
    """A VM (or plan) failed over by two regions' policies would be started twice for one outage."""
    owner: dict[str, str] = {}
    for name in sorted(regions):
        for i, target in enumerate(regions[name].targets):
            path = f"regions.{name}.targets[{i}]"
            plan = target.recovery_plan
            parts = [("recoveryPlan", f"plan:{plan}", plan)] if plan else []
            parts += [(f"vms[{j}]", f"vm:{vm.lower()}", vm) for j, vm in enumerate(target.vms)]
            for where, key, label in parts:
                if key in owner and owner[key] != path:
                    errors.add(f"{path}.{where}", f"{label!r} is already a target of {owner[key]}")
                owner.setdefault(key, path)


# -- one small reader per kind of value ------------------------------------------------------------------


def _object(value: object, path: str, known: Sequence[str], errors: _Errors) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        errors.add(path or "policy", "must be an object")
        return {}
    body = cast(Mapping[str, object], value)
    for key in body:
        if key not in known:
            errors.add(f"{path}.{key}" if path else str(key), f"unknown key; known: {', '.join(known)}")
    return body


def _list(
    value: object, path: str, read: Callable[[object, str, _Errors], _T | None], errors: _Errors
) -> tuple[_T, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        errors.add(path, "must be a list")
        return ()
    read_items = (read(item, f"{path}[{i}]", errors) for i, item in enumerate(value))
    return tuple(item for item in read_items if item is not None)


def _bool(body: Mapping[str, object], key: str, path: str, default: bool, errors: _Errors) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        errors.add(path, f"must be true or false, got {value!r}")
        return default
    return value


def _int(body: Mapping[str, object], key: str, path: str, bounds: tuple[int, int, int], errors: _Errors) -> int:
    low, high, default = bounds
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.add(f"{path}.{key}", f"must be an integer from {low} to {high}, got {value!r}")
        return default
    return value


def _optional_int(
    body: Mapping[str, object], key: str, path: str, bounds: tuple[int, int], errors: _Errors
) -> int | None:
    if body.get(key) is None:
        return None
    return _int(body, key, path, (*bounds, bounds[0]), errors)


def _share(body: Mapping[str, object], key: str, path: str, errors: _Errors) -> float:
    value = body.get(key, 0.5)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        errors.add(f"{path}.{key}", f"must be a number above 0 and at most 1, got {value!r}")
        return 0.5
    return float(value)


_E = TypeVar("_E", Mode, OnApprovalTimeout)


def _choice(body: Mapping[str, object], key: str, path: str, default: _E, errors: _Errors) -> _E:
    kind = type(default)
    value = body.get(key, default.value)
    for member in kind:
        if value == member.value:
            return member
    errors.add(f"{path}.{key}", f"must be one of {', '.join(m.value for m in kind)}")
    return default
