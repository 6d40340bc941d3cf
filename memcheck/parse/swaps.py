"""Parse `/proc/swaps`: the swap areas in use (man7.org proc_swaps(5), swapon(8)).

    Filename                                Type            Size            Used            Priority
    /dev/dm-1                               partition       8388604         0               -2
    /swap\\040file                           file            2097148         1024            -3
    /dev/zram0                              partition       4053500         0               100

The first line is a header; Size and Used are in KiB. The kernel escapes space, tab, newline
and backslash in the file name as octal (`\\040`), so names are unescaped here. A swap file
deleted while in use shows as `name\\040(deleted)`. zram devices (compressed RAM, used by
Fedora 33+ and many ChromeOS/Android-derived images by default) are listed as partitions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memcheck.errors import ParseError
from memcheck.parse.values import quote, to_int

SOURCE = "/proc/swaps"
_KB = 1024
_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class SwapArea:
    filename: str
    type: str
    size_bytes: int
    used_bytes: int
    priority: int

    @property
    def is_zram(self) -> bool:
        """Compressed swap in RAM rather than on a disk."""
        return self.filename.startswith("/dev/zram")


@dataclass(frozen=True)
class Swaps:
    areas: tuple[SwapArea, ...]

    @property
    def total_bytes(self) -> int:
        return sum(a.size_bytes for a in self.areas)

    @property
    def used_bytes(self) -> int:
        return sum(a.used_bytes for a in self.areas)


def unescape(name: str) -> str:
    """`/swap\\040file` -> `/swap file` (the kernel's seq_escape of ` \\t\\n\\\\`)."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), name)


def _integer(raw: str, what: str, source: str, number: int) -> int:
    value = to_int(raw, signed=True)
    if value is None:
        raise ParseError(
            source, f"line {number}: {what}: expected an integer, got {quote(raw, 40)}"
        )
    return value


def parse_swaps(text: str, source: str = SOURCE) -> Swaps:
    """Parse `/proc/swaps`; a missing header or a short or non-numeric line is a `ParseError`."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        raise ParseError(source, "empty; expected the 'Filename Type Size Used Priority' header")
    if lines[0].split()[:1] != ["Filename"]:
        raise ParseError(
            source,
            f"line 1: expected the 'Filename Type Size Used Priority' header, got "
            f"{quote(lines[0])}",
        )
    areas = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split()
        if len(fields) != 5:
            raise ParseError(
                source,
                f"line {number}: expected 'name type size used priority', got {quote(line)}",
            )
        name, kind, size, used, priority = fields
        size_kb = _integer(size, "size", source, number)
        used_kb = _integer(used, "used", source, number)
        if size_kb < 0 or used_kb < 0:
            raise ParseError(source, f"line {number}: negative size in {quote(line)}")
        areas.append(
            SwapArea(
                filename=unescape(name),
                type=kind,
                size_bytes=size_kb * _KB,
                used_bytes=used_kb * _KB,
                priority=_integer(priority, "priority", source, number),
            )
        )
    return Swaps(tuple(areas))
