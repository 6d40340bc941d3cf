"""Parse pressure stall information: `/proc/pressure/memory` and cgroup v2 `memory.pressure`.

Kernel doc: https://docs.kernel.org/accounting/psi.html. Each line names a stall state and
carries `key=value` tokens:

    some avg10=0.00 avg60=0.00 avg300=0.00 total=0
    full avg10=0.00 avg60=0.00 avg300=0.00 total=0

`avg10`, `avg60` and `avg300` are the share of wall time (in percent) that some (or all
non-idle) tasks were stalled on memory over the last 10, 60 and 300 seconds; `total` is the
cumulative stall time in microseconds. Tokens are read by key, not by position: the early
out-of-tree patches (backported by some vendors before 4.20) printed no `total`, and a later
kernel may add keys. Lines of a kind this parser does not know are kept aside, not rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from memcheck.errors import ParseError
from memcheck.parse.values import clip, quote, to_float, to_int

SOURCE = "/proc/pressure/memory"
_KINDS = ("some", "full")
_AVERAGES = ("avg10", "avg60", "avg300")


@dataclass(frozen=True)
class PressureLine:
    """One stall state. Averages are percentages (0..100); absent keys are None."""

    kind: str
    avg10: float | None
    avg60: float | None
    avg300: float | None
    total_us: int | None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pressure:
    """`some` and `full` lines of one pressure file; `full` is None where the file has none."""

    source: str
    some: PressureLine
    full: PressureLine | None


def _average(raw: str, key: str, source: str, number: int) -> float:
    value = to_float(raw)
    if value is None or not 0 <= value <= 100:
        raise ParseError(
            source,
            f"line {number}: {clip(key)}: expected a percentage 0..100, got {quote(raw, 40)}",
        )
    return value


def _total(raw: str, source: str, number: int) -> int:
    value = to_int(raw)
    if value is None:
        raise ParseError(
            source,
            f"line {number}: total: expected microseconds (an integer), got {quote(raw, 40)}",
        )
    return value


def _line(kind: str, tokens: list[str], source: str, number: int) -> PressureLine:
    values: dict[str, str] = {}
    for token in tokens:
        key, sep, raw = token.partition("=")
        if not sep:
            continue  # not a key=value token: nothing this parser can place
        if not raw:
            raise ParseError(source, f"line {number}: {clip(key)}: no value")
        values.setdefault(key, raw)
    if "avg10" not in values:
        raise ParseError(source, f"line {number}: {kind}: no avg10= value")
    averages = {
        key: (_average(values[key], key, source, number) if key in values else None)
        for key in _AVERAGES
    }
    total = _total(values["total"], source, number) if "total" in values else None
    extra = {k: v for k, v in values.items() if k not in (*_AVERAGES, "total")}
    return PressureLine(
        kind, averages["avg10"], averages["avg60"], averages["avg300"], total, extra
    )


def parse_pressure(text: str, source: str = SOURCE) -> Pressure:
    """Parse a pressure file; `ParseError` when it has no `some` line or a bad value."""
    lines: dict[str, PressureLine] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        tokens = raw.split()
        if not tokens or tokens[0] not in _KINDS:
            continue
        if tokens[0] in lines:
            raise ParseError(source, f"line {number}: a second {tokens[0]!r} line")
        lines[tokens[0]] = _line(tokens[0], tokens[1:], source, number)
    if "some" not in lines:
        what = "empty" if not text.strip() else "no 'some' line"
        raise ParseError(source, f"{what}; expected 'some avg10=.. avg60=.. avg300=.. total=..'")
    return Pressure(source, lines["some"], lines.get("full"))
