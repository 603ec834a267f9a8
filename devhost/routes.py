"""HTTP route templates as the Functions host reads them: ``runs/{id}``, ``items/{n:int}``, ``{name?}``, ``{*rest}``.

Literal segments match case-insensitively (ASP.NET routing). Supported constraints: int, long, bool, alpha, guid,
double, decimal; any other constraint is refused when the app is indexed so a typo does not silently match all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["Route", "RouteError", "compile_route"]

_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "double": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
    "bool": r"(?i:true|false)",
    "alpha": r"[A-Za-z]+",
    "guid": r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
}
_PARAM = re.compile(r"^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?(\?)?\}$")


class RouteError(ValueError):
    """A route template the host cannot serve; the message names the template and the part."""


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    params: tuple[str, ...]
    # Per segment: 0 literal, 1 constrained parameter, 2 parameter, 3 optional, 4 catch-all. Lower sorts first:
    # as in ASP.NET routing, "runs/latest" wins over "runs/{id}" whatever the registration order.
    precedence: tuple[int, ...] = ()

    def match(self, path: str) -> dict[str, str] | None:
        """Route parameters for ``path`` (no leading slash, no prefix), or None when it does not match."""
        found = self.pattern.fullmatch(path.strip("/"))
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items() if value is not None}


def _rank(part: str) -> int:
    param = _PARAM.match(part)
    if param is None:
        return 0
    star, _, constraint, optional = param.groups()
    return 4 if star else 3 if optional else 1 if constraint else 2


def _segment(part: str, template: str, last: bool) -> tuple[str, str | None]:
    """Regex for one segment (without its leading slash) and the parameter it binds."""
    param = _PARAM.match(part)
    if param is None:
        if "{" in part or "}" in part:
            raise RouteError(f"route {template!r}: segment {part!r} mixes text and a parameter")
        return "(?i:" + re.escape(part) + ")", None
    star, name, constraint, optional = param.groups()
    if star and not last:
        raise RouteError(f"route {template!r}: catch-all {{*{name}}} must be the last segment")
    if constraint and constraint.lower() not in _CONSTRAINTS:
        raise RouteError(f"route {template!r}: unknown constraint {constraint!r} on {{{name}}}")
    body = ".*" if star else _CONSTRAINTS[constraint.lower()] if constraint else "[^/]+"
    group = f"(?P<{name}>{body})"
    return (f"(?:{group})?" if optional or star else group), name


def compile_route(template: str) -> Route:
    parts = [p for p in template.strip("/").split("/") if p != ""]
    regex, names = "", []
    for index, part in enumerate(parts):
        piece, name = _segment(part, template, index == len(parts) - 1)
        optional = name is not None and ("?" in part or part.startswith("{*"))
        separator = "/" if index else ""
        regex += f"(?:{separator}{piece})?" if optional and separator else separator + piece
        if name:
            if name in names:
                raise RouteError(f"route {template!r}: parameter {{{name}}} appears twice")
            names.append(name)
    return Route(template, re.compile(regex), tuple(names), tuple(_rank(p) for p in parts))
