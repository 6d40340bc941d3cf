"""`memcheck --baseline PREVIOUS.json`: a bad file is a one-line usage error; a real one is used."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.integration.cli import run_memcheck

HOSTS = Path(__file__).resolve().parents[1] / "hosts"
SCENARIO = HOSTS / "stock-rhel-9"
CHECK = "process_memory_growth"


def _result(report_dir: Path) -> dict[str, object]:
    data = json.loads((report_dir / "results.json").read_text())
    (host,) = data["hosts"]
    (result,) = [r for r in host["results"] if r["check"] == CHECK]
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read"),
        ("not json", "not a results.json file"),
        ('{"hosts": []}', "memcheck_version: missing"),
    ],
)
def test_bad_baseline_exits_2_with_one_line(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    baseline = tmp_path / "previous.json"
    if content is not None:
        baseline.write_text(content)
    proc = run_memcheck("--root", str(SCENARIO), "--baseline", str(baseline), cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"memcheck: error: {baseline}: ")
    assert problem in lines[0]
    assert not (tmp_path / "reports").exists()


def test_second_run_compares_with_the_first(tmp_path: Path) -> None:
    first = run_memcheck(
        "--root", str(SCENARIO), "--checks", CHECK, "--report-dir", "first", cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    recorded = _result(tmp_path / "first")
    assert recorded["outcome"] == "skip"
    samples = [e for e in recorded["evidence"] if e.get("kind") == "process_sample"]  # type: ignore[union-attr]
    assert {s["name"] for s in samples} == {"mysqld", "systemd", "sshd"}

    # The same host unchanged: compared, nothing grew.
    same = run_memcheck(
        "--root",
        str(SCENARIO),
        "--checks",
        CHECK,
        "--report-dir",
        "same",
        "--baseline",
        str(tmp_path / "first" / "results.json"),
        cwd=tmp_path,
    )
    assert same.returncode == 0, same.stderr
    assert _result(tmp_path / "same")["outcome"] == "pass"

    # A day later mysqld holds 12 GiB more: the leak signal.
    later = tmp_path / "later"
    shutil.copytree(SCENARIO, later, symlinks=True)
    status = later / "proc" / "1603" / "status"
    status.write_text(re.sub(r"VmRSS:\s+\d+ kB", "VmRSS:\t20682912 kB", status.read_text()))
    info = json.loads((later / ".memcheck" / "host.json").read_text())
    info["collected_at"] = "2026-11-21T12:00:00Z"
    (later / ".memcheck" / "host.json").write_text(json.dumps(info))
    grown = run_memcheck(
        "--root",
        str(later),
        "--checks",
        CHECK,
        "--report-dir",
        "grown",
        "--baseline",
        str(tmp_path / "first" / "results.json"),
        cwd=tmp_path,
    )
    assert grown.returncode == 1, grown.stderr
    result = _result(tmp_path / "grown")
    assert result["outcome"] == "fail"
    assert str(result["message"]).startswith("RSS grew in 24.0 h: mysqld (pid 1603) +12.0 GiB")
    assert "process_memory_growth" in grown.stdout


pytest_plugins = ["pytester"]


def test_plugin_option_uses_the_baseline(pytester: pytest.Pytester, tmp_path: Path) -> None:
    first = run_memcheck(
        "--root", str(SCENARIO), "--checks", CHECK, "--report-dir", "first", cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    args = ["--memcheck-root", str(SCENARIO), "--memcheck-checks", CHECK, "-p", "no:cacheprovider"]
    result = pytester.runpytest_subprocess(
        *args,
        "--memcheck-report-dir",
        str(tmp_path / "second"),
        "--memcheck-baseline",
        str(tmp_path / "first" / "results.json"),
    )
    assert result.ret == 0
    assert _result(tmp_path / "second")["outcome"] == "pass"
    missing = pytester.runpytest_subprocess(*args, "--memcheck-baseline", str(tmp_path / "no.json"))
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["*no.json: cannot read*"])
