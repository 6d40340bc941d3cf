"""Small NUMA host trees (node meminfo, numastat, node lists, processes) for the NUMA tests."""

from __future__ import annotations

from dataclasses import dataclass

from memcheck.parse.numa import format_node_list

NODE = "/sys/devices/system/node"
GIB_KB = 1024 * 1024

# The keys a 6.x kernel prints per node, in its order (drivers/base/node.c).
_KEYS = (
    "MemUsed SwapCached Active Inactive Active(anon) Inactive(anon) Active(file) Inactive(file) "
    "Unevictable Mlocked Dirty Writeback FilePages Mapped AnonPages Shmem KernelStack PageTables "
    "SecPageTables NFS_Unstable Bounce WritebackTmp KReclaimable Slab SReclaimable SUnreclaim "
    "AnonHugePages ShmemHugePages ShmemPmdMapped FileHugePages FilePmdMapped"
).split()


@dataclass(frozen=True)
class Node:
    id: int
    total_kb: int
    free_kb: int
    hit: int = 1_000_000
    miss: int = 0


def node_meminfo(node: Node) -> str:
    lines = [
        f"Node {node.id} MemTotal:       {node.total_kb:8d} kB",
        f"Node {node.id} MemFree:        {node.free_kb:8d} kB",
    ]
    for key in _KEYS:
        value = node.total_kb - node.free_kb if key == "MemUsed" else 0
        lines.append(f"Node {node.id} {key + ':':<15} {value:8d} kB")
    for key in ("HugePages_Total", "HugePages_Free", "HugePages_Surp"):
        lines.append(f"Node {node.id} {key}:     0")
    return "\n".join(lines) + "\n"


def numastat(node: Node) -> str:
    return (
        f"numa_hit {node.hit}\nnuma_miss {node.miss}\nnuma_foreign 0\ninterleave_hit 2310\n"
        f"local_node {node.hit}\nother_node {node.miss}\n"
    )


def numa_host(
    *nodes: Node, has_memory: str | None = None, numastat_files: bool = True
) -> dict[str, str]:
    """The node files of a host; `has_memory` defaults to the nodes with memory."""
    ids = [n.id for n in nodes]
    memory = [n.id for n in nodes if n.total_kb > 0]
    files = {
        f"{NODE}/online": format_node_list(ids) + "\n",
        f"{NODE}/possible": format_node_list(ids) + "\n",
        f"{NODE}/has_memory": (has_memory if has_memory is not None else format_node_list(memory))
        + "\n",
        f"{NODE}/has_normal_memory": format_node_list(memory) + "\n",
    }
    for node in nodes:
        files[f"{NODE}/node{node.id}/meminfo"] = node_meminfo(node)
        if numastat_files:
            files[f"{NODE}/node{node.id}/numastat"] = numastat(node)
    return files


def two_nodes(free0: int = 30, free1: int = 30, miss: int = 0) -> dict[str, str]:
    """Two 64 GiB nodes with `free0`/`free1` percent free and `miss` percent misses on node 0."""
    total = 64 * GIB_KB
    hit = 1_000_000
    return numa_host(
        Node(0, total, total * free0 // 100, hit * (100 - miss) // 100, hit * miss // 100),
        Node(1, total, total * free1 // 100, hit),
    )


def proc(
    pid: int,
    comm: str,
    ppid: int = 1,
    numa_maps: str | None = None,
    mems_allowed: str | None = "0-1",
) -> dict[str, str]:
    """A process's comm, status and (when given) the first lines of its numa_maps."""
    status = f"Name:\t{comm}\nState:\tS (sleeping)\nPid:\t{pid}\nPPid:\t{ppid}\n"
    status += "Uid:\t999\t999\t999\t999\nVmRSS:\t  812344 kB\n"
    if mems_allowed is not None:
        status += f"Mems_allowed:\t00000000,00000003\nMems_allowed_list:\t{mems_allowed}\n"
    files = {f"/proc/{pid}/comm": comm + "\n", f"/proc/{pid}/status": status}
    if numa_maps is not None:
        files[f"/proc/{pid}/numa_maps"] = numa_maps
    return files


def maps(policy: str, binary: str = "/usr/bin/mongod", nodes: str = "N0=600 N1=600") -> str:
    """numa_maps lines for a process running under one policy."""
    return (
        f"55a0a3200000 {policy} file={binary} mapped=1200 mapmax=2 {nodes} kernelpagesize_kB=4\n"
        f"55a0ae8b9000 {policy} heap anon=2812 dirty=2812 active=2009 {nodes} kernelpagesize_kB=4\n"
        f"7f3e0f000000 {policy} anon=1048576 dirty=1048576 {nodes} kernelpagesize_kB=4\n"
        f"7ffcd3a84000 {policy} stack anon=32 dirty=32 {nodes} kernelpagesize_kB=4\n"
    )
