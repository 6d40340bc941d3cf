"""junit.xml: one <testsuite> per host, one <testcase> per check, for CI servers.

Written with junit-xml, then adjusted so that it validates against both the Jenkins xUnit
schema (junit-10.xsd) and the Ant schema (junit-ant.xsd): junit-xml adds attributes neither
allows (`disabled`, `type` on <skipped>, totals on <testsuites>), leaves out ones Ant requires
(`time` when zero, `id`, `package`, <system-out>, <system-err>) and writes times with six
decimals where Surefire allows three. Text from hosts passes through `safe_text` first, so
characters XML cannot hold become visible escapes instead of being dropped by junit-xml.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from junit_xml import TestCase, TestSuite, to_xml_report_string

from memcheck.changes import host_counts
from memcheck.report.guard import render_guarded
from memcheck.report.json_report import PathLike, parse_instant, write_atomically
from memcheck.report.partial import host_partial_text
from memcheck.report.profiles import (
    describe_conflict,
    detected_evidence,
    detected_line,
    detected_notes,
    host_conflicts,
    host_profiles,
)
from memcheck.report.safe_text import one_line, show_value, visible
from memcheck.results import CheckResult, HostResult, RunResult


def suite_name(run: RunResult, host: HostResult | None = None) -> str:
    """`memcheck.<profile>+<profile>`: the profiles applied to the host (with `auto`, its own)."""
    names = host_profiles(run, host) if host is not None else list(run.profiles)
    profiles = "+".join(one_line(p) for p in names)
    return f"memcheck.{profiles}" if profiles else "memcheck"


def ant_timestamp(*stamps: str | None) -> str:
    """The first parseable stamp as UTC `YYYY-MM-DDTHH:MM:SS` (the Ant schema allows no zone)."""
    for stamp in stamps:
        moment = parse_instant(stamp) if isinstance(stamp, str) and stamp else None
        if moment is not None:
            return _xsd_time(moment)
    return _xsd_time(datetime.now(timezone.utc))


def _xsd_time(moment: datetime) -> str:
    # By hand: strftime writes year 1 as "1", which no schema's dateTime accepts.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def seconds(value: object) -> str:
    """A duration as both schemas accept it: plain decimal, at most three decimals."""
    try:
        number = float(value or 0.0)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return "0.000"
    return f"{number:.3f}" if math.isfinite(number) and 0 < number < 1e12 else "0.000"


def failure_message(result: CheckResult) -> str:
    """`observed X, expected Y` (the message when neither is known)."""
    if result.observed is None and result.expected is None:
        return one_line(result.message)
    observed, expected = show_value(result.observed), show_value(result.expected)
    return one_line(f"observed {observed}, expected {expected}")


def waiver_message(result: CheckResult) -> str:
    """`waived: reason (approved by A, expires D)`."""
    waiver: dict[str, Any] = result.waiver or {}
    reason = str(waiver.get("reason") or "no reason given")
    details = []
    if waiver.get("approved_by"):
        details.append(f"approved by {waiver['approved_by']}")
    if waiver.get("expires"):
        details.append(f"expires {waiver['expires']}")
    suffix = f" ({', '.join(details)})" if details else ""
    return one_line(f"waived: {reason}{suffix}")


def evidence_lines(result: CheckResult) -> list[str]:
    """Each piece of evidence as `source:line: text  key=value ...`."""
    lines = []
    for item in result.evidence:
        where = str(item.get("source") or "")
        if where and item.get("line") is not None:
            where = f"{where}:{item['line']}"
        extra = [
            f"{k}={show_value(v)}" for k, v in item.items() if k not in ("text", "source", "line")
        ]
        text = str(item.get("text", ""))
        line = f"{where}: {text}" if where else text
        if extra:
            line += "  [" + ", ".join(extra) + "]"
        lines.append(line)
    return lines


def _section(title: str, lines: list[str]) -> list[str]:
    return [f"{title}:", *(f"  {line}" for line in lines), ""] if lines else []


def failure_body(result: CheckResult) -> str:
    """What a CI reader needs: message, rationale, evidence, the fix and references."""
    parts = [
        result.message,
        f"observed: {show_value(result.observed)}",
        f"expected: {show_value(result.expected)}",
        f"severity: {result.severity}",
    ]
    if result.change:
        parts.append(f"since the baseline: {result.change}")
    parts.append("")
    if result.rationale:
        parts += ["Why it matters:", f"  {result.rationale}", ""]
    parts += _section("Evidence", evidence_lines(result))
    if result.remediation:
        parts += ["How to fix:", *(f"  {r}" for r in result.remediation.splitlines()), ""]
    parts += _section("References", list(result.references))
    return visible("\n".join(parts).rstrip() + "\n")


def detail_body(result: CheckResult) -> str:
    """Reason plus evidence, for errors and skips."""
    parts = [result.message, "", *_section("Evidence", evidence_lines(result))]
    return visible("\n".join(parts).rstrip() + "\n")


def host_labels(hosts: list[HostResult]) -> list[str]:
    """A distinct label per host for test names (CI servers merge tests with equal names)."""
    labels: list[str] = []
    for host in hosts:
        label = one_line(host.name).strip() or one_line(host.source).strip() or "localhost"
        if label in labels:
            label = f"{label} ({one_line(host.source)})"
        base, n = label, 2
        while label in labels:
            label, n = f"{base} #{n}", n + 1
        labels.append(label)
    return labels


def _change_properties(run: RunResult, host: HostResult) -> dict[str, str]:
    """`changes.*`: counts against the --baseline run for this host, and the baseline itself."""
    if run.changes is None:
        return {}
    props = {f"changes.{key}": str(n) for key, n in host_counts(run, host).items()}
    baseline = run.changes.get("baseline") or {}
    props["changes.baseline_started_at"] = str(baseline.get("started_at") or "")
    if baseline.get("path"):
        props["changes.baseline"] = str(baseline["path"])
    return props


def _properties(run: RunResult, host: HostResult) -> dict[str, str]:
    # What changed leads, for CI that alerts on change rather than on the standing state.
    props = _change_properties(run, host)
    props |= {
        "profiles": ",".join(host_profiles(run, host)),
        "memcheck_version": run.memcheck_version,
        "kernel": host.kernel or "",
        "collected_at": host.collected_at or "",
        "source": host.source,
        "distribution": host.distribution or "",
        "cgroup_mode": host.cgroup_mode or "",
        "in_container": "" if host.in_container is None else str(host.in_container).lower(),
        "fail_on": run.fail_on,
    }
    # Always there, so that CI can alert on it: true when the host's data is partial.
    props["partial"] = "true" if host.partial else "false"
    props["unreadable_files"] = str(host.unreadable_files)
    if host.unreachable:
        props["unreachable"] = host.unreachable
    if host.notes:
        props["notes"] = "; ".join(host.notes)
    if host.detected is not None:
        props["detected"] = detected_line(host)
    conflicts = host_conflicts(run, host)
    if conflicts:
        props["conflicts"] = json.dumps(conflicts, ensure_ascii=False, sort_keys=True)
        props["conflicts_summary"] = "; ".join(describe_conflict(c) for c in conflicts)
    return {k: one_line(v) for k, v in props.items()}


def _case(result: CheckResult, host: HostResult, label: str) -> TestCase:
    case = TestCase(
        name=one_line(f"{result.check}[{label}]"),
        classname=one_line(f"memcheck.{result.area}"),
        elapsed_sec=result.duration_seconds,
    )
    if host.unreachable and result.outcome != "error":
        # A host that was never collected has no verdicts, whatever a result claims.
        reason = one_line(f"host not collected: {host.unreachable}")
        case.add_error_info(message=reason, output=visible(reason), error_type="unreachable")
    elif result.outcome == "fail":
        case.add_failure_info(
            message=failure_message(result),
            output=failure_body(result),
            failure_type=one_line(result.severity),
        )
    elif result.outcome == "error":
        case.add_error_info(
            message=one_line(result.message or "could not be evaluated"),
            output=detail_body(result),
            error_type="unreachable" if host.unreachable else "error",
        )
    elif result.outcome == "skip":
        case.add_skipped_info(
            message=one_line(result.message or "skipped"), output=detail_body(result)
        )
    elif result.outcome == "waived":
        case.add_skipped_info(message=waiver_message(result), output=failure_body(result))
    return case


def _suite(run: RunResult, index: int, host: HostResult, label: str) -> TestSuite:
    cases = [_case(r, host, label) for r in host.results]
    if host.unreachable and not cases:
        case = TestCase(name=f"collect[{label}]", classname="memcheck.collect", elapsed_sec=0.0)
        reason = one_line(f"host not collected: {host.unreachable}")
        case.add_error_info(message=reason, output=visible(reason), error_type="unreachable")
        cases.append(case)
    name = suite_name(run, host)
    return TestSuite(
        name=name,
        test_cases=cases,
        hostname=one_line(host.name).strip() or label,
        id=str(index),
        package=name,
        timestamp=ant_timestamp(host.collected_at, run.started_at),
        properties=_properties(run, host),
    )


def _system_out(run: RunResult, host: HostResult) -> str:
    lines = []
    partial = host_partial_text(host)
    if partial:
        lines.append(partial)
    if host.unreachable:
        lines.append(f"host not collected: {host.unreachable}")
    lines += [f"note: {note}" for note in host.notes]
    if host.detected is not None:
        lines.append(f"profiles applied: {' + '.join(host_profiles(run, host))}")
        lines.append(f"detected: {detected_line(host)}")
        lines += [f"  note: {note}" for note in detected_notes(host)]
        lines += [f"  {line}" for line in detected_evidence(host)]
    conflicts = host_conflicts(run, host)
    if conflicts:
        lines.append("profiles disagree (the later wins; a host cannot satisfy both):")
        lines += [f"  {describe_conflict(c)}" for c in conflicts]
    lines += [f"could not read {p}: {why}" for p, why in sorted(host.collection_errors.items())]
    return visible("\n".join(lines) + "\n") if lines else ""


def build_junit(run: RunResult) -> bytes:
    """The bytes of junit.xml for `run`; a host whose values it cannot be made from is
    written without their details (memcheck.report.guard)."""
    return render_guarded(run, _build_junit, "junit.xml")


def _build_junit(run: RunResult) -> bytes:
    labels = host_labels(run.hosts)
    suites = [_suite(run, i, h, labels[i]) for i, h in enumerate(run.hosts)]
    root = ET.fromstring(to_xml_report_string(suites, prettyprint=False))
    # The Ant schema allows no attributes on <testsuites>; readers total the suites themselves.
    root.attrib.clear()
    for index, (suite_el, host) in enumerate(zip(root.findall("testsuite"), run.hosts)):
        suite_el.attrib.pop("disabled", None)
        durations = [r.duration_seconds for r in host.results] or [0.0]
        suite_el.set("time", seconds(sum(float(seconds(d)) for d in durations)))
        suite_el.set("id", str(index))
        if suite_el.find("properties") is None:
            suite_el.insert(0, ET.Element("properties"))
        for case_el, duration in zip(suite_el.findall("testcase"), durations):
            case_el.set("time", seconds(duration))
            for skipped in case_el.findall("skipped"):
                skipped.attrib.pop("type", None)
        ET.SubElement(suite_el, "system-out").text = _system_out(run, host)
        ET.SubElement(suite_el, "system-err").text = ""
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def write_junit(run: RunResult, path: PathLike) -> Path:
    """Write `run` as junit.xml at `path` and return the path."""
    return write_atomically(path, build_junit(run))
