from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from memcheck.engine import evaluate
from memcheck.errors import ConfigError
from memcheck.registry import builtin_checks
from memcheck.report.json_report import load_results, merge_runs, write_json
from memcheck.results import CheckResult, HostResult, RunResult
from memcheck.runner import memory_summary, reads_for
from tests.report.sample_runs import NOT_UTF8, db_host, hostile_host, sample_run, silent_host
from tests.snapshots import facts_from

SCHEMA_PATH = Path(__file__).parents[2] / "memcheck" / "report" / "results.schema.json"


def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


def validate(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema()).validate(data)
    return data


def engine_run() -> RunResult:
    """A run whose verdicts come from the real engine and a real check."""
    check = builtin_checks()["swappiness"]
    params = check.meta.defaults()
    results = [
        evaluate(check, facts_from({"/proc/sys/vm/swappiness": "1\n"}), params),
        evaluate(check, facts_from({"/proc/sys/vm/swappiness": "200\n"}), params),
        evaluate(check, facts_from({}), params),
        evaluate(check, facts_from({"/proc/sys/vm/swappiness": "lots\n"}), params),
    ]
    host = HostResult(name="testhost", source="test://testhost", results=results)
    run = RunResult("0.1.0", "2026-11-20T12:00:00Z", "2026-11-20T12:00:01Z", ["default"], "low")
    run.hosts = [host]
    run.exit_code = run.compute_exit_code()
    return run


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(
    ("model", "pointer"),
    [(RunResult, None), (HostResult, "host"), (CheckResult, "check_result")],
)
def test_schema_documents_every_field(model: type, pointer: str | None) -> None:
    node = schema() if pointer is None else schema()["$defs"][pointer]
    fields = {f.name for f in dataclasses.fields(model)}
    assert fields <= set(node["properties"])
    for name, prop in node["properties"].items():
        assert prop.get("description"), f"{pointer or 'run'}.{name} has no description"


def test_real_engine_output_validates(tmp_path: Path) -> None:
    path = write_json(engine_run(), tmp_path / "results.json")
    data = validate(path)
    outcomes = [r["outcome"] for r in data["hosts"][0]["results"]]
    assert outcomes == ["pass", "fail", "error", "error"]
    assert data["summary"] == {"pass": 1, "fail": 1, "error": 2, "skip": 0, "waived": 0}


def test_hostile_run_validates_and_round_trips(tmp_path: Path, run: RunResult) -> None:
    path = write_json(run, tmp_path / "out" / "results.json")
    validate(path)
    back = RunResult.from_json(json.loads(path.read_text(encoding="utf-8")))
    assert back == run
    assert back.hosts[1].results[0].evidence[0]["name"].endswith(NOT_UTF8)


def test_lone_surrogates_are_written_as_json_escapes(tmp_path: Path, run: RunResult) -> None:
    raw = write_json(run, tmp_path / "results.json").read_bytes()
    raw.decode("utf-8")  # strict: the file is valid UTF-8
    assert b"\\udcff" in raw


def test_invalid_output_is_caught_by_the_schema(tmp_path: Path, run: RunResult) -> None:
    form = run.to_json()
    form["hosts"][0]["results"][0]["outcome"] = "maybe"
    (tmp_path / "results.json").write_text(json.dumps(form))
    with pytest.raises(jsonschema.ValidationError):
        validate(tmp_path / "results.json")


def test_a_host_of_invalid_shape_is_written_as_a_stub(tmp_path: Path, run: RunResult) -> None:
    """What the writer writes always reads back: the host is kept, without its details."""
    run.hosts[0].results[0].outcome = "maybe"
    data = validate(write_json(run, tmp_path / "results.json"))
    assert data["hosts"][0]["results"][0]["outcome"] == "error"
    assert "could not write this host's values" in data["hosts"][0]["notes"][0]
    assert data["hosts"][1] == run.to_json()["hosts"][1]
    load_results(tmp_path / "results.json")


def test_load_results_merges_files(tmp_path: Path) -> None:
    a = sample_run([db_host()])
    a.started_at, a.finished_at = "2026-11-20T12:00:00Z", "2026-11-20T12:01:00Z"
    b = sample_run([hostile_host(), silent_host()])
    b.profiles = ["database", "redis"]
    b.fail_on = "high"
    b.started_at, b.finished_at = "2026-11-20T13:00:00+02:00", "2026-11-20T11:30:00Z"
    b.conflicts = [*a.conflicts, {"check": "thp_enabled", "param": "mode"}]
    merged = load_results([write_json(a, tmp_path / "a.json"), write_json(b, tmp_path / "b.json")])
    assert [h.name for h in merged.hosts] == [h.name for h in a.hosts + b.hosts]
    assert merged.profiles == ["default", "database", "redis"]
    assert merged.started_at == "2026-11-20T13:00:00+02:00"  # 11:00 UTC, the earliest
    assert merged.finished_at == "2026-11-20T12:01:00Z"
    assert merged.fail_on == "low"
    assert len(merged.conflicts) == 2
    assert merged.exit_code == 1
    assert merged.summary()["fail"] == 4


def test_merge_recomputes_exit_code() -> None:
    clean = sample_run([HostResult("ok", "local://")])
    clean.exit_code = 1  # stale
    unreachable = sample_run([silent_host()])
    assert merge_runs([clean]).exit_code == 0
    assert merge_runs([clean, unreachable]).exit_code == 3


def test_load_results_accepts_one_path(tmp_path: Path, run: RunResult) -> None:
    assert load_results(write_json(run, tmp_path / "r.json")) == run


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not a results.json file"),
        ("[]", "expected a JSON object"),
        ('{"schema_version": 99}', "schema_version"),
        (
            '{"memcheck_version": "1", "started_at": "", "finished_at": "", "fail_on": "low"}',
            "profiles: missing",
        ),
        (
            '{"memcheck_version": "1", "started_at": "", "finished_at": "", "fail_on": "low",'
            ' "profiles": [], "hosts": [{"name": "h", "source": "s", "results": [{}]}]}',
            "hosts[0].results[0].check: missing",
        ),
        (
            '{"memcheck_version": "1", "started_at": "", "finished_at": "", "fail_on": "low",'
            ' "profiles": "default"}',
            "profiles: expected a list of strings",
        ),
        (
            '{"memcheck_version": "1", "started_at": "", "finished_at": "", "fail_on": "none",'
            ' "profiles": []}',
            "fail_on: expected one of critical, high, medium, low",
        ),
        (
            '{"memcheck_version": "1", "started_at": "", "finished_at": "", "fail_on": "low",'
            ' "profiles": [], "hosts": [{"name": "h", "source": "s", "in_container": "yes"}]}',
            "hosts[0].in_container: expected true or false or null",
        ),
        (
            '{"memcheck_version": "1", "started_at": "", "finished_at": "", "fail_on": "low",'
            ' "profiles": [], "hosts": [{"name": "h", "source": "s", "results": [{"check": "c",'
            ' "title": "t", "area": "a", "outcome": "pass", "severity": "low", "message": 1}]}]}',
            "hosts[0].results[0].message: expected a string, got 1",
        ),
        (
            '{"memcheck_version": "1", "started_at": "", "finished_at": "", "fail_on": "low",'
            ' "profiles": [], "hosts": [{"name": "h", "source": "s", "results": [{"check": "c",'
            ' "title": "t", "area": "a", "outcome": "pass", "severity": "low", "message": "m",'
            ' "evidence": ["line"]}]}]}',
            "hosts[0].results[0].evidence: expected a list of objects",
        ),
        (
            '{"memcheck_version": "1", "started_at": "", "finished_at": "", "fail_on": "low",'
            ' "profiles": [], "hosts": [{"name": "h", "source": "s", "detected": "redis"}]}',
            "hosts[0].detected: expected a list of objects or null",
        ),
        (
            '{"memcheck_version": "1", "started_at": "", "finished_at": "", "fail_on": "low",'
            ' "profiles": [], "hosts": [{"name": "h", "source": "s", "profiles": "redis"}]}',
            "hosts[0].profiles: expected a list of strings",
        ),
    ],
)
def test_load_results_names_file_and_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_results([path])
    assert str(path) in str(info.value)
    assert problem in str(info.value)


def test_load_results_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_results([tmp_path / "absent.json"])


def test_merge_of_nothing_is_an_error() -> None:
    with pytest.raises(ConfigError):
        load_results([])


def test_results_without_per_host_profiles_still_load(tmp_path: Path, run: RunResult) -> None:
    """Files written before hosts carried profiles, conflicts and detection read back."""
    data = run.to_json()
    for host in data["hosts"]:
        for key in ("profiles", "conflicts", "detected"):
            host.pop(key)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    back = load_results(path)
    assert [h.profiles for h in back.hosts] == [[]] * len(run.hosts)
    assert all(h.detected is None and h.conflicts == [] for h in back.hosts)
    assert back.conflicts == run.conflicts


def test_merging_auto_runs_keeps_each_hosts_profiles(tmp_path: Path) -> None:
    a = sample_run([db_host()])
    a.profiles = ["auto"]
    a.hosts[0].profiles = ["postgres", "redis"]
    a.hosts[0].conflicts = [
        {
            "check": "overcommit_memory",
            "param": "allowed",
            "values": [{"profile": "postgres", "value": [2]}, {"profile": "redis", "value": [1]}],
            "winner": "redis",
        }
    ]
    a.hosts[0].detected = [{"workload": "Redis", "profile": "redis", "evidence": []}]
    b = sample_run([hostile_host()])
    b.hosts[0].profiles = ["database"]
    merged = load_results([write_json(a, tmp_path / "a.json"), write_json(b, tmp_path / "b.json")])
    assert [h.profiles for h in merged.hosts] == [["postgres", "redis"], ["database"]]
    assert merged.hosts[0].detected == a.hosts[0].detected
    assert merged.hosts[1].detected is None
    assert validate(write_json(merged, tmp_path / "m.json"))["profiles"] == [
        "auto",
        "default",
        "database",
    ]


MEMINFO = """MemTotal:       16384000 kB
MemFree:         1024000 kB
MemAvailable:    6144000 kB
Buffers:          102400 kB
Cached:          4096000 kB
SwapTotal:       2048000 kB
SwapFree:        1536000 kB
"""


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"/proc/meminfo": MEMINFO},
            {
                "total_bytes": 16384000 * 1024,
                "available_bytes": 6144000 * 1024,
                "cache_bytes": (4096000 + 102400) * 1024,
                "used_bytes": (16384000 - 6144000) * 1024,
                "swap_total_bytes": 2048000 * 1024,
                "swap_used_bytes": 512000 * 1024,
            },
        ),
        (  # before Linux 3.14: no MemAvailable, so no "used"; no swap lines at all
            {"/proc/meminfo": "MemTotal: 1000 kB\nMemFree: 10 kB\nCached: 20 kB\n"},
            {
                "total_bytes": 1024000,
                "available_bytes": None,
                "cache_bytes": 20480,
                "used_bytes": None,
                "swap_total_bytes": None,
                "swap_used_bytes": None,
            },
        ),
        ({}, None),  # not collected
        ({"/proc/meminfo": "garbage\n"}, None),  # unparsable
    ],
    ids=["full", "old-kernel", "missing", "malformed"],
)
def test_host_memory_summary(
    files: dict[str, str], expected: dict[str, int | None] | None, tmp_path: Path
) -> None:
    memory = memory_summary(facts_from(files))
    assert memory == expected
    host = HostResult(name="h", source="test://h", memory=memory)
    run = RunResult("0.1.0", "2026-11-20T12:00:00Z", "2026-11-20T12:00:01Z", ["default"], "low")
    run.hosts = [host]
    data = validate(write_json(run, tmp_path / "results.json"))
    assert data["hosts"][0]["memory"] == expected
    assert load_results([tmp_path / "results.json"]).hosts[0].memory == expected


def test_collector_always_reads_meminfo_for_the_report() -> None:
    assert "/proc/meminfo" in reads_for([])


def test_machine_form_holds_every_field_of_every_result() -> None:
    """to_json builds the form field by field: it must match a full recursive conversion."""
    from memcheck.results import SCHEMA_VERSION

    run = sample_run([db_host(), hostile_host(), silent_host()])
    expected = dataclasses.asdict(run)
    expected["schema_version"] = SCHEMA_VERSION
    expected["summary"] = run.summary()
    expected["partial"], expected["unreadable_files"] = True, 1  # the hostile host's refusal
    form = run.to_json()
    assert form == expected
    assert list(form["hosts"][0]) == list(expected["hosts"][0])
    assert list(form["hosts"][0]["results"][0]) == list(expected["hosts"][0]["results"][0])
