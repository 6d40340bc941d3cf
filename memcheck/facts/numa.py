"""NUMA facts: the nodes and their memory, allocation counters, and processes' memory policies.

A node with no memory (a CPU-only node: `MemTotal: 0 kB`, or missing from `has_memory`) is
kept in `numa_nodes` with `has_memory` False so that checks can leave it out of balance
judgments and say so. Kernels built without NUMA have no `/sys/devices/system/node`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from memcheck.errors import MISSING, Unavailable
from memcheck.facts.base import cached
from memcheck.facts.processes import Process, ProcessFacts
from memcheck.facts.services import service_alias
from memcheck.parse.numa import (
    MemPolicy,
    NodeMeminfo,
    NumaMaps,
    Numastat,
    parse_node_list,
    parse_node_meminfo,
    parse_numa_maps,
    parse_numastat,
)

NODE_DIR = "/sys/devices/system/node"
NODE_LISTS = ("online", "possible", "has_memory", "has_normal_memory")
NODE_MEMINFO = NODE_DIR + "/node[0-9]*/meminfo"
NODE_NUMASTAT = NODE_DIR + "/node[0-9]*/numastat"
# The collector reads only this many lines of each process's numa_maps: the first mappings
# carry the policy the process runs under (mongod's own start-up check reads only the first).
NUMA_MAPS_LINES = 64
NUMA_MAPS_READ = f"/proc/[0-9]*/numa_maps#head={NUMA_MAPS_LINES}"
NUMA_NODE_READS = (
    *(f"{NODE_DIR}/{name}" for name in NODE_LISTS),
    NODE_MEMINFO,
    NODE_NUMASTAT,
    NODE_DIR + "/node1",
)
NUMA_POLICY_READS = (
    *(f"{NODE_DIR}/{name}" for name in NODE_LISTS),
    NODE_MEMINFO,
    NODE_DIR + "/node1",
    "/proc/[0-9]*/comm",
    "/proc/[0-9]*/status",
    NUMA_MAPS_READ,
)
# ASCII digits of a node number (at most 1024 nodes): `node٣` or a 5,000-digit name is no node.
_NODE_NAME = re.compile(r"node([0-9]{1,6})")


@dataclass(frozen=True)
class NodeLists:
    """The node masks under /sys/devices/system/node; None where the file is absent."""

    online: tuple[int, ...] | None
    possible: tuple[int, ...] | None
    has_memory: tuple[int, ...] | None
    has_normal_memory: tuple[int, ...] | None


@dataclass(frozen=True)
class NumaNode:
    """One NUMA node: its memory, its allocation counters, and whether it has memory at all."""

    id: int
    meminfo: NodeMeminfo
    numastat: Numastat | None  # None when the node has no numastat file
    has_memory: bool

    @property
    def meminfo_path(self) -> str:
        return f"{NODE_DIR}/node{self.id}/meminfo"

    @property
    def numastat_path(self) -> str:
        return f"{NODE_DIR}/node{self.id}/numastat"

    @property
    def total_bytes(self) -> int:
        return self.meminfo.total_bytes

    @property
    def free_bytes(self) -> int:
        return self.meminfo.free_bytes

    @property
    def used_bytes(self) -> int:
        return self.meminfo.used_bytes

    @property
    def free_percent(self) -> float | None:
        """MemFree as a share of this node's MemTotal; None for a node without memory."""
        total = self.total_bytes
        return self.free_bytes / total * 100 if total > 0 else None


@dataclass(frozen=True)
class PolicyShare:
    """How much of a process's numa_maps (as read) runs under one policy."""

    policy: MemPolicy
    mappings: int
    pages: int


@dataclass(frozen=True)
class ProcessNumaPolicy:
    """A process's memory placement: its policies from numa_maps and its Mems_allowed_list."""

    pid: int
    comm: str
    source: str
    maps: NumaMaps
    shares: tuple[PolicyShare, ...]  # most pages first, then most mappings
    pages_per_node: Mapping[int, int]
    bytes_per_node: Mapping[int, int]  # pages times each mapping's kernelpagesize_kB
    mems_allowed: tuple[int, ...] | None  # None when status has no Mems_allowed_list

    @property
    def dominant(self) -> MemPolicy | None:
        """The policy over most pages (most mappings when no page is counted); None if empty."""
        return self.shares[0].policy if self.shares else None

    @property
    def first(self) -> MemPolicy | None:
        """The first mapping's policy: what mongod's own NUMA start-up warning looks at."""
        return self.maps.mappings[0].policy if self.maps.mappings else None


@dataclass(frozen=True)
class NamedProcesses:
    """The running processes of one name: the main ones, and their children of the same name."""

    name: str
    main: tuple[Process, ...]
    children: tuple[Process, ...]


class NumaFacts(ProcessFacts):
    """`facts.numa_nodes`, `facts.numa_node_lists`, `facts.numa_memory_node_ids`,
    `facts.numa_processes(names)`, `facts.numa_policy(process)`."""

    def _pattern_error(self, pattern: str) -> None:
        reason = self.snapshot.errors.get(pattern)
        if reason is not None and reason != MISSING:
            raise Unavailable(pattern, reason)

    @property
    @cached
    def numa_node_ids(self) -> tuple[int, ...]:
        """The node directories the snapshot holds (node0, node1, ...)."""
        ids = set()
        for path in self.glob(NODE_DIR + "/node[0-9]*"):
            match = _NODE_NAME.fullmatch(path.rsplit("/", 1)[-1])
            if match:
                ids.add(int(match.group(1)))
        return tuple(sorted(ids))

    @property
    @cached
    def numa_node_lists(self) -> NodeLists:
        values: dict[str, tuple[int, ...] | None] = {}
        for name in NODE_LISTS:
            path = f"{NODE_DIR}/{name}"
            text = self.optional_text(path)
            values[name] = parse_node_list(text, path) if text is not None else None
        return NodeLists(**values)

    @property
    @cached
    def numa_nodes(self) -> tuple[NumaNode, ...]:
        """Every node with its meminfo (required) and numastat (None when absent)."""
        self._pattern_error(NODE_MEMINFO)
        self._pattern_error(NODE_NUMASTAT)
        listed = self.numa_node_lists.has_memory
        nodes = []
        for node in self.numa_node_ids:
            base = f"{NODE_DIR}/node{node}"
            info = parse_node_meminfo(self.text(base + "/meminfo"), base + "/meminfo", node)
            text = self.optional_text(base + "/numastat")
            stat = parse_numastat(text, base + "/numastat") if text is not None else None
            memory = info.total_bytes > 0 and (listed is None or node in listed)
            nodes.append(NumaNode(node, info, stat, memory))
        return tuple(nodes)

    @property
    @cached
    def numa_memory_node_ids(self) -> tuple[int, ...]:
        """Nodes with memory: `has_memory`, less nodes whose meminfo says 0 kB when it was read.

        Without `has_memory` (a partial tree), the nodes whose meminfo shows memory.
        """
        listed = self.numa_node_lists.has_memory
        if listed is None:
            return tuple(n.id for n in self.numa_nodes if n.has_memory)
        empty = set()
        for node in listed:
            path = f"{NODE_DIR}/node{node}/meminfo"
            text = self.optional_text(path)
            if text is not None and parse_node_meminfo(text, path, node).total_bytes == 0:
                empty.add(node)
        return tuple(n for n in listed if n not in empty)

    def numa_processes(self, names: list[str]) -> list[NamedProcesses]:
        """Per name, its main processes (whose parent is not of the same name) and children.

        A name matches its known process names too (PostgreSQL's main process is `postmaster`
        on old releases). A process matched by an earlier name is not counted again.
        """
        taken: set[int] = set()
        found = []
        for name in names:
            comms = {name, *service_alias(name).comms}
            group = [
                p
                for p in self.processes
                if p.name in comms and p.pid not in taken and not p.is_kernel_thread
            ]
            pids = {p.pid for p in group}
            taken |= pids
            main = tuple(p for p in group if p.ppid not in pids)
            children = tuple(p for p in group if p.ppid in pids)
            found.append(NamedProcesses(name, main, children))
        return found

    def numa_policy(self, process: Process) -> ProcessNumaPolicy:
        """The process's policies from numa_maps (as far as read) and its Mems_allowed_list.

        Raises `Unavailable` when numa_maps could not be read (another user's process read
        without root) and `ParseError` when it or Mems_allowed_list is malformed.
        """
        source = f"/proc/{process.pid}/numa_maps"
        maps = parse_numa_maps(self.text(source), source)
        mappings: Counter[MemPolicy] = Counter()
        pages: Counter[MemPolicy] = Counter()
        per_node: Counter[int] = Counter()
        per_node_bytes: Counter[int] = Counter()
        for mapping in maps.mappings:
            mappings[mapping.policy] += 1
            pages[mapping.policy] += mapping.pages
            for node, count in mapping.pages_per_node.items():
                per_node[node] += count
                if mapping.page_size_bytes is not None:
                    per_node_bytes[node] += count * mapping.page_size_bytes
        order = sorted(mappings, key=lambda p: (-pages[p], -mappings[p], p.text))
        shares = tuple(PolicyShare(p, mappings[p], pages[p]) for p in order)
        return ProcessNumaPolicy(
            pid=process.pid,
            comm=process.name,
            source=source,
            maps=maps,
            shares=shares,
            pages_per_node=dict(sorted(per_node.items())),
            bytes_per_node=dict(sorted(per_node_bytes.items())),
            mems_allowed=self.numa_mems_allowed(process),
        )

    def numa_mems_allowed(self, process: Process) -> tuple[int, ...] | None:
        """The nodes the process may allocate from (its cpuset), from `Mems_allowed_list` in its
        status; None when status or the line is absent (kernels without cpusets)."""
        text = process.status.mems_allowed_list if process.status else None
        if text is None:
            return None
        return parse_node_list(text, f"/proc/{process.pid}/status")
