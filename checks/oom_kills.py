"""No process killed by the OOM killer in the last `window_hours`; each kill reported in full."""

from __future__ import annotations

from datetime import datetime, timedelta

from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
from memcheck.facts.container import (
    CONTAINER_EVENT_READS,
    CONTAINER_READS,
    NAMESPACE_ROOT_READS,
    container_basis,
    container_oom_kills,
    seen_from_container,
)
from memcheck.facts.kernel_log import TIMEZONE_READS
from memcheck.model import (
    JSON,
    CheckMeta,
    Outcome,
    Param,
    Params,
    Severity,
    ev,
    param_int,
    param_list,
)
from memcheck.parse.kernel_log import SOURCE, KernelLog, OomKill

META = CheckMeta(
    id="oom_kills",
    title="No process was killed by the OOM killer recently",
    area="oom",
    severity="high",
    rationale=(
        "An OOM kill means the host, or a memory cgroup, ran out of memory with nothing left "
        "to reclaim, and the kernel ended a process to survive. The victim is chosen by size "
        "and oom_score_adj, not by importance: a database, an agent or sshd can go, and what "
        "survives may be left inconsistent. Each kill is a capacity or limit problem to fix."
    ),
    remediation=(
        "Read the evidence: victim, the task that triggered the kill, and the memory cgroup "
        "whose limit was hit. Then raise that limit (systemctl set-property <unit> "
        "MemoryMax=<size>, which persists as a drop-in under /etc/systemd/system.control; or the "
        "container's memory limit in its manifest), or cut the workload's memory use, or add "
        "RAM. Protect critical daemons with OOMScoreAdjust=-900 in a unit drop-in "
        "(/etc/systemd/system/<unit>.d/oom.conf) followed by systemctl daemon-reload and a "
        "restart of the unit."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#oom-dump-tasks",
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#oom-kill-allocating-task",
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#panic-on-oom",
        "https://docs.kernel.org/admin-guide/cgroup-v2.html#memory-interface-files",
        "https://docs.kernel.org/admin-guide/sysctl/kernel.html#dmesg-restrict",
        "https://man7.org/linux/man-pages/man5/proc_pid_oom_score_adj.5.html",
    ),
    # Inside a container the kernel log is out of reach and /proc/vmstat counts the whole
    # host: its own memory cgroup's counter is the container's (the cgroup files of other
    # layouts come with cgroup_oom_events and memory_available, in every built-in profile).
    reads=(
        SOURCE,
        "/proc/vmstat",
        "/proc/uptime",
        *TIMEZONE_READS,
        *CONTAINER_READS,
        *NAMESPACE_ROOT_READS,
        *CONTAINER_EVENT_READS,
    ),
    params={
        "window_hours": Param(24, "how far back a kill counts, in hours", low=1, high=87_660),
        "protected_services": Param(
            ["sshd", "systemd", "systemd-journal", "kubelet", "containerd", "dockerd"],
            "process names whose kill is critical (a kernel comm holds at most 15 characters)",
            kind="list[str]",
        ),
    },
)

MAX_EVIDENCE = 200
FIX = (
    "run memcheck as root (--sudo for remote hosts), or let unprivileged users read the kernel "
    "log with sysctl kernel.dmesg_restrict=0"
)
FIX_INSIDE = (
    "the kernel log is the host's, and a container reads it only with CAP_SYSLOG: audit the "
    "host itself for each kill's time and victim"
)


def judge(facts: Facts, params: Params) -> Outcome:
    hours = param_int(params, "window_hours")
    try:
        log = facts.kernel_log
    except Unavailable as exc:
        why = f"the kernel log could not be read ({exc.reason})"
        if container_basis(facts) is not None:
            return _inside_container(facts, hours, why)
        return _from_counter(facts, hours, why)
    return seen_from_container(
        _from_log(facts, log, hours, param_list(params, "protected_services")),
        facts,
        "the host's kernel log",
        "kills anywhere on the host count, not only this container's",
    )


def _from_log(facts: Facts, log: KernelLog, hours: int, protected: list[str]) -> Outcome:
    kills = facts.oom_kills
    start = log.collected_at - timedelta(hours=hours) if log.collected_at else None

    def recent(kill: OomKill) -> bool:  # a kill that cannot be placed counts as recent
        return kill.time is None or start is None or kill.time >= start

    evidence = [_evidence(k, recent(k)) for k in kills[-MAX_EVIDENCE:]]
    found = [k for k in kills if recent(k)]
    note = " (times read as UTC: host time zone unknown)" if log.local_time_assumed_utc else ""
    if found:
        names = ", ".join(f"{k.name} (pid {k.pid})" for k in found[:10])
        more = f" and {len(found) - 10} more" if len(found) > 10 else ""
        message = f"{len(found)} OOM kill(s) in the last {hours} h: {names}{more}{note}"
        unplaced = sum(1 for k in found if k.time is None or start is None)
        if unplaced:
            message += f"; {unplaced} could not be placed in time and are counted as recent"
        critical = [k for k in found if _is_protected(k, protected) or (k.oom_score_adj or 0) < 0]
        if critical:
            message += "; protected process killed: " + ", ".join(k.name for k in critical[:10])
        severity: Severity | None = "critical" if critical else None
        return Outcome.failed(message, len(found), 0, evidence, severity=severity)
    older = f"; {len(kills)} older kill(s) in the log" if kills else ""
    gap = _missing_from_log(facts, log, kills, start)
    if gap:
        return Outcome.errored(gap + older, evidence)
    message = f"no OOM kill in the last {hours} h{older}{note}"
    if log.earliest_time is None:
        message += "; the kernel log holds no dated kernel message"
    elif start is not None and log.earliest_time > start:
        message += f"; the kernel log reaches back only to {log.earliest_time.isoformat()}"
    return Outcome.passed(message, 0, 0, evidence)


def _is_protected(kill: OomKill, protected: list[str]) -> bool:
    return any(kill.name in (name, name[:15]) for name in protected)


def _evidence(kill: OomKill, in_window: bool) -> dict[str, JSON]:
    return ev(
        kill.raw, source=SOURCE, line=kill.line, pid=kill.pid, name=kill.name,
        time=kill.time.isoformat() if kill.time else None, in_window=in_window,
        anon_rss_bytes=kill.anon_rss_bytes, total_vm_bytes=kill.total_vm_bytes,
        oom_score_adj=kill.oom_score_adj, uid=kill.uid, trigger=kill.trigger_name,
        trigger_pid=kill.trigger_pid, constraint=kill.constraint, memcg=kill.memcg,
        task_memcg=kill.task_memcg, selected_pid=kill.selected_pid,
    )  # fmt: skip


def _missing_from_log(
    facts: Facts, log: KernelLog, kills: tuple[OomKill, ...], start: datetime | None
) -> str | None:
    """Why the log cannot clear the window, when /proc/vmstat counts kills the log lacks."""
    try:
        counter, boot = facts.vmstat.get("oom_kill"), log.boot_time
    except (Unavailable, ParseError):
        return None
    if counter is None or boot is None or start is None:
        return None
    this_boot = sum(1 for k in kills if k.time is None or k.time >= boot - timedelta(minutes=1))
    earliest = log.earliest_time
    if counter <= this_boot or (earliest is not None and earliest <= max(start, boot)):
        return None
    reach = f"reaches back only to {earliest.isoformat()}" if earliest else "holds no dated line"
    return (
        f"/proc/vmstat counts {counter} OOM kill(s) since boot but the kernel log, which {reach}, "
        f"holds {this_boot}: the others scrolled out and may fall within the window (keep "
        f"kernel messages longer: persistent journald storage, or a larger log_buf_len=)"
    )


def _from_counter(facts: Facts, hours: int, why: str, scope: str = "", fix: str = FIX) -> Outcome:
    """Without the log, `oom_kill` in /proc/vmstat (Linux 4.13+) counts kills since boot.
    `scope` says, inside a container, that the counter is the whole host's."""
    try:
        counter = facts.vmstat.get("oom_kill")
    except (Unavailable, ParseError) as exc:
        return Outcome.errored(f"{why}, and /proc/vmstat neither: {exc}; {fix}")
    if counter is None:
        return Outcome.errored(
            f"{why}, and /proc/vmstat has no oom_kill counter (Linux 4.13+): cannot tell "
            f"whether the OOM killer ran; {fix}"
        )
    evidence = [_host_counter(counter, scope)]
    if counter == 0:
        return Outcome.passed(
            f"no OOM kill since boot per /proc/vmstat oom_kill{scope} (fallback: {why})",
            0, 0, evidence,
        )  # fmt: skip
    try:
        uptime = facts.uptime.seconds
    except (Unavailable, ParseError) as exc:
        return Outcome.errored(
            f"{why}; /proc/vmstat counts {counter} OOM kill(s){scope} but {exc}", evidence
        )
    evidence.append(ev(f"up {uptime:.0f} s", source="/proc/uptime", uptime_seconds=uptime))
    if uptime <= hours * 3600:
        return Outcome.failed(
            f"{counter} OOM kill(s) since boot {uptime / 3600:.1f} h ago, inside the {hours} h "
            f"window, per /proc/vmstat oom_kill{scope} (fallback: {why}; no details)",
            counter, 0, evidence,
        )  # fmt: skip
    return Outcome.errored(
        f"/proc/vmstat counts {counter} OOM kill(s){scope} since boot {uptime / 86400:.1f} days "
        f"ago, but {why}: cannot tell whether any fell in the last {hours} h; {fix}",
        evidence,
    )


def _host_counter(counter: int, scope: str) -> dict[str, JSON]:
    return ev(
        f"oom_kill {counter}{scope}", source="/proc/vmstat", oom_kill=counter, host_wide=bool(scope)
    )


HOST_WIDE = ", which counts kills anywhere on the host"


def _inside_container(facts: Facts, hours: int, why: str) -> Outcome:
    """Inside a container /proc/vmstat counts the whole host's kills: the container's own
    memory cgroup counts its own. A host-wide 0 clears the container without it."""
    try:
        host: int | None = facts.vmstat.get("oom_kill")
    except (Unavailable, ParseError):
        host = None
    if host == 0:
        return _from_counter(facts, hours, why, HOST_WIDE + ", so none in this container")
    own = container_oom_kills(facts)
    if own.count is None:
        scope = f"{HOST_WIDE}, not only this container's (its own count is unknown: {own.problem})"
        return _from_counter(facts, hours, why, scope, FIX_INSIDE)
    counted = f"its own memory cgroup counts {own.count} ({own.source} oom_kill)"
    evidence = [
        ev(
            f"oom_kill {own.count}: OOM kills in this container's memory cgroup since it was "
            "created",
            source=own.source,
            oom_kill=own.count,
            cgroup=own.cgroup,
            in_container=True,
        )
    ]
    if host is not None:
        evidence.append(_host_counter(host, HOST_WIDE))
    elsewhere = f"; the host counts {host} (/proc/vmstat)" if host is not None else ""
    if own.count == 0:
        return Outcome.passed(
            f"no OOM kill in this container: {counted}{elsewhere} (fallback: {why})",
            0, 0, evidence,
        )  # fmt: skip
    try:
        uptime = facts.uptime.seconds
    except (Unavailable, ParseError) as exc:
        return Outcome.errored(f"{why}; in this container {counted}, but {exc}", evidence)
    evidence.append(ev(f"host up {uptime:.0f} s", source="/proc/uptime", uptime_seconds=uptime))
    if uptime <= hours * 3600:
        return Outcome.failed(
            f"{own.count} OOM kill(s) in this container since the host booted "
            f"{uptime / 3600:.1f} h ago, inside the {hours} h window: {counted}{elsewhere} "
            f"(fallback: {why}; no details)",
            own.count, 0, evidence,
        )  # fmt: skip
    return Outcome.errored(
        f"in this container {counted} since it was created, and the host has been up "
        f"{uptime / 86400:.1f} days; {why}: cannot tell whether any fell in the last {hours} h; "
        f"{FIX_INSIDE}",
        evidence,
    )
