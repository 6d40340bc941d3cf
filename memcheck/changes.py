"""What changed since a previous run (`--baseline PREVIOUS.json`), so that nightly CI can alert
on change rather than on the standing state.

Pure: compares two RunResults. Hosts are matched by name, verdicts by check id. Each current
verdict gets `CheckResult.change`:

- `new`: fails now and did not fail in the baseline (passed, was skipped, waived, errored,
  was not run, or the host was not in the baseline);
- `still-failing`: failed then and fails now;
- `fixed`: failed then and now passes, is skipped or is waived;
- None otherwise (an error now says nothing about whether a failure was fixed).

OOM kills are taken from the `oom_kills` verdict's evidence (items with `pid` and `name`); a
kill is identified by pid, name and time (the raw line when the time is unknown) and is new
when the baseline's verdict for the same host did not list it. When the baseline has that
host but no usable `oom_kills` verdict (not run, or an error), kills cannot be compared and
none is listed as new. A verdict keeps at most 200 evidence items, the first and the last 100
(memcheck.results): with more kills than that, those in the middle of either log are not
compared, and the newest ones, at the end, are.
"""

from __future__ import annotations

from typing import Any

from memcheck.model import JSON
from memcheck.results import CheckResult, HostResult, RunResult

NEW = "new"
STILL_FAILING = "still-failing"
FIXED = "fixed"
OOM_CHECK = "oom_kills"
# The keys of RunResult.changes that list findings, by the CheckResult.change they collect.
LISTS = {NEW: "new", FIXED: "fixed", STILL_FAILING: "still_failing"}


def change_of(current: CheckResult, previous: CheckResult | None) -> str | None:
    """The change of one verdict against its baseline verdict (None: no baseline verdict)."""
    was_failing = previous is not None and previous.outcome == "fail"
    if current.outcome == "fail":
        return STILL_FAILING if was_failing else NEW
    if was_failing and current.outcome in ("pass", "skip", "waived"):
        return FIXED
    return None


def _kill_key(item: dict[str, JSON]) -> tuple[str, str, str]:
    moment = item.get("time")
    return (
        str(item.get("pid")),
        str(item.get("name")),
        str(moment) if moment is not None else f"line:{item.get('text', '')}",
    )


def oom_kills_of(host: HostResult) -> list[dict[str, JSON]] | None:
    """The OOM kills a host's `oom_kills` verdict lists; None when it has no usable verdict."""
    for result in host.results:
        if result.check == OOM_CHECK:
            if result.outcome == "error" and not any("pid" in e for e in result.evidence):
                return None
            return [e for e in result.evidence if "pid" in e and "name" in e]
    return None


def _finding(
    host: HostResult, result: CheckResult, previous: CheckResult | None
) -> dict[str, JSON]:
    return {
        "host": host.name,
        "check": result.check,
        "severity": result.severity,
        "outcome": result.outcome,
        "was": previous.outcome if previous is not None else None,
        "observed": result.observed,
        "expected": result.expected,
    }


def compare(
    run: RunResult, baseline: RunResult, baseline_path: str | None = None
) -> dict[str, Any]:
    """Mark every verdict of `run` with its change; set and return `run.changes`.

    The summary: `baseline` (path, started_at, finished_at), `new`, `fixed`, `still_failing`
    (one entry per finding: host, check, severity, outcome, was, observed, expected),
    `new_oom_kills` (host, pid, name, time, text) and `hosts_not_in_baseline`,
    `hosts_only_in_baseline` (names).
    """
    before = {h.name: h for h in baseline.hosts}
    current_names = {h.name for h in run.hosts}
    summary: dict[str, Any] = {
        "baseline": {
            "path": baseline_path,
            "started_at": baseline.started_at,
            "finished_at": baseline.finished_at,
        },
        "new": [],
        "fixed": [],
        "still_failing": [],
        "new_oom_kills": [],
        "hosts_not_in_baseline": [h.name for h in run.hosts if h.name not in before],
        "hosts_only_in_baseline": [h.name for h in baseline.hosts if h.name not in current_names],
    }
    for host in run.hosts:
        old_host = before.get(host.name)
        old = {r.check: r for r in old_host.results} if old_host is not None else {}
        for result in host.results:
            previous = old.get(result.check)
            result.change = None if host.unreachable else change_of(result, previous)
            if result.change is not None:
                summary[LISTS[result.change]].append(_finding(host, result, previous))
        kills = oom_kills_of(host) or []
        if old_host is None:
            known: set[tuple[str, str, str]] = set()
        else:
            old_kills = oom_kills_of(old_host)
            if old_kills is None:
                continue
            known = {_kill_key(k) for k in old_kills}
        for kill in kills:
            if _kill_key(kill) not in known:
                summary["new_oom_kills"].append(
                    {
                        "host": host.name,
                        "pid": kill.get("pid"),
                        "name": kill.get("name"),
                        "time": kill.get("time"),
                        "text": kill.get("text", ""),
                    }
                )
    run.changes = summary
    return summary


def host_counts(run: RunResult, host: HostResult) -> dict[str, int]:
    """Per host: how many findings are new, fixed, still failing, and new OOM kills."""
    counts = {"new": 0, "fixed": 0, "still_failing": 0, "new_oom_kills": 0}
    for result in host.results:
        if result.change in LISTS:
            counts[LISTS[result.change]] += 1
    kills = (run.changes or {}).get("new_oom_kills", [])
    counts["new_oom_kills"] = sum(1 for k in kills if k.get("host") == host.name)
    return counts
