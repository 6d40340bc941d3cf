"""NumaFacts over small trees: nodes, memoryless nodes, node lists, process policies."""

from __future__ import annotations

from pathlib import Path

import pytest

from memcheck.errors import ParseError, Unavailable
from memcheck.parse.numa import MemPolicy
from tests.checks.numa_hosts import GIB_KB, NODE, Node, maps, numa_host, proc, two_nodes
from tests.snapshots import facts_from

DATA = Path(__file__).parent.parent / "parse" / "data" / "numa"
KB = 1024


def test_real_two_socket_host() -> None:
    files = {
        f"{NODE}/online": "0-1\n",
        f"{NODE}/possible": "0-1\n",
        f"{NODE}/has_memory": "0-1\n",
        f"{NODE}/has_normal_memory": "0-1\n",
    }
    for node in (0, 1):
        for name in ("meminfo", "numastat"):
            sample = DATA / f"xeon-2node-rhel7-3.10-node{node}-{name}.txt"
            files[f"{NODE}/node{node}/{name}"] = sample.read_text()
    facts = facts_from(files)
    nodes = facts.numa_nodes
    assert [n.id for n in nodes] == [0, 1]
    assert all(n.has_memory for n in nodes)
    assert nodes[0].total_bytes == 65842432 * KB
    assert nodes[0].free_percent == pytest.approx(30122344 / 65842432 * 100)
    assert nodes[1].numastat is not None and nodes[1].numastat.numa_miss == 1204451
    assert nodes[0].meminfo.hugepages_total == 16
    assert facts.numa_memory_node_ids == (0, 1)
    assert facts.numa_node_lists.online == (0, 1)


def test_memoryless_node_is_kept_but_marked() -> None:
    size = 8 * GIB_KB
    facts = facts_from(numa_host(Node(0, size, size // 2), Node(1, 0, 0)))
    nodes = facts.numa_nodes
    assert [(n.id, n.has_memory) for n in nodes] == [(0, True), (1, False)]
    assert nodes[1].free_percent is None
    assert facts.numa_memory_node_ids == (0,)
    assert facts.numa_node_lists.has_memory == (0,)


def test_has_memory_that_lists_an_empty_node_is_corrected_by_meminfo() -> None:
    size = 8 * GIB_KB
    facts = facts_from(numa_host(Node(0, size, size // 2), Node(1, 0, 0), has_memory="0-1"))
    assert facts.numa_memory_node_ids == (0,)
    assert [n.has_memory for n in facts.numa_nodes] == [True, False]


def test_sparse_node_ids() -> None:
    # POWER9: nodes are numbered by chip (0 and 8), not counted.
    size = 256 * GIB_KB
    facts = facts_from(numa_host(Node(0, size, size // 2), Node(8, size, size // 2)))
    assert facts.numa_node_ids == (0, 8)
    assert facts.numa_memory_node_ids == (0, 8)
    assert facts.numa_node_lists.online == (0, 8)


def test_no_numa_at_all() -> None:
    facts = facts_from({"/proc/meminfo": "MemTotal: 1 kB\n"})
    assert facts.numa_node_ids == ()
    assert facts.numa_nodes == ()
    assert facts.numa_memory_node_ids == ()
    assert facts.numa_node_lists.online is None


def test_node_dir_only_counts_as_a_node() -> None:
    facts = facts_from({f"{NODE}/has_memory": "0-1\n"}, dirs=(f"{NODE}/node1",))
    assert facts.numa_node_ids == (1,)
    assert facts.numa_memory_node_ids == (0, 1)


def test_unreadable_meminfo_raises() -> None:
    files = two_nodes()
    del files[f"{NODE}/node0/meminfo"]
    facts = facts_from(files, errors={f"{NODE}/node0/meminfo": "permission denied"})
    with pytest.raises(Unavailable):
        _ = facts.numa_nodes


def test_malformed_node_list_raises() -> None:
    facts = facts_from({f"{NODE}/has_memory": "zero\n"})
    with pytest.raises(ParseError):
        _ = facts.numa_node_lists


def test_processes_are_grouped_by_name_and_parent() -> None:
    files = {
        **proc(1, "systemd", 0),
        **proc(900, "postgres", 1),
        **proc(901, "postgres", 900),
        **proc(902, "postgres", 900),
        **proc(950, "postgres", 1),  # a second cluster
        **proc(700, "mysqld", 1),
        **proc(701, "bash", 700),
    }
    facts = facts_from(files)
    groups = facts.numa_processes(["postgres", "mysqld", "mariadbd", "mongod"])
    assert [g.name for g in groups] == ["postgres", "mysqld", "mariadbd", "mongod"]
    pg, my, maria, mongo = groups
    assert [p.pid for p in pg.main] == [900, 950]
    assert [p.pid for p in pg.children] == [901, 902]
    assert [p.pid for p in my.main] == [700] and not my.children
    # MariaDB before 10.5 runs as mysqld: matched once, under the first name that claims it.
    assert not maria.main
    assert not mongo.main


def test_mariadb_running_as_mysqld_is_found_under_mariadbd() -> None:
    facts = facts_from(proc(700, "mysqld", 1))
    (group,) = facts.numa_processes(["mariadbd"])
    assert [p.pid for p in group.main] == [700]


def test_policy_summary() -> None:
    text = (
        "00400000 default file=/usr/bin/mongod mapped=10 N0=10 kernelpagesize_kB=4\n"
        "00600000 default file=/usr/bin/mongod mapped=6 N1=6 kernelpagesize_kB=4\n"
        "7f0000000000 interleave:0-1 anon=200 N0=100 N1=100 kernelpagesize_kB=4\n"
        "7f8a00000000 interleave:0-1 file=/anon_hugepage\\040(deleted) huge N0=2 N1=2 "
        "kernelpagesize_kB=2048\n"
    )
    facts = facts_from(proc(812, "mongod", 1, text, "0-1"))
    (process,) = facts.processes
    policy = facts.numa_policy(process)
    assert policy.dominant == MemPolicy("interleave", (), (0, 1))
    assert policy.first == MemPolicy("default")
    assert [(s.policy.text, s.mappings, s.pages) for s in policy.shares] == [
        ("interleave:0-1", 2, 204),
        ("default", 2, 16),
    ]
    assert policy.pages_per_node == {0: 112, 1: 108}
    assert policy.bytes_per_node == {0: 110 * 4096 + 2 * 2048 * KB, 1: 106 * 4096 + 2 * 2048 * KB}
    assert policy.mems_allowed == (0, 1)
    assert policy.source == "/proc/812/numa_maps"


def test_mapping_count_decides_when_no_page_is_counted() -> None:
    text = (
        "00400000 bind:1 file=/usr/bin/redis-server\n"
        "00600000 bind:1 file=/usr/bin/redis-server\n"
        "7f0000000000 default anon=0\n"
    )
    facts = facts_from(proc(650, "redis-server", 1, text, None))
    policy = facts.numa_policy(facts.processes[0])
    assert policy.dominant == MemPolicy("bind", (), (1,))
    assert policy.mems_allowed is None


def test_first_lines_with_a_torn_end_are_accepted() -> None:
    text = maps("interleave:0-1") + "7ffcd3a85000 interleave:0-1 anon=3 dirty="
    facts = facts_from(proc(812, "mongod", 1, text))
    policy = facts.numa_policy(facts.processes[0])
    assert policy.maps.torn
    assert len(policy.maps.mappings) == 4


def test_unreadable_numa_maps_raises_unavailable() -> None:
    facts = facts_from(
        proc(900, "postgres", 1), errors={"/proc/900/numa_maps": "permission denied"}
    )
    with pytest.raises(Unavailable) as info:
        facts.numa_policy(facts.processes[0])
    assert info.value.denied
    assert facts.numa_mems_allowed(facts.processes[0]) == (0, 1)


def test_malformed_mems_allowed_list_raises() -> None:
    facts = facts_from(proc(900, "postgres", 1, maps("default"), "0-x"))
    with pytest.raises(ParseError) as info:
        facts.numa_policy(facts.processes[0])
    assert info.value.source == "/proc/900/status"
