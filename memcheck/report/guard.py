"""One host's values never cost a report its other hosts.

Every value a host sends is bounded when its result is made (memcheck.results), and each
writer is written to cope with any of them; this is the net below both. When a writer raises
on a run, the hosts it raises on are found (by halving the list, so a fleet with one bad host
costs a few extra renderings) and replaced by a stub: the host's name, source and verdicts
without their details, and a note saying what was left out and why. The others are rendered
in full. Should the run's own fields still break the writer, they are emptied the same way.
"""

from __future__ import annotations

import dataclasses
import errno
from typing import Callable, TypeVar

from memcheck.model import OUTCOMES, SEVERITIES
from memcheck.results import CheckResult, HostResult, RunResult, cut_text

T = TypeVar("T")


class ReportError(OSError):
    """A report could not be rendered at all (it is not written); one line for the user."""

    def __init__(self, what: str, exc: BaseException) -> None:
        super().__init__(errno.EINVAL, f"the {what} could not be rendered: {_reason(exc)}")


def _reason(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a broken __str__ of an exception must not escape either
        text = ""
    first = text.splitlines()[0] if text else ""
    return cut_text(f"{type(exc).__name__}: {first}" if first else type(exc).__name__, 200)


def _text(value: object, default: str = "") -> str:
    if isinstance(value, str):
        return cut_text(value)
    if value is None:
        return default
    try:
        return cut_text(str(value))
    except Exception:
        return default


def _stub_result(result: object) -> CheckResult:
    outcome = getattr(result, "outcome", "error")
    severity = getattr(result, "severity", "high")
    return CheckResult(
        check=_text(getattr(result, "check", None), "?"),
        title=_text(getattr(result, "title", None)),
        area=_text(getattr(result, "area", None)),
        outcome=outcome if outcome in OUTCOMES else "error",
        severity=severity if severity in SEVERITIES else "high",
        message="(details left out of this report: see the host's note)",
    )


def stub_host(host: HostResult, exc: BaseException, what: str, bare: bool = False) -> HostResult:
    """`host` reduced to what any writer can render, with a note naming the problem; `bare`
    leaves out its verdicts too (when even those would not render)."""
    note = f"memcheck could not write this host's values into the {what} ({_reason(exc)}); " + (
        "its verdicts are left out here"
        if bare
        else "its verdicts are kept, their details left out"
    )
    results = [] if bare else [_stub_result(r) for r in getattr(host, "results", None) or []]
    stub = HostResult(
        name=_text(getattr(host, "name", None), "?") or "?",
        source=_text(getattr(host, "source", None)),
        unreachable=_text(getattr(host, "unreachable", None)) or None,
        results=results,
        notes=[note],
    )
    partial = getattr(host, "partial", False)
    unreadable = getattr(host, "unreadable_files", 0)
    stub.partial = partial is True
    stub.unreadable_files = unreadable if type(unreadable) is int and unreadable > 0 else 0
    return stub


def _failure(
    run: RunResult, hosts: list[HostResult], render: Callable[[RunResult], T]
) -> Exception | None:
    """What `render` raises on `run` with `hosts`, or None."""
    try:
        render(dataclasses.replace(run, hosts=hosts))
    except Exception as exc:
        return exc
    return None


def _bad_hosts(
    run: RunResult, hosts: list[tuple[int, HostResult]], render: Callable[[RunResult], T]
) -> dict[int, Exception]:
    """The hosts `render` fails on (by index), each with what it raised."""
    if not hosts:
        return {}
    problem = _failure(run, [h for _, h in hosts], render)
    if problem is None:
        return {}
    if len(hosts) == 1:
        return {hosts[0][0]: problem}
    middle = len(hosts) // 2
    return {**_bad_hosts(run, hosts[:middle], render), **_bad_hosts(run, hosts[middle:], render)}


def _bare(run: RunResult) -> RunResult:
    """The run without its own free-form fields (they come from the controller or a file)."""
    return dataclasses.replace(
        run, conflicts=[], waivers_expired=[], waivers_unused=[], changes=None, command=[]
    )


def render_guarded(run: RunResult, render: Callable[[RunResult], T], what: str) -> T:
    """`render(run)`; when it raises, the same with the hosts it raises on stubbed (see the
    module docstring). ReportError when nothing renders."""
    try:
        return render(run)
    except Exception as exc:
        first = exc
    base = run
    if _failure(run, [], render) is not None:
        base = _bare(run)
        problem = _failure(base, [], render)
        if problem is not None:
            raise ReportError(what, problem) from problem
    bad = _bad_hosts(base, list(enumerate(run.hosts)), render)
    hosts = list(run.hosts)
    for i, problem in bad.items():
        hosts[i] = stub_host(run.hosts[i], problem, what)
        if _failure(base, [hosts[i]], render) is not None:
            hosts[i] = stub_host(run.hosts[i], problem, what, bare=True)
    try:
        return render(dataclasses.replace(base, hosts=hosts))
    except Exception as exc:  # hosts that fail only together (labels made from all names)
        try:
            bare = [stub_host(h, first, what, bare=True) for h in run.hosts]
            return render(dataclasses.replace(base, hosts=bare))
        except Exception:
            raise ReportError(what, exc) from exc
