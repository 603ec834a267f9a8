"""The notifications one worker has weighed (or recorded as ignored), most recent first and bounded: under a storm
of duplicates most deliveries are redeliveries, and each would otherwise cost the signals table a failed insert
and a read before it is dropped. Only ever a shortcut: the table's row per notification stays the rule."""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["KNOWN_MAX", "Known"]

KNOWN_MAX = 4096


class Known:
    def __init__(self, limit: int = KNOWN_MAX) -> None:
        self._keys: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()  # the queue trigger calls one worker from many threads

    def __contains__(self, key: tuple[str, str]) -> bool:
        with self._lock:
            return key in self._keys

    def add(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._keys[key] = None
            self._keys.move_to_end(key)
            while len(self._keys) > self._limit:
                self._keys.popitem(last=False)
