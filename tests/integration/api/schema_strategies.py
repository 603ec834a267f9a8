"""Hypothesis strategies from the API's OpenAPI schemas: values the document allows, and near misses.

Covers the JSON Schema subset the document uses ($ref, oneOf, anyOf, enum, type lists, object properties/required/
additionalProperties, arrays with bounds, string patterns, integer/number bounds).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


# Known-good values for string patterns (VM names of the test topology, its plan, its network), mixed with
# generated ones so that fuzzing also reaches past "unknown VM" into runs, conflicts and run operations.
STRING_HINTS: dict[str, st.SearchStrategy[str]] = {}


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def _typed(kind: str, schema: dict[str, Any], components: dict[str, Any]) -> st.SearchStrategy[Any]:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum", -1000), schema.get("maximum", 1000))
    if kind == "number":
        return st.floats(0.001, schema.get("maximum", 1e6))
    if kind == "string":
        if "pattern" in schema:
            generated = st.from_regex(schema["pattern"], fullmatch=False).filter(lambda s: len(s) <= 300)
            hint = STRING_HINTS.get(schema["pattern"])
            return generated if hint is None else st.one_of(hint, hint, generated)
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 40), 40))
    if kind == "array":
        item = valid(schema.get("items", {}), components)
        size = {"min_size": schema.get("minItems", 0), "max_size": min(schema.get("maxItems", 4), 4)}
        return st.lists(item, unique=bool(schema.get("uniqueItems")), **size)
    return _object(schema, components)


def _object(schema: dict[str, Any], components: dict[str, Any]) -> st.SearchStrategy[Any]:
    props = schema.get("properties", {})
    required = set(schema.get("required", ()))
    least = schema.get("minProperties", 0)
    return st.fixed_dictionaries(
        {k: valid(v, components) for k, v in props.items() if k in required},
        optional={k: valid(v, components) for k, v in props.items() if k not in required},
    ).filter(lambda d: len(d) >= least)


def valid(schema: dict[str, Any], components: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema allows (cross-field rules such as 'same VMs in vms and groups' aside)."""
    schema = _resolve(schema, components)
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            return st.one_of([valid(s, components) for s in schema[combinator]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kinds = schema.get("type", "object")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return st.one_of([_typed(k, schema, components) for k in kinds])


def near_miss(schema: dict[str, Any], components: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid object with one thing wrong: an unknown field, a required field dropped, a field of any JSON."""
    base = valid(schema, components)
    resolved = _resolve(schema, components)
    names = sorted(resolved.get("properties", {}))

    def mutate(value: Any, how: int, name: str, junk: Any) -> Any:
        if not isinstance(value, dict):
            return junk
        changed = dict(value)
        if how == 0:
            changed[name + "X"] = junk
        elif how == 1:
            changed.pop(name, None)
        else:
            changed[name] = junk
        return changed

    if not names:
        return base
    return st.builds(mutate, base, st.integers(0, 2), st.sampled_from(names), JSON)
