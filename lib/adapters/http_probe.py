"""Drill validation probe: one GET per check, short timeout; the drill step decides on retries."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request

from lib.ports.probe import ProbeResult


class UrllibProbe:
    def __init__(self, timeout_s: float = 10.0, ca_bundle: str | None = None) -> None:
        self._timeout = timeout_s
        self._context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None

    def check(self, url: str) -> ProbeResult:
        request = urllib.request.Request(url, method="GET", headers={"User-Agent": "site-recovery-autopilot-drill"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout, context=self._context) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            return ProbeResult(False, f"HTTP {exc.code} {exc.reason}")
        except (urllib.error.URLError, OSError) as exc:
            return ProbeResult(False, f"no answer: {getattr(exc, 'reason', exc)}")
        return ProbeResult(200 <= status < 300, f"HTTP {status}")
