"""max_map_count: v >= min; SYSCTL and complies for sysctl_persisted."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.facts import Facts
from memcheck.facts.sysctl import KERNEL_DEFAULTS
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from, snapshot_from

CHECK = builtin_checks()["max_map_count"]
PATH = "/proc/sys/vm/max_map_count"


def run(
    files: Mapping[str, str], errors: Mapping[str, str] | None = None, **params: ParamValue
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), {**CHECK.meta.defaults(), **params})


@pytest.mark.parametrize("value", [262144, 1048576, 2147483642])
def test_pass(value: int) -> None:
    result = run({PATH: f"{value}\n"})
    assert result.outcome == "pass"
    assert result.observed == value


def test_kernel_default_fails_and_says_so() -> None:
    result = run({PATH: "65530\n"})
    assert result.outcome == "fail"
    assert result.severity == "high"
    assert "kernel default" in result.message
    assert result.expected == ">= 262144"


def test_cassandra_minimum_via_param() -> None:
    assert run({PATH: "262144\n"}, min=1048575).outcome == "fail"
    assert run({PATH: "1048575\n"}, min=1048575).outcome == "pass"


@pytest.mark.parametrize(
    ("files", "errors"), [({}, None), ({PATH: "lots\n"}, None), ({}, {PATH: "permission denied"})]
)
def test_error(files: dict[str, str], errors: dict[str, str] | None) -> None:
    assert run(files, errors).outcome == "error"


def test_complies_and_boot_value() -> None:
    from memcheck.checks import max_map_count as module

    assert module.SYSCTL == "vm.max_map_count"
    assert module.complies(262144, {"min": 262144})
    assert not module.complies(65530, {"min": 262144})
    assert KERNEL_DEFAULTS[module.SYSCTL] == module.KERNEL_DEFAULT


def test_sysctl_persisted_covers_it() -> None:
    persisted = builtin_checks()["sysctl_persisted"]
    files = {PATH: "262144\n", "/etc/sysctl.conf": "# nothing\n"}
    selection = {"max_map_count": CHECK.meta.defaults()}
    facts = Facts(snapshot_from(files), selection)
    result = evaluate(persisted, facts, persisted.meta.defaults())
    assert result.outcome == "fail"
    assert "vm.max_map_count" in result.message
    files["/etc/sysctl.d/90-es.conf"] = "vm.max_map_count = 262144\n"
    facts = Facts(snapshot_from(files), selection)
    assert evaluate(persisted, facts, persisted.meta.defaults()).outcome == "pass"
