"""Nothing drops the page cache on a schedule."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from memcheck.engine import SUDO_HINT
from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
from memcheck.facts.base import is_denied
from memcheck.facts.kernel_log import TIMEZONE_READS
from memcheck.facts.schedules import SCHEDULE_READS
from memcheck.facts.systemd import UNIT_READS
from memcheck.model import JSON, CheckMeta, Outcome, Param, Params, ev, param_int
from memcheck.parse.kernel_log import SOURCE, DropCachesEvent

DROP_CACHES = "/proc/sys/vm/drop_caches"
MAX_EVIDENCE = 50
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
    reads=(*SCHEDULE_READS, *UNIT_READS, SOURCE, "/proc/uptime", *TIMEZONE_READS),
    params={
        "max_drops": Param(
            1,
            "most drop_caches writes the kernel log may show in the window",
            low=0,
            high=1_000_000,
        ),
        "window_hours": Param(
            24, "how far back the kernel log is counted, in hours", low=1, high=87_660
        ),
    },
)


def _schedule_findings(facts: Facts) -> tuple[list[str], list[dict[str, JSON]]]:
    failures, evidence = [], []
    for w in facts.scheduled_writes((DROP_CACHES,)):
        s = w.schedule
        text = f"{s.kind} {s.schedule}{f' via {w.script}' if w.script else ''}: {w.write.text}"
        if not s.active:
            evidence.append(ev(f"not active ({s.note}): {text}", source=w.source, line=w.line))
            continue
        failures.append(f"{w.source}:{w.line}" if w.line else w.source)
        evidence.append(ev(text, source=w.source, line=w.line, user=s.user, kind=s.kind))
    return failures, evidence


def _log_findings(facts: Facts, hours: int) -> tuple[list[DropCachesEvent] | None, str]:
    """Logged drops inside the window (None when the log is unreadable), and a note."""
    try:
        log, events = facts.kernel_log, facts.drop_caches_events
    except Unavailable as exc:
        hint = f"; {SUDO_HINT}" if exc.denied else ""
        return (
            None,
            f"cannot read the kernel log ({exc.reason}), so drops made by hand are unknown{hint}",
        )
    except ParseError as exc:
        return (
            None,
            f"cannot parse the kernel log ({exc.problem}), so drops made by hand are unknown",
        )
    start = log.collected_at - timedelta(hours=hours) if log.collected_at else None
    # A write that cannot be placed in time counts as recent, as oom_kills does.
    recent = [e for e in events if e.time is None or start is None or e.time >= start]
    return recent, f"{len(recent)} drop_caches write(s) logged in the last {hours} h"


def judge(facts: Facts, params: Params) -> Outcome:
    max_drops, hours = param_int(params, "max_drops"), param_int(params, "window_hours")
    failures, evidence = _schedule_findings(facts)
    recent, log_note = _log_findings(facts, hours)
    for e in (recent or [])[-MAX_EVIDENCE:]:
        text = f"{e.comm} ({e.pid}): drop_caches: {e.value}"
        when = e.time.isoformat() if e.time else None
        evidence.append(ev(text, source=SOURCE, line=e.line, comm=e.comm, pid=e.pid, time=when))
    problems = facts.schedule_problems
    evidence += [ev(f"cannot use {path}: {why}", source=path) for path, why in problems.items()]
    messages = [f"scheduled writes to drop_caches: {', '.join(failures)}"] if failures else []
    if recent is not None and len(recent) > max_drops:
        who = Counter(f"{e.comm} (pid {e.pid})" for e in recent)
        listed = ", ".join(f"{name} x{count}" for name, count in who.most_common(10))
        messages.append(f"{log_note}, more than {max_drops}: {listed}")
    logged = f"{len(recent)} logged in {hours} h" if recent is not None else "log unreadable"
    observed = f"{len(failures)} scheduled, {logged}"
    expected = f"no schedule; at most {max_drops} logged write(s) in {hours} h"
    if messages:
        return Outcome.failed("; ".join(messages), observed, expected, evidence)
    if problems:
        unusable = ", ".join(f"{p} ({r})" for p, r in problems.items())
        denied = any(is_denied(r) for r in problems.values())
        return Outcome.errored(
            f"no scheduled drop_caches write found, but these could not be read or parsed: "
            f"{unusable}{f' ({SUDO_HINT})' if denied else ''}; {log_note}",
            evidence,
        )
    if recent is None:
        return Outcome.errored(f"no scheduled drop_caches write found, but {log_note}", evidence)
    return Outcome.passed(
        f"no cron job, cron script or timer writes to drop_caches ({len(facts.schedules)} "
        f"schedules read); {log_note}",
        observed,
        expected,
        evidence,
    )
