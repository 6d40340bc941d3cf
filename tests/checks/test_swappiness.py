"""swappiness: min <= v <= max, 0 explained; SYSCTL and complies for sysctl_persisted."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from

CHECK = builtin_checks()["swappiness"]
PATH = "/proc/sys/vm/swappiness"


def run(
    files: Mapping[str, str], errors: Mapping[str, str] | None = None, **params: ParamValue
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), {**CHECK.meta.defaults(), **params})


@pytest.mark.parametrize("value", [1, 5, 10])
def test_pass(value: int) -> None:
    assert run({PATH: f"{value}\n"}).outcome == "pass"


def test_zero_fails_when_min_is_one() -> None:
    result = run({PATH: "0\n"})
    assert result.outcome == "fail"
    assert "3.5" in result.message


def test_zero_allowed_by_a_profile_with_min_zero() -> None:
    assert run({PATH: "0\n"}, min=0, max=1).outcome == "pass"


def test_default_sixty_fails() -> None:
    result = run({PATH: "60\n"})
    assert result.outcome == "fail"
    assert result.expected == "1..10"


@pytest.mark.parametrize(
    ("files", "errors"), [({}, None), ({PATH: "x\n"}, None), ({}, {PATH: "permission denied"})]
)
def test_error(files: dict[str, str], errors: dict[str, str] | None) -> None:
    assert run(files, errors).outcome == "error"


def test_complies() -> None:
    from memcheck.checks import swappiness as module

    assert module.SYSCTL == "vm.swappiness"
    assert module.complies(1, {"min": 1, "max": 10})
    assert not module.complies(0, {"min": 1, "max": 10})
    assert not module.complies(60, {"min": 1, "max": 10})
