from __future__ import annotations

import pytest

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from

CHECK = builtin_checks()["thp_enabled"]
DIR = "/sys/kernel/mm/transparent_hugepage"
DEFAULT: dict[str, ParamValue] = {"allowed": ["never", "madvise"]}


def run(
    files: dict[str, str],
    params: dict[str, ParamValue] | None = None,
    errors: dict[str, str] | None = None,
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), params or DEFAULT)


@pytest.mark.parametrize(
    ("text", "outcome", "observed"),
    [
        ("always madvise [never]\n", "pass", "never"),
        ("always [madvise] never\n", "pass", "madvise"),
        ("[always] madvise never\n", "fail", "always"),
    ],
)
def test_global_mode(text: str, outcome: str, observed: str) -> None:
    result = run({f"{DIR}/enabled": text})
    assert result.outcome == outcome
    assert result.observed == observed
    assert result.expected == "never|madvise"
    assert result.evidence[0]["source"] == f"{DIR}/enabled"


def test_rhel6_path() -> None:
    result = run({"/sys/kernel/mm/redhat_transparent_hugepage/enabled": "[always] madvise never\n"})
    assert result.outcome == "fail"
    assert "redhat_transparent_hugepage" in str(result.evidence[0]["source"])


def test_mongodb8_profile_wants_always() -> None:
    result = run({f"{DIR}/enabled": "[always] madvise never\n"}, {"allowed": ["always"]})
    assert result.outcome == "pass"


def test_compiled_out_skips() -> None:
    result = run({"/proc/meminfo": "MemTotal: 1 kB\n"})
    assert result.outcome == "skip"
    assert "compiled out" in result.message


def test_mthp_size_enabled_outside_allowed_fails() -> None:
    files = {
        f"{DIR}/enabled": "always [madvise] never\n",
        f"{DIR}/hugepages-2048kB/enabled": "always [inherit] madvise never\n",
        f"{DIR}/hugepages-64kB/enabled": "[always] inherit madvise never\n",
        f"{DIR}/hugepages-16kB/enabled": "always inherit madvise [never]\n",
    }
    result = run(files)
    assert result.outcome == "fail"
    assert "64 kB=always" in result.message
    assert "16 kB" not in result.message and "2048 kB" not in result.message


def test_mthp_inherit_and_never_pass() -> None:
    files = {
        f"{DIR}/enabled": "always madvise [never]\n",
        f"{DIR}/hugepages-2048kB/enabled": "always [inherit] madvise never\n",
        f"{DIR}/hugepages-64kB/enabled": "always inherit madvise [never]\n",
    }
    assert run(files).outcome == "pass"


def test_unreadable_errors() -> None:
    result = run({}, errors={f"{DIR}/enabled": "permission denied"})
    assert result.outcome == "error"
    assert "permission denied" in result.message


def test_malformed_errors() -> None:
    result = run({f"{DIR}/enabled": "always madvise never\n"})
    assert result.outcome == "error"
    assert "bracketed" in result.message
