"""The guardrails of automatic failover, pure: the policy (``DR_POLICY`` / ``DR_POLICY_FILE``), the decision for a
region from its health signals, the probe state machine and the protected-VM share. No I/O, standard library only;
the triggers, storage and timers sit on top (observe -> ``decide`` -> act). See README.md beside this file.
"""

from lib.guard.decide import decide
from lib.guard.decision import Action, Decision, Outcome, Pending, PendingKind, TargetDecision, TargetFacts
from lib.guard.parse import (
    POLICY_ENV,
    POLICY_FILE_ENV,
    PolicyError,
    PolicyErrors,
    PolicyInvalid,
    parse_policy,
    policy_from_data,
    policy_from_env,
)
from lib.guard.policy import FailoverOptions, Mode, OnApprovalTimeout, Policy, Probe, RegionPolicy, Target
from lib.guard.probes import ProbeState, observe_probe
from lib.guard.state import IncidentState, RegionState, region_state
from lib.guard.vm_share import VmAvailability, unavailable_share, vm_share_signal

__all__ = [
    "POLICY_ENV",
    "POLICY_FILE_ENV",
    "Action",
    "Decision",
    "FailoverOptions",
    "IncidentState",
    "Mode",
    "OnApprovalTimeout",
    "Outcome",
    "Pending",
    "PendingKind",
    "Policy",
    "PolicyError",
    "PolicyErrors",
    "PolicyInvalid",
    "Probe",
    "ProbeState",
    "RegionPolicy",
    "RegionState",
    "Target",
    "TargetDecision",
    "TargetFacts",
    "VmAvailability",
    "decide",
    "observe_probe",
    "parse_policy",
    "policy_from_data",
    "policy_from_env",
    "region_state",
    "unavailable_share",
    "vm_share_signal",
]
