"""Function, master and system keys, and the authorization check the Functions host applies to HTTP triggers."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

__all__ = ["EVENTGRID_KEY_NAME", "Keys", "Level", "presented_key"]

EVENTGRID_KEY_NAME = "eventgrid_extension"  # the system key Azure creates for the Event Grid webhook


class Level(Enum):
    ANONYMOUS = "anonymous"
    FUNCTION = "function"
    ADMIN = "admin"

    @classmethod
    def parse(cls, value: object) -> Level:
        """``func.AuthLevel`` members, their values or names, any case."""
        text = str(getattr(value, "value", value) or "function").strip().lower()
        try:
            return cls(text)
        except ValueError:
            raise ValueError(f"auth_level: unknown level {value!r} (anonymous, function or admin)") from None


@dataclass(frozen=True)
class Keys:
    function: str
    master: str
    eventgrid: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Keys:
        """Keys from ``DEVHOST_FUNCTION_KEY`` / ``DEVHOST_MASTER_KEY`` / ``DEVHOST_EVENTGRID_KEY``, else fresh ones."""

        def key(name: str) -> str:
            return env.get(name) or secrets.token_urlsafe(32)

        return cls(key("DEVHOST_FUNCTION_KEY"), key("DEVHOST_MASTER_KEY"), key("DEVHOST_EVENTGRID_KEY"))

    def allows(self, level: Level, presented: str | None) -> bool:
        """ANONYMOUS: anyone. FUNCTION: the function or the master key. ADMIN: the master key only."""
        if level is Level.ANONYMOUS:
            return True
        accepted = [self.master] if level is Level.ADMIN else [self.function, self.master]
        return presented is not None and any(_same(presented, k) for k in accepted)

    def allows_eventgrid(self, presented: str | None) -> bool:
        """The Event Grid webhook takes its system key (``eventgrid_extension``) or the master key, as in Azure."""
        return presented is not None and any(_same(presented, k) for k in (self.eventgrid, self.master))


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def presented_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The key a caller sent: the ``x-functions-key`` header wins over the ``code`` query parameter."""
    for name, value in headers.items():
        if name.lower() == "x-functions-key":
            return value
    return query.get("code")
