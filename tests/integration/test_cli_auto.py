"""`memcheck --profile auto` end to end on a hand-made tree running Redis and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.auto_trees import redis_and_postgres, write_tree
from tests.integration.cli import XSD_DIR, run_memcheck


@pytest.fixture(scope="module")
def auto_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int, Path]:
    work = tmp_path_factory.mktemp("auto")
    root = write_tree(work / "db-mixed", "db-mixed", redis_and_postgres())
    args = ["--profile", "auto", "--root", str(root), "--report-dir", str(work / "reports")]
    proc = run_memcheck(*args, "--color", "never", cwd=work)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc.stdout, proc.returncode, work / "reports"


def test_detects_both_and_says_so_first(auto_run: tuple[str, int, Path]) -> None:
    out, code, _ = auto_run
    assert code in (0, 1, 3)
    lines = out.splitlines()
    assert lines[0] == (
        "DETECTED db-mixed: PostgreSQL (pid 901) -> postgres, Redis (pid 812) -> redis; "
        "profiles postgres + redis"
    )


def test_console_reports_the_overcommit_conflict(auto_run: tuple[str, int, Path]) -> None:
    out, _, _ = auto_run
    assert "CONFLICT db-mixed: profiles postgres + redis disagree" in out
    assert "    overcommit_memory.allowed: postgres [2], redis [1]; redis wins" in out


def test_results_json_holds_profiles_detection_and_conflict(
    auto_run: tuple[str, int, Path],
) -> None:
    _, code, reports = auto_run
    data = json.loads((reports / "results.json").read_text())
    assert data["profiles"] == ["auto"]
    assert data["exit_code"] == code
    (host,) = data["hosts"]
    assert host["profiles"] == ["postgres", "redis"]
    assert [d["profile"] for d in host["detected"]] == ["postgres", "redis"]
    overcommit = [c for c in host["conflicts"] if c["check"] == "overcommit_memory"]
    assert overcommit == [
        {
            "check": "overcommit_memory",
            "param": "allowed",
            "values": [{"profile": "postgres", "value": [2]}, {"profile": "redis", "value": [1]}],
            "winner": "redis",
        }
    ]
    checks = {r["check"] for r in host["results"]}
    assert {"overcommit_memory", "postmaster_oom", "thp_enabled", "swappiness"} <= checks


def test_junit_and_html_report_it_too(auto_run: tuple[str, int, Path]) -> None:
    from junitparser import JUnitXml
    from lxml import etree

    _, _, reports = auto_run
    schema = etree.XMLSchema(etree.parse(str(XSD_DIR / "junit-10.xsd")))
    assert schema.validate(etree.parse(str(reports / "junit.xml"))), schema.error_log
    (suite,) = list(JUnitXml.fromfile(str(reports / "junit.xml")))
    assert suite.name == "memcheck.postgres+redis"
    props = {p.name: p.value for p in suite.properties()}
    assert '"winner": "redis"' in props["conflicts"]
    assert (
        "overcommit_memory.allowed: postgres [2], redis [1]; redis wins"
        in (props["conflicts_summary"])
    )
    html = (reports / "report.html").read_text()
    header = html.split("</header>")[0]
    assert "<code>overcommit_memory</code>" in header
    assert "postgres: <code>[2]</code><br>redis: <code>[1]</code>" in header
    assert "PostgreSQL (pid 901) -&gt; postgres, Redis (pid 812) -&gt; redis" in header


def test_auto_in_list_checks_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_memcheck("list-checks", "--profile", "auto", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("memcheck: error: auto: 'auto' picks profiles per host")
