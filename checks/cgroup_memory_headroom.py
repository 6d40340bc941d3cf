"""Every memory cgroup with a limit keeps its working set below a share of that limit."""

from __future__ import annotations

from memcheck.facts import Facts
from memcheck.facts.cgroup import CGROUP_LIMIT_READS, Cgroup
from memcheck.model import JSON, CheckMeta, Outcome, Param, Params, ev, param_float
from memcheck.parse.cgroup import KERNEL_PART_NAMES

META = CheckMeta(
    id="cgroup_memory_headroom",
    title="Memory cgroups keep headroom below their limit",
    area="cgroup",
    severity="high",
    rationale=(
        "A cgroup that reaches its memory limit first stalls in reclaim and then has a "
        "process OOM-killed, while the host as a whole looks fine. The working set (usage "
        "less inactive page cache, which the kernel can drop cheaply) is what the kubelet "
        "counts, so it is what is compared with the limit. Kernel memory (slab, stacks, page "
        "tables, socket buffers) is charged to the same limit, so a limit can fill up with "
        "dentries or sockets while the application's own memory looks small; the breakdown "
        "shows which it is."
    ),
    remediation=(
        "Find what fills the cgroup (the breakdown in the evidence). Raise the limit or lower "
        "the workload's own memory: for a systemd unit, systemctl set-property <unit> "
        "MemoryMax=<size> applies now and persists (or put MemoryMax= in a drop-in with "
        "systemctl edit <unit>); for a container, its runtime's memory limit (docker update "
        "--memory, the pod's resources.limits.memory). Kernel memory eating a limit points "
        "at a leak of dentries, sockets or similar inside the workload."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/cgroup-v2.html#memory-interface-files",
        "https://docs.kernel.org/admin-guide/cgroup-v1/memory.html",
        "https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/",
        "https://man7.org/linux/man-pages/man5/systemd.resource-control.5.html",
    ),
    reads=CGROUP_LIMIT_READS,
    params={
        "max_used_percent": Param(
            90.0,
            "highest working set allowed, in percent of the cgroup's memory limit",
            "float",
            low=0.0,
            high=100.0,
        ),
    },
)

_MIB = 1024 * 1024


def _mib(value: int) -> str:
    return f"{value / _MIB:.1f} MiB"


def breakdown(group: Cgroup, limit: int) -> str:
    """`anon 300.0 MiB (29.3%), file ..., kernel 600.0 MiB (58.6%: slab 550.0 MiB, ...)`."""

    def share(value: int, detail: str = "") -> str:
        percent = f"{value / limit * 100:.1f}%" if limit else ""
        inner = ": ".join(x for x in (percent, detail) if x)
        return f"{_mib(value)} ({inner})" if inner else _mib(value)

    parts = []
    for name, value in (("anon", group.anon_bytes), ("file", group.file_bytes)):
        if value is not None:
            parts.append(f"{name} {share(value)}")
    if group.kernel_bytes is not None:
        detail = ", ".join(
            f"{KERNEL_PART_NAMES[k]} {_mib(v)}" for k, v in group.kernel_parts.items() if v
        )
        parts.append(f"kernel {share(group.kernel_bytes, detail)}")
    return ", ".join(parts) if parts else "no memory.stat breakdown"


def _looked_at(group: Cgroup, limit: int, working_set: int, percent: float) -> dict[str, JSON]:
    high = group.high.limit_bytes if group.high else None
    text = (
        f"{group.path} ({group.kind.describe()}): working set {_mib(working_set)} = "
        f"{percent:.1f}% of limit {_mib(limit)}: {breakdown(group, limit)}"
        + (f"; memory.high {_mib(high)}" if high is not None else "")
        + ("" if group.stat else "; no memory.stat, so the working set is the whole usage")
    )
    return ev(
        text,
        source=group.limit_source,
        path=group.path,
        kind=group.kind.label,
        limit_bytes=limit,
        high_bytes=high,
        usage_bytes=group.usage_bytes,
        working_set_bytes=working_set,
        anon_bytes=group.anon_bytes,
        file_bytes=group.file_bytes,
        kernel_bytes=group.kernel_bytes,
        used_percent=round(percent, 1),
    )


def _skip_reason(group: Cgroup) -> tuple[str, bool]:
    """Why a cgroup is not judged, and whether that is a read problem."""
    if group.limit is None:
        problem = group.problems.get(group.limit_source) or group.problems.get(group.directory)
        if problem:
            return f"limit unreadable: {problem}", True
        return ("root cgroup: no limit" if group.is_root else "no limit file collected"), False
    if group.limit.unlimited:
        return ("root cgroup: no limit" if group.is_root else "no limit"), False
    problem = group.problems.get(group.usage_path)
    if problem:
        return f"usage unreadable: {group.usage_path}: {problem}", True
    return "usage not collected (removed while it was read?)", False


def judge(facts: Facts, params: Params) -> Outcome:
    threshold = param_float(params, "max_used_percent")
    hierarchy, groups = facts.memory_hierarchy, facts.cgroups
    if not groups:
        return Outcome.skipped(hierarchy.problem or "no memory cgroup in the snapshot")
    evidence: list[dict[str, JSON]] = []
    judged: list[tuple[float, Cgroup, int, int]] = []
    skipped: dict[str, list[str]] = {}
    unreadable: list[str] = []
    for group in groups:
        limit = group.limit.limit_bytes if group.limit else None
        working_set = group.working_set_bytes
        if limit is None or working_set is None:
            reason, is_problem = _skip_reason(group)
            skipped.setdefault(reason, []).append(group.path)
            if is_problem:
                unreadable.append(f"{group.path} ({reason})")
            continue
        percent = working_set / limit * 100 if limit else (100.0 if working_set else 0.0)
        judged.append((percent, group, limit, working_set))
        evidence.append(_looked_at(group, limit, working_set, percent))
    for reason, paths in skipped.items():
        evidence.append(ev(f"not judged, {reason}: {', '.join(paths)}", reason=reason, paths=paths))
    expected = f"<= {threshold:g}%"
    if not judged:
        if unreadable:
            return Outcome.errored(f"cannot read {'; '.join(unreadable)}", evidence)
        return Outcome.skipped(f"no cgroup has a memory limit ({len(groups)} looked at)", evidence)
    judged.sort(key=lambda j: (-j[0], j[1].path))
    worst = round(judged[0][0], 1)
    over = [j for j in judged if j[0] > threshold]
    if over:
        lines = [
            f"{g.path} ({g.kind.describe()}): working set {_mib(ws)} is {p:.1f}% of its "
            f"{_mib(limit)} limit ({breakdown(g, limit)})"
            for p, g, limit, ws in over[:3]
        ]
        more = f"; and {len(over) - 3} more" if len(over) > 3 else ""
        head = f"{len(over)} of {len(judged)} limited cgroups above {threshold:g}%: "
        return Outcome.failed(head + "; ".join(lines) + more, worst, expected, evidence)
    if unreadable:
        return Outcome.errored(f"cannot read {'; '.join(unreadable)}", evidence)
    top = judged[0][1]
    return Outcome.passed(
        f"{len(judged)} limited cgroups, highest {top.path} at {worst}% of its limit",
        worst,
        expected,
        evidence,
    )
