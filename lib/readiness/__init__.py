"""Continuous readiness, like a plan evaluation: observe (ASR, compute usages, settings, policy) -> evaluate (pure
checks, one state and reason each) -> store (Table storage, latest + history) and publish a change. See README.md."""

from lib.readiness.evaluate import Observation, TargetSpec, evaluate, target_specs
from lib.readiness.model import Category, Check, State, TargetReadiness, worst

__all__ = [
    "Category",
    "Check",
    "Observation",
    "State",
    "TargetReadiness",
    "TargetSpec",
    "evaluate",
    "target_specs",
    "worst",
]
