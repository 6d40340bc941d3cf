"""Enough memory is available for new work: MemAvailable as a share of MemTotal."""

from __future__ import annotations

from memcheck.facts import Facts
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

META = CheckMeta(
    id="memory_available",
    title="Available memory is above the warning threshold",
    area="pressure",
    severity="medium",
    rationale=(
        "MemAvailable is the kernel's estimate of how much memory new work can get without "
        "swapping: free pages plus the page cache and slab that can be reclaimed. When it "
        "runs low the host starts thrashing, stalls in direct reclaim and then kills "
        "processes. The largest processes by resident memory are the first place to look."
    ),
    remediation=(
        "Find what holds the memory (ps -eo pid,rss,comm --sort=-rss | head, and the evidence "
        "below), then stop or restart the runaway process, lower the application's own cache "
        "or heap size, or cap services with MemoryHigh=/MemoryMax= in a unit drop-in "
        "(systemctl edit <unit>) so the limit survives a restart. Add RAM if the steady "
        "working set no longer fits."
    ),
    references=(
        "https://docs.kernel.org/filesystems/proc.html#meminfo",
        "https://man7.org/linux/man-pages/man5/proc_meminfo.5.html",
        "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/commit/?id=34e431b0ae398fc54ea69ff85ec700722c9da773",
    ),
    reads=("/proc/meminfo", "/proc/[0-9]*/status", "/proc/[0-9]*/comm"),
    params={
        "warn_percent": Param(
            10.0, "below this share of MemTotal fails (medium)", "float", low=0.0, high=100.0
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
    warn, high = param_float(params, "warn_percent"), param_float(params, "high_percent")
    critical = param_float(params, "critical_percent")
    info = facts.meminfo
    total = info.mem_total_bytes
    if total <= 0:
        return Outcome.errored("/proc/meminfo reports MemTotal 0; cannot compute a share")
    available, estimated = info.available_bytes()
    share = available / total * 100
    percent = round(share, 1)
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
    evidence.extend(_top_processes(facts, param_int(params, "top_processes")))
    unreadable = facts.process_problems("status")
    if unreadable:
        evidence.append(ev(f"{len(unreadable)} processes' status could not be read"))
    note = " (estimate: this kernel has no MemAvailable)" if estimated else ""
    message = f"{kind} is {percent}% of RAM ({available // _MIB} of {total // _MIB} MiB){note}"
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
