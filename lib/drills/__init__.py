"""The drill timer: scheduled drills from the policy's ``drills`` section, and cleanup of abandoned test failovers."""

from lib.drills.abandoned import CleanupChoice, choose_cleanups
from lib.drills.scheduler import ACTOR, DrillTimer, TickReport, drill_timer, load_policy

__all__ = ["ACTOR", "CleanupChoice", "DrillTimer", "TickReport", "choose_cleanups", "drill_timer", "load_policy"]
