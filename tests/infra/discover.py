"""What the code reads from its environment, found in the code itself (not from a list kept by hand).

- ``lib/settings.py``: every ``<mapping>.get("NAME", ...)`` in ``Settings.from_env`` (parsed with ``ast``);
- every module under ``lib/`` and ``functions/`` and ``function_app.py``: ``os.environ.get("NAME")``,
  ``os.environ["NAME"]``, ``os.getenv("NAME")``, ``environ.get("NAME")``;
- the registered functions, read from ``function_app.app`` like the host does: ``%NAME%`` in any binding value
  (a timer schedule, a queue name) and the ``connection`` of a binding (a host connection-setting prefix);
- a ``*_SCHEDULE`` setting the app reads when the host indexes it (``schedule=Settings.from_env().x``): the app
  is indexed in a fresh process with the setting set to a marker schedule, and a timer that carries the marker
  reads it. (The host resolves ``%NAME%`` itself; the Python worker indexes with the app settings in its
  environment, so both forms reach the timer.)
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.app_functions import registered_functions

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_PY = ROOT / "lib" / "settings.py"
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BINDING_REFERENCE = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)%")


@dataclass(frozen=True)
class Read:
    setting: str
    where: str  # "lib/settings.py:41 Settings.from_env", "function engine_work: queueName", ...
    kind: str  # "env": the app reads it; "binding": the host resolves %NAME%; "connection": a host connection prefix;
    # "indexed": a timer's schedule comes from it, read by the app when the host indexes the functions


def _const_str(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and SETTING_NAME.match(node.value):
        return node.value
    return None


def _is_environ(node: ast.AST) -> bool:
    """``os.environ`` or a bare ``environ``."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ"
    return isinstance(node, ast.Name) and node.id == "environ"


def _environ_reads(tree: ast.AST) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            name = _const_str(node.slice)
            if name:
                yield name, node.lineno
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
            continue
        name = _const_str(node.args[0])
        func = node.func
        if name and func.attr == "get" and _is_environ(func.value):
            yield name, node.lineno
        if name and func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os":
            yield name, node.lineno


def _get_calls(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """``<anything>.get("NAME", ...)`` calls."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            name = _const_str(node.args[0]) if node.args else None
            if name:
                yield name, node.lineno


def _from_env_reads(tree: ast.AST) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "from_env":
            yield from _get_calls(node)


def source_reads(files: Iterable[Path], settings_py: Path = SETTINGS_PY, root: Path = ROOT) -> list[Read]:
    reads: list[Read] = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(root).as_posix()
        reads += [Read(name, f"{rel}:{line}", "env") for name, line in _environ_reads(tree)]
        if path.resolve() == settings_py.resolve():
            reads += [Read(name, f"{rel}:{line} Settings.from_env", "env") for name, line in _from_env_reads(tree)]
    return reads


def code_files(root: Path = ROOT) -> list[Path]:
    files = [root / "function_app.py"]
    for folder in ("lib", "functions"):
        files += sorted((root / folder).rglob("*.py"))
    return files


def binding_reads(functions: Iterable[Any] | None = None) -> list[Read]:
    """Settings the host resolves for the app's bindings (default: the functions ``function_app.app`` registers)."""
    reads: list[Read] = []
    for function in registered_functions() if functions is None else functions:
        name = function.get_function_name()
        for binding in function.get_bindings():
            for key, value in binding.get_dict_repr().items():
                if not isinstance(value, str):
                    continue
                where = f"function {name}: {binding.type}.{key}"
                reads += [Read(ref, where, "binding") for ref in BINDING_REFERENCE.findall(value)]
                if key == "connection" and value:
                    reads.append(Read(value, where, "connection"))
    return reads


_INDEX = """
import importlib, json, sys
module, _, attr = sys.argv[1].partition(":")
app = getattr(importlib.import_module(module), attr)
print(json.dumps([[f.get_function_name(), b.get_dict_repr().get("schedule")]
                  for f in app.get_functions() for b in f.get_bindings() if b.type == "timerTrigger"]))
"""


def indexed_schedules(names: Iterable[str], app: str = "function_app:app", root: Path = ROOT) -> list[Read]:
    """Which of ``names`` set a timer's schedule when the app is indexed (a fresh process: imports run once)."""
    markers = {name: f"{7 + i} {i % 60} 3 * * *" for i, name in enumerate(sorted(set(names)))}
    if not markers:
        return []
    env = {**os.environ, **markers, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-c", _INDEX, app], cwd=root, env=env, capture_output=True, text=True,
                          check=False, timeout=120)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"indexing {app} failed:\n{done.stderr[-2000:]}")
    # A timer may also take "%NAME%" only when NAME is set (so that an unset one keeps a default).
    by_schedule = {schedule: name for name, schedule in markers.items()} | {f"%{name}%": name for name in markers}
    return [
        Read(by_schedule[schedule], f"function {function}: timerTrigger.schedule", "indexed")
        for function, schedule in json.loads(done.stdout.strip().splitlines()[-1])
        if schedule in by_schedule
    ]


def all_reads() -> list[Read]:
    found = source_reads(code_files()) + binding_reads()
    return found + indexed_schedules(r.setting for r in found if r.setting.endswith("_SCHEDULE"))
