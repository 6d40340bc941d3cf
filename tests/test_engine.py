"""The engine keeps every failure inside its own check, and user check directories work."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from memcheck.engine import evaluate
from memcheck.errors import ConfigError
from memcheck.registry import all_checks, builtin_checks, user_checks
from tests.integration.cli import run_memcheck
from tests.snapshots import facts_from

HOSTS = Path(__file__).parent / "hosts"

USER_CHECKS = {
    "always_raises": """
        from memcheck.model import CheckMeta, Outcome, Param
        META = CheckMeta(id="always_raises", title="raises", area="sysctl", severity="low",
                         rationale="r", remediation="f", references=("https://example.org",),
                         reads=("/proc/meminfo",))
        def judge(facts, params):
            raise ZeroDivisionError("boom")
    """,
    "wrong_type": """
        from memcheck.model import CheckMeta
        META = CheckMeta(id="wrong_type", title="wrong", area="sysctl", severity="low",
                         rationale="r", remediation="f", references=(), reads=())
        def judge(facts, params):
            return "pass"
    """,
    "hugepages_total_zero": """
        from memcheck.model import CheckMeta, Outcome, Param, param_int
        META = CheckMeta(id="hugepages_total_zero", title="no static huge pages", area="sysctl",
                         severity="low", rationale="r", remediation="f", references=(),
                         reads=("/proc/meminfo",), params={"max": Param(0, "most allowed")})
        def judge(facts, params):
            total = facts.meminfo.hugepages_total or 0
            if total <= param_int(params, "max"):
                return Outcome.passed(f"{total} huge pages", total, 0)
            return Outcome.failed(f"{total} huge pages", total, 0)
    """,
}


@pytest.fixture
def check_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "mychecks"
    directory.mkdir()
    for name, body in USER_CHECKS.items():
        (directory / f"{name}.py").write_text(textwrap.dedent(body))
    return directory


def test_a_raising_check_is_an_error_with_the_reason(check_dir: Path) -> None:
    checks = user_checks(str(check_dir))
    result = evaluate(checks["always_raises"], facts_from({}), {})
    assert result.outcome == "error"
    assert "ZeroDivisionError" in result.message and "boom" in result.message


def test_a_check_returning_the_wrong_type_is_an_error(check_dir: Path) -> None:
    result = evaluate(user_checks(str(check_dir))["wrong_type"], facts_from({}), {})
    assert result.outcome == "error" and "not Outcome" in result.message


def test_a_user_check_cannot_shadow_a_builtin(tmp_path: Path) -> None:
    (tmp_path / "swappiness.py").write_text(
        (Path(builtin_checks()["swappiness"].origin)).read_text()
    )
    with pytest.raises(ConfigError, match="already exists"):
        all_checks([str(tmp_path)])


def test_user_checks_run_in_the_same_report(check_dir: Path, tmp_path: Path) -> None:
    proc = run_memcheck(
        "--profile",
        "database",
        "--root",
        str(HOSTS / "tuned-postgres-debian-12"),
        "--check-dir",
        str(check_dir),
        "--checks",
        "swappiness,always_raises,hugepages_total_zero",
        "--report-dir",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr  # errors only, no failures
    data = json.loads((tmp_path / "r" / "results.json").read_text())
    got = {r["check"]: r["outcome"] for r in data["hosts"][0]["results"]}
    assert got == {"swappiness": "pass", "always_raises": "error", "hugepages_total_zero": "pass"}
