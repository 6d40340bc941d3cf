"""The vocabulary shared by every layer: check metadata, params, outcomes and evidence."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Union

Severity = Literal["critical", "high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
SEVERITY_RANK: dict[str, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1}

OutcomeKind = Literal["pass", "fail", "skip", "error", "waived"]
OUTCOMES: tuple[OutcomeKind, ...] = ("fail", "error", "waived", "skip", "pass")

Area = Literal["sysctl", "thp", "oom", "cgroup", "pressure", "swap", "numa", "pagecache", "process"]
AREAS: tuple[str, ...] = (
    "sysctl",
    "thp",
    "oom",
    "cgroup",
    "pressure",
    "swap",
    "numa",
    "pagecache",
    "process",
)

# JSON-compatible values, as they appear in results.json.
JSON = Union[None, bool, int, float, str, list[Any], dict[str, Any]]
ParamValue = Union[bool, int, float, str, list[str], list[int]]
Params = Mapping[str, ParamValue]


# TOML integers are 64-bit (TOML 1.0); tomllib accepts any size, and a value of thousands of
# digits cannot even be formatted into a message (int -> str stops at 4,300 digits).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Param:
    """A threshold a profile may change; `kind` is the TOML type it must have.

    `low` and `high` bound a number (each item of a `list[int]`), both inclusive; a float is
    always finite. `at_most` names another param of the same check that this one may not
    exceed (swappiness `min` <= `max`), so a profile cannot ask for what nothing satisfies.
    """

    default: ParamValue
    doc: str
    kind: Literal["int", "float", "str", "bool", "list[str]", "list[int]"] = "int"
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    at_most: str | None = None

    def accepts(self, value: object) -> bool:
        """True when `value` has the declared TOML type (and is one of `choices`, if any)."""
        if self.kind == "bool":
            ok = isinstance(value, bool)
        elif self.kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif self.kind == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif self.kind == "str":
            ok = isinstance(value, str)
        elif self.kind == "list[int]":
            ok = isinstance(value, list) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value
            )
        else:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if ok and self.choices:
            items = value if isinstance(value, list) else [value]
            ok = all(str(item) in self.choices for item in items)
        return ok

    def range_text(self) -> str:
        """The documented range, as `explain` and error messages show it ("" for none)."""
        if self.kind not in ("int", "float", "list[int]"):
            return ""
        low, high = _number_text(self.low), _number_text(self.high)
        if low and high:
            text = f"{low}..{high}"
        elif low:
            text = f">= {low}"
        elif high:
            text = f"<= {high}"
        else:
            text = "finite" if self.kind == "float" else ""
        if text and self.kind == "list[int]":
            text = f"each {text}"
        return text

    def range_problem(self, value: object) -> str | None:
        """Why `value` (already of the right type) is outside the documented range, or None."""
        if self.kind not in ("int", "float", "list[int]"):
            return None
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                continue
            if isinstance(item, float) and not math.isfinite(item):
                return f"{item} is not a finite number"
            if isinstance(item, int) and not INT64_MIN <= item <= INT64_MAX:
                return "the integer does not fit in 64 bits"
            if (self.low is not None and item < self.low) or (
                self.high is not None and item > self.high
            ):
                return f"{item} is out of range ({self.range_text()})"
            if self.kind == "float" and isinstance(item, int):
                try:
                    float(item)
                except OverflowError:
                    return "the number is too large"
        return None


def _number_text(bound: float | None) -> str:
    if bound is None:
        return ""
    if isinstance(bound, int) or bound.is_integer():
        return str(int(bound))
    return f"{bound:g}"


@dataclass(frozen=True)
class CheckMeta:
    """What a check declares about itself (SPEC section 8)."""

    id: str
    title: str
    area: Area
    severity: Severity
    rationale: str
    remediation: str
    references: tuple[str, ...]
    reads: tuple[str, ...]
    params: Mapping[str, Param] = field(default_factory=dict)

    def defaults(self) -> dict[str, ParamValue]:
        return {name: p.default for name, p in self.params.items()}


def ev(
    text: str, source: str | None = None, line: int | None = None, **extra: JSON
) -> dict[str, JSON]:
    """One piece of evidence: the text relied on, where it came from, and any structured fields."""
    item: dict[str, JSON] = {"text": text}
    if source is not None:
        item["source"] = source
    if line is not None:
        item["line"] = line
    item.update(extra)
    return item


@dataclass
class Outcome:
    """What a judge returns for one host. `severity` is set only when the judge raises it;
    `remediation` only when this finding has a narrower fix than the check's own text
    (swap_configured: the half that adds swap, or the half that removes it)."""

    outcome: OutcomeKind
    message: str
    observed: JSON = None
    expected: JSON = None
    evidence: list[dict[str, JSON]] = field(default_factory=list)
    severity: Severity | None = None
    remediation: str | None = None

    @classmethod
    def passed(
        cls,
        message: str,
        observed: JSON = None,
        expected: JSON = None,
        evidence: list[dict[str, JSON]] | None = None,
    ) -> Outcome:
        return cls("pass", message, observed, expected, evidence or [])

    @classmethod
    def failed(
        cls,
        message: str,
        observed: JSON = None,
        expected: JSON = None,
        evidence: list[dict[str, JSON]] | None = None,
        severity: Severity | None = None,
    ) -> Outcome:
        return cls("fail", message, observed, expected, evidence or [], severity)

    @classmethod
    def skipped(cls, reason: str, evidence: list[dict[str, JSON]] | None = None) -> Outcome:
        return cls("skip", reason, evidence=evidence or [])

    @classmethod
    def errored(cls, reason: str, evidence: list[dict[str, JSON]] | None = None) -> Outcome:
        return cls("error", reason, evidence=evidence or [])

    def replace(self, **changes: Any) -> Outcome:
        return dataclasses.replace(self, **changes)


# The signature of every check's judge function.
Judge = Callable[[Any, Params], Outcome]


def param_int(params: Params, name: str) -> int:
    value = params[name]
    if isinstance(value, (bool, list, str)):
        raise TypeError(f"param {name} must be an integer, got {value!r}")
    return int(value)


def param_float(params: Params, name: str) -> float:
    value = params[name]
    if isinstance(value, (bool, list, str)):
        raise TypeError(f"param {name} must be a number, got {value!r}")
    return float(value)


def param_str(params: Params, name: str) -> str:
    value = params[name]
    if not isinstance(value, str):
        raise TypeError(f"param {name} must be a string, got {value!r}")
    return value


def param_list(params: Params, name: str) -> list[str]:
    value = params[name]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"param {name} must be a list of strings, got {value!r}")
    return [str(v) for v in value]


def param_int_list(params: Params, name: str) -> list[int]:
    value = params[name]
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise TypeError(f"param {name} must be a list of integers, got {value!r}")
    return [int(v) for v in value]


def param_bool(params: Params, name: str) -> bool:
    value = params[name]
    if not isinstance(value, bool):
        raise TypeError(f"param {name} must be true or false, got {value!r}")
    return value
