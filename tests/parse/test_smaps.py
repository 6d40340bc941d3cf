"""/proc/<pid>/smaps_rollup: the rollup header, kB lines, flag lines; malformed and empty."""

from __future__ import annotations

import pytest

from memcheck.errors import ParseError
from memcheck.parse.smaps import parse_smaps_rollup

# Linux 5.15 (Ubuntu 22.04) for a PostgreSQL backend.
ROLLUP_515 = """55d0e3a00000-7ffc8b5f8000 ---p 00000000 00:00 0                          [rollup]
Rss:              152344 kB
Pss:               40211 kB
Pss_Anon:          20100 kB
Pss_File:           1000 kB
Pss_Shmem:         19111 kB
Shared_Clean:       4000 kB
Shared_Dirty:     108000 kB
Private_Clean:       344 kB
Private_Dirty:     40000 kB
Referenced:       150000 kB
Anonymous:         40000 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:               2048 kB
SwapPss:            2048 kB
Locked:                0 kB
"""
# Linux 4.14 (the first with smaps_rollup): fewer keys, no Pss_* split.
ROLLUP_414 = """00400000-7ffd12345000 ---p 00000000 00:00 0                          [rollup]
Rss:               10240 kB
Pss:                9000 kB
Private_Dirty:      8000 kB
Swap:                  0 kB
"""


@pytest.mark.parametrize(
    ("text", "rss_kb", "dirty_kb", "swap_kb"),
    [
        (ROLLUP_515, 152344, 40000, 2048),
        (ROLLUP_414, 10240, 8000, 0),
        # Output cut short after Private_Dirty: what arrived whole stands.
        (ROLLUP_414.split("Swap:")[0] + "Swa", 10240, 8000, None),
        # A kernel adding a flag line (not a size) to the rollup.
        (ROLLUP_414 + "THPeligible:    0\n", 10240, 8000, 0),
    ],
)
def test_variants(text: str, rss_kb: int, dirty_kb: int, swap_kb: int | None) -> None:
    rollup = parse_smaps_rollup(text)
    assert rollup.rss_bytes == rss_kb * 1024
    assert rollup.private_dirty_bytes == dirty_kb * 1024
    assert rollup.swap_bytes == (None if swap_kb is None else swap_kb * 1024)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no 'Key: N kB'"),
        ("55d0e3a00000-7ffc8b5f8000 ---p 00000000 00:00 0 [rollup]\n", "no 'Key: N kB'"),
        ("Rss: lots kB\n", "expected '<n> kB'"),
    ],
)
def test_malformed(text: str, problem: str) -> None:
    with pytest.raises(ParseError, match=problem):
        parse_smaps_rollup(text, "/proc/42/smaps_rollup")
