"""infra/ as files: every .bicep parses, the azd wiring points at them, and checkov finds nothing to fail.

Bicep itself (the compiler) does not run here; pycep-parser reads the syntax and checkov the security posture.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lib.signals.regions import REGION_DISPLAY_NAMES
from tests.conftest import computed_once
from tests.infra import bicep

ROOT = bicep.ROOT
TOOLS_VENV = Path(os.environ.get("DR_TOOLS_VENV", ROOT / ".venv-tools"))
CHECKOV = TOOLS_VENV / ("Scripts/checkov.cmd" if sys.platform == "win32" else "bin/checkov")


@pytest.mark.parametrize("path", bicep.bicep_files(), ids=lambda p: p.relative_to(bicep.INFRA).as_posix())
def test_every_bicep_file_parses(path: Path) -> None:
    tree = bicep.parse(path)
    assert tree.get("resources") or tree.get("modules"), f"{path.name} declares nothing"


def test_every_module_path_exists() -> None:
    for path in bicep.bicep_files():
        for name, module in bicep.parse(path).get("modules", {}).items():
            target = path.parent / module["detail"]["path"]
            assert target.is_file(), f"{path.name}: module {name} points at missing {target}"


def test_azure_yaml_deploys_this_folder_with_main_bicep() -> None:
    text = (ROOT / "azure.yaml").read_text(encoding="utf-8")
    for line in ("provider: bicep", "path: infra", "module: main", "host: function", "language: python"):
        assert line in text, f"azure.yaml lacks '{line}'"


def test_parameters_file_covers_every_required_parameter_and_nothing_unknown() -> None:
    declared = bicep.main()["parameters"]
    given = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    required = {name for name, p in declared.items() if p.get("default") is None}
    assert required <= set(given), f"main.parameters.json lacks required parameters {sorted(required - set(given))}"
    assert set(given) <= set(declared), (
        f"main.parameters.json sets unknown parameters {sorted(set(given) - set(declared))}"
    )


def test_region_display_names_match_the_apps_table() -> None:
    """The alert condition speaks Service Health display names; they come from the same table the app parses with."""
    shipped = json.loads((bicep.INFRA / "regions.json").read_text(encoding="utf-8"))
    assert shipped == REGION_DISPLAY_NAMES, "infra/regions.json differs from lib/signals/regions.py: regenerate it"


@pytest.fixture(scope="module")
def checkov_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One checkov run per test session, whichever workers its tests land on."""
    report: dict[str, Any] = computed_once(tmp_path_factory, "checkov-report", _checkov)
    return report


def _checkov() -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"checkov is not installed at {CHECKOV}: run `make setup` (it builds .venv-tools)", pytrace=False)
    result = subprocess.run(
        [str(CHECKOV), "-d", str(bicep.INFRA), "--framework", "bicep", "--skip-download", "--quiet", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if not result.stdout.strip():
        pytest.fail(f"checkov printed nothing (exit {result.returncode}): {result.stderr[-2000:]}", pytrace=False)
    report = json.loads(result.stdout)
    assert isinstance(report, dict) and report.get("check_type") == "bicep", f"unexpected checkov output: {report}"
    return report


def test_checkov_parses_every_file(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0, f"checkov could not parse {summary['parsing_errors']} file(s): {summary}"
    assert summary["passed"] > 0


def test_checkov_has_no_failed_checks(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['file_path']} {c['resource']}: {c['check_name']}"
        for c in checkov_report["results"].get("failed_checks", [])
    ]
    assert not failed, "checkov failed checks (fix them, or skip with the reason inline):\n" + "\n".join(failed)


def test_every_checkov_skip_says_why(checkov_report: dict[str, Any]) -> None:
    skipped = checkov_report["results"].get("skipped_checks", [])
    unexplained = [
        f"{c['check_id']} {c['file_path']} {c['resource']}"
        for c in skipped
        if len(str(c.get("suppress_comment") or "").strip()) < 20
    ]
    assert not unexplained, f"checkov skips without a reason inline: {unexplained}"


def _module_body(config: dict[str, Any]) -> dict[str, Any]:
    """The module's own config under any ``if (...)`` or ``[for ...]`` wrapper."""
    while "params" not in config and isinstance(config.get("config"), dict):
        config = config["config"]
    return config


_OUTPUT_IN_TEXT = re.compile(r"(\w+)(?:\[\w+\])?\.outputs\.(\w+)")


def _output_references(node: Any) -> Iterator[tuple[str, str]]:
    """(module, output) for every ``module.outputs.name`` in expressions and in string interpolations."""
    if isinstance(node, str):
        yield from ((m.group(1), m.group(2)) for m in _OUTPUT_IN_TEXT.finditer(node))
    elif isinstance(node, list):
        for item in node:
            yield from _output_references(item)
    elif isinstance(node, dict):
        accessor = node.get("operator", {}) if set(node) == {"operator"} else {}
        operands = accessor.get("operands", {}) if accessor.get("type") == "property_accessor" else {}
        inner = operands.get("operand_2", {})
        inner_operands = inner.get("operator", {}).get("operands", {}) if isinstance(inner, dict) else {}
        module = operands.get("operand_1")
        if isinstance(module, dict) and module.get("operator", {}).get("type") == "index_accessor":
            module = module["operator"]["operands"]["operand_1"]
        if isinstance(module, str) and inner_operands.get("operand_1") == "outputs":
            yield module, str(inner_operands["operand_2"])
        for value in node.values():
            yield from _output_references(value)


@pytest.mark.parametrize("path", bicep.bicep_files(), ids=lambda p: p.relative_to(bicep.INFRA).as_posix())
def test_module_calls_match_the_modules_parameters_and_outputs(path: Path) -> None:
    """What the Bicep compiler would catch first: unknown or missing module parameters, unknown outputs."""
    tree = bicep.parse(path)
    modules = tree.get("modules", {})
    for name, module in modules.items():
        target = bicep.parse(path.parent / module["detail"]["path"])
        declared = target.get("parameters", {})
        passed = set(_module_body(module["config"]).get("params", {}))
        required = {p for p, spec in declared.items() if spec.get("default") is None}
        assert passed <= set(declared), f"{path.name}: module {name} passes unknown {sorted(passed - set(declared))}"
        assert required <= passed, f"{path.name}: module {name} misses required {sorted(required - passed)}"
    for module_name, output in _output_references(tree):
        if module_name not in modules:
            continue  # a resource's property, not a module output
        outputs = bicep.parse(path.parent / modules[module_name]["detail"]["path"]).get("outputs", {})
        assert output in outputs, f"{path.name}: {module_name}.outputs.{output} is not an output of that module"


def test_main_outputs_are_upper_snake_for_azd() -> None:
    outputs = bicep.main()["outputs"]
    assert outputs and all(re.fullmatch(r"[A-Z][A-Z0-9_]*", name) for name in outputs), sorted(outputs)


def test_readme_documents_every_parameter() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Parameters") : text.index("### App settings")]
    documented = set(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE))
    declared = set(bicep.main()["parameters"])
    assert documented == declared, (
        f"undocumented {sorted(declared - documented)}, stale {sorted(documented - declared)}"
    )
