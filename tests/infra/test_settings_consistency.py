"""Every setting the code reads is deployed or documented as optional; every deployed setting is read by someone.

The code's reads are discovered (tests/infra/discover.py), the deployed settings are parsed from main.bicep's
``appSettings`` variable, and the optional and platform settings come from the README's "App settings" table.
A branch that adds a setting gets a failure here that says what to add and where.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from tests.infra import bicep, discover, readme_settings
from tests.infra.discover import Read


def _by_setting(reads: list[Read]) -> dict[str, list[Read]]:
    grouped: dict[str, list[Read]] = defaultdict(list)
    for read in reads:
        grouped[read.setting].append(read)
    return grouped


@pytest.fixture(scope="module")
def reads() -> dict[str, list[Read]]:
    return _by_setting(discover.all_reads())


@pytest.fixture(scope="module")
def deployed() -> set[str]:
    return set(bicep.deployed_settings())


@pytest.fixture(scope="module")
def table() -> dict[str, readme_settings.Row]:
    return {row.setting: row for row in readme_settings.rows()}


def _host_connection_deployed(name: str, deployed: set[str]) -> bool:
    """The host resolves connection "X" from setting X or from the identity-based X__* settings."""
    return name in deployed or any(s.startswith(f"{name}__") for s in deployed)


def _where(reads: list[Read]) -> str:
    return "; ".join(read.where for read in reads)


def test_every_setting_the_code_reads_is_deployed_or_documented_optional(
    reads: dict[str, list[Read]], deployed: set[str], table: dict[str, readme_settings.Row]
) -> None:
    problems = []
    for setting, where in sorted(reads.items()):
        app_reads = [r for r in where if r.kind != "connection"]
        connection_ok = all(r.kind == "connection" for r in where) and _host_connection_deployed(setting, deployed)
        row = table.get(setting)
        if setting in deployed or connection_ok or (row is not None and row.set_by_bicep == "optional"):
            continue
        reader = _where(app_reads or where)
        problems.append(
            f"{setting} (read at {reader}) is neither set by infra/main.bicep (variable appSettings) nor listed as "
            "'optional' in README.md's App settings table: set it in main.bicep, or add an 'optional' row if the "
            "code's default is right in Azure"
        )
    assert not problems, "\n".join(problems)


def test_every_deployed_setting_is_read_by_the_code_or_the_platform(
    reads: dict[str, list[Read]], deployed: set[str], table: dict[str, readme_settings.Row]
) -> None:
    problems = []
    for setting in sorted(deployed):
        row = table.get(setting)
        read_by_platform = row is not None and row.read_by != "app"
        read_by_code = setting in reads or any(
            r.kind == "connection" and setting.startswith(f"{name}__") for name, rs in reads.items() for r in rs
        )
        if not (read_by_code or read_by_platform):
            problems.append(
                f"{setting} is set by infra/main.bicep but nothing reads it: no Settings.from_env / os.environ read "
                "and no %SETTING% in a binding of function_app.app, and README.md does not say the host or an "
                "Azure SDK reads it"
            )
    assert not problems, "\n".join(problems)


def test_readme_lists_every_deployed_setting_and_nothing_else_as_deployed(
    deployed: set[str], table: dict[str, readme_settings.Row]
) -> None:
    documented = {name for name, row in table.items() if row.set_by_bicep == "yes"}
    undocumented = sorted(deployed - documented)
    stale = sorted(documented - deployed)
    assert not undocumented, f"set by main.bicep, missing from README.md's App settings table: {undocumented}"
    assert not stale, f"README.md says main.bicep sets these, it does not: {stale}"


def test_optional_and_app_rows_name_settings_the_code_reads(
    reads: dict[str, list[Read]], table: dict[str, readme_settings.Row]
) -> None:
    stale = sorted(
        f"{name} (README.md:{row.line})" for name, row in table.items() if row.read_by == "app" and name not in reads
    )
    assert not stale, f"README.md says the app reads these; no code reads them: {stale}"


def test_binding_references_are_deployed(reads: dict[str, list[Read]], deployed: set[str]) -> None:
    """A %SETTING% the host cannot resolve stops the function from loading: no default can save it."""
    missing = sorted(
        f"%{name}% ({_where(rs)})"
        for name, rs in reads.items()
        if any(r.kind == "binding" for r in rs) and name not in deployed
    )
    assert not missing, f"binding references main.bicep does not set: {missing}"


def test_schedule_settings_are_timer_schedules(reads: dict[str, list[Read]], deployed: set[str]) -> None:
    """A *_SCHEDULE setting exists for a timer trigger's ``schedule="%NAME%"``; anything else is a dead setting."""
    not_timers = sorted(
        name
        for name in deployed
        if name.endswith("_SCHEDULE")
        and not any(r.kind == "binding" and "timerTrigger.schedule" in r.where for r in reads.get(name, []))
    )
    assert not not_timers, f"main.bicep sets these schedules but no timer trigger has schedule='%NAME%': {not_timers}"


def test_discovery_finds_reads_in_source(tmp_path: Path) -> None:
    """The discovery itself: each way of reading a setting is found, with where it was read."""
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
    """Settings the app is known to read today are found (so an empty discovery cannot pass the tests above)."""
    reads = _by_setting(discover.all_reads())
    assert {"ASR_VAULT_NAME", "ASR_CACHE_STORAGE_ACCOUNTS", "AUTH_MODE"} <= set(reads)
    assert any(r.kind == "connection" for r in reads["AzureWebJobsStorage"])


def test_readme_table_parser_rejects_a_bad_row() -> None:
    text = f"{readme_settings.HEADING}\n\n| Setting | Set | Read by | What |\n|---|---|---|---|\n| `X` | maybe | app | x |\n"
    with pytest.raises(readme_settings.TableError, match="maybe"):
        readme_settings.rows(text)
