"""process_memory_growth: the sample every run records, and growth against a baseline run."""

from __future__ import annotations

from collections.abc import Mapping

from memcheck.engine import evaluate
from memcheck.facts import Facts
from memcheck.facts.process_memory import SAMPLE_SIZE, ProcessSample, match_samples
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult, HostResult, RunResult
from tests.snapshots import snapshot_from

CHECK = builtin_checks()["process_memory_growth"]
MIB = 1024 * 1024
DAY1 = "2026-11-19T02:00:00Z"
DAY2 = "2026-11-20T02:00:00Z"


def proc(
    pid: int, name: str, rss_mb: int, args: str, dirty_mb: int | None = None
) -> dict[str, str]:
    base = f"/proc/{pid}/"
    files = {
        base + "comm": name + "\n",
        base + "status": (
            f"Name:\t{name}\nPid:\t{pid}\nPPid:\t1\nVmData:\t{rss_mb * 1024 + 4096} kB\n"
            f"VmRSS:\t{rss_mb * 1024} kB\nVmSwap:\t0 kB\n"
        ),
        base + "cmdline": args.replace(" ", "\0") + "\0",
    }
    if dirty_mb is not None:
        files[base + "smaps_rollup"] = (
            "00400000-7ffd00000000 ---p 00000000 00:00 0   [rollup]\n"
            f"Rss: {rss_mb * 1024} kB\nPrivate_Dirty: {dirty_mb * 1024} kB\n"
        )
    return files


def host(*procs: dict[str, str]) -> dict[str, str]:
    files: dict[str, str] = {}
    for p in procs:
        files.update(p)
    return files


def facts(
    files: Mapping[str, str],
    when: str = DAY2,
    baseline: RunResult | None = None,
    hostname: str = "app1",
) -> Facts:
    snap = snapshot_from(files, hostname=hostname, collected_at=when)
    return Facts(snap, None, baseline)


def run(f: Facts, **params: ParamValue) -> CheckResult:
    return evaluate(CHECK, f, {**CHECK.meta.defaults(), **params})


def baseline_of(files: Mapping[str, str], hostname: str = "app1") -> RunResult:
    """A previous run's results, as results.json would hold them."""
    first = run(facts(files, DAY1, hostname=hostname))
    host_result = HostResult(name=hostname, source="ssh://" + hostname, collected_at=DAY1)
    host_result.results = [first]
    data = RunResult("test", DAY1, DAY1, ["default"], "low", hosts=[host_result]).to_json()
    return RunResult.from_json(data)


JAVA = "/usr/bin/java -Xmx4g -jar /opt/app/app.jar"
DAY1_HOST = host(
    proc(100, "java", 1000, JAVA),
    proc(200, "mysqld", 4000, "/usr/sbin/mysqld"),
    proc(300, "sshd", 8, "sshd: /usr/sbin/sshd -D"),
)


def test_without_baseline_skips_but_records_the_sample() -> None:
    result = run(facts(DAY1_HOST))
    assert result.outcome == "skip"
    assert "--baseline" in result.message
    samples = [e for e in result.evidence if e.get("kind") == "process_sample"]
    assert [(s["pid"], s["name"], s["rss_bytes"]) for s in samples] == [
        (200, "mysqld", 4000 * MIB),
        (100, "java", 1000 * MIB),
        (300, "sshd", 8 * MIB),
    ]
    assert samples[1]["cmdline"] == JAVA
    assert samples[1]["data_bytes"] == (1000 * 1024 + 4096) * 1024


def test_sample_is_capped_to_the_largest_processes() -> None:
    files = host(*(proc(1000 + i, f"w{i}", 10 + i, f"/bin/w{i}") for i in range(40)))
    result = run(facts(files))
    samples = [e for e in result.evidence if e.get("kind") == "process_sample"]
    assert len(samples) == SAMPLE_SIZE
    assert samples[0]["name"] == "w39"


def test_no_growth_passes() -> None:
    result = run(facts(DAY1_HOST, baseline=baseline_of(DAY1_HOST)))
    assert result.outcome == "pass"
    assert "3 of 3 processes matched the baseline of 2026-11-19T02:00:00Z (24.0 h earlier)" in (
        result.message
    )
    # The sample is recorded on a pass too, for the next run.
    assert sum(1 for e in result.evidence if e.get("kind") == "process_sample") == 3


def test_growth_after_a_restart_is_matched_by_name_and_cmdline() -> None:
    later = host(
        proc(4242, "java", 2000, JAVA, dirty_mb=1700),  # restarted: a new pid
        proc(200, "mysqld", 4100, "/usr/sbin/mysqld"),
        proc(300, "sshd", 8, "sshd: /usr/sbin/sshd -D"),
    )
    result = run(facts(later, baseline=baseline_of(DAY1_HOST)))
    assert result.outcome == "fail"
    assert result.severity == "medium"
    assert result.observed == 1
    assert result.message.startswith("RSS grew in 24.0 h: java (pid 4242) +1000.0 MiB")
    growth = result.evidence[0]
    assert growth["kind"] == "process_growth"
    assert growth["matched_by"] == "name and command line"
    assert (growth["before_pid"], growth["after_pid"]) == (100, 4242)
    assert (growth["before_rss_bytes"], growth["after_rss_bytes"]) == (1000 * MIB, 2000 * MIB)
    assert growth["growth_percent"] == 100.0
    assert growth["hours"] == 24.0
    assert growth["after_private_dirty_bytes"] == 1700 * MIB
    assert growth["baseline_collected_at"] == DAY1


def test_both_limits_must_be_crossed() -> None:
    # mysqld +600 MiB is 15%: over min_growth_mb, under growth_percent.
    big = host(proc(200, "mysqld", 4600, "/usr/sbin/mysqld"))
    assert run(facts(big, baseline=baseline_of(DAY1_HOST))).outcome == "pass"
    assert run(facts(big, baseline=baseline_of(DAY1_HOST)), growth_percent=10.0).outcome == "fail"
    # sshd doubling is 100% but only 8 MiB.
    small = host(proc(300, "sshd", 16, "sshd: /usr/sbin/sshd -D"))
    assert run(facts(small, baseline=baseline_of(DAY1_HOST))).outcome == "pass"
    assert run(facts(small, baseline=baseline_of(DAY1_HOST)), min_growth_mb=4).outcome == "fail"


def test_same_name_other_command_line_is_not_matched() -> None:
    other = host(proc(100, "java", 3000, "/usr/bin/java -jar /opt/other/other.jar"))
    result = run(facts(other, baseline=baseline_of(DAY1_HOST)))
    assert result.outcome == "pass"
    assert "0 of 1 processes matched" in result.message


def test_baseline_without_this_host_or_sample_skips() -> None:
    elsewhere = baseline_of(DAY1_HOST, hostname="app2")
    result = run(facts(DAY1_HOST, baseline=elsewhere))
    assert result.outcome == "skip"
    assert "no results for host app1" in result.message
    empty = RunResult("test", DAY1, DAY1, ["default"], "low", hosts=[HostResult("app1", "x")])
    assert "did not run process_memory_growth" in run(facts(DAY1_HOST, baseline=empty)).message


def test_process_status_unreadable_is_an_error_with_a_baseline() -> None:
    result = run(
        facts({"/proc/mounts": "proc /proc proc rw 0 0\n"}, baseline=baseline_of(DAY1_HOST))
    )
    assert result.outcome == "error"


def test_identical_workers_match_by_pid_only() -> None:
    worker = "php-fpm: pool www"
    before = [
        ProcessSample(10, "php-fpm", worker, 50 * MIB),
        ProcessSample(11, "php-fpm", worker, 60 * MIB),
    ]
    after = [
        ProcessSample(11, "php-fpm", worker, 900 * MIB),
        ProcessSample(12, "php-fpm", worker, 70 * MIB),
    ]
    matches = match_samples(before, after)
    assert [(m.before.pid, m.after.pid, m.by) for m in matches] == [(11, 11, "pid")]


def test_sample_round_trips_through_evidence() -> None:
    sample = ProcessSample(7, "redis-server", "/usr/bin/redis-server *:6379", 5 * MIB, None, 0, 3)
    assert ProcessSample.from_json(sample.to_json()) == sample
    assert ProcessSample.from_json({"kind": "process_sample", "pid": "7"}) is None
    assert ProcessSample.from_json({"text": "other evidence"}) is None
