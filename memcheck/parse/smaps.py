"""Parse `/proc/<pid>/smaps_rollup`: a process's memory summed over all its mappings.

Kernel doc: https://docs.kernel.org/filesystems/proc.html (section 1.1, "smaps_rollup"; the
file exists from 4.14). The first line is a pseudo mapping header ending in `[rollup]`; the
rest are `Key:   N kB` lines as in `smaps`. Private_Dirty is memory only this process has
written, which cannot be dropped or shared: what grows when a process leaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from memcheck.errors import ParseError
from memcheck.parse.values import clip, quote, to_int

_KB = 1024


@dataclass(frozen=True)
class SmapsRollup:
    """Sizes in bytes by the file's key (`Rss`, `Pss`, `Private_Dirty`, `Swap`, ...)."""

    sizes: Mapping[str, int]

    @property
    def rss_bytes(self) -> int | None:
        return self.sizes.get("Rss")

    @property
    def pss_bytes(self) -> int | None:
        return self.sizes.get("Pss")

    @property
    def private_dirty_bytes(self) -> int | None:
        return self.sizes.get("Private_Dirty")

    @property
    def swap_bytes(self) -> int | None:
        return self.sizes.get("Swap")


def parse_smaps_rollup(text: str, source: str = "/proc/<pid>/smaps_rollup") -> SmapsRollup:
    """Parse the `Key: N kB` lines; an empty file (a kernel thread, an exited process) fails."""
    sizes: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        key, sep, value = line.partition(":")
        if not sep or " " in key.strip() or not key.strip():
            continue  # the `[rollup]` header (it holds ':' in its device field) or a torn line
        parts = value.split()
        if len(parts) != 2 or parts[1] != "kB":
            continue  # a flags line such as THPeligible, or a value cut short
        amount = to_int(parts[0], signed=True)
        if amount is None:
            raise ParseError(
                source,
                f"line {number}: {clip(key.strip())}: expected '<n> kB', got {quote(value.strip())}",
            )
        sizes[key.strip()] = amount * _KB
    if not sizes:
        raise ParseError(source, "no 'Key: N kB' lines")
    return SmapsRollup(sizes)
