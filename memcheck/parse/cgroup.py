"""Parsers for the memory controller's files in a cgroup directory, v2 and v1.

cgroup v2 (docs.kernel.org admin-guide/cgroup-v2.html, "Memory Interface Files"):
`memory.max` and `memory.high` (a number of bytes or the literal `max`), `memory.current`,
`memory.stat` (flat keyed, bytes), `memory.events` and `memory.events.local` (event counts).
cgroup v1 (docs.kernel.org admin-guide/cgroup-v1/memory.html): `memory.limit_in_bytes`,
`memory.usage_in_bytes`, `memory.kmem.usage_in_bytes`, `memory.failcnt` (single numbers),
`memory.stat` (flat keyed, with hierarchical `total_*` twins) and `memory.oom_control`.

Flat keyed files are parsed by key wherever the key appears: the kernel adds keys in the
middle of `memory.stat` from one release to the next (`percpu` 5.9, `kernel` 5.18, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from memcheck.errors import ParseError
from memcheck.parse.values import quote, to_int

UNLIMITED_FLOOR = 2**62
"""A limit at or above this many bytes is no limit.

v1 prints "no limit" as the page counter's maximum in bytes: PAGE_COUNTER_MAX (LONG_MAX /
PAGE_SIZE pages) times PAGE_SIZE, 9223372036854771712 on x86_64 with 4 KiB pages,
9223372036854710272 on arm64 and ppc64le with 64 KiB pages; kernels before 3.19 (RHEL 7's
3.10 res_counter) print LLONG_MAX, 9223372036854775807. Nobody sets 4 EiB, so anything this
large is treated as unlimited, and the comparison is numeric, never against one string.
"""

UNLIMITED_32BIT = (2**31 - 1) * 4096
"""On 32-bit kernels PAGE_COUNTER_MAX is LONG_MAX pages, so v1 prints 8796093018112 (8 TiB)."""


@dataclass(frozen=True)
class Limit:
    """A memory limit as read (`raw`) and in bytes; `limit_bytes` None means no limit."""

    raw: str
    limit_bytes: int | None

    @property
    def unlimited(self) -> bool:
        return self.limit_bytes is None


def parse_limit(text: str, source: str) -> Limit:
    """`memory.max`, `memory.high`, `memory.limit_in_bytes`: bytes, or `max` for none."""
    raw = text.strip()
    if raw == "max":
        return Limit(raw, None)
    value = _number(raw, source)
    if value >= UNLIMITED_FLOOR or value == UNLIMITED_32BIT:
        return Limit(raw, None)
    return Limit(raw, value)


def parse_bytes(text: str, source: str) -> int:
    """A file holding one non-negative number: `memory.current`, `memory.usage_in_bytes`,
    `memory.kmem.usage_in_bytes`, `memory.failcnt`."""
    return _number(text.strip(), source)


def _number(raw: str, source: str) -> int:
    if not raw:
        raise ParseError(source, "empty, expected a number")
    value = to_int(raw)
    if value is None:
        raise ParseError(source, f"expected a non-negative number, got {quote(raw, 40)}")
    return value


def _flat_keyed(text: str, source: str) -> dict[str, int]:
    """`key value` lines into a mapping; the first of duplicated keys wins."""
    values: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ParseError(source, f"line {number}: expected 'key value', got {quote(line)}")
        key, raw = parts
        value = to_int(raw, signed=True)
        if value is None:
            raise ParseError(
                source, f"line {number}: value of {quote(key)} is not a number: {quote(raw, 40)}"
            )
        values.setdefault(key, value)
    if not values:
        raise ParseError(source, "empty, expected 'key value' lines")
    return values


# -- memory.stat ------------------------------------------------------------------------------

# v2 keys whose sum is the cgroup's kernel memory on kernels without the `kernel` key
# (before 5.18). Older kernels print only some of them (`percpu` arrived in 5.9, `vmalloc`
# later still), and before 5.9 `slab` is printed only as its two halves.
KERNEL_PARTS = ("slab", "kernel_stack", "pagetables", "percpu", "sock", "vmalloc")
KERNEL_PART_NAMES = {
    "slab": "slab",
    "kernel_stack": "stacks",
    "pagetables": "page tables",
    "percpu": "per-cpu",
    "sock": "sockets",
    "vmalloc": "vmalloc",
}


@dataclass(frozen=True)
class MemoryStat:
    """`memory.stat` of one cgroup, every key kept; the properties hide v1/v2 differences."""

    values: Mapping[str, int]

    def get(self, key: str) -> int | None:
        return self.values.get(key)

    @property
    def version(self) -> str:
        """`v2` (has `anon`/`file`) or `v1` (has `rss`/`cache`)."""
        return "v2" if "anon" in self.values or "file" in self.values else "v1"

    def _v1(self, key: str) -> int | None:
        # v1 prints each counter for the group alone and as `total_<key>` for the group with
        # its descendants; usage_in_bytes is hierarchical, so the totals go with it.
        found = self.values.get("total_" + key)
        return found if found is not None else self.values.get(key)

    @property
    def anon_bytes(self) -> int | None:
        """Anonymous memory: v2 `anon`; v1 `total_rss` (includes swap cache and THP)."""
        return self.values.get("anon") if self.version == "v2" else self._v1("rss")

    @property
    def file_bytes(self) -> int | None:
        """Page cache including tmpfs and shared memory: v2 `file`; v1 `total_cache`."""
        return self.values.get("file") if self.version == "v2" else self._v1("cache")

    @property
    def inactive_file_bytes(self) -> int | None:
        """v2 `inactive_file`; v1 `total_inactive_file`: what the kubelet subtracts."""
        if self.version == "v2":
            return self.values.get("inactive_file")
        return self._v1("inactive_file")

    @property
    def kernel_parts(self) -> dict[str, int]:
        """v2 kernel memory by kind (`slab`, `kernel_stack`, ...) for the keys this kernel
        prints; `slab` from its reclaimable and unreclaimable halves when not printed."""
        parts: dict[str, int] = {}
        if self.version != "v2":
            return parts
        for key in KERNEL_PARTS:
            value = self.values.get(key)
            if value is None and key == "slab":
                halves = [self.values.get(k) for k in ("slab_reclaimable", "slab_unreclaimable")]
                if any(h is not None for h in halves):
                    value = sum(h or 0 for h in halves)
            if value is not None:
                parts[key] = value
        return parts

    @property
    def kernel_bytes(self) -> int | None:
        """v2 kernel memory: the `kernel` key (5.18+), else the sum of `kernel_parts`.
        None on v1, whose kernel memory is in `memory.kmem.usage_in_bytes`."""
        if self.version != "v2":
            return None
        kernel = self.values.get("kernel")
        if kernel is not None:
            return kernel
        parts = self.kernel_parts
        return sum(parts.values()) if parts else None

    @property
    def hierarchical_limit_bytes(self) -> int | None:
        """v1 `hierarchical_memory_limit`: the lowest limit on the way to the root; None when
        absent or unlimited."""
        value = self.values.get("hierarchical_memory_limit")
        if value is None or value >= UNLIMITED_FLOOR or value == UNLIMITED_32BIT:
            return None
        return value


def parse_memory_stat(text: str, source: str) -> MemoryStat:
    """`memory.stat` (v1 or v2). Raises `ParseError` on a line that is not `key number`."""
    values = _flat_keyed(text, source)
    if not any(k in values for k in ("anon", "file", "rss", "cache")):
        raise ParseError(source, "no anon/file (v2) or rss/cache (v1) key: not a memory.stat")
    return MemoryStat(values)


def working_set_bytes(usage_bytes: int, inactive_file_bytes: int | None) -> int:
    """Usage minus inactive file pages, floored at 0: the kubelet's working set."""
    return max(0, usage_bytes - (inactive_file_bytes or 0))


# -- events -----------------------------------------------------------------------------------

EVENT_KEYS = ("low", "high", "max", "oom", "oom_kill", "oom_group_kill")


@dataclass(frozen=True)
class MemoryEvents:
    """`memory.events` or `memory.events.local` (v2). `oom_group_kill` appears in 5.17; a
    key the kernel does not print is None."""

    counts: Mapping[str, int]

    def get(self, key: str) -> int | None:
        return self.counts.get(key)

    @property
    def low(self) -> int | None:
        return self.counts.get("low")

    @property
    def high(self) -> int | None:
        return self.counts.get("high")

    @property
    def max(self) -> int | None:
        return self.counts.get("max")

    @property
    def oom(self) -> int | None:
        return self.counts.get("oom")

    @property
    def oom_kill(self) -> int | None:
        return self.counts.get("oom_kill")

    @property
    def oom_group_kill(self) -> int | None:
        return self.counts.get("oom_group_kill")


def parse_memory_events(text: str, source: str) -> MemoryEvents:
    """`memory.events[.local]`: `low high max oom oom_kill [oom_group_kill]` with counts."""
    counts = _flat_keyed(text, source)
    if not any(k in counts for k in EVENT_KEYS):
        raise ParseError(source, "none of low, high, max, oom, oom_kill: not a memory.events")
    for key, value in counts.items():
        if value < 0:
            raise ParseError(source, f"{key} is negative ({value})")
    return MemoryEvents(counts)


@dataclass(frozen=True)
class OomControl:
    """v1 `memory.oom_control`. `oom_kill` (kills in this group) exists from 4.13."""

    oom_kill_disable: bool
    under_oom: bool
    oom_kill: int | None


def parse_oom_control(text: str, source: str) -> OomControl:
    """`oom_kill_disable 0|1`, `under_oom 0|1`, then `oom_kill N` on 4.13 and later."""
    values = _flat_keyed(text, source)
    missing = [k for k in ("oom_kill_disable", "under_oom") if k not in values]
    if missing:
        raise ParseError(source, f"missing {', '.join(missing)}")
    return OomControl(
        oom_kill_disable=values["oom_kill_disable"] != 0,
        under_oom=values["under_oom"] != 0,
        oom_kill=values.get("oom_kill"),
    )


# -- systemd's view -----------------------------------------------------------------------------

SYSTEMD_INFINITY = ("infinity", "18446744073709551615")
"""How systemd shows "no limit" for MemoryMax=/MemoryHigh=/MemoryLimit=: `infinity`, or on very
old releases (which know only MemoryLimit=) the largest 64-bit number."""


def systemd_limit_is_infinite(value: str) -> bool:
    """Whether a unit's MemoryMax=/MemoryHigh=/MemoryLimit= value means no limit."""
    return value.strip().lower() in SYSTEMD_INFINITY
