"""The host is not swapping right now (pages swapped in and out per second)."""

from __future__ import annotations

from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
from memcheck.facts.container import HOST_COUNTERS, WHOLE_HOST, seen_from_container
from memcheck.facts.swap import format_bytes
from memcheck.model import JSON, CheckMeta, Outcome, Param, Params, ev, param_float, param_int
from memcheck.snapshot import VMSTAT_AFTER

META = CheckMeta(
    id="swap_activity",
    title="The host is not swapping",
    area="swap",
    severity="high",
    rationale=(
        "Swap configured is insurance; swap in use right now means the working set no "
        "longer fits in RAM and every swapped-in page is a disk read on some task's critical "
        "path. Counters since boot cannot tell a spike last month from thrashing now, so two "
        "/proc/vmstat samples are compared (the si/so columns of vmstat, sar -W). The "
        "processes holding the most swap (VmSwap) show who was pushed out."
    ),
    remediation=(
        "Find what grew (the processes listed, ps -eo pid,comm,rss --sort=-rss), then reduce "
        "it or add RAM. For a database host, lower vm.swappiness (sysctl -w vm.swappiness=1, "
        "persisted in /etc/sysctl.d/90-memcheck.conf) so cache is dropped before anonymous "
        "memory is swapped. Limit runaway services with MemoryMax= in their unit."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#swappiness",
        "https://man7.org/linux/man-pages/man8/vmstat.8.html",
        "https://man7.org/linux/man-pages/man1/sar.1.html",
        "https://man7.org/linux/man-pages/man5/proc_pid_status.5.html",
    ),
    reads=(
        "/proc/vmstat",
        VMSTAT_AFTER,
        "/proc/uptime",
        "/proc/meminfo",
        "/proc/[0-9]*/status",
        "/proc/[0-9]*/comm",
    ),
    params={
        "max_pages_per_second": Param(
            0.0,
            "pages swapped in+out per second allowed (medium above)",
            "float",
            low=0.0,
            at_most="storm_pages_per_second",
        ),
        "storm_pages_per_second": Param(
            1000.0, "pages per second counted as a swap storm (high above)", "float", low=0.0
        ),
        "top_processes": Param(5, "how many of the largest swap holders to list", low=0, high=1000),
    },
)


def judge(facts: Facts, params: Params) -> Outcome:
    return seen_from_container(_judge(facts, params), facts, HOST_COUNTERS, WHOLE_HOST)


def _judge(facts: Facts, params: Params) -> Outcome:
    allowed = param_float(params, "max_pages_per_second")
    storm = param_float(params, "storm_pages_per_second")
    if not facts.meminfo.swap_total_bytes:
        try:
            activity = facts.swap_activity
        except (ParseError, Unavailable):
            activity = None
        if activity is None or activity.pages == 0:
            return Outcome.skipped("no swap configured (SwapTotal 0) and no pages swapped")
    activity = facts.swap_activity
    if activity is None:
        return Outcome.errored(
            f"no second /proc/vmstat sample ({VMSTAT_AFTER}): swap activity needs two samples "
            "taken a moment apart; collect with a sample interval above 0"
        )
    if activity.seconds <= 0:
        return Outcome.errored(f"the two samples are {activity.seconds:g} s apart")
    rate = activity.pages_per_second
    detail = f"in {activity.pages_in}, out {activity.pages_out} pages over {activity.seconds:.2f} s"
    evidence: list[dict[str, JSON]] = [
        ev(
            detail,
            source=VMSTAT_AFTER,
            pages_in=activity.pages_in,
            pages_out=activity.pages_out,
            seconds=activity.seconds,
            interval_from=activity.interval_source,
        )
    ]
    for p in facts.processes_by_swap(param_int(params, "top_processes")):
        swap = p.vm_swap_bytes or 0
        evidence.append(
            ev(
                f"pid {p.pid} ({p.name}) holds {format_bytes(swap)} of swap",
                source=f"/proc/{p.pid}/status",
                pid=p.pid,
                name=p.name,
                swap_bytes=swap,
            )
        )
    observed, expected = round(rate, 2), f"<= {allowed:g} pages/s"
    message = f"{observed:g} pages/s swapped ({detail})"
    if rate <= allowed:
        return Outcome.passed(message, observed, expected, evidence)
    if rate > storm:
        message = f"swap storm: {message}, over {storm:g} pages/s"
        return Outcome.failed(message, observed, expected, evidence, severity="high")
    return Outcome.failed(message, observed, expected, evidence, severity="medium")
