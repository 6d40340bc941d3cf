"""Memory controller files across cgroup v1 and v2 and kernel generations, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from memcheck.errors import ParseError
from memcheck.parse.cgroup import (
    parse_bytes,
    parse_limit,
    parse_memory_events,
    parse_memory_stat,
    parse_oom_control,
    working_set_bytes,
)

DATA = Path(__file__).parent / "data" / "cgroup"
SRC = "/sys/fs/cgroup/x/memory.stat"


def sample(name: str) -> str:
    return (DATA / name).read_text()


# file, version, anon, file, inactive_file, kernel (None on v1), kernel parts present
STATS = [
    # 4.19 prints `slab` whole and no percpu/pagetables: kernel = stacks + slab + sock.
    (
        "v2-4.19-debian10-memory.stat",
        "v2",
        44740608,
        109764608,
        61108224,
        294912 + 9486336 + 0,
        {"slab", "kernel_stack", "sock"},
    ),
    ("v2-5.4-ubuntu2004-memory.stat", "v2", 2842624, 2977792, 1216512, 73728 + 1949696, None),
    # 5.10 adds percpu and prints `slab` after its halves.
    (
        "v2-5.10-debian11-memory.stat",
        "v2",
        1031430144,
        402915328,
        298123264,
        2113536 + 5107200 + 1138688 + 28232840,
        {"slab", "kernel_stack", "percpu", "sock"},
    ),
    # 5.15 adds pagetables; still no `kernel` key: the parts are summed.
    (
        "v2-5.15-ubuntu2204-memory.stat",
        "v2",
        193642496,
        39374848,
        19337216,
        573440 + 2179072 + 300800 + 4096 + 2968440,
        {"slab", "kernel_stack", "pagetables", "percpu", "sock"},
    ),
    # 6.8 has `kernel` (5.18+): taken as printed, not summed.
    (
        "v2-6.8-ubuntu2404-memory.stat",
        "v2",
        113246208,
        7487488,
        6201344,
        398102528,
        {"slab", "kernel_stack", "pagetables", "percpu", "sock", "vmalloc"},
    ),
    # v1: the hierarchical total_* keys win over the group's own (zero at a parent group).
    ("v1-3.10-rhel7-memory.stat", "v1", 2203938816, 1541062656, 1018695680, None, set()),
    ("v1-4.15-ubuntu1804-memory.stat", "v1", 494796800, 12386304, 10027008, None, set()),
    ("v1-6.18-hybrid-memory.stat", "v1", 109834240, 834760704, 544215040, None, set()),
]


@pytest.mark.parametrize(("name", "version", "anon", "file", "inactive", "kernel", "parts"), STATS)
def test_real_memory_stat(
    name: str,
    version: str,
    anon: int,
    file: int,
    inactive: int,
    kernel: int | None,
    parts: set[str] | None,
) -> None:
    stat = parse_memory_stat(sample(name), SRC)
    assert stat.version == version
    assert stat.anon_bytes == anon
    assert stat.file_bytes == file
    assert stat.inactive_file_bytes == inactive
    assert stat.kernel_bytes == kernel
    if parts is not None:
        assert set(stat.kernel_parts) == parts


def test_v1_limits_in_memory_stat_compare_numerically() -> None:
    rhel7 = parse_memory_stat(sample("v1-3.10-rhel7-memory.stat"), SRC)
    assert rhel7.hierarchical_limit_bytes == 4 << 30
    hybrid = parse_memory_stat(sample("v1-6.18-hybrid-memory.stat"), SRC)
    assert hybrid.hierarchical_limit_bytes is None  # 9223372036854771712: unlimited


def test_keys_are_found_anywhere_and_slab_comes_from_its_halves() -> None:
    # A kernel that prints the halves but no `slab` total, keys in a new order.
    text = (
        "pgfault 12\ninactive_file 4096\nslab_unreclaimable 2000\nsock 100\n"
        "anon 8192\nslab_reclaimable 3000\nkernel_stack 16384\nfile 12288\n"
    )
    stat = parse_memory_stat(text, SRC)
    assert stat.kernel_parts == {"slab": 5000, "kernel_stack": 16384, "sock": 100}
    assert stat.kernel_bytes == 5000 + 16384 + 100
    assert stat.anon_bytes == 8192 and stat.file_bytes == 12288


def test_v1_without_totals_uses_the_groups_own_counters() -> None:
    stat = parse_memory_stat("cache 4096\nrss 8192\ninactive_file 1024\n", SRC)
    assert (stat.anon_bytes, stat.file_bytes, stat.inactive_file_bytes) == (8192, 4096, 1024)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "anon 123\nfile",  # truncated inside the last line
        "anon 12 kB\n",
        "anon twelve\n",
        "pgfault 1\npgmajfault 2\n",  # no size keys at all: not a memory.stat
        "\x00\x00\x00",
    ],
)
def test_malformed_memory_stat_is_refused(text: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_memory_stat(text, SRC)
    assert info.value.source == SRC


@pytest.mark.parametrize(
    ("usage", "inactive", "expected"),
    [(1000, 300, 700), (1000, None, 1000), (100, 300, 0), (0, 0, 0)],
)
def test_working_set_is_usage_minus_inactive_file_floored(
    usage: int, inactive: int | None, expected: int
) -> None:
    assert working_set_bytes(usage, inactive) == expected


# -- limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("max\n", None),
        ("536870912\n", 536870912),
        ("0\n", 0),
        ("9223372036854771712\n", None),  # v1 no limit, x86_64 4 KiB pages
        ("9223372036854775807\n", None),  # v1 no limit before 3.19 (RHEL 7 res_counter)
        ("9223372036854710272\n", None),  # v1 no limit, arm64/ppc64le 64 KiB pages
        ("9223372036854759424\n", None),  # v1 no limit, 16 KiB pages
        ("8796093018112\n", None),  # v1 no limit on 32-bit kernels
        ("4611686018427387904\n", None),  # 2**62: too large to be meant
        ("4611686018427383808\n", 4611686018427383808),  # just under it: a limit
        ("  1073741824  \n", 1073741824),
    ],
)
def test_limits(text: str, limit: int | None) -> None:
    parsed = parse_limit(text, "/sys/fs/cgroup/x/memory.max")
    assert parsed.limit_bytes == limit
    assert parsed.unlimited is (limit is None)
    assert parsed.raw == text.strip()


@pytest.mark.parametrize("text", ["", "\n", "-1\n", "max max\n", "1G\n", "infinity\n", "1.5e9\n"])
def test_malformed_limits_are_refused(text: str) -> None:
    with pytest.raises(ParseError):
        parse_limit(text, "/sys/fs/cgroup/x/memory.max")


@pytest.mark.parametrize(("text", "value"), [("1236074496\n", 1236074496), ("0\n", 0)])
def test_single_numbers(text: str, value: int) -> None:
    assert parse_bytes(text, "/sys/fs/cgroup/x/memory.current") == value


@pytest.mark.parametrize("text", ["", "max\n", "-4096\n", "12 34\n", "١٢\n"])
def test_malformed_single_numbers_are_refused(text: str) -> None:
    with pytest.raises(ParseError):
        parse_bytes(text, "/sys/fs/cgroup/x/memory.current")


def test_real_v1_usage_includes_kernel_memory() -> None:
    # From a 6.18 host on the v1 hierarchy: kmem is charged into usage_in_bytes as well.
    stat = parse_memory_stat(sample("v1-6.18-hybrid-memory.stat"), SRC)
    usage = parse_bytes(sample("v1-6.18-hybrid-usage_in_bytes"), "usage")
    kmem = parse_bytes(sample("v1-6.18-hybrid-kmem.usage_in_bytes"), "kmem")
    assert stat.anon_bytes is not None and stat.file_bytes is not None
    assert abs(usage - (stat.anon_bytes + stat.file_bytes + kmem)) < 16 << 20


# -- events -----------------------------------------------------------------------------------

EVENTS_419 = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"
EVENTS_68 = "low 0\nhigh 1297\nmax 412\noom 3\noom_kill 3\noom_group_kill 1\n"


def test_memory_events_before_and_after_oom_group_kill() -> None:
    old = parse_memory_events(EVENTS_419, "/x/memory.events")
    assert (old.low, old.high, old.max, old.oom, old.oom_kill) == (0, 0, 0, 0, 0)
    assert old.oom_group_kill is None
    new = parse_memory_events(EVENTS_68, "/x/memory.events")
    assert (new.high, new.max, new.oom, new.oom_kill, new.oom_group_kill) == (1297, 412, 3, 3, 1)


def test_memory_events_keys_anywhere_and_unknown_keys_kept() -> None:
    events = parse_memory_events("oom_kill 2\nsock_throttled 5\nmax 7\n", "/x/memory.events")
    assert events.oom_kill == 2 and events.max == 7 and events.low is None
    assert events.get("sock_throttled") == 5


@pytest.mark.parametrize(
    "text",
    ["", "low 0\nhigh", "low 0\nhigh x\n", "anon 1\n", "oom_kill -1\n", "low 0 0\n"],
)
def test_malformed_memory_events_are_refused(text: str) -> None:
    with pytest.raises(ParseError):
        parse_memory_events(text, "/x/memory.events")


@pytest.mark.parametrize(
    ("text", "disable", "under", "kills"),
    [
        ("oom_kill_disable 0\nunder_oom 0\n", False, False, None),  # 3.10 .. 4.12
        ("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", False, False, 0),
        ("oom_kill_disable 1\nunder_oom 1\noom_kill 7\n", True, True, 7),
    ],
)
def test_oom_control(text: str, disable: bool, under: bool, kills: int | None) -> None:
    parsed = parse_oom_control(text, "/x/memory.oom_control")
    assert (parsed.oom_kill_disable, parsed.under_oom, parsed.oom_kill) == (disable, under, kills)


@pytest.mark.parametrize(
    "text", ["", "oom_kill_disable 0\n", "oom_kill_disable 0\nunder_oom", "oom_kill 3\n"]
)
def test_malformed_oom_control_is_refused(text: str) -> None:
    with pytest.raises(ParseError):
        parse_oom_control(text, "/x/memory.oom_control")
