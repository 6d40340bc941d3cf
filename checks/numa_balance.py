"""Free memory is spread evenly across NUMA nodes, and few allocations miss their node."""

from __future__ import annotations

from memcheck.facts import Facts
from memcheck.facts.numa import NUMA_NODE_READS, NumaNode
from memcheck.model import JSON, CheckMeta, Outcome, Param, Params, ev, param_float

META = CheckMeta(
    id="numa_balance",
    title="NUMA nodes have comparable free memory and few misses",
    area="numa",
    severity="low",
    rationale=(
        "On a NUMA host each node's memory is fast for its own CPUs and slower for the others. "
        "When one node runs out while another has plenty, the kernel reclaims or swaps on the "
        "full node, or serves its allocations from a remote node (numa_miss), and a database "
        "pinned there slows down although the host as a whole has free memory. A large gap in "
        "free memory between nodes, or a high share of missed allocations, shows work that is "
        "not spread across the nodes."
    ),
    remediation=(
        "See which processes fill the full node (numastat -p <pid>, numastat -m) and start "
        "large services under numactl --interleave=all, or bind each instance to its own node "
        "with numactl --cpunodebind=N --membind=N; persist it in the unit's ExecStart "
        "(systemctl edit <unit>) or with NUMAPolicy=/NUMAMask= (systemd 243+). Keep "
        "vm.zone_reclaim_mode at 0 so that a full node does not reclaim its own cache first."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/numastat.html",
        "https://docs.kernel.org/admin-guide/mm/numa_memory_policy.html",
        "https://man7.org/linux/man-pages/man8/numactl.8.html",
        "https://man7.org/linux/man-pages/man5/systemd.exec.5.html",
    ),
    reads=NUMA_NODE_READS,
    params={
        "max_free_spread_percent": Param(
            50.0,
            "largest gap between nodes' free memory, in percent of each node's size",
            "float",
            low=0.0,
            high=100.0,
        ),
        "max_miss_percent": Param(
            10.0,
            "largest numa_miss share of numa_hit + numa_miss on any node",
            "float",
            low=0.0,
            high=100.0,
        ),
    },
)

_MIB = 1024 * 1024


def _evidence(node: NumaNode) -> dict[str, JSON]:
    stat = node.numastat
    miss = stat.miss_percent if stat else None
    free = node.free_percent or 0.0
    text = f"node {node.id}: {node.total_bytes // _MIB} MiB, {node.free_bytes // _MIB} MiB free "
    text += f"({free:.1f}%)"
    huge = node.meminfo.hugepages_total
    if huge:
        # Reserved huge pages are not MemFree, even when no process uses them yet.
        text += f", {huge} huge pages reserved ({node.meminfo.hugepages_free} unused)"
    if stat is None:
        text += ", no numastat"
    else:
        text += f", numa_hit {stat.numa_hit}, numa_miss {stat.numa_miss}"
        text += f" ({miss:.1f}% missed)" if miss is not None else ""
    return ev(
        text,
        source=node.meminfo_path,
        numastat_source=node.numastat_path if stat else None,
        node=node.id,
        total_bytes=node.total_bytes,
        free_bytes=node.free_bytes,
        free_percent=round(free, 1),
        numa_hit=stat.numa_hit if stat else None,
        numa_miss=stat.numa_miss if stat else None,
        miss_percent=round(miss, 1) if miss is not None else None,
    )


def judge(facts: Facts, params: Params) -> Outcome:
    max_spread = param_float(params, "max_free_spread_percent")
    max_miss = param_float(params, "max_miss_percent")
    nodes = facts.numa_nodes
    memory = [n for n in nodes if n.has_memory]
    evidence = [_evidence(n) for n in memory]
    for n in nodes:
        if not n.has_memory:
            text = f"node {n.id}: no memory (CPU-only node), left out of the balance"
            evidence.append(ev(text, source=n.meminfo_path, node=n.id, memoryless=True))
    if not nodes:
        return Outcome.skipped("no NUMA nodes in /sys/devices/system/node (kernel without NUMA)")
    if len(memory) < 2:
        return Outcome.skipped(
            f"single memory node: {len(nodes)} NUMA node(s), {len(memory)} with memory", evidence
        )
    free = {n.id: n.free_percent or 0.0 for n in memory}
    low, high = min(free, key=free.__getitem__), max(free, key=free.__getitem__)
    spread = free[high] - free[low]
    misses = {n.id: n.numastat.miss_percent or 0.0 for n in memory if n.numastat}
    worst = max(misses, key=misses.__getitem__) if misses else None
    problems = []
    if spread > max_spread:
        problems.append(
            f"free memory differs by {spread:.1f} points between nodes (node {low} "
            f"{free[low]:.1f}% free, node {high} {free[high]:.1f}%)"
        )
    if worst is not None and misses[worst] > max_miss:
        problems.append(f"node {worst}: {misses[worst]:.1f}% of allocations missed their node")
    spread_expected = f"<= {max_spread:g}% spread"
    if not problems:
        most = f", at most {misses[worst]:.1f}% misses" if worst is not None else ""
        message = f"{len(memory)} memory nodes: free memory spread {spread:.1f} points{most}"
        return Outcome.passed(message, round(spread, 1), spread_expected, evidence)
    if spread > max_spread:
        return Outcome.failed("; ".join(problems), round(spread, 1), spread_expected, evidence)
    assert worst is not None
    observed = round(misses[worst], 1)
    return Outcome.failed("; ".join(problems), observed, f"<= {max_miss:g}% misses", evidence)
