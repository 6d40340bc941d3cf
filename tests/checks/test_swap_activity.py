"""swap_activity: pages per second between two vmstat samples; storms; who holds swap."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from memcheck.snapshot import VMSTAT_AFTER
from tests.snapshots import facts_from

CHECK = builtin_checks()["swap_activity"]
UPTIME_AFTER = "/.memcheck/uptime.after"


def vmstat(pswpin: int, pswpout: int) -> str:
    return f"nr_free_pages 1000\npswpin {pswpin}\npswpout {pswpout}\ncompact_stall 3\n"


def meminfo(swap_kb: int) -> str:
    return f"MemTotal: 16318412 kB\nSwapTotal: {swap_kb} kB\nSwapFree: {swap_kb} kB\n"


def status(pid: int, name: str, swap_kb: int) -> str:
    return f"Name:\t{name}\nPid:\t{pid}\nPPid:\t1\nVmRSS:\t  1000 kB\nVmSwap:\t{swap_kb:>6} kB\n"


def host(
    before: tuple[int, int], after: tuple[int, int] | None, swap_kb: int = 8388604
) -> dict[str, str]:
    files = {
        "/proc/meminfo": meminfo(swap_kb),
        "/proc/vmstat": vmstat(*before),
        "/proc/uptime": "1000.00 3000.00\n",
    }
    if after is not None:
        files[VMSTAT_AFTER] = vmstat(*after)
        files[UPTIME_AFTER] = "1002.00 3008.00\n"
    return files


def run(
    files: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    interval: float | None = 1.0,
    **params: ParamValue,
) -> CheckResult:
    facts = facts_from(files, errors=errors, sample_interval_seconds=interval)
    return evaluate(CHECK, facts, {**CHECK.meta.defaults(), **params})


def test_no_swapping_passes() -> None:
    result = run(host((100, 200), (100, 200)))
    assert result.outcome == "pass"
    assert result.observed == 0
    assert result.evidence[0]["interval_from"] == "/.memcheck/uptime.after minus /proc/uptime"


def test_some_swapping_fails_medium() -> None:
    # 40 pages in and 60 out over the 2 s the uptimes show (not host.json's 1 s).
    result = run(host((100, 200), (140, 260)))
    assert result.outcome == "fail"
    assert result.severity == "medium"
    assert result.observed == 50
    assert "in 40, out 60 pages over 2.00 s" in result.message


def test_storm_fails_high() -> None:
    result = run(host((0, 0), (1500, 1000)))
    assert result.severity == "high"
    assert result.message.startswith("swap storm: 1250 pages/s")


def test_storm_threshold_and_allowance_are_params() -> None:
    assert run(host((0, 0), (1500, 1000)), storm_pages_per_second=5000.0).severity == "medium"
    assert run(host((0, 0), (10, 10)), max_pages_per_second=10.0).outcome == "pass"


def test_a_single_page_over_a_long_interval_still_counts() -> None:
    files = host((0, 0), (0, 1))
    files[UPTIME_AFTER] = "1030.00 3100.00\n"
    result = run(files)
    assert result.outcome == "fail"
    assert result.observed == 0.03


def test_interval_from_host_json_without_second_uptime() -> None:
    files = host((0, 0), (30, 0))
    del files[UPTIME_AFTER]
    result = run(files, interval=3.0)
    assert result.observed == 10
    assert "host.json" in str(result.evidence[0]["interval_from"])


def test_top_swap_holders_are_listed() -> None:
    files = host((0, 0), (5, 5))
    files["/proc/10/status"] = status(10, "java", 500000)
    files["/proc/11/status"] = status(11, "mysqld", 900000)
    files["/proc/12/status"] = status(12, "bash", 0)
    files["/proc/13/status"] = status(13, "redis-server", 100)
    result = run(files, top_processes=2)
    listed = [(e["pid"], e["name"], e["swap_bytes"]) for e in result.evidence if "pid" in e]
    assert listed == [(11, "mysqld", 900000 * 1024), (10, "java", 500000 * 1024)]


def test_no_swap_and_no_activity_skips() -> None:
    result = run(host((0, 0), (0, 0), swap_kb=0))
    assert result.outcome == "skip"
    assert "no swap configured" in result.message
    # Without a second sample there is nothing to swap to either.
    assert run(host((0, 0), None, swap_kb=0)).outcome == "skip"


def test_swapoff_traffic_without_swap_is_still_judged() -> None:
    # swapoff pulls pages back in: SwapTotal already reads 0 while pswpin climbs.
    assert run(host((0, 0), (400, 0), swap_kb=0)).outcome == "fail"


def test_no_second_sample_is_an_error() -> None:
    result = run(host((5, 5), None))
    assert result.outcome == "error"
    assert "no second /proc/vmstat sample" in result.message


@pytest.mark.parametrize(
    ("files", "interval"),
    [
        ({**host((0, 0), (0, 0)), UPTIME_AFTER: "1000.00 3000.00\n"}, 1.0),  # 0 s apart
        ({**host((9, 9), (1, 1))}, 1.0),  # counters ran backwards
        ({**host((0, 0), (1, 1)), VMSTAT_AFTER: "nr_free_pages 1\n"}, 1.0),  # no counters
        ({k: v for k, v in host((0, 0), (1, 1)).items() if k != UPTIME_AFTER}, None),
        ({k: v for k, v in host((0, 0), (1, 1)).items() if k != "/proc/meminfo"}, 1.0),
        ({**host((0, 0), (1, 1)), VMSTAT_AFTER: "pswpin x\n"}, 1.0),
    ],
)
def test_error(files: dict[str, str], interval: float | None) -> None:
    assert run(files, interval=interval).outcome == "error"
