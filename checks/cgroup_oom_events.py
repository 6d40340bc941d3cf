"""No memory cgroup has had a process OOM-killed, or run into its hard limit."""

from __future__ import annotations

from memcheck.facts import Facts
from memcheck.facts.cgroup import CGROUP_EVENT_READS, EventCounts
from memcheck.model import JSON, CheckMeta, Outcome, Params, ev

META = CheckMeta(
    id="cgroup_oom_events",
    title="No OOM kills or hard-limit hits in memory cgroups",
    area="cgroup",
    severity="high",
    rationale=(
        "The kernel counts, per memory cgroup, how often usage ran into the hard limit "
        "(v2 `max`, v1 `memory.failcnt`) and how many processes it OOM-killed there "
        "(`oom_kill`). A container or service killed for memory restarts quietly and loses "
        "its work; limit hits are the warning that comes first. The counters live since the "
        "cgroup was created, so they also catch kills the kernel log has already rotated "
        "away. On v2 they are hierarchical: the cgroup where it happened is reported, not "
        "every parent that adds it up."
    ),
    remediation=(
        "Look at the named cgroup's usage breakdown (cgroup_memory_headroom) and the kernel "
        "log's OOM report for the victim. Raise the limit (systemctl set-property <unit> "
        "MemoryMax=<size> persists; for containers, the runtime's or pod's memory limit), set "
        "MemoryHigh= below MemoryMax= so the kernel throttles before it kills, or fix the "
        "workload's memory use. The counters reset only when the cgroup is recreated "
        "(service or container restart)."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/cgroup-v2.html#memory-interface-files",
        "https://docs.kernel.org/admin-guide/cgroup-v1/memory.html",
        "https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/",
    ),
    reads=CGROUP_EVENT_READS,
    params={},
)


_EVENT_FILES = ("/memory.events", "/memory.events.local", "/memory.oom_control", "/memory.failcnt")


def _line(counts: EventCounts, kills: bool) -> str:
    group = counts.cgroup
    if kills:
        what = f"{counts.oom_kill} OOM kills"
        if counts.oom_group_kill:
            what += f" ({counts.oom_group_kill} whole-group kills)"
    elif counts.max is not None:
        what = f"memory.max reached {counts.max} times"
    else:
        what = f"memory.limit_in_bytes reached {counts.failcnt} times (failcnt)"
    return f"{group.path} ({group.kind.describe()}): {what}"


def _evidence(counts: EventCounts) -> dict[str, JSON]:
    group = counts.cgroup
    numbers = {
        "oom_kill": counts.oom_kill,
        "oom_group_kill": counts.oom_group_kill,
        "oom": counts.oom,
        "max": counts.max,
        "high": counts.high,
        "failcnt": counts.failcnt,
    }
    shown = ", ".join(f"{k} {v}" for k, v in numbers.items() if v is not None)
    under = "; under OOM now" if counts.under_oom else ""
    return ev(
        f"{group.path} ({group.kind.describe()}): {shown}{under} [{counts.how}]",
        source=counts.source,
        path=group.path,
        kind=group.kind.label,
        under_oom=counts.under_oom,
        **numbers,
    )


def judge(facts: Facts, params: Params) -> Outcome:
    hierarchy, groups = facts.memory_hierarchy, facts.cgroups
    if not groups:
        return Outcome.skipped(hierarchy.problem or "no memory cgroup in the snapshot")
    counted = facts.memory_event_counts
    problems = [
        f"{path}: {why}"
        for g in groups
        for path, why in g.problems.items()
        if path.endswith(_EVENT_FILES) or path == g.directory
    ]
    if not counted:
        if problems:
            return Outcome.errored("cannot read " + "; ".join(problems))
        return Outcome.skipped(
            f"no cgroup below the root has memory events to count ({len(groups)} looked at)"
        )
    kills = [c for c in counted if (c.oom_kill or 0) > 0]
    hits = [c for c in counted if (c.max or 0) > 0 or (c.failcnt or 0) > 0]
    noted = {c.cgroup.path for c in [*kills, *hits]}
    quiet = [c.cgroup.path for c in counted if c.cgroup.path not in noted]
    evidence = [_evidence(c) for c in counted if c.cgroup.path in noted]
    evidence.append(ev(f"no events in {len(quiet)} cgroups", paths=quiet))
    seen = {c.cgroup.path for c in counted}
    uncounted = [g.path for g in groups if g.path not in seen]
    if uncounted:
        why = "no memory.events or memory.oom_control (the v2 root has none)"
        evidence.append(ev(f"not counted, {why}: {', '.join(uncounted)}", paths=uncounted))
    if problems:
        evidence.append(ev("cannot read: " + "; ".join(problems), problems=problems))
    if any(c.cgroup.version == "v1" and c.oom_kill is None for c in counted):
        evidence.append(
            ev(
                "memory.oom_control has no oom_kill before kernel 4.13: only "
                "limit hits (failcnt) and under_oom can be seen"
            )
        )
    if kills:
        total = sum(c.oom_kill or 0 for c in kills)
        text = "; ".join(_line(c, True) for c in kills[:5])
        more = f"; and {len(kills) - 5} more cgroups" if len(kills) > 5 else ""
        return Outcome.failed(f"OOM kills in cgroups: {text}{more}", total, 0, evidence)
    if hits:
        total = sum((c.max or 0) + (c.failcnt or 0) for c in hits)
        text = "; ".join(_line(c, False) for c in hits[:5])
        more = f"; and {len(hits) - 5} more cgroups" if len(hits) > 5 else ""
        message = f"no OOM kill, but the hard limit was hit: {text}{more}"
        return Outcome.failed(message, total, 0, evidence, severity="medium")
    if problems:
        return Outcome.errored("cannot read " + "; ".join(problems), evidence)
    return Outcome.passed(
        f"no OOM kill and no hard-limit hit in {len(counted)} cgroups", 0, 0, evidence
    )
