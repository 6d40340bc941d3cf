"""Databases on multi-node hosts are bound to one NUMA node or interleaved across all of them."""

from __future__ import annotations

from memcheck.engine import SUDO_HINT
from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
from memcheck.facts.numa import NUMA_POLICY_READS, ProcessNumaPolicy
from memcheck.facts.processes import Process
from memcheck.model import JSON, CheckMeta, Outcome, Param, Params, ev, param_list
from memcheck.parse.numa import MemPolicy, format_node_list

META = CheckMeta(
    id="numa_policy",
    title="Database processes are bound to one NUMA node or interleaved across all",
    area="numa",
    severity="medium",
    rationale=(
        "Under the default policy a process's memory comes from the node its thread runs on. A "
        "database whose threads move between nodes, or whose buffer cache outgrows one node, "
        "ends up with one node full (reclaim, swapping, remote allocations) while others stay "
        "free. Interleaving spreads its pages evenly over all nodes; binding CPUs and memory to "
        "one node keeps every access local. MongoDB warns at start-up unless its first mapping "
        "is interleaved, and Cassandra's launcher starts the JVM under numactl --interleave=all."
    ),
    remediation=(
        "Restart the service under numactl: put 'numactl --interleave=all' (or "
        "'numactl --cpunodebind=N --membind=N' for one instance per node) in front of the "
        "binary in the unit's ExecStart (systemctl edit --full <unit>), or set "
        "NUMAPolicy=interleave (or bind with NUMAMask=N) in the unit's [Service] section "
        "(systemd 243+), then systemctl restart <unit>. Check with numastat -p <pid>."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/mm/numa_memory_policy.html",
        "https://man7.org/linux/man-pages/man7/numa.7.html",
        "https://man7.org/linux/man-pages/man8/numactl.8.html",
        "https://man7.org/linux/man-pages/man5/systemd.exec.5.html",
        "https://www.mongodb.com/docs/manual/administration/production-notes/",
        "https://github.com/mongodb/mongo/blob/master/src/mongo/db/startup_warnings_mongod.cpp",
        "https://github.com/apache/cassandra/blob/trunk/bin/cassandra",
    ),
    reads=NUMA_POLICY_READS,
    params={
        "processes": Param(
            ["postgres", "mysqld", "mariadbd", "mongod", "redis-server"],
            "process names (comm) whose placement is judged",
            "list[str]",
        ),
    },
)

_FIX = "start it under numactl --interleave=all or --cpunodebind=N --membind=N in its ExecStart"


def _placement(allowed: set[int], policy: MemPolicy | None) -> str | None:
    """How the process is placed ('bound to node 1', ...), or None when it is spread."""
    if len(allowed) == 1:
        return f"bound to node {min(allowed)} by Mems_allowed_list"
    if policy is None:
        return None
    if policy.mode == "bind" and len(policy.nodes) == 1:
        return f"bound to node {policy.nodes[0]}"
    if policy.mode == "interleave" and allowed <= set(policy.nodes):
        return f"interleaved across nodes {format_node_list(policy.nodes)}"
    if policy.mode == "weighted interleave":
        return f"weighted-interleaved across nodes {format_node_list(policy.nodes)}"
    return None


def _evidence(policy: ProcessNumaPolicy) -> dict[str, JSON]:
    shares = ", ".join(f"{s.policy} on {s.mappings} ({s.pages} pages)" for s in policy.shares)
    nodes = " ".join(f"N{n}={c}" for n, c in policy.pages_per_node.items()) or "none"
    allowed = format_node_list(policy.mems_allowed) if policy.mems_allowed else "unknown"
    return ev(
        f"{policy.comm} (pid {policy.pid}): of {len(policy.maps.mappings)} mappings read, "
        f"{shares or 'none'}; pages {nodes}; Mems_allowed_list {allowed}",
        source=policy.source,
        pid=policy.pid,
        comm=policy.comm,
        policy=str(policy.dominant) if policy.dominant else None,
        mems_allowed=allowed,
        pages_per_node={str(n): c for n, c in policy.pages_per_node.items()},
    )


def _judge_one(
    facts: Facts, label: str, process: Process, memory: set[int]
) -> tuple[str, str, dict[str, JSON] | None]:
    """(placed | spread | denied | unknown, what to say, evidence) for one main process."""
    allowed = memory & set(facts.numa_mems_allowed(process) or memory)
    try:
        policy = facts.numa_policy(process)
    except Unavailable as exc:
        where = _placement(allowed, None)
        if where is not None:
            text = f"{label}: Mems_allowed_list {min(allowed)}; {exc.path}: {exc.reason}"
            return "placed", f"{label} {where}", ev(text, source=f"/proc/{process.pid}/status")
        return ("denied" if exc.denied else "unknown"), f"{exc.path} ({exc.reason})", None
    except ParseError as exc:
        return "unknown", f"{exc.source} ({exc.problem})", None
    where = _placement(allowed, policy.dominant)
    if where is not None:
        return "placed", f"{label} {where}", _evidence(policy)
    if policy.dominant is None:
        return "unknown", f"{policy.source} (empty: the process may be exiting)", _evidence(policy)
    return "spread", f"{label} runs with policy {policy.dominant}", _evidence(policy)


def judge(facts: Facts, params: Params) -> Outcome:
    names = param_list(params, "processes")
    memory = facts.numa_memory_node_ids
    if not memory and not facts.numa_node_ids:
        return Outcome.skipped("no NUMA nodes in /sys/devices/system/node (kernel without NUMA)")
    if len(memory) < 2:
        total = len(set(facts.numa_node_ids) | set(memory))
        return Outcome.skipped(f"{total} NUMA node(s), {len(memory)} with memory: nothing to place")
    groups = [g for g in facts.numa_processes(names) if g.main]
    blind = facts.unidentified_note()
    if not groups:
        if blind or facts.proc_hidden:
            why = blind or f"{facts.proc_hidden}: other users' processes are invisible"
            return Outcome.errored(
                f"cannot tell whether {', '.join(names)} run: {why}; {SUDO_HINT}"
            )
        return Outcome.skipped(f"not running: {', '.join(names)}")
    found: dict[str, list[str]] = {"placed": [], "spread": [], "denied": [], "unknown": []}
    evidence: list[dict[str, JSON]] = []
    for group in groups:
        for process in group.main:
            label = f"{group.name} (pid {process.pid})"
            kind, text, item = _judge_one(facts, label, process, set(memory))
            found[kind].append(text)
            evidence.extend([item] if item else [])
        if group.children:
            count = len(group.children)
            text = f"{group.name}: {count} child processes not judged (they inherit its policy)"
            evidence.append(ev(text))
    nodes = format_node_list(memory)
    expected = f"bound to one node or interleaved across nodes {nodes}"
    if found["spread"]:
        spread = "; ".join(found["spread"])
        message = f"{spread} across NUMA nodes {nodes}: {_FIX}"
        return Outcome.failed(message, spread, expected, evidence)
    if found["denied"] or found["unknown"]:
        fix = "; run as root, or with --sudo for remote hosts" if found["denied"] else ""
        cannot = ", ".join(found["denied"] + found["unknown"])
        return Outcome.errored(f"cannot judge {cannot}{fix}", evidence)
    if blind:
        return Outcome.errored(f"{blind}, so not every process was judged; {SUDO_HINT}", evidence)
    placed = "; ".join(found["placed"])
    return Outcome.passed(placed, placed, expected, evidence)
