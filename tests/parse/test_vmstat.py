"""/proc/vmstat parsing: counters of old and new kernels, unknown keys, malformed input."""

from __future__ import annotations

import pytest

from memcheck.errors import ParseError
from memcheck.parse.vmstat import parse_vmstat

# RHEL 7 (3.10): no oom_kill counter yet, allocstall and pgsteal not split.
RHEL7 = """nr_free_pages 25681
nr_inactive_anon 133
nr_active_anon 1843213
pgpgin 123456
pswpin 0
pswpout 0
pgsteal_kswapd_dma 0
pgsteal_kswapd_normal 1201
pgsteal_direct_normal 55
allocstall 42
compact_stall 7
thp_fault_alloc 12
"""

# Ubuntu 22.04 (5.15): oom_kill (4.13+), per-zone allocstall (4.8+), workingset counters.
UBUNTU2204 = """nr_free_pages 1902211
nr_zone_inactive_anon 1021
nr_zone_active_anon 402113
pswpin 10
pswpout 20
pgsteal_kswapd 3001
pgsteal_direct 12
allocstall_dma 0
allocstall_dma32 3
allocstall_normal 40
allocstall_movable 2
compact_stall 17
oom_kill 4
workingset_refault_anon 0
"""


@pytest.mark.parametrize(
    "text, name, value",
    [
        (RHEL7, "allocstall", 42),
        (RHEL7, "compact_stall", 7),
        (RHEL7, "oom_kill", None),
        (UBUNTU2204, "oom_kill", 4),
        (UBUNTU2204, "pswpout", 20),
        (UBUNTU2204, "workingset_refault_anon", 0),
        ("future_counter_of_7_0 123\n", "future_counter_of_7_0", 123),
        ("nr_zone_write_pending -3\n", "nr_zone_write_pending", -3),
        ("a 1\r\nb 2\r\n", "b", 2),
        ("  a   1  \n\n\nb\t2", "b", 2),
    ],
)
def test_counters(text: str, name: str, value: int | None):
    vmstat = parse_vmstat(text)
    assert vmstat.get(name) == value
    assert (name in vmstat) == (value is not None)


@pytest.mark.parametrize(
    "text, prefix, total",
    [
        (RHEL7, "allocstall", 42),
        (UBUNTU2204, "allocstall", 45),
        (UBUNTU2204, "allocstall_", 45),
        (RHEL7, "pgsteal_", 1256),
        (UBUNTU2204, "pgsteal_", 3013),
        (UBUNTU2204, "nosuch", None),
    ],
)
def test_sum_prefix_reads_split_counters_alike(text: str, prefix: str, total: int | None):
    assert parse_vmstat(text).sum_prefix(prefix) == total


def test_every_key_is_kept_in_order():
    vmstat = parse_vmstat(UBUNTU2204)
    assert list(vmstat)[:3] == ["nr_free_pages", "nr_zone_inactive_anon", "nr_zone_active_anon"]
    assert len(vmstat) == 14
    assert vmstat["oom_kill"] == 4
    with pytest.raises(KeyError):
        vmstat["oom_kill_total"]


@pytest.mark.parametrize(
    "text, where",
    [
        ("", "empty"),
        ("\n \n", "empty"),
        ("nr_free_pages\n", "line 1"),
        ("nr_free_pages 1\noom_kill four\n", "line 2: oom_kill"),
        ("a 1 2\n", "line 1"),
        ("a 1.5\n", "line 1: a"),
        ("a 0x10\n", "line 1: a"),
        ("a 1_000\n", "line 1: a"),
        ("a ١٢\n", "line 1: a"),
        ("<html><body>502 Bad Gateway</body></html>\n", "line 1"),
        ("nr_free_pages 1\nnr_inactive_an", "line 2"),
    ],
)
def test_malformed_input_names_the_line(text: str, where: str):
    with pytest.raises(ParseError) as info:
        parse_vmstat(text)
    assert info.value.source == "/proc/vmstat"
    assert where in info.value.problem


def test_source_is_the_file_read():
    with pytest.raises(ParseError) as info:
        parse_vmstat("x", source="/.memcheck/vmstat.after")
    assert info.value.source == "/.memcheck/vmstat.after"
