"""vfs_cache_pressure: 0 always fails high; otherwise bounded only when the profile says so."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from

CHECK = builtin_checks()["vfs_cache_pressure"]
PATH = "/proc/sys/vm/vfs_cache_pressure"


def run(
    files: Mapping[str, str], errors: Mapping[str, str] | None = None, **params: ParamValue
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), {**CHECK.meta.defaults(), **params})


def test_defaults_match_the_profiles() -> None:
    assert CHECK.meta.defaults() == {"max": 0}
    assert CHECK.meta.severity == "low"


@pytest.mark.parametrize(("value", "bound"), [(100, 0), (1, 0), (2000, 0), (50, 50), (10, 50)])
def test_pass(value: int, bound: int) -> None:
    result = run({PATH: f"{value}\n"}, max=bound)
    assert result.outcome == "pass"
    assert result.observed == value
    assert result.evidence[0]["source"] == PATH


@pytest.mark.parametrize("bound", [0, 50])
def test_zero_fails_high_whatever_the_bound(bound: int) -> None:
    result = run({PATH: "0\n"}, max=bound)
    assert result.outcome == "fail"
    assert result.severity == "high"
    assert "out-of-memory" in result.message


def test_above_the_bound_fails_at_the_check_severity() -> None:
    result = run({PATH: "100\n"}, max=50)
    assert result.outcome == "fail"
    assert result.severity == "low"
    assert result.expected == "1..50"
    assert "above 50" in result.message


@pytest.mark.parametrize(
    ("files", "errors", "fragment"),
    [
        ({}, None, "no such file"),
        ({PATH: "fast\n"}, None, "expected an integer"),
        ({}, {PATH: "permission denied"}, "--sudo"),
    ],
)
def test_error(files: dict[str, str], errors: dict[str, str] | None, fragment: str) -> None:
    result = run(files, errors)
    assert result.outcome == "error"
    assert fragment in result.message


def test_complies_is_the_judge_rule() -> None:
    from memcheck.checks import vfs_cache_pressure as module

    assert module.SYSCTL == "vm.vfs_cache_pressure"
    assert not module.complies(0, {"max": 0})
    assert module.complies(10000, {"max": 0})
    assert not module.complies(51, {"max": 50})
