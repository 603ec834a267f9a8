"""Reading infra/*.bicep for the tests: pycep-parser's syntax tree, and a small evaluator for plain expressions.

The evaluator knows the few functions the deployment-time rules in main.bicep use (string and array functions,
lambdas, the ternary and ``fail()``), so a test can run such a rule on given parameters. It refuses anything else
by name rather than guessing, and it is not Bicep: what it verifies is the expression as written, not ARM.

pycep writes identifiers and string literals alike as plain strings; here a string that names a parameter, a
variable or a lambda argument in scope is that value, any other string is a literal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"

Node = Any  # pycep's JSON-like tree


class BicepFail(Exception):
    """The expression reached ``fail(message)``: the deployment would stop with this message."""


class Unsupported(Exception):
    """The expression uses something this evaluator does not implement."""


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def parse(path: Path) -> Mapping[str, Any]:
    return BicepParser().parse(file_path=path)


def main() -> Mapping[str, Any]:
    return parse(MAIN)


def variable(name: str, tree: Mapping[str, Any] | None = None) -> Node:
    variables = (tree or main())["variables"]
    if name not in variables:
        raise KeyError(f"main.bicep has no variable '{name}'")
    return variables[name]["value"]


_INTERPOLATION = re.compile(r"\$\{([^{}]*)\}")


class Evaluator:
    """Evaluates expressions of one parsed file with the given parameter values."""

    def __init__(
        self, tree: Mapping[str, Any], params: Mapping[str, object], subscription_id: str = "00000000-sub"
    ) -> None:
        self._variables: Mapping[str, Any] = tree.get("variables", {})
        self._params = dict(params)  # also overrides variables by name (e.g. a uniqueString() result)
        self._subscription = {"id": f"/subscriptions/{subscription_id}", "subscriptionId": subscription_id}

    def variable(self, name: str) -> object:
        return self.eval(self._variables[name]["value"], {})

    def eval(self, node: Node, scope: Mapping[str, object]) -> object:
        if isinstance(node, str):
            return self._name_or_literal(node, scope)
        if isinstance(node, (bool, int)) or node is None:
            return node
        if isinstance(node, list):
            return [self.eval(item, scope) for item in node]
        if isinstance(node, dict) and set(node) == {"function"}:
            return self._function(node["function"], scope)
        if isinstance(node, dict) and set(node) == {"operator"}:
            return self._operator(node["operator"], scope)
        if isinstance(node, dict) and node.get("type") == "lambda_expression":
            return self._lambda(node["detail"], scope)
        if isinstance(node, dict) and "loop_type" in node:
            return self._loop(node, scope)
        if isinstance(node, dict):
            return {key: self.eval(value, scope) for key, value in node.items()}
        raise Unsupported(f"node {node!r}")

    def _name_or_literal(self, text: str, scope: Mapping[str, object]) -> object:
        if text in scope:
            return scope[text]
        if text in self._params:
            return self._params[text]
        if text in self._variables:
            return self.eval(self._variables[text]["value"], {})
        return _INTERPOLATION.sub(lambda m: str(self.eval(_expression(m.group(1)), scope)), text)

    def _loop(self, node: Mapping[str, Any], scope: Mapping[str, object]) -> list[object]:
        if node.get("condition") is not None:
            raise Unsupported("a filtered for-expression")
        detail = node["loop_type"]["detail"]
        items = self._name_or_literal(detail["array_name"], scope)
        if not isinstance(items, list):
            raise Unsupported(f"a for-expression over {items!r}")
        return [self.eval(node["config"], {**scope, detail["item_name"]: item}) for item in items]

    def _lambda(self, detail: Mapping[str, Any], scope: Mapping[str, object]) -> Callable[..., object]:
        names = [value for key, value in detail.items() if key.startswith("var_")]

        def call(*args: object) -> object:
            return self.eval(detail["expression"], {**scope, **dict(zip(names, args, strict=True))})

        return call

    def _function(self, function: Mapping[str, Any], scope: Mapping[str, object]) -> object:
        kind = function["type"]
        raw = list(function.get("parameters", {}).values())
        if kind == "fail":
            raise BicepFail(str(self.eval(raw[0], scope)))
        if kind == "subscription" and all(arg is None for arg in raw):
            return self._subscription
        args = [self.eval(arg, scope) for arg in raw]
        implementation = _FUNCTIONS.get(kind)
        if implementation is None:
            raise Unsupported(f"function {kind}")
        return implementation(*args)

    def _operator(self, operator: Mapping[str, Any], scope: Mapping[str, object]) -> object:
        kind, operands = operator["type"], operator["operands"]
        if kind == "conditional":  # short-circuits, as in Bicep: fail() on the branch not taken never runs
            branch = "true_value" if self.eval(operands["condition"], scope) else "false_value"
            return self.eval(operands[branch], scope)
        if kind == "property_accessor":
            return _access(self.eval(operands["operand_1"], scope), operands["operand_2"])
        if kind == "index_accessor":
            return _index(self.eval(operands["operand_1"], scope), self.eval(operands["operand_2"], scope))
        if kind == "not":
            return not self.eval(operands["bool_value"], scope)
        if kind == "equals":
            values = [self.eval(v, scope) for v in operands.values()]
            return values[0] == values[1]
        raise Unsupported(f"operator {kind}")


def _expression(text: str) -> Node:
    """A Bicep expression from inside ``${...}``, parsed by pycep as the value of a variable."""
    return parse_text(f"var v = {text}\n")["variables"]["v"]["value"]


@cache
def parse_text(text: str) -> Mapping[str, Any]:
    return BicepParser().parse(text=text)


def _access(value: object, path: Node) -> object:
    """``value.a.b``: pycep nests the rest of the path to the right (``a`` then ``b``)."""
    if isinstance(path, dict) and path.get("operator", {}).get("type") == "property_accessor":
        operands = path["operator"]["operands"]
        return _access(_access(value, operands["operand_1"]), operands["operand_2"])
    if isinstance(value, dict) and isinstance(path, str) and path in value:
        return value[path]
    raise Unsupported(f"property {path!r} of {value!r}")


def _index(value: object, key: object) -> object:
    """``value[key]``: an array by position, an object by name (case-insensitive, as ARM compares keys)."""
    if isinstance(value, list) and isinstance(key, int):
        return value[key]
    if isinstance(value, dict):
        for name, item in value.items():
            if str(name).lower() == str(key).lower():
                return item
    raise Unsupported(f"{value!r}[{key!r}]")


def _take(value: object, count: object) -> object:
    if isinstance(value, (str, list)) and isinstance(count, int):
        return value[:count]
    raise Unsupported(f"take({value!r}, {count!r})")


def _join(items: object, delimiter: object) -> str:
    if isinstance(items, list):
        return str(delimiter).join(str(item) for item in items)
    raise Unsupported(f"join({items!r})")


def _contains(container: object, item: object) -> bool:
    if isinstance(container, str):
        return str(item).lower() in container.lower()
    if isinstance(container, dict):
        return any(str(k).lower() == str(item).lower() for k in container)
    if isinstance(container, list):
        return item in container
    raise Unsupported(f"contains() on {type(container).__name__}")


def _union(*parts: object) -> object:
    lists = [p for p in parts if isinstance(p, list)]
    if len(lists) == len(parts):
        merged: list[object] = []
        for part in lists:
            merged.extend(x for x in part if x not in merged)
        return merged
    dicts = [p for p in parts if isinstance(p, dict)]
    if len(dicts) == len(parts):
        return {k: v for part in dicts for k, v in part.items()}
    raise Unsupported("union() of mixed types")


_FUNCTIONS: dict[str, Callable[..., object]] = {
    "to_lower": lambda s: str(s).lower(),
    "to_upper": lambda s: str(s).upper(),
    "replace": lambda s, old, new: str(s).replace(str(old), str(new)),
    "contains": _contains,
    "empty": lambda v: not v,
    "length": len,
    "map": lambda items, fn: [fn(x) for x in items],
    "filter": lambda items, fn: [x for x in items if fn(x)],
    "union": _union,
    "take": _take,
    "join": _join,
    "load_json_content": lambda path, *_: json.loads((INFRA / str(path)).read_text(encoding="utf-8")),
}


def object_keys(node: Node) -> list[str]:
    """The keys of an object built from literals with ``union(...)`` and ``cond ? {...} : {...}`` (every branch)."""
    if isinstance(node, dict) and set(node) == {"function"} and node["function"]["type"] == "union":
        return [key for arg in node["function"]["parameters"].values() for key in object_keys(arg)]
    if isinstance(node, dict) and set(node) == {"operator"} and node["operator"]["type"] == "conditional":
        operands = node["operator"]["operands"]
        return object_keys(operands["true_value"]) + object_keys(operands["false_value"])
    if isinstance(node, dict) and not {"function", "operator"} & set(node):
        return list(node)
    raise Unsupported(f"an app-settings object built with {node!r}")


def deployed_settings() -> list[str]:
    """Every app setting main.bicep gives the Function App (the ``appSettings`` variable)."""
    return object_keys(variable("appSettings"))
