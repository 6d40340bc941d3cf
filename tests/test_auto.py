"""`--profile auto` through the runner and every report, with the catalogue's stand-in checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from junitparser import JUnitXml

from memcheck.errors import ConfigError
from memcheck.profile import load_profiles
from memcheck.registry import Check
from memcheck.report import render_console, write_reports
from memcheck.results import HostResult, RunResult
from memcheck.runner import Audit, ProfilePlan, parse_targets
from tests.auto_trees import kubernetes_node, mongod_from_package, redis_and_postgres, write_tree
from tests.fake_checks import fake_checks

SCHEMA = Path(__file__).parents[1] / "memcheck" / "report" / "results.schema.json"
OVERCOMMIT = {
    "check": "overcommit_memory",
    "param": "allowed",
    "values": [{"profile": "postgres", "value": [2]}, {"profile": "redis", "value": [1]}],
    "winner": "redis",
}


@pytest.fixture
def checks() -> dict[str, Check]:
    return fake_checks()


@pytest.fixture
def roots(tmp_path: Path) -> list[str]:
    return [
        str(write_tree(tmp_path / "mixed", "db-mixed", redis_and_postgres())),
        str(write_tree(tmp_path / "k8s", "node-1", kubernetes_node())),
        str(write_tree(tmp_path / "plain", "plain", {})),
        str(write_tree(tmp_path / "mongo", "mongo-1", mongod_from_package())),
    ]


def audit(specs: list[str], checks: dict[str, Check], roots: list[str]) -> Audit:
    plan = ProfilePlan(specs, checks)
    return Audit(plan.candidates()[0], checks, parse_targets([], roots), plan=plan)


def run_of(specs: list[str], checks: dict[str, Check], roots: list[str]) -> RunResult:
    job = audit(specs, checks, roots)
    job.evaluate_all()
    return job.run_result()


def by_name(run: RunResult) -> dict[str, HostResult]:
    return {h.name: h for h in run.hosts}


def test_each_host_gets_the_profiles_of_what_runs_on_it(
    checks: dict[str, Check], roots: list[str]
) -> None:
    run = run_of(["auto"], checks, roots)
    hosts = by_name(run)
    assert run.profiles == ["auto"]
    assert hosts["db-mixed"].profiles == ["postgres", "redis"]
    assert hosts["node-1"].profiles == ["kubernetes-node"]
    assert hosts["plain"].profiles == ["default"]
    assert hosts["mongo-1"].profiles == ["mongodb"]

    mixed = hosts["db-mixed"]
    assert mixed.detected is not None
    assert [(d["workload"], d["profile"], d["processes"]) for d in mixed.detected] == [
        ("PostgreSQL", "postgres", 2),
        ("Redis", "redis", 1),
    ]
    evidence = mixed.detected[0]["evidence"]
    assert isinstance(evidence, list)
    assert evidence[0] == {
        "text": "pid 901 postgres: /usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main",
        "source": "/proc/901/cmdline",
        "pid": 901,
        "comm": "postgres",
    }
    assert hosts["plain"].detected == []
    note = hosts["mongo-1"].detected[0]["note"]  # type: ignore[index]
    assert isinstance(note, str) and "version not shown" in note


def test_the_host_running_redis_and_postgres_reports_the_overcommit_conflict(
    checks: dict[str, Check], roots: list[str]
) -> None:
    run = run_of(["auto"], checks, roots)
    hosts = by_name(run)
    mixed = hosts["db-mixed"]
    assert OVERCOMMIT in mixed.conflicts
    assert {(c["check"], c["param"]) for c in mixed.conflicts} == {
        ("overcommit_memory", "allowed"),
        ("thp_defrag", "allowed"),
    }
    assert hosts["node-1"].conflicts == []
    assert hosts["plain"].conflicts == []
    # The run lists every host's conflicts once.
    assert run.conflicts == mixed.conflicts
    # The later profile's value is the one judged.
    results = {r.check: r for r in mixed.results}
    assert results["overcommit_memory"].params["allowed"] == [1]
    assert results["postmaster_oom"].params == {"max": -900}


def test_each_host_runs_its_own_checks(checks: dict[str, Check], roots: list[str]) -> None:
    job = audit(["auto"], checks, roots)
    job.evaluate_all()
    run = job.run_result()
    for index, host in enumerate(run.hosts):
        expected = load_profiles(host.profiles, checks).selected
        assert [r.check for r in host.results] == expected
        assert [c.id for c in job.selected_for(index)] == expected
    hosts = by_name(run)
    assert "cgroup_v2" in {r.check for r in hosts["node-1"].results}
    assert "cgroup_v2" not in {r.check for r in hosts["plain"].results}
    assert "postmaster_oom" in {r.check for r in hosts["db-mixed"].results}


def test_facts_see_the_hosts_own_selection(checks: dict[str, Check], roots: list[str]) -> None:
    job = audit(["auto"], checks, roots)
    hosts = job.gather()
    mixed = next(h for h in hosts if h.target.spec.endswith("mixed"))
    assert mixed.facts is not None
    assert mixed.facts.selection["overcommit_memory"]["allowed"] == [1]
    plain = next(h for h in hosts if h.target.spec.endswith("plain"))
    assert plain.facts is not None
    assert "overcommit_memory" not in plain.facts.selection


def test_auto_combined_with_a_users_profile(
    tmp_path: Path, checks: dict[str, Check], roots: list[str]
) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text(
        '[profile]\nextends = ["default"]\n[checks]\ninclude = ["overcommit_memory"]\n'
        "[params.overcommit_memory]\nallowed = [2]\n"
    )
    run = run_of(["auto", str(mine)], checks, roots)
    hosts = by_name(run)
    assert hosts["db-mixed"].profiles == ["postgres", "redis", str(mine)]
    conflict = next(c for c in hosts["db-mixed"].conflicts if c["check"] == "overcommit_memory")
    assert conflict["values"] == [
        {"profile": "postgres", "value": [2]},
        {"profile": "redis", "value": [1]},
        {"profile": str(mine), "value": [2]},
    ]
    assert conflict["winner"] == str(mine)
    assert hosts["plain"].profiles == ["default", str(mine)]
    assert hosts["plain"].conflicts == []
    assert run.profiles == ["auto", str(mine)]


def test_an_uncollected_host_gets_default_and_no_detection(
    tmp_path: Path, checks: dict[str, Check]
) -> None:
    run = run_of(["auto"], checks, [str(tmp_path / "nowhere")])
    (host,) = run.hosts
    assert host.unreachable
    assert host.detected is None
    assert host.profiles == ["default"]
    assert {r.outcome for r in host.results} == {"error"}


def test_without_auto_nothing_changes(checks: dict[str, Check], roots: list[str]) -> None:
    plan = ProfilePlan(["redis", "postgres"], checks)
    job = Audit(plan.resolve(), checks, parse_targets([], roots), plan=plan)
    assert not job.per_host
    job.evaluate_all()
    run = job.run_result()
    assert run.profiles == ["redis", "postgres"]
    for host in run.hosts:
        assert host.profiles == ["redis", "postgres"]
        assert host.detected is None
        assert host.conflicts == run.conflicts
    assert any(c["check"] == "overcommit_memory" for c in run.conflicts)


def test_plan_validates_every_candidate_and_collects_for_all(
    tmp_path: Path, checks: dict[str, Check]
) -> None:
    plan = ProfilePlan(["auto"], checks)
    names = [p.names for p in plan.candidates()]
    assert names[0] == ["default"]
    assert ["postgres"] in names and ["container-host"] in names and len(names) == 10
    reads = plan.reads()
    assert "/proc/[0-9]*/cmdline" in reads
    assert "/fake/cgroup_v2" in reads and "/fake/postmaster_oom" in reads
    assert ProfilePlan(["default"], checks).reads().count("/proc/[0-9]*/cmdline") == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[params.swappiness]\nmx = 1\n")
    with pytest.raises(ConfigError, match=r"params\.swappiness\.mx"):
        ProfilePlan(["auto", str(bad)], checks).candidates()
    with pytest.raises(ConfigError, match="--checks"):
        ProfilePlan(["auto"], checks, only=["nosuch"]).candidates()


def test_narrowing_applies_to_every_host(checks: dict[str, Check], roots: list[str]) -> None:
    plan = ProfilePlan(["auto"], checks, only=["overcommit_memory", "swappiness"], fail_on="high")
    job = Audit(plan.candidates()[0], checks, parse_targets([], roots), plan=plan)
    job.evaluate_all()
    run = job.run_result()
    hosts = by_name(run)
    assert [r.check for r in hosts["db-mixed"].results] == ["swappiness", "overcommit_memory"]
    assert [r.check for r in hosts["plain"].results] == ["overcommit_memory", "swappiness"]
    assert run.fail_on == "high"


# --- reports ----------------------------------------------------------------------------------


@pytest.fixture
def auto_run(checks: dict[str, Check], roots: list[str]) -> RunResult:
    return run_of(["auto"], checks, roots)


def test_console_shows_detection_and_conflicts_first(auto_run: RunResult) -> None:
    out = render_console(auto_run).splitlines()
    assert out[0] == (
        "DETECTED db-mixed: PostgreSQL (pid 901) -> postgres, Redis (pid 812) -> redis; "
        "profiles postgres + redis"
    )
    assert "DETECTED plain: no known workload detected (default applies); profiles default" in out
    mongo = out.index("DETECTED mongo-1: MongoDB (pid 400) -> mongodb; profiles mongodb")
    assert out[mongo + 1].startswith("    note: MongoDB version not shown")
    header = next(i for i, line in enumerate(out) if line.startswith("CONFLICT"))
    assert out[header] == (
        "CONFLICT db-mixed: profiles postgres + redis disagree; "
        "the later wins; a host cannot satisfy both:"
    )
    assert out[header + 1] == "    overcommit_memory.allowed: postgres [2], redis [1]; redis wins"
    assert out[header + 2] == (
        '    thp_defrag.allowed: postgres ["never", "madvise"], redis ["never"]; redis wins'
    )
    verbose = render_console(auto_run, verbose=True)
    assert "    Redis: pid 812 redis-server: /usr/bin/redis-server 127.0.0.1:6379" in verbose


def test_results_json_validates_and_round_trips(auto_run: RunResult, tmp_path: Path) -> None:
    written = write_reports(auto_run, report_dir=tmp_path)
    data: dict[str, Any] = json.loads(written["json"].read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(data)
    mixed = next(h for h in data["hosts"] if h["name"] == "db-mixed")
    assert mixed["profiles"] == ["postgres", "redis"]
    assert OVERCOMMIT in mixed["conflicts"]
    assert mixed["detected"][1]["workload"] == "Redis"
    assert data["conflicts"] == mixed["conflicts"]
    assert RunResult.from_json(data) == auto_run


def test_junit_names_each_suite_after_its_hosts_profiles(
    auto_run: RunResult, tmp_path: Path
) -> None:
    written = write_reports(auto_run, report_dir=tmp_path)
    suites = {s.hostname: s for s in JUnitXml.fromfile(str(written["junit"]))}
    assert suites["db-mixed"].name == "memcheck.postgres+redis"
    assert suites["node-1"].name == "memcheck.kubernetes-node"
    assert suites["plain"].name == "memcheck.default"
    props = {p.name: p.value for p in suites["db-mixed"].properties()}
    assert props["profiles"] == "postgres,redis"
    assert OVERCOMMIT in json.loads(props["conflicts"])
    assert props["conflicts_summary"].startswith(
        "overcommit_memory.allowed: postgres [2], redis [1]; redis wins; thp_defrag.allowed:"
    )
    assert props["detected"] == "PostgreSQL (pid 901) -> postgres, Redis (pid 812) -> redis"
    plain = {p.name: p.value for p in suites["plain"].properties()}
    assert "conflicts" not in plain
    xml = written["junit"].read_text()
    assert "overcommit_memory.allowed: postgres [2], redis [1]; redis wins" in xml
    assert "profiles applied: postgres + redis" in xml


def test_html_shows_conflicts_in_the_header_and_detection_per_host(
    auto_run: RunResult, tmp_path: Path
) -> None:
    html = write_reports(auto_run, report_dir=tmp_path)["html"].read_text()
    header = html.split("</header>")[0]
    assert '<section id="conflicts">' in header
    assert "<code>overcommit_memory</code>" in header
    assert '<a href="#h-0">db-mixed</a>' in header
    assert "postgres: <code>[2]</code><br>redis: <code>[1]</code>" in header
    assert '<section id="detected">' in header
    assert "MongoDB version not shown" in header
    hosts = html.split('<section id="hosts">')[1]
    assert "<dt>Profiles</dt><dd><code>postgres + redis</code></dd>" in hosts
    assert "Redis: pid 812 redis-server: /usr/bin/redis-server 127.0.0.1:6379" in hosts


def test_reports_without_conflicts_have_no_conflict_section(
    checks: dict[str, Check], tmp_path: Path
) -> None:
    root = write_tree(tmp_path / "k8s", "node-1", kubernetes_node())
    run = run_of(["auto"], checks, [str(root)])
    html = write_reports(run, report_dir=tmp_path / "r")["html"].read_text()
    assert 'id="conflicts"' not in html
    assert not any(line.startswith("CONFLICT") for line in render_console(run).splitlines())


def test_host_text_in_detection_cannot_break_reports(
    checks: dict[str, Check], tmp_path: Path
) -> None:
    from tests.auto_trees import init_and_sshd, process

    evil = "<script>alert(1)</script>\x1b[2J\u202e"
    root = write_tree(
        tmp_path / "evil",
        "evil",
        {**init_and_sshd(), **process(5, "redis-server", ["/usr/bin/redis-server", evil])},
    )
    run = run_of(["auto"], checks, [str(root)])
    written = write_reports(run, report_dir=tmp_path / "r")
    html = written["html"].read_text()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[2J\\u202e" in html
    console = render_console(run, verbose=True)
    assert "\x1b" not in console and "\u202e" not in console
    JUnitXml.fromfile(str(written["junit"]))  # parses
