from __future__ import annotations

from collections.abc import Mapping

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.checks.numa_hosts import GIB_KB, NODE, Node, maps, numa_host, proc, two_nodes
from tests.snapshots import facts_from

CHECK = builtin_checks()["numa_policy"]
DATABASES = ["postgres", "mysqld", "mariadbd", "mongod", "redis-server"]
DEFAULT: dict[str, ParamValue] = {"processes": DATABASES}
PG = "/usr/lib/postgresql/16/bin/postgres"


def run(
    files: Mapping[str, str],
    params: Mapping[str, ParamValue] = DEFAULT,
    errors: Mapping[str, str] | None = None,
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), params)


def host(**procs: dict[str, str]) -> dict[str, str]:
    files = {**two_nodes(), **proc(1, "systemd", 0, maps("default", "/usr/lib/systemd/systemd"))}
    for extra in procs.values():
        files.update(extra)
    return files


def test_meta() -> None:
    assert CHECK.meta.defaults() == DEFAULT
    assert CHECK.meta.severity == "medium"
    assert "/proc/[0-9]*/numa_maps#head=64" in CHECK.meta.reads
    assert f"{NODE}/node1" in CHECK.meta.reads
    assert "/proc/[0-9]*/status" in CHECK.meta.reads


def test_interleaved_mongod_passes() -> None:
    result = run(host(mongod=proc(812, "mongod", 1, maps("interleave:0-1"))))
    assert result.outcome == "pass"
    assert result.observed == "mongod (pid 812) interleaved across nodes 0-1"
    assert result.expected == "bound to one node or interleaved across nodes 0-1"
    (evidence,) = result.evidence
    assert evidence["policy"] == "interleave:0-1"
    assert evidence["pages_per_node"] == {"0": 2400, "1": 2400}
    assert evidence["source"] == "/proc/812/numa_maps"


def test_postgres_with_default_policy_on_two_nodes_fails() -> None:
    files = host(
        main=proc(900, "postgres", 1, maps("default", PG)),
        checkpointer=proc(901, "postgres", 900, maps("default", PG)),
        backend=proc(902, "postgres", 900, maps("default", PG)),
    )
    result = run(files)
    assert result.outcome == "fail"
    assert result.observed == "postgres (pid 900) runs with policy default"
    assert "across NUMA nodes 0-1" in result.message
    assert "numactl --interleave=all" in result.message
    assert "--cpunodebind=N --membind=N" in result.message
    # Only the postmaster is judged; its backends are mentioned.
    assert [e.get("pid") for e in result.evidence] == [900, None]
    assert "2 child processes not judged" in str(result.evidence[1]["text"])


def test_postgres_bound_to_node_1_passes() -> None:
    files = host(main=proc(900, "postgres", 1, maps("bind:1", PG, "N1=1200")))
    result = run(files)
    assert result.outcome == "pass"
    assert result.observed == "postgres (pid 900) bound to node 1"


def test_bound_by_mems_allowed_list_passes() -> None:
    # numactl --cpunodebind=0 --membind=0 through a cpuset: default policy, one allowed node.
    files = host(main=proc(900, "postgres", 1, maps("default", PG, "N0=1200"), "0"))
    result = run(files)
    assert result.outcome == "pass"
    assert result.observed == "postgres (pid 900) bound to node 0 by Mems_allowed_list"


def test_mems_allowed_alone_passes_when_numa_maps_is_unreadable() -> None:
    files = host(main=proc(900, "postgres", 1, None, "1"))
    result = run(files, errors={"/proc/900/numa_maps": "permission denied"})
    assert result.outcome == "pass"


def test_local_and_prefer_across_nodes_fail() -> None:
    for policy in ("local", "prefer:1", "prefer (many):0-1", "bind:0-1"):
        result = run(host(m=proc(700, "mysqld", 1, maps(policy, "/usr/sbin/mysqld"))))
        assert result.outcome == "fail", policy
        assert result.observed == f"mysqld (pid 700) runs with policy {policy}"


def test_interleave_over_some_nodes_fails_on_a_four_node_host() -> None:
    size = 128 * GIB_KB
    files = numa_host(*(Node(i, size, size // 2) for i in range(4)))
    files.update(proc(812, "mongod", 1, maps("interleave:0-1"), "0-3"))
    result = run(files)
    assert result.outcome == "fail"
    assert "interleave:0-1 across NUMA nodes 0-3" in result.message
    files.update(proc(812, "mongod", 1, maps("interleave:0-3"), "0-3"))
    assert run(files).outcome == "pass"


def test_interleave_over_every_allowed_node_passes() -> None:
    # A cpuset limits the process to nodes 2-3 and it interleaves over both.
    size = 128 * GIB_KB
    files = numa_host(*(Node(i, size, size // 2) for i in range(4)))
    files.update(proc(812, "mongod", 1, maps("interleave:2-3", nodes="N2=600 N3=600"), "2-3"))
    result = run(files)
    assert result.outcome == "pass"
    assert result.observed == "mongod (pid 812) interleaved across nodes 2-3"


def test_weighted_interleave_passes() -> None:
    files = host(r=proc(650, "redis-server", 1, maps("weighted interleave:0-1")))
    result = run(files)
    assert result.outcome == "pass"
    assert "weighted-interleaved" in str(result.observed)


def test_dominant_policy_decides() -> None:
    # The binary's mappings are default, but the bulk of the memory was mbind()-interleaved.
    text = (
        "00400000 default file=/usr/bin/mongod mapped=10 N0=10 kernelpagesize_kB=4\n"
        "00600000 default file=/usr/bin/mongod mapped=10 N0=10 kernelpagesize_kB=4\n"
        "7f0000000000 interleave:0-1 anon=200000 N0=100000 N1=100000 kernelpagesize_kB=4\n"
    )
    result = run(host(m=proc(812, "mongod", 1, text)))
    assert result.outcome == "pass"
    assert "interleave:0-1 on 1 (200000 pages), default on 2 (20 pages)" in str(
        result.evidence[0]["text"]
    )


def test_one_failing_service_among_good_ones_fails() -> None:
    files = host(
        mongo=proc(812, "mongod", 1, maps("interleave:0-1")),
        redis=proc(650, "redis-server", 1, maps("default", "/usr/bin/redis-server")),
    )
    result = run(files)
    assert result.outcome == "fail"
    assert result.observed == "redis-server (pid 650) runs with policy default"
    assert len(result.evidence) == 2


def test_each_redis_instance_is_judged() -> None:
    files = host(
        a=proc(650, "redis-server", 1, maps("bind:0", nodes="N0=1")),
        b=proc(651, "redis-server", 1, maps("bind:1", nodes="N1=1")),
    )
    result = run(files)
    assert result.outcome == "pass"
    assert "pid 650) bound to node 0" in result.message
    assert "pid 651) bound to node 1" in result.message


def test_old_postgres_main_process_is_postmaster() -> None:
    files = host(
        main=proc(900, "postmaster", 1, maps("interleave:0-1", PG)),
        backend=proc(902, "postgres", 900, maps("interleave:0-1", PG)),
    )
    result = run(files)
    assert result.outcome == "pass"
    assert result.observed == "postgres (pid 900) interleaved across nodes 0-1"


def test_none_running_skips() -> None:
    result = run(host())
    assert result.outcome == "skip"
    assert "not running: postgres, mysqld" in result.message


def test_single_node_skips() -> None:
    files = numa_host(Node(0, 32 * GIB_KB, 20 * GIB_KB))
    files.update(proc(900, "postgres", 1, maps("default", PG), "0"))
    result = run(files)
    assert result.outcome == "skip"
    assert "1 NUMA node(s), 1 with memory" in result.message


def test_kernel_without_numa_skips() -> None:
    result = run(proc(900, "postgres", 1, None, None))
    assert result.outcome == "skip"
    assert "kernel without NUMA" in result.message


def test_memoryless_second_node_skips() -> None:
    files = numa_host(Node(0, 32 * GIB_KB, 20 * GIB_KB), Node(1, 0, 0))
    files.update(proc(900, "postgres", 1, maps("default", PG)))
    result = run(files)
    assert result.outcome == "skip"
    assert "2 NUMA node(s), 1 with memory" in result.message


def test_node_lists_alone_are_enough() -> None:
    # Only the node lists and the node1 directory: no meminfo was collected.
    files = {
        f"{NODE}/online": "0-1\n",
        f"{NODE}/has_memory": "0-1\n",
        **proc(812, "mongod", 1, maps("default")),
    }
    result = evaluate(CHECK, facts_from(files, dirs=(f"{NODE}/node1",)), DEFAULT)
    assert result.outcome == "fail"


def test_unreadable_numa_maps_is_an_error_with_the_fix() -> None:
    files = host(main=proc(900, "postgres", 1, None))
    result = run(files, errors={"/proc/900/numa_maps": "permission denied"})
    assert result.outcome == "error"
    assert "/proc/900/numa_maps (permission denied)" in result.message
    assert "--sudo" in result.message


def test_a_failure_outweighs_an_unreadable_process() -> None:
    files = host(
        main=proc(900, "postgres", 1, None),
        mongo=proc(812, "mongod", 1, maps("default")),
    )
    result = run(files, errors={"/proc/900/numa_maps": "permission denied"})
    assert result.outcome == "fail"
    assert "mongod (pid 812)" in result.message


def test_malformed_numa_maps_is_an_error() -> None:
    files = host(main=proc(900, "postgres", 1, "00400000 sometimes N0=1\n"))
    result = run(files)
    assert result.outcome == "error"
    assert "/proc/900/numa_maps" in result.message and "line 1" in result.message
    assert "--sudo" not in result.message


def test_empty_numa_maps_is_an_error() -> None:
    result = run(host(main=proc(900, "postgres", 1, "")))
    assert result.outcome == "error"
    assert "empty" in result.message


def test_processes_param_selects_what_is_judged() -> None:
    files = host(java=proc(300, "java", 1, maps("default", "/usr/bin/java")))
    assert run(files).outcome == "skip"
    result = run(files, {"processes": ["java"]})
    assert result.outcome == "fail"
    assert result.observed == "java (pid 300) runs with policy default"
