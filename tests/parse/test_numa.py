"""NUMA files across hosts and kernel generations, and what the parsers refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from memcheck.errors import ParseError
from memcheck.parse.numa import (
    MemPolicy,
    format_node_list,
    parse_node_list,
    parse_node_meminfo,
    parse_numa_maps,
    parse_numastat,
    parse_policy,
)

DATA = Path(__file__).parent / "data" / "numa"
KB = 1024


def sample(name: str) -> str:
    return (DATA / name).read_text()


# -- node lists -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "nodes"),
    [
        ("0\n", (0,)),  # a laptop: online, possible, has_memory all "0"
        ("0-1\n", (0, 1)),  # two sockets
        ("0-3\n", (0, 1, 2, 3)),  # EPYC NPS4
        ("0-7\n", tuple(range(8))),  # eight nodes
        ("0,8\n", (0, 8)),  # POWER9: node ids follow the chip, not a count
        ("0-3,5\n", (0, 1, 2, 3, 5)),
        ("0,8,252-255\n", (0, 8, 252, 253, 254, 255)),  # POWER9 with GPU memory nodes
        ("\n", ()),  # has_normal_memory when every node's memory is movable
        ("", ()),
        ("  1  \n", (1,)),
    ],
)
def test_node_lists(text: str, nodes: tuple[int, ...]) -> None:
    assert parse_node_list(text, "/sys/devices/system/node/online") == nodes


@pytest.mark.parametrize("text", ["0-", "a", "1-0", "0,,1", "0-1-2", "0 1", "-1", "0-99999999"])
def test_malformed_node_lists(text: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_node_list(text, "/sys/devices/system/node/has_memory")
    assert info.value.source == "/sys/devices/system/node/has_memory"


@pytest.mark.parametrize(
    ("nodes", "text"), [((0,), "0"), ((0, 1, 2, 3), "0-3"), ((0, 1, 3, 5, 6), "0-1,3,5-6")]
)
def test_node_lists_print_like_the_kernel(nodes: tuple[int, ...], text: str) -> None:
    assert format_node_list(nodes) == text
    assert parse_node_list(text) == nodes


# -- per-node meminfo -------------------------------------------------------------------------

# file, node, MemTotal kB, MemFree kB, HugePages_Total, key only that era prints
REAL_MEMINFO = [
    ("xeon-2node-rhel7-3.10-node0-meminfo.txt", 0, 65842432, 30122344, 16, "AnonHugePages"),
    ("xeon-2node-rhel7-3.10-node1-meminfo.txt", 1, 66060288, 29871204, 0, "SUnreclaim"),
    ("epyc-nps4-ubuntu24.04-6.8-node2-meminfo.txt", 2, 132082688, 98233412, 0, "SecPageTables"),
    ("xeon-8node-rhel8-4.18-node7-meminfo.txt", 7, 32894976, 4102332, 2048, "ShmemPmdMapped"),
    ("kvm-memoryless-6.12-node1-meminfo.txt", 1, 0, 0, 0, "Unaccepted"),
    ("laptop-fedora40-6.8-node0-meminfo.txt", 0, 32563264, 20871560, 0, "FilePmdMapped"),
    ("kvm-6.18-node0-meminfo.txt", 0, None, None, 0, "KReclaimable"),
]


@pytest.mark.parametrize(("name", "node", "total", "free", "huge", "era_key"), REAL_MEMINFO)
def test_real_node_meminfo(
    name: str, node: int, total: int | None, free: int | None, huge: int, era_key: str
) -> None:
    text = sample(name)
    info = parse_node_meminfo(text, name, node)
    assert info.node == node
    if total is not None and free is not None:
        assert info.total_bytes == total * KB
        assert info.free_bytes == free * KB
        assert info.used_bytes == (total - free) * KB
    assert info.total_bytes == info.free_bytes + info.used_bytes
    assert info.hugepages_total == huge
    assert info.hugepages_surplus == 0
    assert era_key in info.sizes
    # Every line is kept: sizes in bytes, HugePages_* as counts.
    assert len(info.sizes) + len(info.counts) == len(text.splitlines())
    assert set(info.counts) == {"HugePages_Total", "HugePages_Free", "HugePages_Surp"}


def test_used_is_computed_when_the_kernel_does_not_print_it() -> None:
    info = parse_node_meminfo("Node 3 MemTotal: 1000 kB\nNode 3 MemFree: 400 kB\n", "x", 3)
    assert info.used_bytes == 600 * KB
    assert info.hugepages_total is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("MemTotal: 1000 kB\n", "line 1"),  # /proc/meminfo, not a node's
        ("Node 0 MemTotal: 1000 kB\nNode 0 MemFree: x kB\n", "line 2"),
        ("Node 0 MemTotal: 1000 kB\nNode 0 MemFree: 10 MB\n", "unknown unit"),
        ("Node 0 MemTotal: 1000 kB\nNode 1 MemFree: 10 kB\n", "node 1 in a file of node 0"),
        ("Node 0 MemTotal: 1000 kB\n", "MemFree"),  # truncated after the first line
        ("Node 0 MemTotal: 1000 kB\nNode 0 MemF", "line 2"),  # torn mid-line
        ("Node 0 MemTotal: 1000\nNode 0 MemFree: 10 kB\n", "MemTotal"),  # no unit
    ],
)
def test_malformed_node_meminfo(text: str, problem: str) -> None:
    path = "/sys/devices/system/node/node0/meminfo"
    with pytest.raises(ParseError) as info:
        parse_node_meminfo(text, path)
    assert info.value.source == path
    assert problem in info.value.problem


def test_node_meminfo_must_match_its_directory() -> None:
    text = sample("xeon-2node-rhel7-3.10-node1-meminfo.txt")
    with pytest.raises(ParseError, match="directory is node0"):
        parse_node_meminfo(text, "/sys/devices/system/node/node0/meminfo", 0)


def test_bad_line_is_named() -> None:
    text = "Node 0 MemTotal: 1000 kB\nNode 0 MemFree: 10 kB\ngarbage here\n"
    with pytest.raises(ParseError) as info:
        parse_node_meminfo(text, "p")
    assert "line 3" in info.value.problem and "garbage here" in info.value.problem


# -- numastat ---------------------------------------------------------------------------------

# file, numa_hit, numa_miss, other_node
REAL_NUMASTAT = [
    ("xeon-2node-rhel7-3.10-node0-numastat.txt", 81237712345, 0, 1311065),
    ("xeon-2node-rhel7-3.10-node1-numastat.txt", 70211983412, 1204451, 3085630),
    ("epyc-nps4-ubuntu24.04-6.8-node2-numastat.txt", 5528711602, 0, 2587725),
    ("kvm-memoryless-6.12-node1-numastat.txt", 0, 0, 0),
]


@pytest.mark.parametrize(("name", "hit", "miss", "other"), REAL_NUMASTAT)
def test_real_numastat(name: str, hit: int, miss: int, other: int) -> None:
    stat = parse_numastat(sample(name), name)
    assert (stat.numa_hit, stat.numa_miss, stat.other_node) == (hit, miss, other)
    assert stat.numa_foreign is not None and stat.interleave_hit is not None
    assert stat.local_node is not None
    assert len(stat.counters) == 6


def test_this_kernels_numastat() -> None:
    stat = parse_numastat(sample("kvm-6.18-node0-numastat.txt"))
    assert stat.numa_hit > 0 and stat.miss_percent == 0.0


@pytest.mark.parametrize(
    ("hit", "miss", "percent"), [(75, 25, 25.0), (100, 0, 0.0), (0, 0, None), (0, 5, 100.0)]
)
def test_miss_percent(hit: int, miss: int, percent: float | None) -> None:
    stat = parse_numastat(f"numa_hit {hit}\nnuma_miss {miss}\n")
    assert stat.miss_percent == percent


def test_unknown_counters_are_kept() -> None:
    stat = parse_numastat("numa_hit 1\nnuma_miss 2\nnuma_future 3\n")
    assert stat.counters["numa_future"] == 3
    assert stat.numa_foreign is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("numa_hit 12\n", "numa_miss"),  # truncated
        ("numa_hit 12\nnuma_miss\n", "line 2"),  # torn
        ("numa_hit 12\nnuma_miss -1\n", "line 2"),
        ("numa_hit: 12\nnuma_miss: 1\n", "line 1"),
        ("Node 0 MemTotal: 1 kB\n", "line 1"),  # meminfo in the wrong file
    ],
)
def test_malformed_numastat(text: str, problem: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_numastat(text, "/sys/devices/system/node/node0/numastat")
    assert problem in info.value.problem


# -- numa_maps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("default", MemPolicy("default")),
        ("local", MemPolicy("local")),
        ("interleave:0-1", MemPolicy("interleave", (), (0, 1))),
        ("interleave:0-7", MemPolicy("interleave", (), tuple(range(8)))),
        ("bind:0", MemPolicy("bind", (), (0,))),
        ("bind:0-1", MemPolicy("bind", (), (0, 1))),
        ("prefer:1", MemPolicy("prefer", (), (1,))),
        ("prefer (many):0-1", MemPolicy("prefer (many)", (), (0, 1))),
        ("preferred-many:0-1", MemPolicy("prefer (many)", (), (0, 1))),
        ("weighted interleave:0-3", MemPolicy("weighted interleave", (), (0, 1, 2, 3))),
        ("interleave=static:0,2", MemPolicy("interleave", ("static",), (0, 2))),
        ("bind=relative:0", MemPolicy("bind", ("relative",), (0,))),
        ("bind=static|balancing:0-1", MemPolicy("bind", ("static", "balancing"), (0, 1))),
    ],
)
def test_policies(text: str, policy: MemPolicy) -> None:
    parsed = parse_policy(text)
    assert parsed == policy
    if not text.startswith("preferred"):
        assert parsed.text == text  # printed back the way the kernel prints it


@pytest.mark.parametrize(
    "text", ["", "interleaved:0-1", "bind:", "bind:x", "bind=sticky:0", "mpol"]
)
def test_bad_policies(text: str) -> None:
    with pytest.raises(ParseError):
        parse_policy(text, "numa_maps")


# One line per policy as mpol_to_str() prints it, with what each line carries.
LINES = [
    (
        "00400000 default file=/usr/sbin/mysqld mapped=2904 mapmax=2 N0=1500 N1=1404 "
        "kernelpagesize_kB=4",
        "default",
        {0: 1500, 1: 1404},
        4096,
        "/usr/sbin/mysqld",
        (),
    ),
    (
        "55a0a3200000 interleave:0-1 file=/usr/bin/mongod mapped=12022 N0=6011 N1=6011 "
        "kernelpagesize_kB=4",
        "interleave:0-1",
        {0: 6011, 1: 6011},
        4096,
        "/usr/bin/mongod",
        (),
    ),
    (
        "7f2b5c000000 bind:1 anon=262144 dirty=262144 N1=262144 kernelpagesize_kB=4",
        "bind:1",
        {1: 262144},
        4096,
        None,
        (),
    ),
    (
        "5612c24ce000 prefer:1 heap anon=88214 dirty=88214 N0=12 N1=88202 kernelpagesize_kB=4",
        "prefer:1",
        {0: 12, 1: 88202},
        4096,
        None,
        ("heap",),
    ),
    (
        "7f62d1c00000 prefer (many):0-1 anon=514 dirty=514 N0=514 kernelpagesize_kB=4",
        "prefer (many):0-1",
        {0: 514},
        4096,
        None,
        (),
    ),
    (
        "7f62d1c00000 weighted interleave:0-3 anon=400 dirty=400 N0=100 N1=100 N2=100 N3=100 "
        "kernelpagesize_kB=4",
        "weighted interleave:0-3",
        {0: 100, 1: 100, 2: 100, 3: 100},
        4096,
        None,
        (),
    ),
    (
        "7ffd8c6a3000 local stack anon=9 dirty=9 N0=9 kernelpagesize_kB=4",
        "local",
        {0: 9},
        4096,
        None,
        ("stack",),
    ),
    (
        "7f8a00000000 default file=/anon_hugepage\\040(deleted) huge anon=512 dirty=512 N0=256 "
        "N1=256 kernelpagesize_kB=2048",
        "default",
        {0: 256, 1: 256},
        2048 * KB,
        "/anon_hugepage\\040(deleted)",
        ("huge",),
    ),
    # 3.x kernels name thread stacks by thread id (removed in 4.5).
    (
        "7f6d0c000000 default stack:2215 anon=3 dirty=3 N0=3 kernelpagesize_kB=4",
        "default",
        {0: 3},
        4096,
        None,
        ("stack:2215",),
    ),
    # A mapping with no page in memory yet, from a kernel without kernelpagesize_kB (2.6.2x).
    (
        "7f6d0c000000 default file=/lib64/libm-2.12.so",
        "default",
        {},
        None,
        "/lib64/libm-2.12.so",
        (),
    ),
]


@pytest.mark.parametrize(("line", "policy", "pages", "page_size", "file", "tags"), LINES)
def test_numa_maps_lines(
    line: str,
    policy: str,
    pages: dict[int, int],
    page_size: int | None,
    file: str | None,
    tags: tuple[str, ...],
) -> None:
    maps = parse_numa_maps(line + "\n")
    (mapping,) = maps.mappings
    assert mapping.policy.text == policy
    assert dict(mapping.pages_per_node) == pages
    assert mapping.pages == sum(pages.values())
    assert mapping.page_size_bytes == page_size
    assert mapping.file == file
    assert mapping.tags == tags
    assert mapping.address == int(line.split()[0], 16)
    assert not maps.torn


@pytest.mark.parametrize(
    ("name", "count", "policies", "nodes"),
    [
        ("postgres-16-default-numa_maps.txt", 11, {"default"}, {0, 1}),
        ("mongod-7.0-interleave-numa_maps.txt", 8, {"interleave:0-1"}, {0, 1}),
        ("redis-7-bind1-numa_maps.txt", 5, {"bind:1"}, {1}),
    ],
)
def test_real_numa_maps(name: str, count: int, policies: set[str], nodes: set[int]) -> None:
    maps = parse_numa_maps(sample(name), name)
    assert len(maps.mappings) == count
    assert {m.policy.text for m in maps.mappings} == policies
    assert {n for m in maps.mappings for n in m.pages_per_node} == nodes
    assert [m.line for m in maps.mappings] == list(range(1, count + 1))


def test_counts_are_kept() -> None:
    maps = parse_numa_maps(sample("postgres-16-default-numa_maps.txt"))
    shared = maps.mappings[7]
    assert shared.file == "/dev/zero\\040(deleted)"
    assert shared.counts["dirty"] == 2101312 and shared.counts["mapmax"] == 41
    assert shared.pages == 1052334 + 1048978


def test_empty_numa_maps_is_a_process_without_memory() -> None:
    # Kernel threads (and processes being reaped) have an empty numa_maps.
    assert parse_numa_maps("").mappings == ()


def test_first_lines_only_are_fine() -> None:
    # The collector reads the first lines (`head -n 64`): every line is whole.
    text = "".join(sample("postgres-16-default-numa_maps.txt").splitlines(True)[:3])
    maps = parse_numa_maps(text)
    assert len(maps.mappings) == 3 and not maps.torn


def test_a_torn_last_line_is_dropped() -> None:
    text = sample("mongod-7.0-interleave-numa_maps.txt") + "7ffcd3a85000 interleave:0-1 anon=3 dir"
    text = text.replace("anon=3 dir", "anon=")  # cut right after '='
    maps = parse_numa_maps(text)
    assert len(maps.mappings) == 8
    assert maps.torn


def test_a_torn_last_line_inside_the_policy_is_dropped() -> None:
    maps = parse_numa_maps("00400000 default N0=1 kernelpagesize_kB=4\n00401000 interl")
    assert len(maps.mappings) == 1 and maps.torn


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("zzzz default N0=1\n", 1),
        ("00400000\n", 1),
        ("00400000 sometimes N0=1\n", 1),
        ("00400000 default N0=x\n", 1),
        ("00400000 default N0=1\n00401000 default mapped=-3 N0=1\n", 2),
        ("00400000 interleave: N0=1\n", 1),
        # A bad line that is not the last one is never taken for a torn one.
        ("00400000 default N0=1\n00401000 interl\n00402000 default N0=1\n", 2),
        # A bad last line with its newline is malformed, not torn.
        ("00400000 default N0=1\n00401000 interl\n", 2),
    ],
)
def test_malformed_numa_maps(text: str, line: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_numa_maps(text, "/proc/42/numa_maps")
    assert f"line {line}" in str(info.value)
    assert "/proc/42/numa_maps" in str(info.value)


def test_mems_allowed_list_uses_the_node_list_syntax() -> None:
    assert parse_node_list("0-1", "/proc/1/status") == (0, 1)
    with pytest.raises(ParseError):
        parse_node_list("00000000,00000003", "/proc/1/status")  # Mems_allowed, the mask form
