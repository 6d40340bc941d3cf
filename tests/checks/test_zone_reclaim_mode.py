"""zone_reclaim_mode: 0 passes, any bit fails, absent (no NUMA) skips."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from

CHECK = builtin_checks()["zone_reclaim_mode"]
PATH = "/proc/sys/vm/zone_reclaim_mode"


def run(files: Mapping[str, str], errors: Mapping[str, str] | None = None) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), CHECK.meta.defaults())


def test_no_params_and_medium() -> None:
    assert CHECK.meta.params == {}
    assert CHECK.meta.severity == "medium"


def test_zero_passes() -> None:
    result = run({PATH: "0\n"})
    assert result.outcome == "pass"
    assert result.observed == 0
    assert result.evidence[0]["source"] == PATH


@pytest.mark.parametrize(
    ("value", "meaning"),
    [
        (1, "zone reclaim on"),
        (3, "writes dirty pages out"),
        (5, "swaps pages"),
        (8, "unknown bits"),
    ],
)
def test_non_zero_fails_and_explains_the_bits(value: int, meaning: str) -> None:
    result = run({PATH: f"{value}\n"})
    assert result.outcome == "fail"
    assert result.observed == value and result.expected == 0
    assert meaning in result.message


def test_absent_file_skips_as_non_numa() -> None:
    result = run({"/proc/sys/vm/swappiness": "60\n"})
    assert result.outcome == "skip"
    assert "NUMA" in result.message


@pytest.mark.parametrize(
    ("files", "errors", "fragment"),
    [
        ({PATH: "on\n"}, None, "expected an integer"),
        ({}, {PATH: "permission denied"}, "permission denied"),
    ],
)
def test_error(files: dict[str, str], errors: dict[str, str] | None, fragment: str) -> None:
    result = run(files, errors)
    assert result.outcome == "error"
    assert fragment in result.message
