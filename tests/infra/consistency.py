"""The checks between what the code reads, what main.bicep deploys and what the README documents, as pure functions.

Each returns the problems it found, worded as what to do; the tests assert there are none, and feed them made-up
apps to show that they can fail and that they pass once the names line up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from tests.infra.discover import Read
from tests.infra.readme_settings import Row

Reads = Mapping[str, list[Read]]
Table = Mapping[str, Row]


def by_setting(reads: Iterable[Read]) -> dict[str, list[Read]]:
    grouped: dict[str, list[Read]] = defaultdict(list)
    for read in reads:
        grouped[read.setting].append(read)
    return dict(grouped)


def _where(reads: Iterable[Read]) -> str:
    return "; ".join(read.where for read in reads)


def _connection_deployed(name: str, deployed: set[str]) -> bool:
    """The host resolves connection "X" from setting X or from the identity-based X__* settings."""
    return name in deployed or any(s.startswith(f"{name}__") for s in deployed)


def reads_not_deployed(reads: Reads, deployed: set[str], table: Table) -> list[str]:
    problems = []
    for setting, where in sorted(reads.items()):
        app_reads = [r for r in where if r.kind != "connection"]
        row = table.get(setting)
        if setting in deployed or (row is not None and row.set_by_bicep == "optional"):
            continue
        if not app_reads and _connection_deployed(setting, deployed):
            continue
        problems.append(
            f"{setting} (read at {_where(app_reads or where)}) is neither set by infra/main.bicep (variable "
            "appSettings) nor listed as 'optional' in README.md's App settings table: set it in main.bicep, or add "
            "an 'optional' row if the code's default is right in Azure"
        )
    return problems


def deployed_not_read(reads: Reads, deployed: set[str], table: Table) -> list[str]:
    connections = {r.setting for rs in reads.values() for r in rs if r.kind == "connection"}
    problems = []
    for setting in sorted(deployed):
        row = table.get(setting)
        read_by_platform = row is not None and row.read_by != "app"
        read_by_code = setting in reads or any(setting.startswith(f"{name}__") for name in connections)
        if not (read_by_code or read_by_platform):
            problems.append(
                f"{setting} is set by infra/main.bicep but nothing reads it: no Settings.from_env / os.environ read, "
                "no %SETTING% in a binding of function_app.app, and README.md does not say the host or an Azure "
                "SDK reads it"
            )
    return problems


def table_differs_from_deployed(deployed: set[str], table: Table) -> list[str]:
    documented = {name for name, row in table.items() if row.set_by_bicep == "yes"}
    problems = [
        f"{n} is set by main.bicep but missing from README.md's App settings table"
        for n in sorted(deployed - documented)
    ]
    problems += [
        f"README.md:{table[n].line} says main.bicep sets {n}; it does not" for n in sorted(documented - deployed)
    ]
    return problems


def app_rows_not_read(reads: Reads, table: Table) -> list[str]:
    return [
        f"README.md:{row.line} says the app reads {name}; no code reads it"
        for name, row in sorted(table.items())
        if row.read_by == "app" and name not in reads
    ]


def bindings_not_deployed(reads: Reads, deployed: set[str]) -> list[str]:
    """A %SETTING% the host cannot resolve stops the function from loading: no code default can save it."""
    return [
        f"%{name}% ({_where(rs)}) is not set by infra/main.bicep"
        for name, rs in sorted(reads.items())
        if any(r.kind == "binding" for r in rs) and name not in deployed
    ]


def schedules_not_timers(reads: Reads, deployed: set[str]) -> list[str]:
    """A *_SCHEDULE setting exists to set a timer trigger's schedule, as ``schedule="%NAME%"`` or read when the app
    is indexed; anything else is a dead setting."""
    return [
        f"main.bicep sets {name} but no timer trigger's schedule comes from it (schedule='%{name}%', or read when "
        "the app is indexed)"
        for name in sorted(deployed)
        if name.endswith("_SCHEDULE")
        and not any(
            r.kind in ("binding", "indexed") and r.where.endswith("timerTrigger.schedule") for r in reads.get(name, [])
        )
    ]


def all_problems(reads: Reads, deployed: set[str], table: Table) -> list[str]:
    return (
        reads_not_deployed(reads, deployed, table)
        + deployed_not_read(reads, deployed, table)
        + table_differs_from_deployed(deployed, table)
        + app_rows_not_read(reads, table)
        + bindings_not_deployed(reads, deployed)
        + schedules_not_timers(reads, deployed)
    )
