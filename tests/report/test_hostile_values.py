"""No value a host can carry costs a report, and one host never costs the others.

Absurd dates, non-finite and huge numbers, huge strings and deep nesting are bounded when a
result is made (memcheck.results); whatever still breaks a writer loses only its own host's
details, with a note saying so (memcheck.report.guard).
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import junitparser
import pytest
from lxml import etree

from memcheck.model import ev
from memcheck.report import load_results, render_console, write_reports
from memcheck.report.junit import build_junit
from memcheck.results import (
    MAX_EVIDENCE,
    MAX_TEXT,
    CheckResult,
    HostResult,
    RunResult,
    bounded_json,
)
from tests.integration.cli import run_memcheck
from tests.report.conftest import SCHEMAS
from tests.report.sample_runs import db_host, result, sample_run

SCHEMA = Path(__file__).parents[2] / "memcheck" / "report" / "results.schema.json"
HOSTS = Path(__file__).parents[1] / "hosts"


def strict_json(path: Path) -> Any:
    """results.json as a strict JSON reader sees it: bare NaN or Infinity is an error."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"bare {constant} in {path}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def good_host(name: str = "good") -> HostResult:
    host = db_host()
    host.name = name
    return host


def written_everywhere(tmp_path: Path, run: RunResult) -> dict[str, str]:
    """Write every report and return their texts (the console's too), checking each parses."""
    paths = write_reports(run, report_dir=tmp_path)
    assert set(paths) == {"json", "junit", "html"}
    data = strict_json(paths["json"])
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(data)
    junit = paths["junit"].read_bytes()
    etree.XMLSchema(etree.parse(str(SCHEMAS / "junit-10.xsd"))).assertValid(etree.fromstring(junit))
    junitparser.JUnitXml.fromfile(str(paths["junit"]))
    return {
        "json": paths["json"].read_text(encoding="utf-8"),
        "junit": junit.decode("utf-8"),
        "html": html.unescape(paths["html"].read_text(encoding="utf-8")),
        "console": render_console(run),
    }


def test_a_date_out_of_range_in_utc_costs_nothing(tmp_path: Path) -> None:
    """0001-01-01 at +14:00 is before year 1 in UTC: the JUnit writer once raised
    OverflowError on it, and no junit.xml or report.html was written for any host."""
    odd = good_host("odd")
    odd.collected_at = "0001-01-01T00:00:00+14:00"
    run = sample_run([good_host(), odd])
    run.started_at = "9999-12-31T23:59:59-14:00"
    texts = written_everywhere(tmp_path, run)
    suites = list(junitparser.JUnitXml.fromfile(str(tmp_path / "junit.xml")))
    assert [s.hostname for s in suites] == ["good", "odd"]
    assert all(len(s.timestamp) == 19 for s in suites)  # a time, the writer's own
    assert "0001-01-01T00:00:00+14:00" in texts["html"] and "odd" in texts["console"]


def test_non_finite_and_huge_numbers_never_reach_results_json(tmp_path: Path) -> None:
    nan, inf = float("nan"), float("inf")
    host = HostResult(
        name="numbers",
        source="test://numbers",
        collection_seconds=nan,
        memory={"total_bytes": 10**400, "available_bytes": 5},  # type: ignore[dict-item]
        results=[
            result(
                "psi_memory",
                "fail",
                observed=nan,
                expected=[inf, -inf, 10**5000],
                evidence=[ev("avg10=nan", some=nan, total=-inf, big=10**5000)],
                params={"some_max": nan},
                duration_seconds=inf,
            )
        ],
    )
    texts = written_everywhere(tmp_path, sample_run([host, good_host()]))
    data = json.loads(texts["json"])
    checked = data["hosts"][0]["results"][0]
    assert checked["observed"] == "NaN"
    assert checked["expected"][:2] == ["Infinity", "-Infinity"]
    assert checked["expected"][2].startswith("(an integer of ")
    assert checked["evidence"][0]["some"] == "NaN" and checked["params"] == {"some_max": "NaN"}
    assert checked["duration_seconds"] == 0.0
    assert data["hosts"][0]["collection_seconds"] is None
    assert data["hosts"][0]["memory"]["total_bytes"] is None


def test_a_value_changed_after_its_result_was_made_is_bounded_when_written(
    tmp_path: Path,
) -> None:
    run = sample_run([good_host()])
    run.hosts[0].results[0].observed = float("nan")  # after __post_init__: not yet bounded
    data = strict_json(write_reports(run, json=tmp_path / "r.json")["json"])
    assert data["hosts"][0]["results"][0]["observed"] == "NaN"


def test_huge_text_is_cut_visibly_at_the_result() -> None:
    line = "X" * 16_000_000
    made = result(
        "memory_available",
        "error",
        message=f"cannot parse /proc/meminfo: {line}",
        observed=line,
        expected={"k": line},
        evidence=[ev(line, source="/proc/meminfo", line=51)] * 1000,
    )
    assert len(made.message) < MAX_TEXT + 60
    left_out = len("cannot parse /proc/meminfo: ") + len(line) - MAX_TEXT
    assert made.message.endswith(f"… [truncated, {left_out} more characters]")
    assert isinstance(made.observed, str) and len(made.observed) < MAX_TEXT + 60
    assert len(made.evidence) == MAX_EVIDENCE + 1
    marker = made.evidence[MAX_EVIDENCE // 2]
    assert marker["text"] == "… [truncated, 800 more evidence items left out here]"
    assert len(json.dumps(made.evidence)) < 1_000_000


def test_evidence_keeps_the_latest_items() -> None:
    """The last lines of a kernel log are the ones that matter most: the middle is left out."""
    items = [ev(f"kill {i}", pid=i, name="x") for i in range(1000)]
    made = result("oom_kills", "fail", evidence=items)
    pids = [e.get("pid") for e in made.evidence]
    assert pids[:3] == [0, 1, 2] and pids[-1] == 999 and None in pids


def test_deep_nesting_is_cut(tmp_path: Path) -> None:
    deep: Any = "bottom"
    for _ in range(50_000):
        deep = [deep]
    host = HostResult(
        name="deep",
        source="test://deep",
        results=[result("c", "fail", observed=deep, evidence=[{"text": "t", "deep": deep}])],
    )
    texts = written_everywhere(tmp_path, sample_run([host, good_host()]))
    assert "nested too deep" in texts["json"]


def test_bounded_json_handles_any_object() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    value = {1: (b"\xff", {2.5}), "k": Broken(), None: float("-inf")}
    bounded = bounded_json(value)
    assert json.loads(json.dumps(bounded, allow_nan=False)) == bounded


def _broken(host: HostResult) -> HostResult:
    """A host whose values no writer copes with (they were changed after it was made)."""

    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("this value cannot be shown")

        def __len__(self) -> int:
            raise RuntimeError("nor measured")

    host.kernel = Hostile()  # type: ignore[assignment]
    host.results[0].evidence = 5  # type: ignore[assignment]
    host.results[0].message = Hostile()  # type: ignore[assignment]
    return host


def test_a_host_that_breaks_the_writers_loses_only_its_own_details(tmp_path: Path) -> None:
    bad = _broken(good_host("bad-host"))
    run = sample_run([good_host("first"), bad, good_host("last")])
    run.exit_code = run.compute_exit_code()
    texts = written_everywhere(tmp_path, run)
    for kind, text in texts.items():
        for name in ("first", "bad-host", "last"):
            assert name in text, (kind, name)
        assert "could not write this host's values" in text, kind
    # The good hosts keep every detail: their evidence is there in every report.
    assert texts["junit"].count("Killed process 4242 (postgres)") >= 2
    data = json.loads(texts["json"])
    assert [h["name"] for h in data["hosts"]] == ["first", "bad-host", "last"]
    assert len(data["hosts"][1]["results"]) == len(bad.results)  # its verdicts are kept
    assert data["exit_code"] == run.exit_code


def test_a_broken_host_is_found_among_many(tmp_path: Path) -> None:
    hosts = [good_host(f"h{i}") for i in range(40)]
    _broken(hosts[17])
    root = etree.fromstring(build_junit(sample_run(hosts)))
    suites = root.findall("testsuite")
    assert [s.get("hostname") for s in suites] == [f"h{i}" for i in range(40)]
    noted = [
        s.get("hostname")
        for s in suites
        if "could not write this host's values" in (s.findtext("system-out") or "")
    ]
    assert noted == ["h17"]
    assert all(len(s.findall("testcase")) == len(hosts[0].results) for s in suites)


# -- partial runs ---------------------------------------------------------------------------
def partial_host(name: str = "db1") -> HostResult:
    host = good_host(name)
    host.collection_errors = {
        "/proc/1/environ": "Permission denied",
        "/proc/sys/vm/stat_refresh": "Operation not permitted",
        "/.memcheck/kernel.log": "dmesg: read kernel buffer failed: Operation not permitted",
        "/proc/missing": "no such file",
    }
    return HostResult(**{f: getattr(host, f) for f in host.__dataclass_fields__})


def test_partial_is_worked_out_from_the_collection_errors() -> None:
    host = partial_host()
    assert host.partial and host.unreadable_files == 3
    whole = good_host()
    whole.collection_errors = {"/proc/missing": "no such file"}
    whole = HostResult(**{f: getattr(whole, f) for f in whole.__dataclass_fields__})
    assert not whole.partial and whole.unreadable_files == 0
    run = sample_run([host, whole])
    assert run.partial and run.unreadable_files == 3


def test_partial_run_is_marked_in_every_report(tmp_path: Path) -> None:
    run = sample_run([partial_host(), good_host("complete")])
    texts = written_everywhere(tmp_path, run)
    first = texts["console"].splitlines()[0]
    assert first.startswith("WARNING partial run: 2 files and the kernel log could not be read")
    assert "db1" in first and "--sudo" in first and "root" in first
    data = json.loads(texts["json"])
    assert data["partial"] is True and data["unreadable_files"] == 3
    assert [h["partial"] for h in data["hosts"]] == [True, False]
    suites = list(junitparser.JUnitXml.fromfile(str(tmp_path / "junit.xml")))
    props = [{p.name: p.value for p in s.properties()} for s in suites]
    assert [p["partial"] for p in props] == ["true", "false"]
    assert props[0]["unreadable_files"] == "3"
    system_out = etree.fromstring(texts["junit"].encode()).findall("testsuite/system-out")
    assert (system_out[0].text or "").startswith("partial: 2 files and the kernel log")
    assert "partial" not in (system_out[1].text or "")
    page = texts["html"]
    banner = page.index('id="partial"')
    assert banner < page.index("<header>")
    assert "could not be read on db1" in page[banner : banner + 400]


def test_a_complete_run_says_nothing_of_partial(tmp_path: Path) -> None:
    texts = written_everywhere(tmp_path, sample_run([good_host()]))
    assert "partial" not in texts["console"] and 'id="partial"' not in texts["html"]
    assert json.loads(texts["json"])["partial"] is False


def test_partial_flag_survives_cut_collection_errors(tmp_path: Path) -> None:
    errors = {f"/proc/{i}/environ": "Permission denied" for i in range(5000)}
    errors["/.memcheck/kernel.log"] = "dmesg: Operation not permitted"
    host = HostResult(name="many", source="t://many", collection_errors=errors)
    assert host.unreadable_files == 5001 and len(host.collection_errors) == 1001
    assert "/.memcheck/kernel.log" in host.collection_errors
    path = write_reports(sample_run([host]), json=tmp_path / "r.json")["json"]
    again = load_results(path).hosts[0]
    assert again.partial and again.unreadable_files == 5001


def test_an_unprivileged_snapshot_warns_first_on_the_console(tmp_path: Path) -> None:
    """A real snapshot with a file refused (Permission denied in its host.json)."""
    proc = run_memcheck(
        "--root", str(HOSTS / "hostile-and-malformed"), "--report-dir", str(tmp_path / "r")
    )
    assert proc.returncode in (1, 3), proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("WARNING partial run: 1 file could not be read"), proc.stdout
    assert json.loads((tmp_path / "r" / "results.json").read_text())["partial"] is True


# -- amplification --------------------------------------------------------------------------
@pytest.mark.parametrize("line_mb", [16])
def test_a_huge_proc_line_makes_small_reports(tmp_path: Path, line_mb: int) -> None:
    """A 16 MB line in /proc/meminfo once made 382 MB of reports (quoted in every check's
    error, in three reports) and 84 MB of console text."""
    snapshot = tmp_path / "host"
    shutil.copytree(HOSTS / "stock-debian-12-redis", snapshot, symlinks=True)
    with open(snapshot / "proc" / "meminfo", "a") as fh:
        fh.write("X" * (line_mb * 1024 * 1024) + "\n")
    proc = run_memcheck("--root", str(snapshot), "--report-dir", str(tmp_path / "r"))
    assert proc.returncode == 3, proc.stderr
    sizes = {p.name: p.stat().st_size for p in (tmp_path / "r").iterdir()}
    assert sum(sizes.values()) < 1_000_000, sizes
    assert len(proc.stdout) < 100_000


def test_huge_values_stay_small_in_every_report(tmp_path: Path) -> None:
    """The bound at the result alone keeps reports small, whatever the parsers quote."""
    line = "Y" * 4_000_000
    results = [
        result(f"check_{i}", "error", message=f"cannot parse: {line}", observed=line)
        for i in range(20)
    ]
    texts = written_everywhere(tmp_path, sample_run([HostResult("h", "t://h", results=results)]))
    assert all(len(text) < 1_000_000 for text in texts.values()), {
        k: len(v) for k, v in texts.items()
    }


def test_check_result_from_a_file_is_bounded_too() -> None:
    made = CheckResult.from_json(
        {
            "check": "c",
            "title": "t",
            "area": "a",
            "outcome": "fail",
            "severity": "low",
            "message": "m" * 100_000,
            "evidence": [{"text": "e"}] * 5000,
        }
    )
    assert len(made.message) < MAX_TEXT + 60 and len(made.evidence) == MAX_EVIDENCE + 1
