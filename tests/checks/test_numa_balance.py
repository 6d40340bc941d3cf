from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.checks.numa_hosts import GIB_KB, NODE, Node, numa_host, two_nodes
from tests.snapshots import facts_from

CHECK = builtin_checks()["numa_balance"]
DEFAULT: dict[str, ParamValue] = {"max_free_spread_percent": 50.0, "max_miss_percent": 10.0}


def run(
    files: Mapping[str, str],
    params: Mapping[str, ParamValue] = DEFAULT,
    errors: Mapping[str, str] | None = None,
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), params)


def test_meta() -> None:
    assert CHECK.meta.defaults() == DEFAULT
    assert CHECK.meta.area == "numa" and CHECK.meta.severity == "low"
    assert f"{NODE}/node[0-9]*/meminfo" in CHECK.meta.reads
    assert f"{NODE}/node[0-9]*/numastat" in CHECK.meta.reads


def test_runbook_imbalance_fails() -> None:
    # Node 0 nearly exhausted, node 1 with plenty, and a quarter of node 0's allocations missed.
    result = run(two_nodes(free0=2, free1=60, miss=25))
    assert result.outcome == "fail"
    assert result.observed == 58.0
    assert result.expected == "<= 50% spread"
    assert "58.0 points" in result.message and "node 0 2.0% free" in result.message
    assert "node 0: 25.0% of allocations missed" in result.message
    node0 = result.evidence[0]
    assert node0["node"] == 0 and node0["free_percent"] == 2.0
    assert node0["numa_miss"] == 250000 and node0["miss_percent"] == 25.0
    assert node0["source"] == f"{NODE}/node0/meminfo"
    assert result.evidence[1]["free_percent"] == 60.0


def test_reserved_huge_pages_are_shown() -> None:
    files = two_nodes(free0=10, free1=50)
    path = f"{NODE}/node0/meminfo"
    files[path] = files[path].replace("HugePages_Total:     0", "HugePages_Total:     24")
    result = run(files)
    assert "24 huge pages reserved (0 unused)" in str(result.evidence[0]["text"])
    assert "huge pages" not in str(result.evidence[1]["text"])
    assert result.evidence[0]["numastat_source"] == f"{NODE}/node0/numastat"


def test_balanced_two_nodes_pass() -> None:
    result = run(two_nodes(free0=35, free1=41, miss=1))
    assert result.outcome == "pass"
    assert result.observed == 6.0
    assert "at most 1.0% misses" in result.message


def test_misses_alone_fail() -> None:
    result = run(two_nodes(free0=30, free1=32, miss=25))
    assert result.outcome == "fail"
    assert result.observed == 25.0
    assert result.expected == "<= 10% misses"
    assert "node 0" in result.message and "differs" not in result.message


def test_spread_alone_fails() -> None:
    result = run(two_nodes(free0=5, free1=80))
    assert result.outcome == "fail"
    assert result.observed == 75.0
    assert "missed" not in result.message


def test_thresholds_come_from_params() -> None:
    files = two_nodes(free0=20, free1=60, miss=5)
    assert run(files).outcome == "pass"
    strict: dict[str, ParamValue] = {"max_free_spread_percent": 30.0, "max_miss_percent": 2.0}
    result = run(files, strict)
    assert result.outcome == "fail"
    assert result.observed == 40.0 and result.expected == "<= 30% spread"
    assert "5.0% of allocations" in result.message


def test_free_share_is_per_node_size() -> None:
    # 10 GiB free of 64 and 10 GiB free of 16: the same bytes, very different shares.
    files = numa_host(Node(0, 64 * GIB_KB, 10 * GIB_KB), Node(1, 16 * GIB_KB, 10 * GIB_KB))
    result = run(files)
    assert result.outcome == "pass"
    assert result.observed == 46.9  # 62.5% free on node 1, 15.6% on node 0
    strict: dict[str, ParamValue] = {"max_free_spread_percent": 40.0, "max_miss_percent": 10.0}
    assert run(files, strict).outcome == "fail"


def test_four_node_epyc_with_one_full_node_fails() -> None:
    size = 128 * GIB_KB
    files = numa_host(
        Node(0, size, size * 70 // 100),
        Node(1, size, size * 68 // 100),
        Node(2, size, size * 3 // 100),
        Node(3, size, size * 66 // 100),
    )
    result = run(files)
    assert result.outcome == "fail"
    assert result.observed == 67.0
    assert "node 2 3.0% free, node 0 70.0%" in result.message
    assert len(result.evidence) == 4


def test_eight_nodes_pass() -> None:
    size = 32 * GIB_KB
    files = numa_host(*(Node(i, size, size * (40 + i) // 100, 10_000_000, 1000) for i in range(8)))
    result = run(files)
    assert result.outcome == "pass"
    assert result.observed == 7.0
    assert len(result.evidence) == 8


def test_memoryless_node_is_ignored_and_said_so() -> None:
    # Three nodes: two with memory, balanced; node 2 has CPUs only (MemTotal 0 kB, 0% free).
    size = 64 * GIB_KB
    files = numa_host(Node(0, size, size // 3), Node(1, size, size // 3), Node(2, 0, 0))
    result = run(files)
    assert result.outcome == "pass"
    assert result.observed == 0.0
    memoryless = [e for e in result.evidence if e.get("memoryless")]
    assert len(memoryless) == 1 and memoryless[0]["node"] == 2
    assert "no memory" in str(memoryless[0]["text"])


def test_node_missing_from_has_memory_is_memoryless() -> None:
    # A node that shows memory but is not in has_memory (e.g. a hot-removed range) is left out.
    size = 64 * GIB_KB
    files = numa_host(Node(0, size, size // 2), Node(1, size, size // 50), has_memory="0")
    result = run(files)
    assert result.outcome == "skip"
    assert "2 NUMA node(s), 1 with memory" in result.message


def test_one_memory_node_and_a_cpu_only_node_skip() -> None:
    files = numa_host(Node(0, 8 * GIB_KB, 5 * GIB_KB), Node(1, 0, 0))
    result = run(files)
    assert result.outcome == "skip"
    assert "single memory node" in result.message
    assert "2 NUMA node(s), 1 with memory" in result.message


def test_single_node_laptop_skips() -> None:
    result = run(numa_host(Node(0, 32 * GIB_KB, 20 * GIB_KB)))
    assert result.outcome == "skip"
    assert "1 NUMA node(s)" in result.message


def test_kernel_without_numa_skips() -> None:
    result = run({"/proc/meminfo": "MemTotal: 1000 kB\n"})
    assert result.outcome == "skip"
    assert "without NUMA" in result.message


def test_missing_numastat_judges_free_memory_only() -> None:
    size = 64 * GIB_KB
    files = numa_host(Node(0, size, size // 2), Node(1, size, size // 2), numastat_files=False)
    result = run(files)
    assert result.outcome == "pass"
    assert "misses" not in result.message
    assert "no numastat" in str(result.evidence[0]["text"])


def test_unreadable_node_meminfo_is_an_error() -> None:
    files = two_nodes()
    del files[f"{NODE}/node1/meminfo"]
    result = run(files, errors={f"{NODE}/node1/meminfo": "permission denied"})
    assert result.outcome == "error"
    assert "node1/meminfo" in result.message


def test_collection_cut_short_is_an_error() -> None:
    files = {k: v for k, v in two_nodes().items() if "/node" not in k or k.endswith("_memory")}
    errors = {f"{NODE}/node[0-9]*/meminfo": "not collected: the output ended early"}
    result = run(files, errors=errors)
    assert result.outcome == "error"
    assert "not collected" in result.message


@pytest.mark.parametrize("bad", ["Node 0 MemTotal: lots kB\n", ""])
def test_malformed_node_meminfo_is_an_error(bad: str) -> None:
    files = two_nodes()
    files[f"{NODE}/node0/meminfo"] = bad
    result = run(files)
    assert result.outcome == "error"
    assert "node0/meminfo" in result.message
