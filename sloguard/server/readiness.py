"""Readiness: a configuration is loaded and a tick succeeded recently; ``/readyz`` reads it."""

from __future__ import annotations

from sloguard.ports import Clock


class Readiness:
    """Ready = a configuration is loaded and a tick succeeded within ``grace_intervals`` ticks.

    The daemon reports into it; ``/readyz`` reads it. Time comes from the injected clock
    (monotonic), so an NTP step never flips readiness.
    """

    def __init__(self, clock: Clock, *, interval_seconds: float, grace_intervals: int = 3) -> None:
        self._clock = clock
        self._interval = interval_seconds
        self._grace = grace_intervals
        self._config_loaded = False
        self._last_success: float | None = None
        self._stopping = False
        self._note = ""

    def config_loaded(self, interval_seconds: float | None = None) -> None:
        self._config_loaded = True
        if interval_seconds is not None:
            self._interval = interval_seconds

    def tick_succeeded(self, note: str = "") -> None:
        """A regular tick succeeded; ``note`` replaces "ok" in the probe's answer (a standby
        replica says it holds no shard)."""
        self._last_success = self._clock.monotonic()
        self._note = note

    def stopping(self) -> None:
        self._stopping = True

    def check(self) -> tuple[bool, str]:
        """(ready, reason); the reason is for a person reading the probe's output."""
        if self._stopping:
            return False, "shutting down"
        if not self._config_loaded:
            return False, "configuration not loaded yet"
        if self._last_success is None:
            return False, "no successful evaluation yet"
        age = self._clock.monotonic() - self._last_success
        limit = self._grace * self._interval
        if age > limit:
            return False, (
                f"last successful evaluation {age:.0f}s ago, more than {self._grace} intervals "
                f"({limit:.0f}s)"
            )
        return True, self._note or "ok"


def parse_listen(text: str) -> tuple[str, int]:
    """``"0.0.0.0:9464"``, ``"127.0.0.1:0"``, ``"[::]:9464"`` or ``":9464"`` (all interfaces)
    -> (host, port). Raises ValueError with what would be valid."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"{text!r} is not HOST:PORT, e.g. 0.0.0.0:9464 or [::]:9464")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"port {port} is out of range 0..65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{text!r}: write IPv6 addresses in brackets, e.g. [::1]:9464")
    return host or "0.0.0.0", port  # noqa: S104 (empty host: all interfaces)  # nosec B104


__all__ = ["Readiness", "parse_listen"]
