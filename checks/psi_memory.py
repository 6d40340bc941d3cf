"""Memory pressure stall (PSI) stays low, system-wide and in every cgroup."""

from __future__ import annotations

from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
from memcheck.facts.container import (
    CONTAINER_READS,
    NAMESPACE_ROOT_READS,
    container_basis,
    container_pressure_path,
    seen_from_container,
)
from memcheck.facts.pressure import PSI_READS, cgroup_name, disabled_by_read
from memcheck.model import JSON, CheckMeta, Outcome, Param, Params, Severity, ev, param_float
from memcheck.parse.psi import Pressure, parse_pressure

META = CheckMeta(
    id="psi_memory",
    title="Memory pressure stall time is low",
    area="pressure",
    severity="medium",
    rationale=(
        "Pressure stall information measures the share of wall time tasks spent waiting for "
        "memory: reclaim, swap-in, refaulting evicted cache. 'some' means at least one task "
        "was stalled, 'full' that every runnable task was, so the CPU did no useful work. "
        "Unlike free memory, it shows the cost of a shortage while it builds, before the OOM "
        "killer; systemd-oomd and Kubernetes node-pressure eviction act on the same figures. "
        "A cgroup can thrash against its own limit while the host looks idle, so each "
        "cgroup's memory.pressure is judged too."
    ),
    remediation=(
        "Find who stalls: cat /proc/pressure/memory and the memory.pressure of the cgroups "
        "named, then free memory or add it: lower the workload's footprint, raise the "
        "cgroup's memory.max (systemctl set-property UNIT MemoryMax=..., persisted in a unit "
        "drop-in), or add RAM. To watch it, run systemd-oomd or poll the file with a trigger "
        "(see the kernel's PSI documentation)."
    ),
    references=(
        "https://docs.kernel.org/accounting/psi.html",
        "https://docs.kernel.org/admin-guide/cgroup-v2.html#memory-interface-files",
        "https://www.freedesktop.org/software/systemd/man/latest/oomd.conf.html",
        "https://facebookmicrosites.github.io/psi/docs/overview",
    ),
    # Inside a container /proc/pressure/memory is the host's; its own cgroup's is its own.
    reads=(*PSI_READS, *CONTAINER_READS, *NAMESPACE_ROOT_READS),
    params={
        "some_max": Param(
            10.0, "highest 'some' avg10 in percent (medium above)", "float", low=0.0, high=100.0
        ),
        "full_max": Param(
            1.0, "highest 'full' avg10 in percent (high above)", "float", low=0.0, high=100.0
        ),
    },
)
MAX_CGROUPS = 10


def _grade(pressure: Pressure, some_max: float, full_max: float) -> list[tuple[Severity, str]]:
    found: list[tuple[Severity, str]] = []
    full = pressure.full.avg10 if pressure.full else None
    if full is not None and full > full_max:
        found.append(("high", f"full avg10 {full:.2f}% > {full_max:g}%"))
    if pressure.some.avg10 is not None and pressure.some.avg10 > some_max:
        found.append(("medium", f"some avg10 {pressure.some.avg10:.2f}% > {some_max:g}%"))
    return found


def _worst_first(
    pressure: Pressure | None, graded: list[tuple[Severity, str]]
) -> tuple[int, float, float]:
    full = pressure.full.avg10 if pressure and pressure.full else None
    some = pressure.some.avg10 if pressure else None
    high = any(sev == "high" for sev, _ in graded)
    return (0 if high else 1, -(full or 0.0), -(some or 0.0))


def _item(text: str, pressure: Pressure, fields: dict[str, JSON]) -> dict[str, JSON]:
    """Evidence for one pressure file: the avg10/60/300 figures of both lines."""
    item = ev(text, source=pressure.source)
    item.update(fields)
    for line in (pressure.some, pressure.full):
        if line is not None:
            item.update({f"{line.kind}_avg10": line.avg10, f"{line.kind}_avg60": line.avg60})
            item.update(
                {f"{line.kind}_avg300": line.avg300, f"{line.kind}_total_us": line.total_us}
            )
    return item


def judge(facts: Facts, params: Params) -> Outcome:
    some_max, full_max = param_float(params, "some_max"), param_float(params, "full_max")
    pressure = facts.memory_pressure
    if pressure is None:
        return Outcome.skipped(facts.psi_absent_reason)
    expected = f"some avg10 <= {some_max:g}%, full avg10 <= {full_max:g}%"
    own = _container_pressure(facts) if container_basis(facts) is not None else None
    if isinstance(own, Outcome):
        return own
    if own is None:
        outcome = _judge(facts, pressure, "system", None, some_max, full_max, expected)
        return seen_from_container(
            outcome, facts, "host-wide pressure", "its own cgroup's memory.pressure is not seen"
        )
    # The container's cgroup counts its own tasks' stalls, whatever caused them (its limit or
    # the host's shortage): that judges; the host's figures are shown, not judged.
    path, figures = own
    outcome = _judge(facts, figures, "container", cgroup_name(path), some_max, full_max, expected)
    host = _item(f"host-wide: {_figures(pressure)} (avg10), not judged", pressure, {})
    host["host_wide"] = True
    return outcome.replace(evidence=[*outcome.evidence, host])


def _container_pressure(facts: Facts) -> tuple[str, Pressure] | Outcome | None:
    """The container's own cgroup's pressure, an error when it could not be read, or None
    when there is none (cgroup v1, PSI off for the cgroup, or no such cgroup seen)."""
    path = container_pressure_path(facts)
    if path is None:
        return None
    try:
        return path, parse_pressure(facts.text(path), path)
    except Unavailable as exc:
        if exc.missing or disabled_by_read(exc.reason):
            return None
        return Outcome.errored(f"inside a container, cannot read its own cgroup's {exc}")
    except ParseError as exc:
        return Outcome.errored(f"inside a container: {exc}")


def _figures(pressure: Pressure) -> str:
    full = pressure.full.avg10 if pressure.full else None
    return f"some {pressure.some.avg10:.2f}%" + (f", full {full:.2f}%" if full is not None else "")


def _judge(
    facts: Facts,
    pressure: Pressure,
    scope: str,
    below: str | None,
    some_max: float,
    full_max: float,
    expected: str,
) -> Outcome:
    """`scope` names what `pressure` is (system, or the container's cgroup `below`)."""
    observed = _figures(pressure)
    where = f" (cgroup {below}, {pressure.source})" if scope == "container" else ""
    evidence = [_item(f"{scope}{where}: {observed} (avg10)", pressure, {})]
    findings = [(sev, f"{scope} {text}") for sev, text in _grade(pressure, some_max, full_max)]
    cgroups = [e for e in facts.cgroup_memory_pressures if _under(e.cgroup, below)]
    hot = []
    for entry in cgroups:
        if entry.pressure is not None:
            graded = _grade(entry.pressure, some_max, full_max)
            if graded:
                hot.append((entry, graded))
    hot.sort(key=lambda h: (*_worst_first(h[0].pressure, h[1]), h[0].cgroup))
    for entry, graded in hot[:MAX_CGROUPS]:
        assert entry.pressure is not None
        text = f"cgroup {entry.cgroup}: " + ", ".join(t for _, t in graded)
        evidence.append(_item(text, entry.pressure, {"cgroup": entry.cgroup}))
    findings += [(sev, f"cgroup {e.cgroup} {text}") for e, graded in hot for sev, text in graded]
    problems = [e for e in cgroups if e.problem]
    if problems:
        first = problems[0]
        evidence.append(
            ev(
                f"{len(problems)} cgroup pressure file(s) not read, e.g. {first.path}: "
                f"{first.problem}"
            )
        )
    evidence.append(ev(f"{len(cgroups) - len(problems)} cgroup memory.pressure file(s) read"))
    # A cgroup not read may be the one under pressure; one whose file says PSI is off for it
    # ("Operation not supported", cgroup.pressure=0) has no figures to judge.
    unread = [e for e in problems if not disabled_by_read(e.problem or "")]
    label = "system memory pressure" if scope == "system" else "the container's memory pressure"
    if not findings and unread:
        listed = "; ".join(f"{e.path}: {e.problem}" for e in unread[:3])
        more = f" and {len(unread) - 3} more" if len(unread) > 3 else ""
        return Outcome.errored(
            f"{label} {observed} (avg10), but cannot read {listed}{more}", evidence
        )
    if not findings:
        said = "memory pressure" if scope == "system" else label
        return Outcome.passed(f"{said} {observed} (avg10){where}", observed, expected, evidence)
    severity: Severity = "high" if any(s == "high" for s, _ in findings) else "medium"
    names = "; ".join(text for _, text in findings[:3])
    more = f" and {len(findings) - 3} more" if len(findings) > 3 else ""
    return Outcome.failed(f"{names}{more}", observed, expected, evidence, severity=severity)


def _under(cgroup: str, below: str | None) -> bool:
    """Whether a cgroup is judged beside the main figures: all of them on a host, those
    strictly below the container's own cgroup inside one (its own is the main figure)."""
    if below is None or below == "/":
        return True
    return cgroup.startswith(below.rstrip("/") + "/")
