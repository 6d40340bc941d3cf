"""memcheck as a plain pytest plugin: `pytest --memcheck-profile ... --memcheck-root ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

HOSTS = Path(__file__).parent / "hosts"
pytest_plugins = ["pytester"]


def run_database_profile(
    pytester: pytest.Pytester, root: Path, report_dir: Path
) -> tuple[pytest.RunResult, dict[str, Any]]:
    """`pytest --memcheck-profile database --memcheck-root ROOT -rA`, and its results.json."""
    result = pytester.runpytest_subprocess(
        "--memcheck-profile",
        "database",
        "--memcheck-root",
        str(root),
        "--memcheck-report-dir",
        str(report_dir),
        "-p",
        "no:cacheprovider",
        "-rA",
    )
    data: dict[str, Any] = json.loads((report_dir / "results.json").read_text())
    return result, data


def assert_counts_match(result: pytest.RunResult, outcomes: list[str], own_tests: int = 0) -> None:
    """pytest's counts are memcheck's outcomes (plus the user's own passing tests)."""
    counts = result.parseoutcomes()
    assert counts.get("failed", 0) == outcomes.count("fail")
    assert counts.get("passed", 0) == outcomes.count("pass") + own_tests
    assert counts.get("skipped", 0) == outcomes.count("skip") + outcomes.count("waived")
    assert counts.get("error", counts.get("errors", 0)) == outcomes.count("error")


def test_plugin_runs_checks_as_pytest_items(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(test_own="def test_users_own_test():\n    assert True\n")
    result, data = run_database_profile(pytester, HOSTS / "stock-ubuntu-22.04", tmp_path / "r")
    outcomes = [r["outcome"] for r in data["hosts"][0]["results"]]
    assert_counts_match(result, outcomes, own_tests=1)
    result.stdout.fnmatch_lines(["*stg-db-1*swappiness*vm.swappiness is 60*"])
    assert result.ret == data["exit_code"]


def test_plugin_is_inert_without_its_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_own="def test_only():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists()


def test_plugin_bad_profile_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--memcheck-profile", "nope", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*nope*"])


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--memcheck-timeout", "nan"),
        ("--memcheck-workers", "0"),
        ("--memcheck-sample-interval", "-1"),
    ],
)
def test_plugin_checks_run_values_as_the_command_does(
    pytester: pytest.Pytester, option: str, value: str
) -> None:
    root = str(HOSTS / "stock-ubuntu-22.04")
    result = pytester.runpytest_subprocess(
        "--memcheck-root", root, option, value, "--memcheck-no-reports", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{option}: expected*"])


def test_auto_generates_each_hosts_own_items(pytester: pytest.Pytester, tmp_path: Path) -> None:
    from tests.auto_trees import kubernetes_node, redis_and_postgres, write_tree

    mixed = write_tree(tmp_path / "mixed", "db-mixed", redis_and_postgres())
    node = write_tree(tmp_path / "node", "node-1", kubernetes_node())
    args = ["--memcheck-profile", "auto", "--memcheck-root", str(mixed)]
    args += ["--memcheck-root", str(node), "--memcheck-report-dir", str(tmp_path / "r")]
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider", "--co", "-q")
    data_items = [line for line in result.stdout.lines if "::test_check[" in line]
    mixed_items = {i.split("[", 1)[1].split("[")[0] for i in data_items if str(mixed) in i}
    node_items = {i.split("[", 1)[1].split("[")[0] for i in data_items if str(node) in i}
    assert "postmaster_oom" in mixed_items and "cgroup_v2" not in mixed_items
    assert "cgroup_v2" in node_items and "postmaster_oom" not in node_items
    run = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider")
    data = json.loads((tmp_path / "r" / "results.json").read_text())
    hosts = {h["name"]: h for h in data["hosts"]}
    assert hosts["db-mixed"]["profiles"] == ["postgres", "redis"]
    assert {r["check"] for r in hosts["db-mixed"]["results"]} == mixed_items
    assert {r["check"] for r in hosts["node-1"]["results"]} == node_items
    assert run.ret == data["exit_code"]


def test_each_outcome_reaches_pytest_with_its_text(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """Errors (a malformed file), failures and skips arrive as pytest outcomes, with text."""
    import shutil

    tree = tmp_path / "broken"
    shutil.copytree(HOSTS / "stock-ubuntu-22.04", tree, symlinks=True)
    (tree / "proc" / "meminfo").write_text("MemTotal: lots\n")
    result, data = run_database_profile(pytester, tree, tmp_path / "r")
    results = data["hosts"][0]["results"]
    outcomes = [r["outcome"] for r in results]
    assert "error" in outcomes and "fail" in outcomes and "skip" in outcomes
    assert_counts_match(result, outcomes)
    errored = next(r for r in results if r["outcome"] == "error")
    skipped = next(r for r in results if r["outcome"] == "skip")
    result.stdout.fnmatch_lines([f"ERROR *{errored['check']}*{errored['message'][:30]}*"])
    result.stdout.fnmatch_lines([f"SKIPPED *{skipped['message'][:30]}*"])
    assert "Traceback" not in result.stdout.str()
