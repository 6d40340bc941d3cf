"""Judging: run one check's judge against one host's facts and turn it into a `CheckResult`.

Whatever a judge or parser does (a missing file, a parse error, a bug that raises), the result
is one of the five outcomes with a reason, and the other checks are unaffected.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
from memcheck.model import JSON, SEVERITY_RANK, Outcome, ParamValue, Severity
from memcheck.registry import Check
from memcheck.results import CheckResult

SUDO_HINT = "run as root, or with --sudo for remote hosts"


def _unavailable_reason(exc: Unavailable) -> str:
    if exc.denied:
        return f"cannot read {exc.path}: {exc.reason} ({SUDO_HINT})"
    return f"cannot read {exc.path}: {exc.reason}"


def judge_one(check: Check, facts: Facts, params: Mapping[str, ParamValue]) -> Outcome:
    """Call the judge, mapping every way it can go wrong to an `error` outcome."""
    try:
        outcome = check.judge(facts, params)
    except Unavailable as exc:
        return Outcome.errored(_unavailable_reason(exc))
    except ParseError as exc:
        return Outcome.errored(str(exc))
    except Exception as exc:  # a bug in one check must not lose the others' results
        return Outcome.errored(f"check {check.id} raised {type(exc).__name__}: {exc}")
    if not isinstance(outcome, Outcome):
        return Outcome.errored(f"check {check.id} returned {type(outcome).__name__}, not Outcome")
    return outcome


def effective_severity(
    base: Severity, outcome: Outcome, default: Severity | None = None
) -> Severity:
    """The profile's severity, raised by the judge.

    A judge may also grade a lesser finding below the check's own severity (overcommit_memory:
    a wrong mode is high, a strict-mode commit near its limit medium); that stands only while
    the profile keeps the check's `default` severity, never against a profile's choice.
    """
    if outcome.severity is None:
        return base
    if default is not None and base == default:
        return outcome.severity
    if SEVERITY_RANK[outcome.severity] > SEVERITY_RANK[base]:
        return outcome.severity
    return base


def evaluate(
    check: Check,
    facts: Facts,
    params: Mapping[str, ParamValue],
    severity: Severity | None = None,
) -> CheckResult:
    """Judge one check on one host and describe the verdict completely."""
    started = time.perf_counter()
    outcome = judge_one(check, facts, params)
    base: Severity = severity or check.meta.severity
    default = check.meta.severity
    sev = effective_severity(base, outcome, default) if outcome.outcome == "fail" else base
    param_json: dict[str, JSON] = {
        k: (list(v) if isinstance(v, list) else v) for k, v in params.items()
    }
    return CheckResult(
        check=check.id,
        title=check.meta.title,
        area=check.meta.area,
        outcome=outcome.outcome,
        severity=sev,
        message=outcome.message,
        observed=outcome.observed,
        expected=outcome.expected,
        evidence=list(outcome.evidence),
        rationale=check.meta.rationale,
        remediation=outcome.remediation or check.meta.remediation,
        references=list(check.meta.references),
        params=param_json,
        duration_seconds=round(time.perf_counter() - started, 6),
    )


def unreachable_result(check: Check, reason: str, severity: Severity | None = None) -> CheckResult:
    """The verdict for every check of a host that could not be collected."""
    return CheckResult(
        check=check.id,
        title=check.meta.title,
        area=check.meta.area,
        outcome="error",
        severity=severity or check.meta.severity,
        message=f"host not collected: {reason}",
        rationale=check.meta.rationale,
        remediation=check.meta.remediation,
        references=list(check.meta.references),
    )
