"""Every setting the code reads is deployed or documented as optional; every deployed setting is read by someone.

The code's reads are discovered (discover.py), the deployed settings parsed from main.bicep's ``appSettings``
variable, and the optional and platform settings read from the README's "App settings" table (consistency.py).
A branch that adds a setting gets a failure here that says what to add and where.
"""

from __future__ import annotations

from pathlib import Path

import azure.functions as func
import pytest

from tests.infra import bicep, consistency, discover, readme_settings
from tests.infra.consistency import Reads


@pytest.fixture(scope="module")
def reads() -> Reads:
    return consistency.by_setting(discover.all_reads())


@pytest.fixture(scope="module")
def deployed() -> set[str]:
    return set(bicep.deployed_settings())


@pytest.fixture(scope="module")
def table() -> dict[str, readme_settings.Row]:
    return {row.setting: row for row in readme_settings.rows()}


def _assert_none(problems: list[str]) -> None:
    assert not problems, "\n".join(problems)


def test_every_setting_the_code_reads_is_deployed_or_documented_optional(
    reads: Reads, deployed: set[str], table: dict[str, readme_settings.Row]
) -> None:
    _assert_none(consistency.reads_not_deployed(reads, deployed, table))


def test_every_deployed_setting_is_read_by_the_code_or_the_platform(
    reads: Reads, deployed: set[str], table: dict[str, readme_settings.Row]
) -> None:
    _assert_none(consistency.deployed_not_read(reads, deployed, table))


def test_readme_lists_exactly_the_deployed_settings(deployed: set[str], table: dict[str, readme_settings.Row]) -> None:
    _assert_none(consistency.table_differs_from_deployed(deployed, table))


def test_settings_the_readme_says_the_app_reads_are_read(reads: Reads, table: dict[str, readme_settings.Row]) -> None:
    _assert_none(consistency.app_rows_not_read(reads, table))


def test_binding_references_are_deployed(reads: Reads, deployed: set[str]) -> None:
    _assert_none(consistency.bindings_not_deployed(reads, deployed))


def test_schedule_settings_are_timer_schedules(reads: Reads, deployed: set[str]) -> None:
    _assert_none(consistency.schedules_not_timers(reads, deployed))


# ---- the checks themselves, on made-up apps --------------------------------------------------------------------


def _made_up_app(schedules: list[str]) -> func.FunctionApp:
    app = func.FunctionApp()
    for index, setting in enumerate(schedules):
        app.function_name(f"timer{index}")(
            app.timer_trigger(arg_name="timer", schedule=f"%{setting}%")(lambda timer: None)
        )
    app.queue_trigger(arg_name="msg", queue_name="drwork", connection="AzureWebJobsStorage")(lambda msg: None)
    return app


def _made_up_reads(tmp_path: Path, names: list[str], schedules: list[str]) -> Reads:
    settings_py = tmp_path / "settings.py"
    gets = ", ".join(f"e.get({name!r})" for name in names)
    settings_py.write_text(f"def from_env(e):\n    return [{gets}]\n", encoding="utf-8")
    found = discover.source_reads([settings_py], settings_py=settings_py, root=tmp_path)
    return consistency.by_setting(found + discover.binding_reads(_made_up_app(schedules).get_functions()))


def test_the_checks_pass_for_an_app_that_reads_what_the_readme_says(
    tmp_path: Path, deployed: set[str], table: dict[str, readme_settings.Row]
) -> None:
    """The real main.bicep and README against an app that reads every 'app' row (schedules as timer references)."""
    schedules = sorted(n for n, row in table.items() if row.read_by == "app" and n.endswith("_SCHEDULE"))
    names = sorted(n for n, row in table.items() if row.read_by == "app" and n not in schedules)
    assert consistency.all_problems(_made_up_reads(tmp_path, names, schedules), deployed, table) == []


def test_a_new_setting_is_reported_with_what_to_do(
    tmp_path: Path, deployed: set[str], table: dict[str, readme_settings.Row]
) -> None:
    reads = _made_up_reads(tmp_path, ["DR_SOMETHING_NEW"], [])
    (problem,) = consistency.reads_not_deployed(reads, deployed, table)
    assert "DR_SOMETHING_NEW" in problem and "settings.py:2" in problem and "'optional'" in problem


def test_an_unresolvable_schedule_reference_is_reported(tmp_path: Path, deployed: set[str]) -> None:
    reads = _made_up_reads(tmp_path, [], ["NIGHTLY_SCHEDULE"])
    assert consistency.bindings_not_deployed(reads, deployed) == [
        "%NIGHTLY_SCHEDULE% (function timer0: timerTrigger.schedule) is not set by infra/main.bicep"
    ]


def test_a_deployed_schedule_without_a_timer_is_reported(tmp_path: Path) -> None:
    reads = _made_up_reads(tmp_path, ["DRILL_SCHEDULE"], [])
    assert consistency.schedules_not_timers(reads, {"DRILL_SCHEDULE"}) == [
        "main.bicep sets DRILL_SCHEDULE but no timer trigger's schedule comes from it (schedule='%DRILL_SCHEDULE%', "
        "or read when the app is indexed)"
    ]


def test_a_schedule_read_when_the_app_is_indexed_is_found_and_a_fixed_one_is_not(tmp_path: Path) -> None:
    (tmp_path / "timers_app.py").write_text(
        "import os\n"
        "import azure.functions as func\n"
        "app = func.FunctionApp()\n"
        "@app.timer_trigger(arg_name='t', schedule=os.environ.get('NIGHTLY_SCHEDULE', '0 0 3 * * *'))\n"
        "def nightly(t): pass\n"
        "@app.timer_trigger(arg_name='t', schedule='0 0 4 * * *')\n"
        "def fixed(t): pass\n"
        "@app.timer_trigger(arg_name='t', schedule='%WEEKLY_SCHEDULE%' if os.environ.get('WEEKLY_SCHEDULE') else "
        "'0 0 5 * * 6')\n"
        "def weekly(t): pass\n",
        encoding="utf-8",
    )
    names = ["NIGHTLY_SCHEDULE", "HOURLY_SCHEDULE", "WEEKLY_SCHEDULE"]
    found = discover.indexed_schedules(names, "timers_app:app", tmp_path)
    assert found == [
        discover.Read("NIGHTLY_SCHEDULE", "function nightly: timerTrigger.schedule", "indexed"),
        discover.Read("WEEKLY_SCHEDULE", "function weekly: timerTrigger.schedule", "indexed"),
    ]
    reads = consistency.by_setting(found)
    assert consistency.schedules_not_timers(reads, {"NIGHTLY_SCHEDULE", "HOURLY_SCHEDULE"}) == [
        "main.bicep sets HOURLY_SCHEDULE but no timer trigger's schedule comes from it (schedule='%HOURLY_SCHEDULE%', "
        "or read when the app is indexed)"
    ]


def test_a_host_connection_is_satisfied_by_identity_based_settings(tmp_path: Path) -> None:
    reads = _made_up_reads(tmp_path, [], [])
    deployed = {"AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__credential"}
    assert consistency.reads_not_deployed(reads, deployed, {}) == []
    assert consistency.deployed_not_read(reads, deployed, {}) == []
    assert consistency.reads_not_deployed(reads, set(), {})  # and by nothing else


def test_discovery_finds_reads_in_source(tmp_path: Path) -> None:
    settings_py = tmp_path / "settings.py"
    settings_py.write_text(
        "import os\n"
        "class S:\n"
        "    @classmethod\n"
        "    def from_env(cls, env=None):\n"
        "        e = os.environ if env is None else env\n"
        "        return cls(e.get('ALPHA', ''), e.get('lower_ok'))\n",
        encoding="utf-8",
    )
    other = tmp_path / "other.py"
    other.write_text(
        "import os\nfrom os import environ\n"
        "a = os.environ.get('BETA')\nb = os.environ['GAMMA']\nc = os.getenv('DELTA')\nd = environ.get('EPSILON')\n"
        "e = {}.get('NOT_ENV')\n",
        encoding="utf-8",
    )
    found = discover.source_reads([settings_py, other], settings_py=settings_py, root=tmp_path)
    assert {(r.setting, r.where) for r in found} == {
        ("ALPHA", "settings.py:6 Settings.from_env"),
        ("lower_ok", "settings.py:6 Settings.from_env"),
        ("BETA", "other.py:3"),
        ("GAMMA", "other.py:4"),
        ("DELTA", "other.py:5"),
        ("EPSILON", "other.py:6"),
    }


def test_discovery_reads_the_real_app() -> None:
    """Settings the app is known to read today are found (so an empty discovery cannot pass the checks above)."""
    reads = consistency.by_setting(discover.all_reads())
    assert {"ASR_VAULT_NAME", "ASR_CACHE_STORAGE_ACCOUNTS", "AUTH_MODE"} <= set(reads)
    assert any(r.kind == "connection" for r in reads["AzureWebJobsStorage"])


def test_readme_table_parser_rejects_a_bad_row() -> None:
    header = "| Setting | Set by main.bicep | Read by | What |\n|---|---|---|---|\n"
    text = f"{readme_settings.HEADING}\n\n{header}| `X` | maybe | app | x |\n"
    with pytest.raises(readme_settings.TableError, match="maybe"):
        readme_settings.rows(text)
