"""/proc/swaps: partitions, files, zram, escaped names; malformed, truncated and empty."""

from __future__ import annotations

import pytest

from memcheck.errors import ParseError
from memcheck.parse.swaps import parse_swaps, unescape

HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
# RHEL 7/8/9 with LVM: the swap LV shows as its dm node.
RHEL_LVM = HEADER + "/dev/dm-1                               partition\t8388604\t\t1024\t\t-2\n"
# Ubuntu 22.04 default install: a swap file.
UBUNTU_FILE = HEADER + "/swap.img                               file\t\t2097148\t\t0\t\t-2\n"
# Fedora 33+: zram-generator's compressed swap with a high priority, plus a disk partition.
FEDORA_ZRAM = (
    HEADER
    + "/dev/zram0                              partition\t8388604\t\t524288\t\t100\n"
    + "/dev/nvme0n1p3                          partition\t16777212\t0\t\t-2\n"
)
# A swap file whose name holds a space, deleted while in use (the kernel escapes the space).
ESCAPED = HEADER + "/var/swap\\040file\\040(deleted)         file\t\t1048572\t\t0\t\t-3\n"
# Swap configured nowhere (containers, cloud images, Kubernetes nodes): the header alone.
NO_SWAP = HEADER
# RHEL 6 (2.6.32) prints the same header with spaces in some builds.
RHEL6 = "Filename                                Type            Size    Used    Priority\n/dev/sda2 partition 4194296 0 -1\n"


@pytest.mark.parametrize(
    ("text", "names", "total_kb", "used_kb"),
    [
        (RHEL_LVM, ["/dev/dm-1"], 8388604, 1024),
        (UBUNTU_FILE, ["/swap.img"], 2097148, 0),
        (FEDORA_ZRAM, ["/dev/zram0", "/dev/nvme0n1p3"], 8388604 + 16777212, 524288),
        (ESCAPED, ["/var/swap file (deleted)"], 1048572, 0),
        (NO_SWAP, [], 0, 0),
        (RHEL6, ["/dev/sda2"], 4194296, 0),
        (HEADER.replace("\n", "\r\n") + "/swapfile file 10 1 -2\r\n", ["/swapfile"], 10, 1),
    ],
)
def test_variants(text: str, names: list[str], total_kb: int, used_kb: int) -> None:
    swaps = parse_swaps(text)
    assert [a.filename for a in swaps.areas] == names
    assert swaps.total_bytes == total_kb * 1024
    assert swaps.used_bytes == used_kb * 1024


def test_fields() -> None:
    zram, disk = parse_swaps(FEDORA_ZRAM).areas
    assert (zram.type, zram.priority, zram.is_zram) == ("partition", 100, True)
    assert (disk.priority, disk.is_zram, disk.size_bytes) == (-2, False, 16777212 * 1024)
    assert parse_swaps(UBUNTU_FILE).areas[0].type == "file"


@pytest.mark.parametrize(
    ("raw", "name"),
    [("/a\\040b", "/a b"), ("/a\\011b", "/a\tb"), ("/a\\134b", "/a\\b"), ("/plain", "/plain")],
)
def test_unescape(raw: str, name: str) -> None:
    assert unescape(raw) == name


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("/dev/sda2 partition 100 0 -2\n", "header"),
        (HEADER + "/dev/sda2 partition 4194296\n", "line 2"),  # cut short
        (HEADER + "/dev/sda2 partition lots 0 -2\n", "size"),
        (HEADER + "/dev/sda2 partition 100 0 high\n", "priority"),
        (HEADER + "/dev/sda2 partition 100 -5 -2\n", "negative"),
        (HEADER + "/dev/a b partition 100 0 -2\n", "expected 'name"),  # unescaped space
    ],
)
def test_malformed(text: str, problem: str) -> None:
    with pytest.raises(ParseError, match=problem):
        parse_swaps(text)
