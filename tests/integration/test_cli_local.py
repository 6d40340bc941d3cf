"""The memcheck command end to end on this machine: verdicts, reports, isolation, bad input."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.cli import XSD_DIR, run_memcheck

HOSTS = Path(__file__).resolve().parents[1] / "hosts"


def _results(report_dir: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((report_dir / "results.json").read_text())
    return data


def _outcomes(data: dict[str, object]) -> dict[str, str]:
    hosts = data["hosts"]
    assert isinstance(hosts, list) and len(hosts) == 1
    return {r["check"]: r["outcome"] for r in hosts[0]["results"]}


@pytest.fixture(scope="module")
def database_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    workdir = tmp_path_factory.mktemp("db")
    proc = run_memcheck("--profile", "database", cwd=workdir)
    return proc, workdir / "reports"


def test_database_profile_runs_and_writes_three_reports(database_run: tuple[object, Path]) -> None:
    proc, reports = database_run
    assert proc.returncode in (0, 1, 3), proc.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in proc.stderr + proc.stdout  # type: ignore[attr-defined]
    for name in ("junit.xml", "report.html", "results.json"):
        assert (reports / name).stat().st_size > 0


def test_swappiness_verdict_agrees_with_proc(database_run: tuple[object, Path]) -> None:
    _, reports = database_run
    data = _results(reports)
    value = int(Path("/proc/sys/vm/swappiness").read_text())
    results = {r["check"]: r for r in data["hosts"][0]["results"]}  # type: ignore[index]
    swappiness = results["swappiness"]
    assert swappiness["observed"] == value
    assert swappiness["outcome"] == ("pass" if 1 <= value <= 10 else "fail")


def test_junit_has_one_testcase_per_selected_check(database_run: tuple[object, Path]) -> None:
    from junitparser import JUnitXml
    from lxml import etree

    _, reports = database_run
    data = _results(reports)
    selected = _outcomes(data)
    schema = etree.XMLSchema(etree.parse(str(XSD_DIR / "junit-10.xsd")))
    doc = etree.parse(str(reports / "junit.xml"))
    assert schema.validate(doc), schema.error_log
    xml = JUnitXml.fromfile(str(reports / "junit.xml"))
    names = [case.name for suite in xml for case in suite]
    assert len(names) == len(selected)
    assert {n.split("[", 1)[0] for n in names} == set(selected)


def test_exit_code_matches_outcomes(database_run: tuple[object, Path]) -> None:
    proc, reports = database_run
    outcomes = set(_outcomes(_results(reports)).values())
    expected = 1 if "fail" in outcomes else 3 if "error" in outcomes else 0
    assert proc.returncode == expected  # type: ignore[attr-defined]


def test_hostile_pytest_setup_in_cwd_changes_nothing(
    tmp_path: Path, database_run: tuple[object, Path]
) -> None:
    marker = tmp_path / "conftest-was-imported"
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -x --maxfail=1 -p no:memcheck\n")
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '-k nothing'\n")
    (tmp_path / "conftest.py").write_text(
        f"open({str(marker)!r}, 'w').write('x')\n"
        "def pytest_collection_modifyitems(items):\n    items.clear()\n"
    )
    proc = run_memcheck(
        "--profile",
        "database",
        cwd=tmp_path,
        env={"PYTEST_ADDOPTS": "-k nothing --collect-only", "PYTEST_PLUGINS": "nonexistent_plugin"},
    )
    assert proc.returncode in (0, 1, 3), proc.stderr
    assert not marker.exists(), "a conftest.py in the working directory was imported"
    _, clean_reports = database_run
    assert set(_outcomes(_results(tmp_path / "reports"))) == set(_outcomes(_results(clean_reports)))


def test_bad_profile_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[profile]\nname = "bad"\n[params.swappiness]\nmaximum = 5\n')
    proc = run_memcheck("--profile", str(bad), "--no-reports", cwd=tmp_path)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "bad.toml" in lines[0] and "maximum" in lines[0]
    assert "Traceback" not in proc.stderr


def test_unknown_profile_name_exits_2(tmp_path: Path) -> None:
    proc = run_memcheck("--profile", "no-such-profile", "--no-reports", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no-such-profile" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_root_exits_2(tmp_path: Path) -> None:
    proc = run_memcheck("--root", str(tmp_path / "nope"), "--no-reports", cwd=tmp_path)
    assert proc.returncode == 2
    assert "nope" in proc.stderr


def test_version_and_listings() -> None:
    import memcheck

    version = run_memcheck("--version")
    assert version.returncode == 0 and memcheck.__version__ in version.stdout
    checks = run_memcheck("list-checks")
    assert checks.returncode == 0 and "swappiness" in checks.stdout and "database" in checks.stdout
    profiles = run_memcheck("list-profiles")
    assert profiles.returncode == 0
    assert "default" in profiles.stdout and "database" in profiles.stdout
    explain = run_memcheck("explain", "swappiness")
    assert explain.returncode == 0
    assert "https://" in explain.stdout and "database" in explain.stdout
    unknown = run_memcheck("explain", "no_such_check")
    assert unknown.returncode == 2 and "no_such_check" in unknown.stderr


def test_collect_then_root_gives_same_verdicts(tmp_path: Path) -> None:
    snap = tmp_path / "snap.tar.gz"
    collected = run_memcheck("collect", "--out", str(snap), cwd=tmp_path)
    assert collected.returncode == 0, collected.stderr
    assert snap.stat().st_size > 0
    live = run_memcheck("--profile", "database", "--report-dir", "live", cwd=tmp_path)
    assert live.returncode in (0, 1, 3), live.stderr
    offline = run_memcheck(
        "--profile", "database", "--root", str(snap), "--report-dir", "off", cwd=tmp_path
    )
    assert offline.returncode in (0, 1, 3), offline.stderr
    live_out = _outcomes(_results(tmp_path / "live"))
    off_out = _outcomes(_results(tmp_path / "off"))
    # Values that move between two samples (available memory, processes) may differ; the
    # configuration checks must not.
    for check in (
        "swappiness",
        "thp_enabled",
        "thp_defrag",
        "zone_reclaim_mode",
        "min_free_kbytes",
        "panic_on_oom",
        "vfs_cache_pressure",
        "sysctl_persisted",
    ):
        assert live_out[check] == off_out[check], check


def test_unwritable_report_dir_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "reports-is-a-file"
    blocker.write_text("not a directory\n")
    proc = run_memcheck(
        "--root",
        str(HOSTS / "tuned-postgres-debian-12"),
        "--report-dir",
        str(blocker),
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "cannot write reports" in proc.stderr and str(blocker) in proc.stderr
    assert proc.stdout == ""  # refused before any host is audited


def test_command_exit_keeps_all_output_and_the_exit_code(tmp_path: Path) -> None:
    """The command ends without the interpreter's teardown: nothing buffered may be lost."""

    from memcheck.cli import main

    in_process = io.StringIO()
    with contextlib.redirect_stdout(in_process):
        assert main(["list-checks"]) == 0
    # stdout is a pipe, so block-buffered (unless PYTHONUNBUFFERED says otherwise).
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    buffered.pop("PYTEST_ADDOPTS", None)
    memcheck = str(Path(sys.executable).with_name("memcheck"))
    piped = subprocess.run(
        [memcheck, "list-checks"], env=buffered, capture_output=True, text=True, check=False
    )
    assert piped.returncode == 0
    # Smaller than the 8 KB output buffer: without the final flush it would all be lost.
    assert piped.stdout == in_process.getvalue() and 1000 < len(piped.stdout) < 8192
    failed = run_memcheck("--root", str(tmp_path / "nope"), "--no-reports", cwd=tmp_path)
    assert failed.returncode == 2 and failed.stderr.startswith("memcheck: error:")


def test_reader_going_away_ends_the_command_quietly() -> None:
    """`memcheck list-checks | head -c 0`: the pipe is closed before anything is written."""

    memcheck = str(Path(sys.executable).with_name("memcheck"))
    proc = subprocess.Popen(
        [memcheck, "list-checks"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == "", err
