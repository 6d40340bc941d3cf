from __future__ import annotations

import re
from pathlib import Path

from memcheck.report.console import STYLES, render_console
from memcheck.results import RunResult
from tests.report.sample_runs import ATTR_BREAK, SCRIPT, db_host, sample_run

OWN_SEQUENCES = re.compile("|".join(re.escape(s) for s in [*STYLES.values(), "\x1b[0m"]))


def test_failures_first_by_severity_with_the_fix(run: RunResult) -> None:
    out = render_console(run, color=False, verbose=False)
    lines = out.splitlines()
    fails = [line for line in lines if line.startswith("FAIL ")]
    assert [re.search(r"\[(\w+)\]", f).group(1) for f in fails] == [  # type: ignore[union-attr]
        "critical",
        "high",
        "medium",
        "low",
    ]
    assert fails[0] == "FAIL [critical] db1 oom_kills_recent: 2 OOM kills in the last 24 h"
    at = lines.index(fails[1])
    assert lines[at + 1] == "    observed: 60   expected: 1..10"
    assert lines[at + 2] == "    fix: sysctl -w fix.swappiness=1"
    assert lines[at + 3] == "         persist in /etc/sysctl.d/90-swappiness.conf"
    first_error = next(i for i, line in enumerate(lines) if line.startswith("ERROR "))
    assert first_error > lines.index(fails[-1])


def test_errors_with_reasons_and_unreachable_hosts_once(run: RunResult) -> None:
    out = render_console(run, color=False, verbose=False)
    assert "ERROR db1 psi_memory: cannot read /proc/pressure/memory: no such file" in out
    unreachable = [line for line in out.splitlines() if line.startswith(f"ERROR {ATTR_BREAK}")]
    assert unreachable == [
        f"ERROR {ATTR_BREAK}: host not collected: ssh: connect to host refused "
        "\\x00\\x07\\x1b[31m (2 checks not run)"
    ]
    assert "ERROR gone: host not collected: timed out after 30 s" in out


def test_host_lines_total_and_reports(run: RunResult, tmp_path: Path) -> None:
    out = render_console(run, reports={"junit": tmp_path / "junit.xml"})
    lines = out.splitlines()
    assert re.fullmatch(r"db1 +3 failed, 1 error, 1 waived, 1 skipped, 1 passed", lines[-6])
    assert lines[-3].startswith("gone") and "not collected" in lines[-3]
    assert lines[-2] == (
        "memcheck: 4 hosts, 4 failed, 4 errors, 2 waived, 2 skipped, 1 passed "
        "(fail on low and above; exit code 1)"
    )
    assert lines[-1] == f"reports: {tmp_path / 'junit.xml'}"


def test_never_emits_raw_control_characters(run: RunResult) -> None:
    for verbose in (False, True):
        plain = render_console(run, color=False, verbose=verbose)
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e\ud800-\udfff]", plain)
        colored = render_console(run, color=True, verbose=verbose)
        stripped = OWN_SEQUENCES.sub("", colored)
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e\ud800-\udfff]", stripped)
        assert OWN_SEQUENCES.sub("", colored) == plain
    assert "\\x1b[31m" in plain


def test_colours_only_when_asked(run: RunResult) -> None:
    assert "\x1b" not in render_console(run, color=False)
    assert "\x1b[1;37;41m[critical]\x1b[0m" in render_console(run, color=True)


def test_verbose_adds_rationale_evidence_waived_and_skipped(run: RunResult) -> None:
    quiet = render_console(run, verbose=False)
    loud = render_console(run, verbose=True)
    for part in (
        "why: rationale of swappiness",
        "/proc/sys/vm/swappiness:1: vm.swappiness = 60",
        "see: https://docs.kernel.org/",
        "WAIVED db1 thp_enabled: vendor appliance (approved by alice, expires 2027-01-31)",
        "SKIP db1 numa_balance: single NUMA node",
    ):
        assert part in loud and part not in quiet
    assert f"{SCRIPT}" in loud  # markup is harmless on a terminal and shown as is


def test_waiver_notes(run: RunResult) -> None:
    out = render_console(run)
    assert "waiver expired (ignored): numa_*: old (expires 2025-01-01)" in out
    assert "waiver matched nothing: never_matches: nothing (expires 2027-01-01)" in out


def test_clean_run() -> None:
    host = db_host()
    host.results = [r for r in host.results if r.outcome == "pass"]
    run = sample_run([host])
    run.waivers_expired = run.waivers_unused = []
    run.conflicts = []
    assert render_console(run).splitlines() == [
        "db1  0 failed, 0 errors, 0 waived, 0 skipped, 1 passed",
        "memcheck: 1 host, 0 failed, 0 errors, 0 waived, 0 skipped, 1 passed "
        "(fail on low and above; exit code 0)",
    ]


def test_run_level_conflicts_show_for_every_host(run: RunResult) -> None:
    """Results without per-host profiles (older files) show the run's conflicts once."""
    lines = render_console(run).splitlines()
    # The sample run's hostile host was refused a file: the partial-run warning leads.
    assert lines.pop(0).startswith("WARNING partial run: ")
    assert lines[0] == (
        "CONFLICT every host: profiles default + database disagree; "
        "the later wins; a host cannot satisfy both:"
    )
    assert lines[1] == "    swappiness.max: 60, 10; database wins"


def test_changes_lead_the_output() -> None:
    from tests.report.test_junit import _changed_run

    run = _changed_run()
    run.hosts[0].results[0].observed = "60\x1b[2J"
    from memcheck.changes import compare

    before = _changed_run()
    before.hosts[0].results[0].outcome = "pass"
    before.hosts[0].results[3].outcome = "fail"  # overcommit
    compare(run, before, "nightly/previous.json")
    lines = render_console(run, color=False).splitlines()
    assert lines[0] == (
        "Changes since 2026-11-20T11:59:58Z (nightly/previous.json): "
        "1 new failure, 1 fixed, 2 still failing, 0 new OOM kills"
    )
    assert lines[1] == (
        "    NEW [high] db1 swappiness: observed 60\\x1b[2J, expected 1..10 (was pass)"
    )
    assert lines[2] == "    FIXED db1 overcommit (now pass)"
    assert lines[3] == ""
    fail = next(line for line in lines if line.startswith("FAIL [high] db1 swappiness"))
    assert fail.endswith("(new)")
    assert lines.index(fail) > 3


def test_new_oom_kills_are_listed_in_the_changes() -> None:
    from tests.report.test_junit import _changed_run

    lines = render_console(_changed_run(), color=False).splitlines()
    assert lines[0].endswith("1 new failure, 1 fixed, 2 still failing, 1 new OOM kill")
    assert "    NEW OOM KILL db1: redis-server (pid 4343) at 2026-11-20T11:30:00Z" in lines
    painted = render_console(_changed_run(), color=True)
    assert STYLES["fail"] + "NEW OOM KILL" in painted


def test_no_changes_block_without_a_baseline(run: RunResult) -> None:
    assert "Changes since" not in render_console(run)
