"""No process's resident memory keeps growing from one run to the next (a leak signal)."""

from __future__ import annotations

from memcheck.facts import Facts
from memcheck.facts.process_memory import (
    PROCESS_MEMORY_READS,
    Match,
    ProcessSample,
    hours_between,
    match_samples,
)
from memcheck.facts.swap import format_bytes
from memcheck.model import JSON, CheckMeta, Outcome, Param, Params, ev, param_float, param_int

META = CheckMeta(
    id="process_memory_growth",
    title="No process's memory keeps growing between runs",
    area="process",
    severity="medium",
    rationale=(
        "A leak rarely shows in one look at a host: the process is simply large. It shows as "
        "resident memory that is higher at every look, until the OOM killer or a restart "
        "ends it. Each run records the largest processes (RSS, data segment, swap, private "
        "dirty memory); given the previous run's results (--baseline), the same processes, "
        "matched by name and command line, are compared. Private dirty memory is what only "
        "that process wrote and nothing can reclaim short of swapping: the part a leak grows."
    ),
    remediation=(
        "Confirm the trend (ps -o pid,rss,vsz,cmd -p PID over hours, or grep -E "
        "'Rss|Private_Dirty' /proc/PID/smaps_rollup), then fix or bound it: the application's "
        "own heap profiling, a memory cap in its unit (systemctl set-property UNIT "
        "MemoryHigh=... MemoryMax=..., persisted as a drop-in) and, as a stopgap, a "
        "scheduled restart. Run memcheck with --baseline PREVIOUS/results.json nightly."
    ),
    references=(
        "https://docs.kernel.org/filesystems/proc.html",
        "https://man7.org/linux/man-pages/man5/proc_pid_status.5.html",
        "https://man7.org/linux/man-pages/man5/proc_pid_smaps.5.html",
        "https://man7.org/linux/man-pages/man5/systemd.resource-control.5.html",
    ),
    reads=PROCESS_MEMORY_READS,
    params={
        "growth_percent": Param(
            50.0,
            "RSS growth since the baseline, in percent, above which a process fails "
            "(together with min_growth_mb)",
            "float",
            low=0.0,
        ),
        "min_growth_mb": Param(
            256,
            "RSS growth since the baseline, in MiB, above which a process fails "
            "(together with growth_percent)",
            low=0,
            high=1_073_741_824,
        ),
    },
)
_MIB = 1024 * 1024


def _sample_item(s: ProcessSample) -> dict[str, JSON]:
    item = ev(f"pid {s.pid} ({s.name}): RSS {format_bytes(s.rss_bytes)}", f"/proc/{s.pid}/status")
    item.update(s.to_json())
    return item


def _growth_item(m: Match, hours: float | None, start: str | None) -> dict[str, JSON]:
    grown = m.after.rss_bytes - m.before.rss_bytes
    percent = round(grown * 100 / m.before.rss_bytes, 1) if m.before.rss_bytes else None
    span = f" in {hours:.1f} h" if hours is not None else ""
    dirty = m.after.private_dirty_bytes
    text = (
        f"{m.after.name} (pid {m.before.pid} -> {m.after.pid}, matched by {m.by}): RSS "
        f"{format_bytes(m.before.rss_bytes)} -> {format_bytes(m.after.rss_bytes)}{span}"
        + (f", private dirty {format_bytes(dirty)}" if dirty is not None else "")
    )
    fields: dict[str, JSON] = {
        "kind": "process_growth",
        "name": m.after.name,
        "cmdline": m.after.cmdline,
        "matched_by": m.by,
        "growth_bytes": grown,
        "growth_percent": percent,
        "hours": round(hours, 2) if hours is not None else None,
        "baseline_collected_at": start,
    }
    for when, s in (("before", m.before), ("after", m.after)):
        for key in ("pid", "rss_bytes", "data_bytes", "swap_bytes", "private_dirty_bytes"):
            fields[f"{when}_{key}"] = getattr(s, key)
    item = ev(text, source=f"/proc/{m.after.pid}/status")
    item.update(fields)
    return item


def judge(facts: Facts, params: Params) -> Outcome:
    percent_limit = param_float(params, "growth_percent")
    bytes_limit = param_int(params, "min_growth_mb") * _MIB
    sample = facts.process_sample
    evidence = [_sample_item(s) for s in sample]
    baseline = facts.process_baseline
    if baseline is None:
        return Outcome.skipped(
            "no baseline: give the previous run's results with --baseline PREVIOUS.json to "
            f"compare (this run recorded {len(sample)} processes for the next one)",
            evidence,
        )
    if baseline.problem:
        return Outcome.skipped(baseline.problem, evidence)
    if not sample:
        return Outcome.errored("no process memory could be read (/proc/<pid>/status)", evidence)
    now = facts.collected_at
    hours = hours_between(baseline.collected_at, now)
    matches = match_samples(baseline.samples, sample)
    grown = [
        m
        for m in matches
        if m.after.rss_bytes - m.before.rss_bytes > bytes_limit
        and (m.after.rss_bytes - m.before.rss_bytes) * 100 > percent_limit * m.before.rss_bytes
    ]
    grown.sort(key=lambda m: m.before.rss_bytes - m.after.rss_bytes)
    span = f"{hours:.1f} h" if hours is not None else "an unknown time"
    expected = f"growth <= {percent_limit:g}% or <= {bytes_limit // _MIB} MiB"
    context = (
        f"{len(matches)} of {len(sample)} processes matched the baseline of "
        f"{baseline.collected_at or 'unknown time'} ({span} earlier)"
    )
    if not grown:
        return Outcome.passed(f"no process grew past the limits; {context}", 0, expected, evidence)
    items = [_growth_item(m, hours, baseline.collected_at) for m in grown]
    names = ", ".join(
        f"{m.after.name} (pid {m.after.pid}) +{format_bytes(m.after.rss_bytes - m.before.rss_bytes)}"
        for m in grown[:5]
    )
    return Outcome.failed(
        f"RSS grew in {span}: {names}; {context}", len(grown), expected, items + evidence
    )
