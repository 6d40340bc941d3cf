"""memcheck.changes: findings against a baseline run and OOM kills new since then."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from memcheck.changes import compare, host_counts
from memcheck.model import ev
from memcheck.report.json_report import merge_runs
from memcheck.results import CheckResult, HostResult, RunResult
from tests.report.sample_runs import result, sample_run
from tests.report.test_json_report import schema


def kill(pid: int, name: str, time: str | None, line: int = 1) -> dict[str, object]:
    return ev(
        f"Out of memory: Killed process {pid} ({name})",
        source=".memcheck/kernel.log",
        line=line,
        pid=pid,
        name=name,
        time=time,
    )


def host(name: str, *results: CheckResult) -> HostResult:
    return HostResult(name=name, source=f"ssh://{name}", results=list(results))


def oom(outcome: str, *kills: dict[str, object]) -> CheckResult:
    return result("oom_kills", outcome, "high", area="oom", evidence=list(kills))


def run_of(*hosts: HostResult, started: str = "2026-11-21T03:00:00Z") -> RunResult:
    run = sample_run(list(hosts))
    run.started_at = started
    return run


@pytest.mark.parametrize(
    ("before", "now", "change"),
    [
        ("pass", "fail", "new"),
        ("skip", "fail", "new"),
        ("waived", "fail", "new"),
        ("error", "fail", "new"),
        (None, "fail", "new"),
        ("fail", "fail", "still-failing"),
        ("fail", "pass", "fixed"),
        ("fail", "skip", "fixed"),
        ("fail", "waived", "fixed"),
        ("fail", "error", None),
        ("pass", "pass", None),
        (None, "pass", None),
        ("error", "skip", None),
    ],
)
def test_change_of_each_outcome_pair(before: str | None, now: str, change: str | None) -> None:
    old = run_of(host("db1", *([result("swappiness", before)] if before else [])))
    new = run_of(host("db1", result("swappiness", now, observed=60, expected=1)))
    summary = compare(new, old, "first/results.json")
    assert new.hosts[0].results[0].change == change
    listed = {k: [f["check"] for f in summary[k]] for k in ("new", "fixed", "still_failing")}
    key = {"new": "new", "fixed": "fixed", "still-failing": "still_failing"}.get(change or "")
    assert listed == {k: (["swappiness"] if k == key else []) for k in listed}
    if key:
        assert summary[key][0]["was"] == before


def test_hosts_are_matched_by_name_and_checks_by_id() -> None:
    old = run_of(
        host("db1", result("swappiness", "fail"), result("thp_enabled", "pass")),
        host("web1", result("swappiness", "pass")),
        host("retired", result("swappiness", "fail")),
    )
    new = run_of(
        host("web1", result("swappiness", "fail", severity="medium", observed=60, expected=1)),
        host("db1", result("thp_enabled", "fail"), result("swappiness", "pass")),
        host("fresh", result("swappiness", "fail")),
    )
    summary = compare(new, old)
    pairs = {k: [(f["host"], f["check"]) for f in summary[k]] for k in ("new", "fixed")}
    assert pairs == {
        "new": [("web1", "swappiness"), ("db1", "thp_enabled"), ("fresh", "swappiness")],
        "fixed": [("db1", "swappiness")],
    }
    assert summary["new"][0] == {
        "host": "web1",
        "check": "swappiness",
        "severity": "medium",
        "outcome": "fail",
        "was": "pass",
        "observed": 60,
        "expected": 1,
    }
    assert summary["hosts_not_in_baseline"] == ["fresh"]
    assert summary["hosts_only_in_baseline"] == ["retired"]
    assert summary["baseline"] == {
        "path": None,
        "started_at": "2026-11-21T03:00:00Z",
        "finished_at": old.finished_at,
    }


def test_unreachable_host_marks_nothing() -> None:
    old = run_of(host("db1", result("swappiness", "fail")))
    gone = host("db1", result("swappiness", "error"))
    gone.unreachable = "timed out"
    new = run_of(gone)
    summary = compare(new, old)
    assert gone.results[0].change is None
    assert summary["new"] == summary["fixed"] == summary["still_failing"] == []


def test_new_oom_kills_by_pid_name_and_time() -> None:
    known = kill(1533, "mysqld", "2026-11-20T01:00:00+00:00")
    old = run_of(host("db1", oom("fail", known)))
    same_pid_later = kill(1533, "mysqld", "2026-11-21T02:00:00+00:00", line=9)
    other = kill(1603, "mysqld", "2026-11-21T02:30:00+00:00", line=12)
    new = run_of(host("db1", oom("fail", copy.deepcopy(known), same_pid_later, other)))
    summary = compare(new, old)
    assert [(k["pid"], k["time"]) for k in summary["new_oom_kills"]] == [
        (1533, "2026-11-21T02:00:00+00:00"),
        (1603, "2026-11-21T02:30:00+00:00"),
    ]
    assert summary["new_oom_kills"][1] == {
        "host": "db1",
        "pid": 1603,
        "name": "mysqld",
        "time": "2026-11-21T02:30:00+00:00",
        "text": "Out of memory: Killed process 1603 (mysqld)",
    }
    assert host_counts(new, new.hosts[0]) == {
        "new": 0,
        "fixed": 0,
        "still_failing": 1,
        "new_oom_kills": 2,
    }


def test_undated_kills_compare_by_their_line() -> None:
    old = run_of(host("db1", oom("fail", kill(7, "java", None))))
    new = run_of(host("db1", oom("fail", kill(7, "java", None), kill(8, "java", None))))
    assert [k["pid"] for k in compare(new, old)["new_oom_kills"]] == [8]


@pytest.mark.parametrize(
    "baseline_oom",
    [None, oom("error")],
    ids=["not-run-in-baseline", "error-in-baseline"],
)
def test_kills_are_not_called_new_without_a_usable_baseline_verdict(
    baseline_oom: CheckResult | None,
) -> None:
    old = run_of(host("db1", *([baseline_oom] if baseline_oom else [])))
    new = run_of(host("db1", oom("fail", kill(1, "a", "2026-11-21T00:00:00+00:00"))))
    assert compare(new, old)["new_oom_kills"] == []


def test_kills_on_a_host_new_to_the_baseline_are_new() -> None:
    old = run_of(host("other"))
    new = run_of(host("db1", oom("fail", kill(1, "a", "2026-11-21T00:00:00+00:00"))))
    assert [k["host"] for k in compare(new, old)["new_oom_kills"]] == ["db1"]


def test_the_latest_kills_are_compared_when_evidence_is_cut() -> None:
    """A verdict keeps the first and last 100 of its evidence items (memcheck.results): the
    newest kills, at the end of the log, are still found new, and the cut marker is no kill."""

    def kills(n: int) -> list[dict[str, object]]:
        return [kill(i, "w", f"2026-11-20T{i // 60 % 24:02d}:{i % 60:02d}:00Z") for i in range(n)]

    old = run_of(host("db1", oom("fail", *kills(300))))
    new = run_of(host("db1", oom("fail", *kills(302))))
    assert len(new.hosts[0].results[0].evidence) == 201
    assert [k["pid"] for k in compare(new, old)["new_oom_kills"]] == [300, 301]


def test_changes_validate_round_trip_and_merge() -> None:
    old = run_of(host("db1", result("swappiness", "fail"), oom("pass")))
    new = run_of(
        host(
            "db1",
            result("swappiness", "pass"),
            oom("fail", kill(1, "a", "2026-11-21T00:00:00+00:00")),
        )
    )
    new.changes = compare(new, old, "first/results.json")
    data = json.loads(new.dumps())
    jsonschema.Draft202012Validator(schema()).validate(data)
    assert data["hosts"][0]["results"][1]["change"] == "new"
    back = RunResult.from_json(data)
    assert back == new
    other = run_of(host("web1", result("swappiness", "fail")))
    other.changes = compare(other, run_of(host("web1", result("swappiness", "pass"))))
    merged = merge_runs([new, other])
    assert merged.changes is not None
    assert [f["host"] for f in merged.changes["new"]] == ["db1", "web1"]
    assert [f["host"] for f in merged.changes["fixed"]] == ["db1"]
    assert merged.changes["baseline"]["path"] == "first/results.json"
    assert merge_runs([old]).changes is None
