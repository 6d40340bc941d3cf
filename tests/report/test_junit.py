from __future__ import annotations

import re
from pathlib import Path

import junitparser
import pytest
from lxml import etree

from memcheck.report.junit import build_junit, write_junit
from memcheck.results import HostResult, RunResult
from tests.report.conftest import SCHEMAS
from tests.report.sample_runs import (
    ATTR_BREAK,
    CDATA_END,
    HOSTILE_HOST,
    SCRIPT,
    db_host,
    result,
    sample_run,
)

XSDS = ("junit-10.xsd", "junit-ant.xsd")


def assert_valid(xml: bytes) -> etree._Element:
    doc = etree.fromstring(xml)
    for name in XSDS:
        schema = etree.XMLSchema(etree.parse(str(SCHEMAS / name)))
        assert schema.validate(doc), f"{name}: {schema.error_log}"
    return doc


def parse(path: Path) -> list[junitparser.TestSuite]:
    return list(junitparser.JUnitXml.fromfile(str(path)))


def cases(suite: junitparser.TestSuite) -> dict[str, junitparser.TestCase]:
    return {case.name: case for case in suite}


def test_schemas_reject_raw_junit_xml_output() -> None:
    """The reason for post-processing: junit-xml's own output is not valid."""
    from junit_xml import TestCase, TestSuite, to_xml_report_string

    raw = to_xml_report_string([TestSuite("s", [TestCase("c")])]).encode()
    doc = etree.fromstring(raw)
    for name in XSDS:
        assert not etree.XMLSchema(etree.parse(str(SCHEMAS / name))).validate(doc)


def test_hostile_run_validates_against_both_schemas(tmp_path: Path, run: RunResult) -> None:
    path = write_junit(run, tmp_path / "junit.xml")
    assert_valid(path.read_bytes())


@pytest.mark.parametrize(
    "hosts",
    [[], [HostResult("empty", "local://")], [HostResult("", "local://", results=[])]],
    ids=["no-hosts", "no-checks", "nameless"],
)
def test_degenerate_runs_validate(hosts: list[HostResult]) -> None:
    assert_valid(build_junit(sample_run(hosts)))


def test_one_suite_per_host_with_name_hostname_and_counts(tmp_path: Path, run: RunResult) -> None:
    suites = parse(write_junit(run, tmp_path / "junit.xml"))
    assert [s.name for s in suites] == ["memcheck.default+database"] * 4
    assert [s.hostname for s in suites] == [
        "db1",
        "<script>alert(1)</script>\\x00\\x07\\x1b[31m",
        ATTR_BREAK,
        "gone",
    ]
    counts = [(s.tests, s.failures, s.errors, s.skipped) for s in suites]
    assert counts == [(7, 3, 1, 2), (4, 1, 1, 2), (2, 0, 2, 0), (1, 0, 1, 0)]


def test_properties(tmp_path: Path, run: RunResult) -> None:
    suites = parse(write_junit(run, tmp_path / "junit.xml"))
    props = {p.name: p.value for p in suites[0].properties()}
    assert props["profiles"] == "default,database"
    assert props["memcheck_version"] == "0.1.0"
    assert props["kernel"] == "5.14.0-427.el9.x86_64"
    assert props["collected_at"] == "2026-11-20T12:00:00Z"
    assert props["source"] == "ssh://db1"
    assert '"winner": "database"' in props["conflicts"]
    hostile = {p.name: p.value for p in suites[1].properties()}
    assert hostile["kernel"] == f"6.1.0 {SCRIPT}"
    assert hostile["distribution"] == f"Debian {CDATA_END}"


def test_no_conflicts_property_without_conflicts(tmp_path: Path) -> None:
    run = sample_run([db_host()])
    run.conflicts = []
    props = {p.name for p in parse(write_junit(run, tmp_path / "j.xml"))[0].properties()}
    assert "conflicts" not in props
    assert {"profiles", "memcheck_version", "kernel", "collected_at", "source"} <= props


def test_testcase_names_classnames_and_results(tmp_path: Path, run: RunResult) -> None:
    db = cases(parse(write_junit(run, tmp_path / "junit.xml"))[0])
    assert list(db) == [
        "swappiness[db1]",
        "oom_kills_recent[db1]",
        "vfs_cache_pressure[db1]",
        "overcommit[db1]",
        "numa_balance[db1]",
        "psi_memory[db1]",
        "thp_enabled[db1]",
    ]
    assert db["oom_kills_recent[db1]"].classname == "memcheck.oom"
    assert db["overcommit[db1]"].is_passed

    (failure,) = db["swappiness[db1]"].result
    assert isinstance(failure, junitparser.Failure)
    assert failure.message == "observed 60, expected 1..10"
    assert failure.type == "high"
    body = failure.text
    for part in (
        "vm.swappiness is 60, outside 1..10",
        "rationale of swappiness",
        "/proc/sys/vm/swappiness:1: vm.swappiness = 60",
        "sysctl -w fix.swappiness=1",
        "persist in /etc/sysctl.d/90-swappiness.conf",
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#swappiness",
    ):
        assert part in body

    (skipped,) = db["numa_balance[db1]"].result
    assert isinstance(skipped, junitparser.Skipped)
    assert skipped.message == "single NUMA node"
    (error,) = db["psi_memory[db1]"].result
    assert isinstance(error, junitparser.Error)
    assert error.message == "cannot read /proc/pressure/memory: no such file"
    (waived,) = db["thp_enabled[db1]"].result
    assert isinstance(waived, junitparser.Skipped)
    assert waived.message == "waived: vendor appliance (approved by alice, expires 2027-01-31)"


def test_structured_evidence_reaches_the_body(tmp_path: Path, run: RunResult) -> None:
    db = cases(parse(write_junit(run, tmp_path / "junit.xml"))[0])
    (failure,) = db["oom_kills_recent[db1]"].result
    assert failure.type == "critical"
    assert "pid=4242, name=postgres, time=2026-11-20T11:00:00Z" in failure.text


def test_unreachable_hosts_are_errors_with_the_reason(tmp_path: Path, run: RunResult) -> None:
    suites = parse(write_junit(run, tmp_path / "junit.xml"))
    for suite in suites[2:]:
        assert suite.tests >= 1
        for case in suite:
            (error,) = case.result
            assert isinstance(error, junitparser.Error)
            assert error.type == "unreachable"
            assert error.message.startswith("host not collected: ")
    assert cases(suites[3])["collect[gone]"].result[0].message == (
        "host not collected: timed out after 30 s"
    )


def test_unreachable_host_turns_stray_verdicts_into_errors(tmp_path: Path) -> None:
    host = HostResult("h", "ssh://h", unreachable="refused", results=[result("swappiness", "pass")])
    suite = parse(write_junit(sample_run([host]), tmp_path / "j.xml"))[0]
    assert (suite.errors, suite.failures) == (1, 0)


def test_hostile_text_is_kept_visibly(tmp_path: Path, run: RunResult) -> None:
    path = write_junit(run, tmp_path / "junit.xml")
    raw = path.read_bytes()
    assert b"<script>" not in raw and b"<img" not in raw
    assert b"\x1b" not in raw and b"\x00" not in raw and b"\x07" not in raw
    hostile = cases(parse(path)[1])
    name = f"oom_protected[{SCRIPT}\\x00\\x07\\x1b[31m]"
    assert name in hostile
    (failure,) = hostile[name].result
    assert failure.message == f"observed {ATTR_BREAK}\\x00\\x07\\x1b[31m, expected -1000"
    text = failure.text
    assert f"{SCRIPT}{ATTR_BREAK}\\x00\\x07\\x1b[31m{CDATA_END}bad\ufffdbytes\\udcff" in text
    assert "\\u202eevil" in text
    assert f"{CDATA_END} plain line" in text
    assert "javascript:alert(1)" in text
    suites = parse(path)
    assert HOSTILE_HOST not in [s.hostname for s in suites]  # raw control characters never


@pytest.mark.parametrize("char", ["\x7f", "\x85", "\x9b", "\ufdd0", "\ufffe", "\U0010ffff"])
def test_characters_junit_xml_would_strip_are_marked(char: str, tmp_path: Path) -> None:
    host = HostResult("h", "local://", results=[result("c", "error", message=f"x{char}y")])
    path = write_junit(sample_run([host]), tmp_path / "j.xml")
    assert_valid(path.read_bytes())
    message = next(iter(parse(path)[0])).result[0].message
    assert message.startswith("x\\") and message.endswith("y") and len(message) > 3


def test_times_have_at_most_three_decimals(run: RunResult) -> None:
    doc = assert_valid(build_junit(run))
    times = [el.get("time") for el in doc.iter("testsuite", "testcase")]
    assert times and all(re.fullmatch(r"\d+\.\d{3}", t or "") for t in times)
    assert doc.find("testsuite").get("timestamp") == "2026-11-20T12:00:00"


def test_duplicate_host_names_get_distinct_test_names(tmp_path: Path) -> None:
    first, second = db_host(), db_host()
    second.source = "ssh://db1.other"
    path = write_junit(sample_run([first, second]), tmp_path / "j.xml")
    names = [case.name for suite in parse(path) for case in suite]
    assert len(names) == len(set(names))
    assert "swappiness[db1 (ssh://db1.other)]" in names


def test_no_attributes_the_schemas_forbid(run: RunResult) -> None:
    doc = etree.fromstring(build_junit(run))
    assert dict(doc.attrib) == {}
    assert all("disabled" not in el.attrib for el in doc.iter())
    assert all("type" not in el.attrib for el in doc.iter("skipped"))


@pytest.mark.parametrize(
    ("duration", "shown"),
    [(0.0012345, "0.001"), (12.5, "12.500"), (-1.0, "0.000"), (float("nan"), "0.000"),
     (float("inf"), "0.000")],
)  # fmt: skip
def test_odd_durations_stay_valid(duration: float, shown: str) -> None:
    host = HostResult("h", "local://", results=[result("c", "pass", duration_seconds=duration)])
    doc = assert_valid(build_junit(sample_run([host])))
    assert doc.find("testsuite/testcase").get("time") == shown


def _changed_run() -> RunResult:
    from memcheck.changes import compare

    before = sample_run([db_host()])
    before.started_at = "2026-11-19T03:00:00Z"
    for r in before.hosts[0].results:
        if r.check == "swappiness":
            r.outcome = "pass"
        if r.check == "overcommit":
            r.outcome = "fail"
        if r.check == "oom_kills_recent":
            r.check, r.evidence = "oom_kills", r.evidence[:1]
    run = sample_run([db_host()])
    for r in run.hosts[0].results:
        if r.check == "oom_kills_recent":
            r.check = "oom_kills"
    compare(run, before, "nightly/previous.json")
    return run


def test_change_counts_lead_the_properties_and_validate(tmp_path: Path) -> None:
    run = _changed_run()
    xml = build_junit(run)
    assert_valid(xml)
    (suite,) = parse(write_junit(run, tmp_path / "junit.xml"))
    props = [(p.name, p.value) for p in suite.properties()]
    assert props[:6] == [
        ("changes.new", "1"),
        ("changes.fixed", "1"),
        ("changes.still_failing", "2"),
        ("changes.new_oom_kills", "1"),
        ("changes.baseline_started_at", "2026-11-19T03:00:00Z"),
        ("changes.baseline", "nightly/previous.json"),
    ]
    (failure,) = cases(suite)["swappiness[db1]"].result
    assert "since the baseline: new" in failure.text


def test_no_change_properties_without_a_baseline(tmp_path: Path) -> None:
    (suite,) = parse(write_junit(sample_run([db_host()]), tmp_path / "junit.xml"))
    assert not [p.name for p in suite.properties() if p.name.startswith("changes.")]


def test_real_waivers_give_skipped_with_reason_approver_and_expiry(tmp_path: Path) -> None:
    from memcheck.profile import load_profiles
    from memcheck.registry import builtin_checks
    from memcheck.runner import Audit, RunOptions, parse_targets
    from memcheck.waivers import WaiverSet, load_waivers

    waivers = tmp_path / "waivers.toml"
    waivers.write_text(
        "[[waiver]]\n"
        'check = "swappiness"\n'
        'reason = "batch host <b>&amp; \\u0007</b>"\n'
        'approved_by = "alice"\n'
        'expires = "2099-12-31"\n'
    )
    checks = builtin_checks()
    tree = Path(__file__).parents[1] / "hosts" / "stock-ubuntu-22.04"
    audit = Audit(
        load_profiles(["database"], checks),
        checks,
        parse_targets([], [str(tree)]),
        RunOptions(waivers=WaiverSet(load_waivers(str(waivers)))),
    )
    audit.evaluate_all()
    run = audit.run_result()
    xml = build_junit(run)
    assert_valid(xml)
    path = tmp_path / "junit.xml"
    path.write_bytes(xml)
    (suite,) = parse(path)
    name = f"swappiness[{run.hosts[0].name}]"
    (skipped,) = cases(suite)[name].result
    assert isinstance(skipped, junitparser.Skipped)
    assert skipped.message == (
        "waived: batch host <b>&amp; \\x07</b> (approved by alice, expires 2099-12-31)"
    )
    assert "observed: 60" in skipped.text
