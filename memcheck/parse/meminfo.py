"""Parser for `/proc/meminfo` (docs.kernel.org filesystems/proc.html, section "meminfo").

Each line is `Key:  N kB` (a size) or `Key:  N` (a count, e.g. `HugePages_Total`). Sizes are
kept in bytes. Which keys exist depends on the kernel version and configuration, so every key
is kept by name and the typed properties return None for keys this kernel does not print.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from memcheck.errors import ParseError
from memcheck.parse.values import clip, quote, to_int

_KB = 1024
_MAX_U64 = 2**64 - 1
SOURCE = "/proc/meminfo"


@dataclass(frozen=True)
class Meminfo:
    """Every field of `/proc/meminfo`: `sizes` in bytes (the `kB` lines), `counts` unitless."""

    sizes: Mapping[str, int]
    counts: Mapping[str, int]

    def get(self, key: str) -> int | None:
        """A size in bytes or a count, by its name in the file; None when absent."""
        if key in self.sizes:
            return self.sizes[key]
        return self.counts.get(key)

    # -- the fields checks use -------------------------------------------------------------
    @property
    def mem_total_bytes(self) -> int:
        return self.sizes["MemTotal"]  # the parser guarantees it

    @property
    def mem_free_bytes(self) -> int | None:
        return self.sizes.get("MemFree")

    @property
    def mem_available_bytes(self) -> int | None:
        """The kernel's own estimate; absent before Linux 3.14 (and RHEL 6 before 6.6)."""
        return self.sizes.get("MemAvailable")

    @property
    def buffers_bytes(self) -> int | None:
        return self.sizes.get("Buffers")

    @property
    def cached_bytes(self) -> int | None:
        return self.sizes.get("Cached")

    @property
    def shmem_bytes(self) -> int | None:
        """tmpfs and shared memory; printed since 2.6.32."""
        return self.sizes.get("Shmem")

    @property
    def swap_total_bytes(self) -> int | None:
        return self.sizes.get("SwapTotal")

    @property
    def swap_free_bytes(self) -> int | None:
        return self.sizes.get("SwapFree")

    @property
    def commit_limit_bytes(self) -> int | None:
        return self.sizes.get("CommitLimit")

    @property
    def committed_as_bytes(self) -> int | None:
        return self.sizes.get("Committed_AS")

    @property
    def anon_huge_pages_bytes(self) -> int | None:
        """Anonymous memory backed by transparent huge pages (absent when THP is compiled out)."""
        return self.sizes.get("AnonHugePages")

    @property
    def hugepages_total(self) -> int | None:
        return self.counts.get("HugePages_Total")

    @property
    def hugepages_free(self) -> int | None:
        return self.counts.get("HugePages_Free")

    @property
    def hugepages_rsvd(self) -> int | None:
        return self.counts.get("HugePages_Rsvd")

    @property
    def hugepages_surp(self) -> int | None:
        return self.counts.get("HugePages_Surp")

    @property
    def hugepagesize_bytes(self) -> int | None:
        return self.sizes.get("Hugepagesize")

    @property
    def high_total_bytes(self) -> int | None:
        """32-bit kernels with CONFIG_HIGHMEM split memory into high and low."""
        return self.sizes.get("HighTotal")

    @property
    def low_total_bytes(self) -> int | None:
        return self.sizes.get("LowTotal")

    @property
    def slab_bytes(self) -> int | None:
        return self.sizes.get("Slab")

    @property
    def sreclaimable_bytes(self) -> int | None:
        return self.sizes.get("SReclaimable")

    @property
    def has_mem_available(self) -> bool:
        return "MemAvailable" in self.sizes

    def estimated_available_bytes(self) -> int:
        """MemFree + Cached + Buffers - Shmem: the usual estimate for kernels before 3.14.

        tmpfs pages count as Cached but cannot be dropped, hence the Shmem subtraction (Shmem
        itself is absent before 2.6.32, where it counts as 0).
        """
        total = (
            (self.mem_free_bytes or 0)
            + (self.cached_bytes or 0)
            + (self.buffers_bytes or 0)
            - (self.shmem_bytes or 0)
        )
        return max(total, 0)

    def available_bytes(self) -> tuple[int, bool]:
        """(available bytes, whether it is an estimate): MemAvailable when the kernel has it."""
        if self.mem_available_bytes is not None:
            return self.mem_available_bytes, False
        return self.estimated_available_bytes(), True


def _is_legacy_table(line: str) -> bool:
    # Linux 2.4 (and 2.6 before 2.6.0-test) start with a byte table:
    #         total:    used:    free:  shared: buffers:  cached:
    #   Mem:  261513216 253149184 8364032 0 13283328 158449664
    #   Swap: 271392768 27820032 243572736
    words = line.split()
    return len(words) > 2 and all(w.endswith(":") for w in words) and words[0] == "total:"


def parse_meminfo(text: str, source: str = SOURCE) -> Meminfo:
    """Parse `/proc/meminfo`; `ParseError` names the first line that is not `Key: N [kB]`."""
    sizes: dict[str, int] = {}
    counts: dict[str, int] = {}
    lines = text.splitlines()
    in_table = False
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if number == 1 and _is_legacy_table(line):
            in_table = True
            continue
        key, sep, rest = line.partition(":")
        key = key.strip()
        parts = rest.split()
        if in_table and key in ("Mem", "Swap") and len(parts) > 2:
            continue
        in_table = False
        if not sep or not key or " " in key:
            raise ParseError(source, f"line {number}: expected 'Key: value', got {quote(line)}")
        if not parts:
            raise ParseError(source, f"line {number}: {clip(key)} has no value")
        value = to_int(parts[0], signed=True)
        if value is None:
            raise ParseError(
                source, f"line {number}: {clip(key)}: expected a number, got {quote(parts[0], 40)}"
            )
        # The kernel prints 64-bit counters: a size past 2**64 bytes is no real value.
        limit = _MAX_U64 if len(parts) == 1 else _MAX_U64 // _KB
        if abs(value) > limit:
            raise ParseError(
                source, f"line {number}: {clip(key)}: {quote(parts[0], 40)} is beyond 64 bits"
            )
        if len(parts) == 1:
            counts[key] = value
        elif len(parts) == 2 and parts[1] == "kB":
            sizes[key] = value * _KB
        else:
            raise ParseError(
                source,
                f"line {number}: {clip(key)}: expected '<n> kB' or '<n>', got {quote(rest.strip())}",
            )
    if "MemTotal" not in sizes:
        if not lines or not text.strip():
            raise ParseError(source, "empty file")
        raise ParseError(source, "no 'MemTotal: <n> kB' line (truncated?)")
    return Meminfo(sizes=sizes, counts=counts)
