"""Parse `/proc/uptime`: seconds since boot and summed idle seconds of all CPUs.

Kernel doc: https://docs.kernel.org/filesystems/proc.html (section 1.2, "uptime").
"""

from __future__ import annotations

from dataclasses import dataclass

from memcheck.errors import ParseError
from memcheck.parse.values import quote, to_float

SOURCE = "/proc/uptime"


@dataclass(frozen=True)
class Uptime:
    """`seconds` counts suspend time too (CLOCK_BOOTTIME); `idle_seconds` sums every CPU."""

    seconds: float
    idle_seconds: float | None


def _number(token: str, what: str) -> float:
    value = to_float(token)
    if value is None or value < 0:
        raise ParseError(SOURCE, f"{what}: expected a finite number >= 0, got {quote(token, 40)}")
    return value


def parse_uptime(text: str) -> Uptime:
    """Parse `12345.67 45678.90`. Some container runtimes omit the idle figure: None then."""
    fields = text.split()
    if not fields:
        raise ParseError(SOURCE, "empty; expected '<uptime> <idle>' in seconds")
    if len(fields) > 2:
        raise ParseError(SOURCE, f"expected two numbers, got {quote(text.strip())}")
    seconds = _number(fields[0], "uptime")
    idle = _number(fields[1], "idle time") if len(fields) == 2 else None
    return Uptime(seconds=seconds, idle_seconds=idle)
