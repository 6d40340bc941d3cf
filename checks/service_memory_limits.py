"""Each listed service runs under a memory limit, with memory.high below memory.max on v2."""

from __future__ import annotations

from typing import NamedTuple

from memcheck.engine import SUDO_HINT
from memcheck.facts import Facts
from memcheck.facts.cgroup import CONTROL_READS, Cgroup, setting_origin
from memcheck.facts.services import SERVICE_READS
from memcheck.facts.systemd import UNIT_READS
from memcheck.model import JSON, CheckMeta, Outcome, Param, Params, ev, param_list
from memcheck.parse.cgroup import systemd_limit_is_infinite

META = CheckMeta(
    id="service_memory_limits",
    title="Listed services run with a memory limit",
    area="cgroup",
    severity="medium",
    rationale=(
        "A service without a memory limit can take the whole host down with it: when it "
        "leaks, the global OOM killer picks a victim anywhere, perhaps sshd or the database "
        "next door. A limit (MemoryMax=) confines the damage to the service's own cgroup; on "
        "cgroup v2 a lower MemoryHigh= makes the kernel throttle and reclaim the service "
        "first, so it slows down before anything is killed. The running cgroup is what "
        "counts; the unit's settings say whether it survives a restart."
    ),
    remediation=(
        "systemctl set-property <unit> MemoryHigh=<size> MemoryMax=<size> applies at once "
        "and persists (a drop-in in /etc/systemd/system.control; add --runtime to try it "
        "until the next reboot), or put both under [Service] in a drop-in made with "
        "systemctl edit <unit>. Leave MemoryHigh= some 10-20% below MemoryMax=. Systemd "
        "older than 231 on cgroup v1 knows only MemoryLimit=."
    ),
    references=(
        "https://man7.org/linux/man-pages/man5/systemd.resource-control.5.html",
        "https://man7.org/linux/man-pages/man1/systemctl.1.html",
        "https://docs.kernel.org/admin-guide/cgroup-v2.html#memory-interface-files",
        "https://docs.kernel.org/admin-guide/cgroup-v1/memory.html",
    ),
    reads=(
        *SERVICE_READS,
        *UNIT_READS,
        *CONTROL_READS,
        "/sys/fs/cgroup/**/memory.{max,high,current}",
        "/sys/fs/cgroup/**/memory.{limit_in_bytes,usage_in_bytes}",
        "/proc/mounts",
    ),
    params={
        "services": Param(
            [], "systemd services (unit name, with or without .service) to check", "list[str]"
        ),
    },
)


class Located(NamedTuple):
    unit: str
    group: Cgroup | None
    running: bool
    why: str = ""  # why there is no group
    unlimited: bool = False  # no group because the service has no memory cgroup of its own


def _locate(facts: Facts, name: str) -> Located:
    service = name[: -len(".service")] if name.endswith(".service") else name
    found = facts.service_processes(service)
    unit = found.unit or service + ".service"
    for process in found.main:
        path = facts.memory_cgroup_path(process)
        if path is None:
            continue
        parts = path.split("/")
        if unit not in parts:  # v1 without MemoryAccounting: charged to a parent group
            why = f"runs in memory cgroup {path}, none of its own: no limit"
            return Located(unit, None, True, why, unlimited=True)
        own = "/".join(parts[: parts.index(unit) + 1])
        group = facts.cgroup_by_path(own)
        return Located(unit, group, True, "" if group else f"cgroup {own} was not collected")
    group = facts.unit_cgroups.get(unit)
    if group is None and found.running:
        pid = found.main[0].pid
        why = f"its memory cgroup is unknown (/proc/{pid}/cgroup names none; {unit} not found)"
        return Located(unit, None, True, why)
    return Located(unit, group, found.running or group is not None)


def _settings(facts: Facts, unit: str, limited: bool) -> list[dict[str, JSON]]:
    found = facts.unit_memory_settings(unit)
    out = [ev(f"cannot read the unit: {found.problem}")] if found.problem else []
    for key, a in found.settings.items():
        none = " (no limit)" if systemd_limit_is_infinite(a.value) else ""
        text = f"{unit}: {key}={a.value}{none}, set by {setting_origin(a)}"
        out.append(ev(text, source=a.source, line=a.line, setting=key, value=a.value))
    if not found.settings:
        lost = ": the runtime limit is lost when the service restarts" if limited else ""
        out.append(ev(f"{unit} sets no MemoryMax=, MemoryHigh= or MemoryLimit={lost}"))
    return out


def _verdict(group: Cgroup) -> tuple[str | None, str | None]:
    """(what is wrong, what could not be read) for a service's own cgroup."""
    limit, high = group.limit, group.high
    if limit is None:
        return None, group.problems.get(group.limit_source, "memory limit not collected")
    if limit.unlimited:
        return f"no memory limit ({group.limit_source.rsplit('/', 1)[1]} is {limit.raw})", None
    if group.version == "v2" and limit.limit_bytes is not None:
        if high is None:
            return None, group.problems.get(group.file("memory.high"), "memory.high not collected")
        if high.limit_bytes is None or high.limit_bytes >= limit.limit_bytes:
            return f"memory.high ({high.raw}) is not below memory.max ({limit.raw})", None
    return None, None


def judge(facts: Facts, params: Params) -> Outcome:
    services = param_list(params, "services")
    if not services:
        return Outcome.skipped("no services listed (the services param is empty)")
    hierarchy = facts.memory_hierarchy
    if hierarchy.problem and not facts.cgroups:
        return Outcome.skipped(f"no memory limits are possible here: {hierarchy.problem}")
    evidence: list[dict[str, JSON]] = []
    bad: list[str] = []
    unreadable: list[str] = []
    observed: list[str] = []
    absent: list[str] = []
    for name in services:
        found = _locate(facts, name)
        unit, group = found.unit, found.group
        if not found.running:
            absent.append(name)
            continue
        if group is None:
            (bad if found.unlimited else unreadable).append(f"{name}: {found.why}")
            observed.append(f"{name}: no cgroup")
            evidence += [ev(f"{name} ({unit}): {found.why}"), *_settings(facts, unit, False)]
            continue
        wrong, unknown = _verdict(group)
        raw = group.limit.raw if group.limit else "unread"
        seen = f"limit {raw}" + (f", memory.high {group.high.raw}" if group.high else "")
        observed.append(f"{name}: {seen}")
        text = f"{name} ({unit}) in {group.path}: {seen}"
        evidence.append(
            ev(text, source=group.limit_source, service=name, unit=unit, path=group.path)
        )
        limited = group.limit is not None and not group.limit.unlimited
        evidence += _settings(facts, unit, limited)
        if wrong:
            bad.append(f"{name}: {wrong}")
        elif unknown:
            unreadable.append(f"{name}: {unknown}")
    blind = facts.unidentified_note()
    if not observed:
        if blind or facts.proc_hidden:
            why = blind or f"{facts.proc_hidden}: other users' processes are invisible"
            return Outcome.errored(
                f"cannot tell whether {', '.join(absent)} run: {why}; {SUDO_HINT}", evidence
            )
        return Outcome.skipped(f"not running: {', '.join(absent)}", evidence)
    note = f"; not running: {', '.join(absent)}" if absent else ""
    version = hierarchy.version
    expected = "memory.max set, memory.high below it" if version == "v2" else "a memory limit"
    if bad:
        return Outcome.failed("; ".join(bad) + note, "; ".join(observed), expected, evidence)
    if unreadable:
        return Outcome.errored("cannot tell: " + "; ".join(unreadable) + note, evidence)
    if blind and absent:
        # A service taken for not running may be one of them.
        return Outcome.errored(
            f"cannot tell whether {', '.join(absent)} run: {blind}; {SUDO_HINT}", evidence
        )
    return Outcome.passed("; ".join(observed) + note, "; ".join(observed), expected, evidence)
