"""Whole host trees (SPEC section 4 layout) must give the verdicts reviewed in expected.json.

`expected.json` is written by hand: the outcome each check must reach on that host, either
for one profile list (`{"profiles": [...], "outcomes": {...}}`) or for several runs of the
same host (`{"runs": [{"profiles": [...], "outcomes": {...}}, ...]}`). A run whose profiles
are `["auto"]` goes through `--profile auto`: it also names the profiles detection must
apply (`"detected"`) and the checks whose parameters conflict between them (`"conflicts"`).
`golden.json` records every detail (severity, observed, expected, message) and is rewritten
with `pytest --update-golden` after a deliberate change; review its diff. With runs, it is
keyed by the run's profiles joined with "+".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from memcheck.profile import load_profiles
from memcheck.registry import builtin_checks
from memcheck.report import write_reports
from memcheck.results import RunResult
from memcheck.runner import Audit, ProfilePlan, parse_targets

HOSTS = Path(__file__).parent / "hosts"
SCHEMAS = Path(__file__).parent / "report" / "schemas"
SCENARIOS = sorted(p.name for p in HOSTS.iterdir() if (p / "expected.json").is_file())


def audit(scenario: str, profiles: list[str]) -> RunResult:
    checks = builtin_checks()
    targets = parse_targets([], [str(HOSTS / scenario)])
    if "auto" in profiles:
        plan = ProfilePlan(profiles, checks)
        run = Audit(plan.candidates()[0], checks, targets, plan=plan)
    else:
        run = Audit(load_profiles(profiles, checks), checks, targets)
    run.evaluate_all()
    return run.run_result()


def runs_of(expected: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of one scenario: the old single-run form is one run."""
    if "runs" in expected:
        runs: list[dict[str, Any]] = expected["runs"]
        return runs
    return [{"profiles": expected["profiles"], "outcomes": expected["outcomes"]}]


def detail(run: RunResult) -> dict[str, dict[str, Any]]:
    return {
        r.check: {
            "outcome": r.outcome,
            "severity": r.severity,
            "observed": r.observed,
            "expected": r.expected,
            "message": r.message,
        }
        for r in run.hosts[0].results
    }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_verdicts(scenario: str, update_golden: bool, tmp_path: Path) -> None:
    expected = json.loads((HOSTS / scenario / "expected.json").read_text())
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "junit-10.xsd")))
    details: dict[str, Any] = {}
    for number, spec in enumerate(runs_of(expected)):
        run = audit(scenario, spec["profiles"])
        host = run.hosts[0]
        got = {r.check: r.outcome for r in host.results}
        assert got == spec["outcomes"], spec["profiles"]
        if "detected" in spec:
            assert host.profiles == spec["detected"]
        if "conflicts" in spec:
            assert sorted(str(c["check"]) for c in host.conflicts) == spec["conflicts"]
        details["+".join(spec["profiles"])] = detail(run)
        # Whatever a host holds, the reports stay valid.
        written = write_reports(run, report_dir=tmp_path / str(number))
        assert schema.validate(etree.parse(str(written["junit"]))), schema.error_log
    current = details if "runs" in expected else next(iter(details.values()))
    golden_path = HOSTS / scenario / "golden.json"
    if update_golden or not golden_path.exists():
        golden_path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(golden_path.read_text())


def test_every_scenario_has_expectations() -> None:
    trees = sorted(p.name for p in HOSTS.iterdir() if p.is_dir())
    assert trees == SCENARIOS
    assert len(SCENARIOS) >= 10


def test_recent_oom_kill_evidence_is_structured() -> None:
    run = audit("recent-oom-kill", ["database"])
    oom = next(r for r in run.hosts[0].results if r.check == "oom_kills")
    kills = [e for e in oom.evidence if "pid" in e]
    assert [(k["pid"], k["name"]) for k in kills] == [(1533, "mysqld"), (1603, "mysqld")]
    recent = [k for k in kills if k["in_window"]]
    assert len(recent) == 1 and recent[0]["anon_rss_bytes"] == 6012340 * 1024


def test_hostile_scenario_keeps_every_other_check(tmp_path: Path) -> None:
    run = audit("hostile-and-malformed", ["database"])
    outcomes = {r.check: r.outcome for r in run.hosts[0].results}
    assert outcomes["swappiness"] == "error" and outcomes["panic_on_oom"] == "pass"
    assert run.hosts[0].name.startswith("<script>")
    written = write_reports(run, report_dir=tmp_path)
    html = written["html"].read_text()
    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(" in html


def test_every_profile_has_a_compliant_and_a_failing_host() -> None:
    """Each built-in profile judges at least one host tuned to it (no fail, no error) and one
    stock host that fails it."""
    compliant: set[str] = set()
    failing: set[str] = set()
    for scenario in SCENARIOS:
        for spec in runs_of(json.loads((HOSTS / scenario / "expected.json").read_text())):
            if spec["profiles"] == ["auto"] or len(spec["profiles"]) != 1:
                continue
            outcomes = set(spec["outcomes"].values())
            if not outcomes & {"fail", "error"}:
                compliant.update(spec["profiles"])
            if "fail" in outcomes:
                failing.update(spec["profiles"])
    profiles = {p.stem for p in (Path(__file__).parents[1] / "profiles").glob("*.toml")}
    assert len(profiles) >= 11
    assert profiles - compliant == set()
    assert profiles - failing == set()


def test_auto_on_redis_and_postgres_reports_the_overcommit_conflict() -> None:
    run = audit("redis-and-postgres", ["auto"])
    host = run.hosts[0]
    assert host.profiles == ["postgres", "redis"]
    conflict = next(c for c in host.conflicts if c["check"] == "overcommit_memory")
    assert conflict["param"] == "allowed"
    overcommit = next(r for r in host.results if r.check == "overcommit_memory")
    # The host follows PostgreSQL (mode 2); the merged profile asks for Redis's mode 1.
    assert overcommit.outcome == "fail" and overcommit.observed == 2


def test_pod_oom_is_counted_once_where_the_limit_was_hit() -> None:
    run = audit("kubernetes-pod-oom-cgroup-v2", ["kubernetes-node"])
    results = {r.check: r for r in run.hosts[0].results}
    assert results["cgroup_oom_events"].observed == 1
    assert "cri-containerd-" in results["cgroup_oom_events"].message
    kill = next(e for e in results["oom_kills"].evidence if "pid" in e)
    assert kill["constraint"] == "memcg" and str(kill["memcg"]).endswith(".scope")


def test_swap_storm_names_the_swapped_processes() -> None:
    run = audit("swap-storm", ["default"])
    swap = next(r for r in run.hosts[0].results if r.check == "swap_activity")
    assert swap.severity == "high" and swap.observed == 2875 + 3142
    assert [e["name"] for e in swap.evidence if "pid" in e] == ["java", "python3", "node"]
