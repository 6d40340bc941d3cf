"""`/proc/meminfo` across kernel generations, and what the parser refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from memcheck.errors import ParseError
from memcheck.parse.meminfo import Meminfo, parse_meminfo

DATA = Path(__file__).parent / "data" / "meminfo"
KB = 1024


def sample(name: str) -> str:
    return (DATA / name).read_text()


# file, MemTotal kB, MemAvailable kB (None = absent), Shmem kB, HugePages_Total, key only that era has
REAL = [
    ("rhel6.5-2.6.32.txt", 8057964, None, 17104, 0, "HardwareCorrupted"),
    ("rhel7-3.10.txt", 16266508, 11876528, 74316, 0, "CmaTotal"),
    ("ubuntu18.04-4.15.txt", 4039404, 2959572, 48488, 0, "ShmemPmdMapped"),
    ("debian11-5.10-hugetlb.txt", 65842392, 12873052, 87192, 16384, "KReclaimable"),
    ("ubuntu24.04-6.8.txt", 32563264, 20871560, 443084, 0, "Zswapped"),
    ("debian7-3.2-i686-pae.txt", 3095416, None, 31120, 0, "HighFree"),
    ("linux2.4-table.txt", 255384, None, None, None, "Inact_dirty"),
]


@pytest.mark.parametrize(("name", "total", "available", "shmem", "hugepages", "era_key"), REAL)
def test_real_files(
    name: str,
    total: int,
    available: int | None,
    shmem: int | None,
    hugepages: int | None,
    era_key: str,
) -> None:
    info = parse_meminfo(sample(name))
    assert info.mem_total_bytes == total * KB
    assert info.mem_available_bytes == (available * KB if available is not None else None)
    assert info.has_mem_available is (available is not None)
    assert info.shmem_bytes == (shmem * KB if shmem is not None else None)
    assert info.hugepages_total == hugepages
    assert info.get(era_key) is not None


def test_every_line_is_kept_by_name() -> None:
    text = sample("ubuntu24.04-6.8.txt")
    info = parse_meminfo(text)
    assert len(info.sizes) + len(info.counts) == len(text.splitlines())
    assert info.sizes["Active(anon)"] == 8543164 * KB
    assert info.sizes["VmallocTotal"] == 34359738367 * KB
    assert info.commit_limit_bytes == 24670236 * KB
    assert info.committed_as_bytes == 27561760 * KB
    assert info.anon_huge_pages_bytes == 1470464 * KB
    assert info.swap_total_bytes == 8388604 * KB
    assert info.swap_free_bytes == 8290300 * KB
    assert info.slab_bytes == 1374164 * KB
    assert info.sreclaimable_bytes == 939504 * KB


def test_hugepage_counts_are_not_sizes() -> None:
    info = parse_meminfo(sample("debian11-5.10-hugetlb.txt"))
    assert info.counts == {
        "HugePages_Total": 16384,
        "HugePages_Free": 1024,
        "HugePages_Rsvd": 512,
        "HugePages_Surp": 0,
    }
    assert (info.hugepages_free, info.hugepages_rsvd, info.hugepages_surp) == (1024, 512, 0)
    assert info.hugepagesize_bytes == 2048 * KB
    assert info.get("Hugetlb") == 33554432 * KB
    assert "HugePages_Total" not in info.sizes


def test_32bit_high_and_low_memory() -> None:
    info = parse_meminfo(sample("debian7-3.2-i686-pae.txt"))
    assert info.high_total_bytes == 2227720 * KB
    assert info.low_total_bytes == 867696 * KB
    assert info.high_total_bytes + info.low_total_bytes == info.mem_total_bytes


def test_linux_2_4_byte_table_is_skipped() -> None:
    info = parse_meminfo(sample("linux2.4-table.txt"))
    assert "Mem" not in info.sizes and "Mem" not in info.counts
    assert "Swap" not in info.counts
    assert info.mem_free_bytes == 8168 * KB
    assert info.get("MemShared") == 0


def test_64bit_hosts_have_no_highmem() -> None:
    info = parse_meminfo(sample("rhel7-3.10.txt"))
    assert info.high_total_bytes is None and info.low_total_bytes is None


@pytest.mark.parametrize(
    ("name", "expected_kb"),
    [
        # MemFree + Cached + Buffers - Shmem
        ("rhel6.5-2.6.32.txt", 358960 + 5963644 + 221048 - 17104),
        ("debian7-3.2-i686-pae.txt", 235640 + 1804360 + 156548 - 31120),
        ("linux2.4-table.txt", 8168 + 140132 + 12972),  # no Shmem before 2.6.32
    ],
)
def test_estimate_before_3_14(name: str, expected_kb: int) -> None:
    info = parse_meminfo(sample(name))
    assert info.estimated_available_bytes() == expected_kb * KB
    assert info.available_bytes() == (expected_kb * KB, True)


def test_memavailable_is_preferred_over_the_estimate() -> None:
    info = parse_meminfo(sample("rhel7-3.10.txt"))
    assert info.available_bytes() == (11876528 * KB, False)


def test_estimate_never_negative() -> None:
    info = parse_meminfo("MemTotal: 100 kB\nMemFree: 1 kB\nCached: 2 kB\nShmem: 50 kB\n")
    assert info.estimated_available_bytes() == 0


def test_absent_is_none_not_zero() -> None:
    info = parse_meminfo("MemTotal:  1024 kB\n")
    assert info.mem_free_bytes is None
    assert info.shmem_bytes is None
    assert info.hugepages_total is None
    assert info.get("Nope") is None
    assert isinstance(info, Meminfo)


def test_tabs_and_crlf_are_tolerated() -> None:
    info = parse_meminfo("MemTotal:\t2048 kB\r\nMemFree:\t1024 kB\r\n")
    assert info.mem_total_bytes == 2048 * KB
    assert info.mem_free_bytes == 1024 * KB


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   \n\n", "empty"),
        ("MemTotal 8057964 kB\n", "line 1"),
        ("MemTotal:        8057964 kB\nMemFree:   lots kB\n", "line 2: MemFree: expected a number"),
        ("MemTotal:        8057964 MB\n", "line 1: MemTotal: expected '<n> kB'"),
        ("MemTotal:        8057964 kB extra\n", "line 1"),
        ("MemTotal:\n", "line 1: MemTotal has no value"),
        (": 12 kB\nMemTotal: 1 kB\n", "line 1"),
        ("Mem Total: 12 kB\n", "line 1"),
        ("\x00\x01\x02\n", "line 1"),
        ("MemFree:  358960 kB\nBuffers:  221048 kB\n", "no 'MemTotal"),
        # a read cut short in the middle of a line
        ("MemTotal:        8057964 kB\nMemFree:          358960 kB\nBuffe", "line 3: expected"),
        ("MemTotal:        8057964 kB\nMemFree:          358960 k", "line 2"),
    ],
)
def test_malformed_input_names_the_line(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_meminfo(text, "/proc/meminfo")
    assert caught.value.source == "/proc/meminfo"
    assert fragment in caught.value.problem


def test_truncated_after_memtotal_still_parses_the_complete_lines() -> None:
    text = "".join(sample("rhel7-3.10.txt").splitlines(keepends=True)[:3])
    info = parse_meminfo(text)
    assert info.mem_available_bytes == 11876528 * KB
    assert info.cached_bytes is None


@pytest.mark.parametrize(
    "line",
    [
        "MemAvailable: 18446744073709551617 kB",  # more bytes than 64 bits hold
        "MemAvailable: 18014398509481984 kB",  # 2**54 kB = 2**64 bytes
        "HugePages_Total: 18446744073709551616",
        "Committed_AS: -18446744073709551617 kB",
    ],
)
def test_values_beyond_64_bits_are_parse_errors(line: str) -> None:
    with pytest.raises(ParseError, match="beyond 64 bits"):
        parse_meminfo(f"MemTotal: 1024 kB\n{line}\n")


def test_the_largest_64_bit_size_is_kept() -> None:
    info = parse_meminfo(f"MemTotal: {(2**64 - 1) // 1024} kB\n")
    assert info.mem_total_bytes == (2**64 - 1) // 1024 * 1024
