"""overcommit_memory: allowed modes, the mode explained, the mode-2 commit ratio; sysctl rule."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.facts import Facts
from memcheck.model import ParamValue, Severity
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from, snapshot_from

CHECK = builtin_checks()["overcommit_memory"]
VM = "/proc/sys/vm/"


def host(mode: int, ratio: int = 50, kbytes: int = 0, committed_kb: int = 0) -> dict[str, str]:
    return {
        VM + "overcommit_memory": f"{mode}\n",
        VM + "overcommit_ratio": f"{ratio}\n",
        VM + "overcommit_kbytes": f"{kbytes}\n",
        "/proc/meminfo": (
            "MemTotal:       16318412 kB\nCommitLimit:    16547808 kB\n"
            f"Committed_AS:   {committed_kb:>8} kB\n"
        ),
    }


def run(
    files: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    severity: Severity | None = None,
    **params: ParamValue,
) -> CheckResult:
    facts = facts_from(files, errors=errors)
    return evaluate(CHECK, facts, {**CHECK.meta.defaults(), **params}, severity)


@pytest.mark.parametrize(("mode", "outcome"), [(0, "pass"), (1, "pass"), (2, "fail")])
def test_default_allows_0_and_1(mode: int, outcome: str) -> None:
    result = run(host(mode, committed_kb=100))
    assert result.outcome == outcome
    assert result.observed == mode
    assert result.expected == "one of 0, 1"


def test_message_explains_each_mode() -> None:
    assert "heuristic" in run(host(0)).message
    assert "always overcommit" in run(host(1)).message
    wrong = run(host(2, ratio=80))
    assert wrong.severity == "high"
    assert "strict accounting" in wrong.message
    assert "swap + 80% of RAM" in wrong.message


def test_redis_profile_wants_exactly_1() -> None:
    assert run(host(0), allowed=[1]).outcome == "fail"
    assert run(host(1), allowed=[1]).outcome == "pass"


def test_mode_2_reports_commit_ratio() -> None:
    result = run(host(2, committed_kb=8273904), allowed=[2])
    assert result.outcome == "pass"
    assert "is 50% of CommitLimit" in result.message
    usage = result.evidence[1]
    assert usage["committed_as_bytes"] == 8273904 * 1024
    assert usage["commit_limit_bytes"] == 16547808 * 1024


def test_mode_2_near_the_limit_fails_medium() -> None:
    result = run(host(2, committed_kb=15900000), allowed=[2])
    assert result.outcome == "fail"
    assert result.severity == "medium"
    assert result.observed == 96.1
    assert result.expected == "<= 90% of CommitLimit"
    assert run(host(2, committed_kb=15900000), allowed=[2], max_commit_percent=97.0).outcome == (
        "pass"
    )


def test_a_profile_severity_is_never_lowered() -> None:
    result = run(host(2, committed_kb=15900000), severity="critical", allowed=[2])
    assert result.severity == "critical"


def test_mode_2_with_kbytes_names_the_kbytes_limit() -> None:
    result = run(host(2, ratio=0, kbytes=4194304, committed_kb=10), allowed=[2])
    assert "swap + 4194304 kB" in result.message


def test_kernel_without_overcommit_kbytes() -> None:
    files = host(1)
    del files[VM + "overcommit_kbytes"]  # before Linux 3.14
    result = run(files)
    assert result.outcome == "pass"
    assert result.evidence[0]["kbytes"] is None


@pytest.mark.parametrize(
    ("files", "errors"),
    [
        ({}, None),
        ({VM + "overcommit_memory": "two\n"}, None),
        ({}, {VM + "overcommit_memory": "permission denied"}),
        ({**host(2), "/proc/meminfo": "MemTotal: 1 kB\n"}, None),
        ({k: v for k, v in host(2).items() if k != "/proc/meminfo"}, None),
    ],
)
def test_error(files: dict[str, str], errors: dict[str, str] | None) -> None:
    assert run(files, errors, allowed=[2]).outcome == "error"


def test_complies_and_sysctl_persisted() -> None:
    from memcheck.checks import overcommit_memory as module

    assert module.SYSCTL == "vm.overcommit_memory"
    assert module.complies(1, {"allowed": [1]})
    assert not module.complies(0, {"allowed": [1]})
    persisted = builtin_checks()["sysctl_persisted"]
    files = {VM + "overcommit_memory": "1\n", "/etc/sysctl.conf": "\n"}
    facts = Facts(snapshot_from(files), {"overcommit_memory": {"allowed": [1]}})
    result = evaluate(persisted, facts, persisted.meta.defaults())
    assert result.outcome == "fail"  # the kernel default 0 comes back at boot
    assert "vm.overcommit_memory" in result.message
