"""Enough memory is available for new work: MemAvailable as a share of MemTotal, or inside a
container with a memory limit, the limit less the container's working set as a share of it."""

from __future__ import annotations

from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
from memcheck.facts.cgroup import CGROUP_LIMIT_READS
from memcheck.facts.container import CONTAINER_READS, ContainerMemory, container_memory
from memcheck.model import (
    JSON,
    CheckMeta,
    Outcome,
    Param,
    Params,
    Severity,
    ev,
    param_float,
    param_int,
)
from memcheck.parse.meminfo import Meminfo

META = CheckMeta(
    id="memory_available",
    title="Available memory is above the warning threshold",
    area="pressure",
    severity="medium",
    rationale=(
        "MemAvailable is the kernel's estimate of how much memory new work can get without "
        "swapping: free pages plus the page cache and slab that can be reclaimed. When it "
        "runs low the host starts thrashing, stalls in direct reclaim and then kills "
        "processes. The largest processes by resident memory are the first place to look. "
        "Inside a container /proc/meminfo is the host's: what the container can get is its "
        "cgroup's memory limit less its working set (usage less inactive file pages, as the "
        "kubelet counts), and past the limit the kernel OOM-kills inside the container."
    ),
    remediation=(
        "Find what holds the memory (ps -eo pid,rss,comm --sort=-rss | head, and the evidence "
        "below), then stop or restart the runaway process, lower the application's own cache "
        "or heap size, or cap services with MemoryHigh=/MemoryMax= in a unit drop-in "
        "(systemctl edit <unit>) so the limit survives a restart. Add RAM if the steady "
        "working set no longer fits. In a container, raise its memory limit (docker run "
        "--memory, the pod's resources.limits.memory) or cut its working set."
    ),
    references=(
        "https://docs.kernel.org/filesystems/proc.html#meminfo",
        "https://man7.org/linux/man-pages/man5/proc_meminfo.5.html",
        "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/commit/?id=34e431b0ae398fc54ea69ff85ec700722c9da773",
    ),
    # Inside a container its own cgroup's limit and usage judge, not the host's meminfo.
    reads=(
        "/proc/meminfo",
        "/proc/[0-9]*/status",
        "/proc/[0-9]*/comm",
        *CONTAINER_READS,
        *CGROUP_LIMIT_READS,
    ),
    params={
        "warn_percent": Param(
            10.0,
            "below this share of MemTotal (of a container's limit) fails",
            "float",
            low=0.0,
            high=100.0,
        ),
        "high_percent": Param(
            5.0,
            "below this share the failure is high",
            "float",
            low=0.0,
            high=100.0,
            at_most="warn_percent",
        ),
        "critical_percent": Param(
            1.0,
            "below this share the failure is critical",
            "float",
            low=0.0,
            high=100.0,
            at_most="high_percent",
        ),
        "top_processes": Param(
            5, "how many of the largest processes (by RSS) to list", low=0, high=1000
        ),
    },
)

_MIB = 1024 * 1024


def _top_processes(facts: Facts, count: int) -> list[dict[str, JSON]]:
    sized = [p for p in facts.processes if p.vm_rss_bytes is not None]
    sized.sort(key=lambda p: (-(p.vm_rss_bytes or 0), p.pid))
    return [
        ev(
            f"{p.name} (pid {p.pid}): RSS {(p.vm_rss_bytes or 0) / _MIB:.0f} MiB",
            source=f"/proc/{p.pid}/status",
            pid=p.pid,
            name=p.name,
            rss_bytes=p.vm_rss_bytes,
        )
        for p in sized[: max(count, 0)]
    ]


def judge(facts: Facts, params: Params) -> Outcome:
    container = container_memory(facts)
    if container is not None and container.problem is not None:
        return Outcome.errored(
            f"inside a container, but its memory limit is unknown ({container.problem}); "
            "/proc/meminfo shows the host's memory, not what the container may use",
            [_container_evidence(container)],
        )
    if container is not None and container.limit_bytes is not None:
        try:
            info: Meminfo | None = facts.meminfo
        except (Unavailable, ParseError):
            info = None  # the host's numbers only cap the container's; its own limit judges
        if info is None or container.limit_bytes < info.mem_total_bytes:
            return _judge_container(facts, params, container, info)
    return _judge_meminfo(facts, params, container)


def _judge_meminfo(facts: Facts, params: Params, container: ContainerMemory | None) -> Outcome:
    info = facts.meminfo
    total = info.mem_total_bytes
    if total <= 0:
        return Outcome.errored("/proc/meminfo reports MemTotal 0; cannot compute a share")
    available, estimated = info.available_bytes()
    share = available / total * 100
    kind = "estimated available memory" if estimated else "MemAvailable"
    evidence = [ev(f"MemTotal: {total // 1024} kB", source="/proc/meminfo", mem_total_bytes=total)]
    if estimated:
        parts = {k: info.get(k) or 0 for k in ("MemFree", "Cached", "Buffers", "Shmem")}
        evidence.append(
            ev(
                "no MemAvailable (kernel before 3.14): estimated as MemFree + Cached + Buffers "
                f"- Shmem = {available // 1024} kB",
                source="/proc/meminfo",
                estimated=True,
                available_bytes=available,
                **{k.lower() + "_bytes": v for k, v in parts.items()},
            )
        )
    else:
        evidence.append(
            ev(f"MemAvailable: {available // 1024} kB", source="/proc/meminfo", estimated=False)
        )
    note = " (estimate: this kernel has no MemAvailable)" if estimated else ""
    if container is not None:
        note += "; " + _host_numbers(container, total)
        evidence.append(_container_evidence(container))
    message = (
        f"{kind} is {round(share, 1)}% of RAM ({available // _MIB} of {total // _MIB} MiB){note}"
    )
    return _verdict(facts, params, share, message, evidence)


def _host_numbers(container: ContainerMemory, total: int) -> str:
    """Why a container is judged by /proc/meminfo, whose numbers are the host's."""
    if container.limit_bytes is not None:
        return (
            f"inside a container whose memory limit ({_mib(container.limit_bytes)}, "
            f"{container.limit_source}) is not below the host's RAM ({total // _MIB} MiB): "
            "these are the host's numbers, and they bind"
        )
    if container.cgroup is None:
        why = f" ({container.note})" if container.note else ""
        return (
            f"inside a container whose own memory cgroup cannot be seen{why}: these are the "
            "host's numbers, and a limit set on the container would not show in them"
        )
    if container.cgroup.is_root and container.cgroup.version == "v2":
        return (
            "inside a container whose PID 1 runs in the root cgroup, which has no memory "
            "limit: these are the host's numbers"
        )
    return (
        f"inside a container with no memory limit ({container.cgroup.limit_source}): these "
        "are the host's numbers"
    )


def _judge_container(
    facts: Facts, params: Params, container: ContainerMemory, info: Meminfo | None
) -> Outcome:
    limit = container.limit_bytes or 0
    usage, working_set = container.usage_bytes, container.working_set_bytes
    evidence = [
        _container_evidence(container),
        ev(
            f"memory limit: {limit} bytes ({_mib(limit)})",
            source=container.limit_source,
            limit_bytes=limit,
        ),
    ]
    if usage is None or working_set is None:
        return Outcome.errored(
            f"container limit {_mib(limit)}, but its usage ({container.usage_source}) "
            "was not read: cannot tell how much of the limit is available",
            evidence,
        )
    inactive = container.inactive_file_bytes
    evidence.append(ev(f"usage: {usage} bytes", source=container.usage_source, usage_bytes=usage))
    if inactive is not None:
        evidence.append(
            ev(
                f"inactive file pages: {inactive} bytes (reclaimable first)",
                source=container.stat_source,
                inactive_file_bytes=inactive,
            )
        )
        how = f"usage {_mib(usage)} less {_mib(inactive)} inactive file"
    else:
        how = f"usage {_mib(usage)}, counted whole: memory.stat gave no inactive file"
    available = max(0, limit - working_set)
    capped = ""
    if info is not None:
        host_available, _ = info.available_bytes()
        evidence.append(
            ev(
                f"host MemAvailable: {host_available // 1024} kB of MemTotal "
                f"{info.mem_total_bytes // 1024} kB (the host's, not the container's)",
                source="/proc/meminfo",
                host_available_bytes=host_available,
                host_total_bytes=info.mem_total_bytes,
            )
        )
        if host_available < available:
            available = host_available
            capped = f"; capped at the host's MemAvailable, {_mib(host_available)}"
    evidence.append(
        ev(
            f"working set {working_set} bytes (usage less inactive file, as the kubelet "
            f"counts); available {available} bytes",
            working_set_bytes=working_set,
            available_bytes=available,
        )
    )
    share = available / limit * 100 if limit > 0 else 0.0
    message = (
        f"container limit {_mib(limit)}, {round(share, 1)}% available "
        f"({_mib(available)} of {_mib(limit)}; working set {_mib(working_set)}: {how}){capped}"
    )
    return _verdict(facts, params, share, message, evidence)


def _mib(size: int) -> str:
    """Whole MiB as such, else one decimal: a container's numbers are often a few MiB."""
    if size % _MIB == 0:
        return f"{size // _MIB} MiB"
    return f"{size / _MIB:.1f} MiB"


def _container_evidence(container: ContainerMemory) -> dict[str, JSON]:
    group = container.cgroup
    where = f"its memory cgroup {group.path} ({group.directory})" if group else "no own cgroup seen"
    return ev(
        f"inside a container ({container.basis}): {where}",
        in_container=True,
        cgroup=group.path if group else None,
        cgroup_directory=group.directory if group else None,
    )


def _verdict(
    facts: Facts, params: Params, share: float, message: str, evidence: list[dict[str, JSON]]
) -> Outcome:
    warn, high = param_float(params, "warn_percent"), param_float(params, "high_percent")
    critical = param_float(params, "critical_percent")
    evidence.extend(_top_processes(facts, param_int(params, "top_processes")))
    unreadable = facts.process_problems("status")
    if unreadable:
        evidence.append(ev(f"{len(unreadable)} processes' status could not be read"))
    percent = round(share, 1)
    expected = f">= {warn:g}%"
    if share >= warn:
        return Outcome.passed(message, percent, expected, evidence)
    severity: Severity | None = None
    crossed = warn
    if share < critical:
        severity, crossed = "critical", critical
    elif share < high:
        severity, crossed = "high", high
    return Outcome.failed(
        f"{message}, under {crossed:g}%", percent, expected, evidence, severity=severity
    )
