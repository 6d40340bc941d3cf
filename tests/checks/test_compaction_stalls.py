"""compaction_stalls: compact_stall per hour since boot; skip without CONFIG_COMPACTION."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from

CHECK = builtin_checks()["compaction_stalls"]
DAY = "86400.00 300000.00\n"


def run(
    files: Mapping[str, str], errors: Mapping[str, str] | None = None, **params: ParamValue
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), {**CHECK.meta.defaults(), **params})


def host(stalls: int | None, uptime: str = DAY) -> dict[str, str]:
    counters = "nr_free_pages 1\ncompact_fail 2\ncompact_success 9\n"
    if stalls is not None:
        counters += f"compact_stall {stalls}\n"
    return {"/proc/vmstat": counters, "/proc/uptime": uptime}


@pytest.mark.parametrize(("stalls", "outcome"), [(0, "pass"), (240, "pass"), (241, "fail")])
def test_rate_per_hour(stalls: int, outcome: str) -> None:
    result = run(host(stalls))
    assert result.outcome == outcome
    assert result.observed == round(stalls / 24, 2)
    assert result.severity == "low"


def test_evidence_and_message() -> None:
    result = run(host(4800))
    assert result.message == "4800 compaction stalls in 24.0 h since boot: 200 per hour"
    assert result.evidence[0]["compact_stall"] == 4800
    assert result.evidence[0]["compact_success"] == 9
    assert result.evidence[1]["uptime_hours"] == 24.0


def test_limit_is_a_param() -> None:
    assert run(host(4800), max_per_hour=500.0).outcome == "pass"


def test_no_counter_skips() -> None:
    result = run(host(None))
    assert result.outcome == "skip"
    assert "CONFIG_COMPACTION" in result.message


@pytest.mark.parametrize(
    ("files", "errors"),
    [
        ({}, None),
        ({"/proc/vmstat": "compact_stall 1\n"}, {"/proc/uptime": "permission denied"}),
        (host(5, uptime="0.00 0.00\n"), None),
        (host(5, uptime="soon\n"), None),
        ({"/proc/vmstat": "compact_stall many\n", "/proc/uptime": DAY}, None),
    ],
)
def test_error(files: dict[str, str], errors: dict[str, str] | None) -> None:
    assert run(files, errors).outcome == "error"
