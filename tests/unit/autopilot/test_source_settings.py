"""The signal sources' settings: defaults, and the devhost's app settings carry them to the app."""

from __future__ import annotations

from devhost.appenv import app_env
from lib.settings import Settings


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert (settings.signals_queue, settings.probe_schedule) == ("drsignals", "0 * * * * *")
    assert (settings.probes_table, settings.vm_health_table) == ("drprobes", "drvmhealth")
    assert Settings.from_env({"PROBE_SCHEDULE": "  "}).probe_schedule == "0 * * * * *"


def test_they_round_trip_through_the_app_settings() -> None:
    settings = Settings(signals_queue="sq", probe_schedule="*/10 * * * * *", probes_table="pt", vm_health_table="vt")
    assert Settings.from_env(app_env(settings)) == settings
