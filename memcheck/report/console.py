"""The console summary: what failed and how to fix it first, then errors, then counts.

Host text is shown with every control character escaped (`safe_text.one_line`), so a process
name or file holding terminal escape sequences cannot recolour, move or clear the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from memcheck.model import SEVERITY_RANK
from memcheck.report.guard import render_guarded
from memcheck.report.partial import partial_line
from memcheck.report.profiles import (
    conflict_groups,
    describe_conflict,
    detected_evidence,
    detected_line,
    detected_notes,
    host_profiles,
)
from memcheck.report.safe_text import one_line, show_value
from memcheck.results import CheckResult, HostResult, RunResult

RESET = "\x1b[0m"
STYLES = {
    "critical": "\x1b[1;37;41m",
    "high": "\x1b[1;31m",
    "medium": "\x1b[33m",
    "low": "\x1b[36m",
    "fail": "\x1b[1;31m",
    "error": "\x1b[1;35m",
    "waived": "\x1b[34m",
    "skip": "\x1b[2m",
    "pass": "\x1b[32m",
    "bold": "\x1b[1m",
    "dim": "\x1b[2m",
}
# (outcome, word for one, word for several)
NOUNS = (
    ("fail", "failed", "failed"),
    ("error", "error", "errors"),
    ("waived", "waived", "waived"),
    ("skip", "skipped", "skipped"),
    ("pass", "passed", "passed"),
)
INDENT = "    "
MAX_NAME_WIDTH = 40


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        if not self.color or style not in STYLES:
            return text
        return f"{STYLES[style]}{text}{RESET}"


def _counts_text(counts: Mapping[str, int]) -> str:
    parts = []
    for key, one, many in NOUNS:
        n = counts.get(key, 0)
        parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts)


def _block(label: str, text: str) -> list[str]:
    """`label: first line` with further lines aligned under it, each line escaped."""
    lines = text.splitlines() or [""]
    pad = " " * (len(label) + 2)
    out = [f"{INDENT}{label}: {one_line(lines[0])}"]
    out += [f"{INDENT}{pad}{one_line(line)}" for line in lines[1:]]
    return out


def _evidence(result: CheckResult) -> list[str]:
    out = []
    for item in result.evidence:
        where = str(item.get("source") or "")
        if where and item.get("line") is not None:
            where = f"{where}:{item['line']}"
        text = str(item.get("text", ""))
        out.append(f"{INDENT}  {one_line(where + ': ' + text if where else text)}")
    return out


def _failure(host: HostResult, result: CheckResult, paint: _Painter, verbose: bool) -> list[str]:
    head = " ".join(
        [
            paint("FAIL", "fail"),
            paint(f"[{one_line(result.severity)}]", result.severity),
            paint(one_line(host.name), "bold"),
            one_line(result.check) + ":",
            one_line(result.message),
        ]
    )
    lines = [head]
    if result.change == "new":
        lines[0] += " " + paint("(new)", "bold")
    lines.append(
        f"{INDENT}observed: {one_line(show_value(result.observed))}"
        f"   expected: {one_line(show_value(result.expected))}"
    )
    if result.remediation:
        lines += _block("fix", result.remediation)
    if verbose:
        if result.rationale:
            lines += _block("why", result.rationale)
        if result.evidence:
            lines.append(f"{INDENT}evidence:")
            lines += _evidence(result)
        for ref in result.references:
            lines.append(f"{INDENT}see: {one_line(ref)}")
    return lines


def _waiver_text(waiver: Mapping[str, object] | None) -> str:
    waiver = waiver or {}
    text = str(waiver.get("reason") or "no reason given")
    details = []
    if waiver.get("approved_by"):
        details.append(f"approved by {waiver['approved_by']}")
    if waiver.get("expires"):
        details.append(f"expires {waiver['expires']}")
    return text + (f" ({', '.join(details)})" if details else "")


def _profiles_block(run: RunResult, paint: _Painter, verbose: bool) -> list[str]:
    """What `auto` detected per host, then where the applied profiles disagree."""
    out: list[str] = []
    for host in run.hosts:
        if host.detected is None:
            continue
        profiles = " + ".join(host_profiles(run, host))
        out.append(
            f"{paint('DETECTED', 'bold')} {paint(one_line(host.name), 'bold')}: "
            f"{one_line(detected_line(host))}; profiles {one_line(profiles)}"
        )
        out += [f"{INDENT}note: {one_line(note)}" for note in detected_notes(host)]
        if verbose:
            out += [f"{INDENT}{one_line(line)}" for line in detected_evidence(host)]
    groups = conflict_groups(run)
    for hosts, conflicts in groups:
        names = (
            "every host"
            if len(hosts) == len(run.hosts) and len(hosts) > 1
            else ", ".join(one_line(h.name) for h in hosts)
        )
        profiles = " + ".join(host_profiles(run, hosts[0]))
        out.append(
            f"{paint('CONFLICT', 'medium')} {paint(names, 'bold')}: profiles "
            f"{one_line(profiles)} disagree; the later wins; a host cannot satisfy both:"
        )
        out += [f"{INDENT}{one_line(describe_conflict(c))}" for c in conflicts]
    if out:
        out.append("")
    return out


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _changes_block(run: RunResult, paint: _Painter) -> list[str]:
    """`Changes since <baseline start>`: new failures, fixed ones and new OOM kills first."""
    changes = run.changes
    if changes is None:
        return []
    baseline = changes.get("baseline") or {}
    when = one_line(str(baseline.get("started_at") or "the baseline"))
    where = f" ({one_line(str(baseline['path']))})" if baseline.get("path") else ""
    new, fixed = changes.get("new", []), changes.get("fixed", [])
    still, kills = changes.get("still_failing", []), changes.get("new_oom_kills", [])
    out = [
        paint(f"Changes since {when}{where}: ", "bold")
        + ", ".join(
            [
                _plural(len(new), "new failure", "new failures"),
                f"{len(fixed)} fixed",
                f"{len(still)} still failing",
                _plural(len(kills), "new OOM kill", "new OOM kills"),
            ]
        )
    ]
    ranked = sorted(new, key=lambda f: -SEVERITY_RANK.get(str(f.get("severity")), 0))
    for item in ranked:
        out.append(
            f"{INDENT}{paint('NEW', 'fail')} "
            f"{paint('[' + one_line(str(item.get('severity'))) + ']', str(item.get('severity')))} "
            f"{one_line(str(item.get('host')))} {one_line(str(item.get('check')))}: "
            f"observed {one_line(show_value(item.get('observed')))}, "
            f"expected {one_line(show_value(item.get('expected')))}"
            + (f" (was {one_line(str(item['was']))})" if item.get("was") else "")
        )
    for item in fixed:
        out.append(
            f"{INDENT}{paint('FIXED', 'pass')} {one_line(str(item.get('host')))} "
            f"{one_line(str(item.get('check')))} (now {one_line(str(item.get('outcome')))})"
        )
    for kill in kills:
        at = f" at {one_line(str(kill['time']))}" if kill.get("time") else ""
        out.append(
            f"{INDENT}{paint('NEW OOM KILL', 'fail')} {one_line(str(kill.get('host')))}: "
            f"{one_line(str(kill.get('name')))} (pid {one_line(str(kill.get('pid')))}){at}"
        )
    for name in changes.get("hosts_not_in_baseline", []):
        out.append(f"{INDENT}not in the baseline: {one_line(str(name))}")
    for name in changes.get("hosts_only_in_baseline", []):
        out.append(f"{INDENT}only in the baseline (not audited now): {one_line(str(name))}")
    out.append("")
    return out


def render_console(
    run: RunResult,
    color: bool = False,
    verbose: bool = False,
    reports: Mapping[str, Path | str] | None = None,
) -> str:
    """The text memcheck prints at the end of a run (ANSI colours only when `color`).

    A partial run (see memcheck.report.partial) is said on the first line, before anything
    else. A host whose values this text cannot be made from is shown without its details
    (memcheck.report.guard)."""

    def render(result: RunResult) -> str:
        return _render_console(result, color, verbose, reports)

    return render_guarded(run, render, "console summary")


def _render_console(
    run: RunResult,
    color: bool,
    verbose: bool,
    reports: Mapping[str, Path | str] | None,
) -> str:
    paint = _Painter(color)
    warning = partial_line(run)
    out: list[str] = [paint(f"WARNING {one_line(warning)}", "error")] if warning else []
    out += _changes_block(run, paint) + _profiles_block(run, paint, verbose)

    failures = [
        (SEVERITY_RANK.get(r.severity, 0), i, h, r)
        for i, h in enumerate(run.hosts)
        for r in h.results
        if r.outcome == "fail" and not h.unreachable
    ]
    failures.sort(key=lambda t: (-t[0], t[1], t[3].check))
    for _, _, host, result in failures:
        out += _failure(host, result, paint, verbose)
    if failures:
        out.append("")

    errors: list[str] = []
    for host in run.hosts:
        name = paint(one_line(host.name), "bold")
        if host.unreachable:
            n = len(host.results)
            suffix = f" ({n} checks not run)" if n else ""
            errors.append(
                f"{paint('ERROR', 'error')} {name}: host not collected: "
                f"{one_line(host.unreachable)}{suffix}"
            )
            continue
        for r in host.results:
            if r.outcome == "error":
                errors.append(
                    f"{paint('ERROR', 'error')} {name} {one_line(r.check)}: {one_line(r.message)}"
                )
    out += errors
    if errors:
        out.append("")

    host_notes = [
        f"{paint('NOTE', 'bold')} {paint(one_line(h.name), 'bold')}: {one_line(note)}"
        for h in run.hosts
        for note in h.notes
    ]
    out += host_notes
    if host_notes:
        out.append("")

    if verbose:
        notes = []
        for host in run.hosts:
            for r in host.results:
                if r.outcome == "waived":
                    notes.append(
                        f"{paint('WAIVED', 'waived')} {one_line(host.name)} {one_line(r.check)}: "
                        f"{one_line(_waiver_text(r.waiver))}"
                    )
        for host in run.hosts:
            for r in host.results:
                if r.outcome == "skip":
                    notes.append(
                        f"{paint('SKIP', 'skip')} {one_line(host.name)} {one_line(r.check)}: "
                        f"{one_line(r.message)}"
                    )
        out += notes
        if notes:
            out.append("")

    for waiver in run.waivers_expired:
        out.append(
            f"waiver expired (ignored): {one_line(str(waiver.get('check', '?')))}: "
            f"{one_line(_waiver_text(waiver))}"
        )
    for waiver in run.waivers_unused:
        out.append(
            f"waiver matched nothing: {one_line(str(waiver.get('check', '?')))}: "
            f"{one_line(_waiver_text(waiver))}"
        )
    if run.waivers_expired or run.waivers_unused:
        out.append("")

    # Aligned on the names, unless one is so long that every line would be padded to it.
    width = min(max((len(one_line(h.name)) for h in run.hosts), default=0), MAX_NAME_WIDTH)
    for host in run.hosts:
        counts = host.counts()
        status = _counts_text(counts)
        if host.unreachable:
            status = f"not collected ({status})"
        elif host.partial:
            status += f"; partial data ({host.unreadable_files} unreadable)"
        style = (
            "fail"
            if counts.get("fail")
            else "error"
            if (counts.get("error") or host.unreachable)
            else "pass"
        )
        out.append(f"{paint(one_line(host.name).ljust(width), style)}  {status}")

    total = run.summary()
    hosts = len(run.hosts)
    code = run.compute_exit_code()
    out.append(
        paint(
            f"memcheck: {hosts} host{'s' if hosts != 1 else ''}, {_counts_text(total)}"
            f" (fail on {one_line(run.fail_on)} and above; exit code {code})",
            "bold",
        )
    )
    if reports:
        names = ", ".join(f"{one_line(str(path))}" for path in reports.values())
        out.append(f"reports: {names}")
    return "\n".join(out) + "\n"
