"""Parsers for the NUMA files: per-node meminfo and numastat, node lists, and numa_maps.

- `/sys/devices/system/node/node<N>/meminfo`: `Node N Key:  value kB` lines (drivers/base/node.c,
  Documentation/ABI/stable/sysfs-devices-node).
- `/sys/devices/system/node/node<N>/numastat`: `counter value` lines, in pages
  (https://docs.kernel.org/admin-guide/numastat.html).
- `/sys/devices/system/node/{online,possible,has_memory,has_normal_memory}` and the
  `Mems_allowed_list` of `/proc/<pid>/status`: node range lists such as `0-3,5`.
- `/proc/<pid>/numa_maps`: one line per mapping, `<address> <policy> <items...>`
  (https://man7.org/linux/man-pages/man7/numa.7.html; the policy syntax is the kernel's
  mpol_to_str(), https://docs.kernel.org/admin-guide/mm/numa_memory_policy.html).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from memcheck.errors import ParseError
from memcheck.parse.values import clip, quote, to_hex, to_int

_KB = 1024

# -- node lists -------------------------------------------------------------------------------

# The kernel prints lists with %*pbl: no leading zeros (which tells them from the hex mask of
# `Mems_allowed:`, `00000000,00000003`).
_RANGE = re.compile(r"(0|[1-9][0-9]{0,8})(?:-(0|[1-9][0-9]{0,8}))?", re.ASCII)
# MAX_NUMNODES is 1 << CONFIG_NODES_SHIFT, and NODES_SHIFT is at most 10 on every architecture;
# a larger node number is not a kernel's, and expanding it would cost memory.
MAX_NODES = 65536


def parse_node_list(text: str, source: str = "node list") -> tuple[int, ...]:
    """`0-3,5` -> (0, 1, 2, 3, 5). An empty list (e.g. `has_normal_memory` on some hosts) is ()."""
    body = text.strip()
    if not body:
        return ()
    spans: list[tuple[int, int]] = []
    for part in body.split(","):
        match = _RANGE.fullmatch(part.strip())
        if match is None:
            raise ParseError(source, f"expected a node list such as '0-3,5', got {quote(body, 60)}")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ParseError(source, f"range {quote(part.strip())} runs backwards")
        if last >= MAX_NODES:
            raise ParseError(source, f"range {quote(part.strip())} is larger than any node count")
        spans.append((first, last))
    # Overlapping ranges are merged before they are expanded, so that a list repeating
    # `0-65535` costs its length, not its length times the range.
    nodes: list[int] = []
    end = -1
    for first, last in sorted(spans):
        if last > end:
            nodes.extend(range(max(first, end + 1), last + 1))
            end = last
    return tuple(nodes)


def format_node_list(nodes: tuple[int, ...] | list[int]) -> str:
    """(0, 1, 2, 3, 5) -> `0-3,5`: the kernel's own way of printing a node list."""
    parts: list[str] = []
    ordered = sorted(set(nodes))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


# -- per-node meminfo -------------------------------------------------------------------------

_NODE_LINE = re.compile(r"Node\s+([0-9]+)\s+([^:\s]+):\s*([0-9]+)(?:\s+(\S+))?\s*", re.ASCII)


@dataclass(frozen=True)
class NodeMeminfo:
    """One node's meminfo: `sizes` in bytes (the `kB` lines), `counts` unitless (HugePages_*)."""

    node: int
    sizes: Mapping[str, int]
    counts: Mapping[str, int]

    @property
    def total_bytes(self) -> int:
        return self.sizes["MemTotal"]  # the parser guarantees it

    @property
    def free_bytes(self) -> int:
        return self.sizes["MemFree"]  # the parser guarantees it

    @property
    def used_bytes(self) -> int:
        """`MemUsed` as the kernel prints it (MemTotal - MemFree), computed when absent."""
        return self.sizes.get("MemUsed", self.total_bytes - self.free_bytes)

    @property
    def hugepages_total(self) -> int | None:
        return self.counts.get("HugePages_Total")

    @property
    def hugepages_free(self) -> int | None:
        return self.counts.get("HugePages_Free")

    @property
    def hugepages_surplus(self) -> int | None:
        return self.counts.get("HugePages_Surp")


def parse_node_meminfo(
    text: str, source: str = "/sys/devices/system/node/node<N>/meminfo", node: int | None = None
) -> NodeMeminfo:
    """Parse a node's meminfo. `node`, when given, is the id the directory name says."""
    sizes: dict[str, int] = {}
    counts: dict[str, int] = {}
    seen_node: int | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _NODE_LINE.fullmatch(line)
        line_node = to_int(match.group(1)) if match else None
        amount = to_int(match.group(3)) if match else None
        if match is None or line_node is None or amount is None:
            raise ParseError(
                source, f"line {number}: expected 'Node N Key: value kB', got {quote(line)}"
            )
        key, unit = match.group(2), match.group(4)
        if seen_node is None:
            seen_node = line_node
        elif line_node != seen_node:
            raise ParseError(
                source, f"line {number}: node {line_node} in a file of node {seen_node}"
            )
        if unit is None:
            counts.setdefault(key, amount)
        elif unit.lower() == "kb":
            sizes.setdefault(key, amount * _KB)
        else:
            raise ParseError(
                source, f"line {number}: unknown unit {quote(unit, 20)} in {quote(line)}"
            )
    if seen_node is None:
        raise ParseError(source, "empty: expected 'Node N MemTotal: ... kB' lines")
    if node is not None and seen_node != node:
        raise ParseError(source, f"the lines are for node {seen_node}, the directory is node{node}")
    for key in ("MemTotal", "MemFree"):
        if key not in sizes:
            raise ParseError(source, f"no 'Node {seen_node} {key}: ... kB' line (truncated?)")
    return NodeMeminfo(seen_node, sizes, counts)


# -- numastat ---------------------------------------------------------------------------------

_COUNTER = re.compile(r"[a-z_]+")


@dataclass(frozen=True)
class Numastat:
    """One node's allocation counters, in pages, cumulative since boot."""

    counters: Mapping[str, int]

    @property
    def numa_hit(self) -> int:
        return self.counters["numa_hit"]  # the parser guarantees it

    @property
    def numa_miss(self) -> int:
        return self.counters["numa_miss"]  # the parser guarantees it

    @property
    def numa_foreign(self) -> int | None:
        return self.counters.get("numa_foreign")

    @property
    def interleave_hit(self) -> int | None:
        return self.counters.get("interleave_hit")

    @property
    def local_node(self) -> int | None:
        return self.counters.get("local_node")

    @property
    def other_node(self) -> int | None:
        return self.counters.get("other_node")

    @property
    def miss_percent(self) -> float | None:
        """numa_miss / (numa_hit + numa_miss) in percent; None before any allocation."""
        total = self.numa_hit + self.numa_miss
        return self.numa_miss / total * 100 if total else None


def parse_numastat(
    text: str, source: str = "/sys/devices/system/node/node<N>/numastat"
) -> Numastat:
    """Parse a node's numastat (the same six counters from 2.6 to 6.x; unknown ones are kept)."""
    counters: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        value = to_int(parts[1]) if len(parts) == 2 else None
        if value is None or not _COUNTER.fullmatch(parts[0]):
            raise ParseError(source, f"line {number}: expected 'counter value', got {quote(line)}")
        counters.setdefault(parts[0], value)
    if not counters:
        raise ParseError(source, "empty: expected numa_hit, numa_miss, ... lines")
    for key in ("numa_hit", "numa_miss"):
        if key not in counters:
            raise ParseError(source, f"no {key} line (truncated?)")
    return Numastat(counters)


# -- numa_maps --------------------------------------------------------------------------------

# mm/mempolicy.c policy_modes[]: what mpol_to_str() prints. "local" since 2.6.26 (MPOL_F_LOCAL
# on MPOL_PREFERRED before 5.x, MPOL_LOCAL after), "prefer (many)" since 5.15, "weighted
# interleave" since 6.9. "unknown" is what the kernel prints for a mode it cannot name.
POLICY_MODES = (
    "default",
    "prefer",
    "bind",
    "interleave",
    "local",
    "prefer (many)",
    "weighted interleave",
    "unknown",
)
# numactl's and libnuma's spellings, accepted from hand-written trees and normalised.
_MODE_ALIASES = {"preferred": "prefer", "preferred-many": "prefer (many)"}
# Flags after '=': MPOL_F_STATIC_NODES, MPOL_F_RELATIVE_NODES, and (5.12+) MPOL_F_NUMA_BALANCING,
# joined with '|' (`bind=static|balancing:0-1`).
POLICY_FLAGS = ("static", "relative", "balancing")
_PAGES_ON_NODE = re.compile(r"N([0-9]+)", re.ASCII)


@dataclass(frozen=True)
class MemPolicy:
    """A memory policy as numa_maps prints it: mode, flags and nodes (`interleave:0-3`)."""

    mode: str
    flags: tuple[str, ...] = ()
    nodes: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        flags = "=" + "|".join(self.flags) if self.flags else ""
        nodes = ":" + format_node_list(self.nodes) if self.nodes else ""
        return self.mode + flags + nodes

    def __str__(self) -> str:
        return self.text


def parse_policy(text: str, source: str = "numa_maps policy") -> MemPolicy:
    """`interleave=static:0-3` -> MemPolicy('interleave', ('static',), (0, 1, 2, 3))."""
    head, colon, nodelist = text.partition(":")
    mode, equals, flags = head.partition("=")
    mode = _MODE_ALIASES.get(mode, mode)
    if mode not in POLICY_MODES:
        raise ParseError(source, f"unknown memory policy {quote(text)}")
    flag_list = tuple(flags.split("|")) if equals else ()
    if any(f not in POLICY_FLAGS for f in flag_list):
        raise ParseError(source, f"unknown policy flags in {quote(text)}")
    nodes = parse_node_list(nodelist, source) if colon else ()
    if colon and not nodes:
        raise ParseError(source, f"empty node list in {quote(text)}")
    return MemPolicy(mode, flag_list, nodes)


@dataclass(frozen=True)
class NumaMapping:
    """One line of numa_maps: a mapping, its policy and where its pages are."""

    line: int
    address: int
    policy: MemPolicy
    pages_per_node: Mapping[int, int]
    page_size_bytes: int | None  # kernelpagesize_kB (2.6.29+); None when not printed
    file: str | None  # file=..., with the kernel's octal escapes (\040 for a space) kept
    tags: tuple[str, ...]  # bare words: heap, stack, huge, stack:<tid> (3.x thread stacks)
    counts: Mapping[str, int]  # anon=, dirty=, mapped=, mapmax=, swapcache=, active=, ...

    @property
    def pages(self) -> int:
        return sum(self.pages_per_node.values())


@dataclass(frozen=True)
class NumaMaps:
    """The mappings of one process, in address order. `torn` when a cut-off last line was dropped.

    The collector reads only the first lines of each process's numa_maps, so this may be the
    start of the file only; kernel threads have an empty one.
    """

    mappings: tuple[NumaMapping, ...]
    torn: bool = False


def _split_policy(rest: str) -> tuple[str, str]:
    """The policy word(s) and what follows; two policies print with a space in the mode."""
    for mode in ("weighted interleave", "prefer (many)"):
        if rest.startswith(mode):
            tail = rest[len(mode) :]
            word, _, after = tail.partition(" ")
            return mode + word, after
    word, _, after = rest.partition(" ")
    return word, after


def _parse_mapping(line: str, number: int, source: str) -> NumaMapping:
    where = f"{source}: line {number}"
    address_text, _, rest = line.strip().partition(" ")
    address = to_hex(address_text) if not address_text.startswith(("0x", "0X")) else None
    if address is None:
        raise ParseError(
            source, f"line {number}: expected '<hex address> <policy> ...', got {quote(line)}"
        )
    policy_text, items = _split_policy(rest.lstrip())
    if not policy_text:
        raise ParseError(source, f"line {number}: no memory policy in {quote(line)}")
    policy = parse_policy(policy_text, where)
    pages: dict[int, int] = {}
    counts: dict[str, int] = {}
    tags: list[str] = []
    file: str | None = None
    page_kb: int | None = None
    for item in items.split():
        key, equals, value_text = item.partition("=")
        if not equals:
            tags.append(item)
            continue
        if key == "file":
            file = value_text
            continue
        value = to_int(value_text)
        if value is None:
            raise ParseError(
                source, f"line {number}: expected {clip(key)}=<number>, got {quote(item)}"
            )
        node = _PAGES_ON_NODE.fullmatch(key)
        node_id = to_int(node.group(1)) if node is not None else None
        if node is not None and node_id is None:
            raise ParseError(source, f"line {number}: bad node number in {quote(item)}")
        if node_id is not None:
            pages[node_id] = value
        elif key == "kernelpagesize_kB":
            page_kb = value
        else:
            counts[key] = value
    return NumaMapping(
        line=number,
        address=address,
        policy=policy,
        pages_per_node=pages,
        page_size_bytes=page_kb * _KB if page_kb is not None else None,
        file=file,
        tags=tuple(tags),
        counts=counts,
    )


def parse_numa_maps(text: str, source: str = "/proc/<pid>/numa_maps") -> NumaMaps:
    """Parse numa_maps, or its first lines. A last line cut off mid-way (no final newline and
    not parseable) is dropped and noted; a bad line anywhere else is a ParseError."""
    lines = text.splitlines()
    mappings: list[NumaMapping] = []
    torn = False
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            mappings.append(_parse_mapping(line, number, source))
        except ParseError:
            if number == len(lines) and not text.endswith("\n"):
                torn = True
                break
            raise
    return NumaMaps(tuple(mappings), torn)
