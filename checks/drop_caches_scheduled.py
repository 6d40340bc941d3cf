"""Nothing drops the page cache on a schedule."""

from __future__ import annotations

from memcheck.facts import Facts
from memcheck.facts.schedules import SCHEDULE_READS
from memcheck.facts.systemd import UNIT_READS
from memcheck.model import JSON, CheckMeta, Outcome, Param, Params, ev

DROP_CACHES = "/proc/sys/vm/drop_caches"
META = CheckMeta(
    id="drop_caches_scheduled",
    title="No scheduled job drops the page cache",
    area="pagecache",
    severity="medium",
    rationale=(
        "Writing to /proc/sys/vm/drop_caches throws away clean page cache and slab objects. "
        "The kernel documents it as a testing and debugging aid: the cache is rebuilt from "
        "disk at once, so a periodic drop trades free-memory numbers for I/O storms and "
        "latency spikes, and hides the real cause of memory pressure. The kernel logs each "
        "write, so repeated drops by hand show up too."
    ),
    remediation=(
        "Remove the cron line, cron script or timer that writes to drop_caches (systemctl "
        "disable --now <name>.timer for a timer) and find out what the drop was meant to fix; "
        "MemAvailable, not MemFree, is the memory that is really available."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#drop-caches",
        "https://man7.org/linux/man-pages/man5/crontab.5.html",
        "https://man7.org/linux/man-pages/man5/systemd.timer.5.html",
    ),
    reads=(*SCHEDULE_READS, *UNIT_READS),
    params={
        "max_drops": Param(1, "most drop_caches writes the kernel log may show in the window"),
        "window_hours": Param(24, "how far back the kernel log is counted, in hours"),
    },
)


def judge(facts: Facts, params: Params) -> Outcome:
    writes = facts.scheduled_writes((DROP_CACHES,))
    evidence: list[dict[str, JSON]] = []
    failures = []
    for w in writes:
        s = w.schedule
        via = f" via {w.script}" if w.script else ""
        text = f"{s.kind} {s.schedule}{via}: {w.write.text}"
        if not s.active:
            evidence.append(ev(f"not active ({s.note}): {text}", source=w.source, line=w.line))
            continue
        where = f"{w.source}:{w.line}" if w.line else w.source
        failures.append(where)
        evidence.append(ev(text, source=w.source, line=w.line, user=s.user, kind=s.kind))
    problems = facts.schedule_problems
    evidence += [
        ev(f"cannot use {path}: {reason}", source=path) for path, reason in problems.items()
    ]
    if failures:
        return Outcome.failed(
            f"scheduled writes to drop_caches: {', '.join(failures)}", len(failures), 0, evidence
        )
    if problems:
        return Outcome.errored(
            "no scheduled drop_caches write found, but these could not be read or parsed: "
            + ", ".join(f"{p} ({r})" for p, r in problems.items()),
            evidence,
        )
    return Outcome.passed(
        f"no cron job, cron script or timer writes to drop_caches ({len(facts.schedules)} "
        "schedules read)",
        0,
        0,
        evidence,
    )
