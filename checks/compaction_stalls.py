"""Direct compaction stalls are rare (stalls per hour since boot)."""

from __future__ import annotations

from memcheck.facts import Facts
from memcheck.facts.container import HOST_COUNTERS, WHOLE_HOST, seen_from_container
from memcheck.model import CheckMeta, Outcome, Param, Params, ev, param_float

META = CheckMeta(
    id="compaction_stalls",
    title="Direct memory compaction stalls are rare",
    area="thp",
    severity="low",
    rationale=(
        "When an allocation needs physically contiguous memory (a transparent huge page, a "
        "large kernel buffer) and none is free, the allocating task compacts memory itself "
        "and waits: compact_stall counts those waits. Frequent stalls add latency spikes to "
        "whatever allocates, typically THP faults with defrag set to always, or a host whose "
        "memory is fragmented by long uptime. The counter is cumulative, so it is divided by "
        "the hours since boot."
    ),
    remediation=(
        "Make THP faults stop compacting synchronously: echo madvise > "
        "/sys/kernel/mm/transparent_hugepage/defrag (or defer+madvise), persisted with "
        "transparent_hugepage=madvise on the kernel command line or a tuned profile. Keep "
        "more memory free for contiguous allocations with a higher vm.min_free_kbytes "
        "(sysctl -w, persisted in /etc/sysctl.d/)."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/mm/transhuge.html",
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#compact-memory",
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#min-free-kbytes",
    ),
    reads=("/proc/vmstat", "/proc/uptime"),
    params={
        "max_per_hour": Param(10.0, "highest allowed average of stalls per hour", "float", low=0.0),
    },
)


def judge(facts: Facts, params: Params) -> Outcome:
    return seen_from_container(_judge(facts, params), facts, HOST_COUNTERS, WHOLE_HOST)


def _judge(facts: Facts, params: Params) -> Outcome:
    limit = param_float(params, "max_per_hour")
    vmstat = facts.vmstat
    stalls = vmstat.get("compact_stall")
    if stalls is None:
        return Outcome.skipped(
            "no compact_stall counter in /proc/vmstat: the kernel is built without "
            "CONFIG_COMPACTION"
        )
    hours = facts.uptime.seconds / 3600
    if hours <= 0:
        return Outcome.errored("/proc/uptime reads 0 seconds: the rate since boot is unknown")
    rate = round(stalls / hours, 2)
    counters = {k: vmstat.get(k) for k in ("compact_stall", "compact_fail", "compact_success")}
    text = ", ".join(f"{k} {v}" for k, v in counters.items() if v is not None)
    evidence = [
        ev(text, source="/proc/vmstat", **counters),
        ev(f"up {hours:.1f} h", source="/proc/uptime", uptime_hours=round(hours, 2)),
    ]
    message = f"{stalls} compaction stalls in {hours:.1f} h since boot: {rate:g} per hour"
    expected = f"<= {limit:g} per hour"
    if rate <= limit:
        return Outcome.passed(message, rate, expected, evidence)
    return Outcome.failed(message, rate, expected, evidence)
