"""Automatic failover from region-health signals: the signal intake, its sources and the decisions."""
