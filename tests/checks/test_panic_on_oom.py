"""panic_on_oom: value <= max; 1 and 2 are explained."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from

CHECK = builtin_checks()["panic_on_oom"]
PATH = "/proc/sys/vm/panic_on_oom"


def run(
    files: Mapping[str, str], errors: Mapping[str, str] | None = None, **params: ParamValue
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), {**CHECK.meta.defaults(), **params})


def test_defaults() -> None:
    assert CHECK.meta.defaults() == {"max": 0}


def test_zero_passes() -> None:
    result = run({PATH: "0\n"})
    assert result.outcome == "pass"
    assert result.observed == 0 and result.expected == "<= 0"


@pytest.mark.parametrize(
    ("value", "fragment"), [(1, "system-wide"), (2, "even inside a memory cgroup")]
)
def test_panic_modes_fail_with_their_meaning(value: int, fragment: str) -> None:
    result = run({PATH: f"{value}\n"})
    assert result.outcome == "fail"
    assert result.severity == "medium"
    assert fragment in result.message


def test_profile_may_allow_panic_on_system_wide_oom() -> None:
    assert run({PATH: "1\n"}, max=1).outcome == "pass"
    assert run({PATH: "2\n"}, max=1).outcome == "fail"


@pytest.mark.parametrize(
    ("files", "errors", "fragment"),
    [
        ({}, None, "no such file"),
        ({PATH: "\n"}, None, "expected an integer"),
        ({}, {PATH: "permission denied"}, "--sudo"),
    ],
)
def test_error(files: dict[str, str], errors: dict[str, str] | None, fragment: str) -> None:
    result = run(files, errors)
    assert result.outcome == "error"
    assert fragment in result.message
