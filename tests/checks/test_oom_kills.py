"""oom_kills: pass, fail, critical, error and the /proc/vmstat fallback, judged end to end."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from memcheck.engine import evaluate
from memcheck.facts import Facts
from memcheck.facts.kernel_log import parse_collected_at
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from

LOG = "/.memcheck/kernel.log"
DATA = Path(__file__).resolve().parent.parent / "data" / "kernel_logs"
UPTIME_25H = "90000.00 350000.00\n"  # boot at 2026-11-19T11:00:00Z, collected 12:00 next day
VMSTAT_NONE = "nr_free_pages 1000\noom_kill 0\n"
BOOT_LINES = "[    0.000000] Linux version 5.15.0-91-generic\n[    1.100000] Memory: 8000000K\n"


def kill_line(stamp: float, pid: int, name: str, adj: int = 0, memcg: bool = False) -> str:
    context = "Memory cgroup out of memory" if memcg else "Out of memory"
    return (
        f"[{stamp:12.6f}] {context}: Killed process {pid} ({name}) total-vm:2000000kB, "
        f"anon-rss:1000000kB, file-rss:100kB, shmem-rss:0kB, UID:0 pgtables:2000kB "
        f"oom_score_adj:{adj}\n"
    )


def run(files: dict[str, str | bytes], params: dict[str, Any] | None = None,
        **kwargs: Any) -> CheckResult:  # fmt: skip
    check = builtin_checks()["oom_kills"]
    merged = {**check.meta.defaults(), **(params or {})}
    return evaluate(check, facts_from(files, **kwargs), merged)


def host(log: str, uptime: str = UPTIME_25H, vmstat: str | None = VMSTAT_NONE,
         **extra: str | bytes) -> dict[str, str | bytes]:  # fmt: skip
    files: dict[str, str | bytes] = {LOG: log, "/proc/uptime": uptime}
    if vmstat is not None:
        files["/proc/vmstat"] = vmstat
    files.update({k.replace("__", "/"): v for k, v in extra.items()})
    return files


# --------------------------------------------------------------------------------------------
# Pass
# --------------------------------------------------------------------------------------------


def test_no_kill_passes():
    result = run(host(BOOT_LINES))
    assert result.outcome == "pass"
    assert (result.observed, result.expected) == (0, 0)
    assert result.message == "no OOM kill in the last 24 h"
    assert result.evidence == []


def test_kill_older_than_the_window_passes_and_is_reported():
    # 3000 s after boot is 2026-11-19T11:50Z, 24 h 10 min before collection.
    log = BOOT_LINES + kill_line(3000.0, 4242, "java")
    result = run(host(log, vmstat="oom_kill 1\n"), params={"window_hours": 20})
    assert result.outcome == "pass"
    assert "1 older kill(s)" in result.message
    (item,) = result.evidence
    assert (item["pid"], item["name"], item["in_window"]) == (4242, "java", False)
    assert item["time"] == "2026-11-19T11:50:00+00:00"


def test_window_hours_decides():
    log = BOOT_LINES + kill_line(3000.0, 4242, "java")  # 24 h 10 min ago
    assert run(host(log), params={"window_hours": 24}).outcome == "pass"
    assert run(host(log), params={"window_hours": 25}).outcome == "fail"


def test_empty_log_passes_and_says_so():
    result = run(host(""))
    assert result.outcome == "pass"
    assert "no dated kernel message" in result.message


def test_log_that_does_not_reach_back_over_the_window_says_so():
    log = "[80000.000000] eth0: link up\n"
    result = run(host(log, vmstat=None))
    assert result.outcome == "pass"
    assert "reaches back only to 2026-11-20T09:13:20+00:00" in result.message


# --------------------------------------------------------------------------------------------
# Fail and critical
# --------------------------------------------------------------------------------------------


def test_recent_kill_fails_with_full_evidence():
    log = (DATA / "ubuntu2004_5.4_k8s_cgroupv1_dmesg.log").read_text()
    result = run(host(log, vmstat="oom_kill 1\n"))
    assert result.outcome == "fail"
    assert result.severity == "high"
    assert (result.observed, result.expected) == (1, 0)
    assert result.message.startswith("1 OOM kill(s) in the last 24 h: java (pid 31337)")
    (item,) = result.evidence
    assert item["source"] == LOG and item["line"] == 17
    assert item["text"].startswith("Memory cgroup out of memory: Killed process 31337 (java)")
    assert item["pid"] == 31337 and item["name"] == "java"
    assert item["time"] == "2026-11-20T09:13:20.100400+00:00"
    assert item["anon_rss_bytes"] == 2078128 * 1024
    assert item["total_vm_bytes"] == 5160492 * 1024
    assert item["oom_score_adj"] == 969
    assert item["trigger"] == "java" and item["trigger_pid"] == 31400
    assert item["constraint"] == "memcg"
    assert str(item["memcg"]).startswith("/kubepods/burstable/pod8c3e5a4b")
    assert item["in_window"] is True


def test_evidence_is_json_objects_with_pid_and_name():
    log = (DATA / "ubuntu2404_6.8_desktop_odd_names.log").read_text()
    result = run(host(log, vmstat="oom_kill 4\n"))
    data = json.loads(json.dumps(result.evidence))
    assert [(e["pid"], e["name"]) for e in data] == [
        (16001, "Web Content"), (15925, "(resolved)"), (4141, "tmux: server"), (777, "a) b (c)"),
    ]  # fmt: skip
    assert all(isinstance(e, dict) for e in data)
    assert result.observed == 4


@pytest.mark.parametrize(
    "name, params",
    [
        ("sshd", {}),
        ("systemd", {}),
        ("systemd-journal", {}),  # systemd-journald as the kernel truncates it
        ("kubelet", {}),
        ("postgres", {"protected_services": ["postgres"]}),
        ("verylongdaemonname", {"protected_services": ["verylongdaemonname-worker"]}),
    ],
)
def test_protected_service_killed_is_critical(name: str, params: dict[str, Any]):
    result = run(host(BOOT_LINES + kill_line(89000.0, 77, name[:15])), params=params)
    assert result.outcome == "fail"
    assert result.severity == "critical"
    assert "protected process killed: " + name[:15] in result.message


def test_negative_oom_score_adj_victim_is_critical():
    log = (DATA / "ubuntu2204_5.15_cgroupv2_journal_precise.log").read_text()
    result = run(host(log))
    assert (result.outcome, result.severity) == ("fail", "critical")
    assert result.evidence[0]["oom_score_adj"] == -997


def test_unprotected_victim_is_not_critical():
    result = run(host(BOOT_LINES + kill_line(89000.0, 77, "sshd-session")),
                 params={"protected_services": ["sshd"]})  # fmt: skip
    assert (result.outcome, result.severity) == ("fail", "high")


def test_old_protected_kill_does_not_raise_severity_of_a_recent_one():
    log = BOOT_LINES + kill_line(100.0, 1, "sshd") + kill_line(89000.0, 2, "java")
    result = run(host(log))
    assert (result.outcome, result.severity, result.observed) == ("fail", "high", 1)
    assert [e["in_window"] for e in result.evidence] == [False, True]


def test_several_kills_are_counted_and_named():
    log = BOOT_LINES + "".join(kill_line(80000.0 + i, 100 + i, f"w{i}") for i in range(12))
    result = run(host(log))
    assert result.observed == 12
    assert result.message.startswith("12 OOM kill(s) in the last 24 h: w0 (pid 100), w1")
    assert result.message.endswith("w9 (pid 109) and 2 more")
    assert len(result.evidence) == 12


def test_evidence_is_capped_at_the_most_recent_kills():
    log = BOOT_LINES + "".join(kill_line(80000.0 + i, 1000 + i, "w") for i in range(250))
    result = run(host(log, vmstat="oom_kill 250\n"))
    assert len(result.evidence) == 200
    assert result.evidence[-1]["pid"] == 1249
    assert result.observed == 250


def test_kill_that_cannot_be_placed_counts_as_recent():
    log = (DATA / "rhel6_2.6.32_no_timestamps.log").read_text()
    result = run(host(log))
    assert result.outcome == "fail"
    assert "1 could not be placed in time and are counted as recent" in result.message
    assert result.evidence[0]["time"] is None
    assert result.evidence[0]["in_window"] is True


def test_without_collection_time_every_kill_is_counted():
    result = run(host(BOOT_LINES + kill_line(5.0, 9, "java")), collected_at="")
    assert result.outcome == "fail"
    assert "could not be placed" in result.message


def test_without_uptime_monotonic_kills_cannot_be_placed():
    files = host(BOOT_LINES + kill_line(5.0, 9, "java"))
    del files["/proc/uptime"]
    result = run(files)
    assert result.outcome == "fail"
    assert "could not be placed" in result.message


# --------------------------------------------------------------------------------------------
# Time zones
# --------------------------------------------------------------------------------------------

# 08:30 in New York on Nov 19 is 13:30 UTC: 22.5 h before collection. Read as UTC, 27.5 h.
NY_LOG = (
    "Nov 19 08:30:00 web1 kernel: Out of memory: Killed process 5 (php) total-vm:4kB, "
    "anon-rss:4kB, file-rss:0kB, shmem-rss:0kB, UID:33 pgtables:4kB oom_score_adj:0\n"
)


def test_syslog_times_read_in_the_zone_of_etc_localtime_link():
    result = run(host(NY_LOG), links={"/etc/localtime": "../usr/share/zoneinfo/America/New_York"})
    assert result.outcome == "fail"
    assert result.evidence[0]["time"] == "2026-11-19T13:30:00+00:00"
    assert "UTC" not in result.message


def test_syslog_times_read_in_the_zone_of_etc_timezone():
    result = run(host(NY_LOG, etc__timezone="America/New_York\n"))
    assert result.outcome == "fail"


def test_syslog_times_read_in_the_zone_of_a_copied_tzif_file():
    import zoneinfo

    source = next(
        (Path(p) / "America" / "New_York" for p in zoneinfo.TZPATH
         if (Path(p) / "America" / "New_York").is_file()),
        None,
    )  # fmt: skip
    if source is None:
        pytest.skip("no system time zone database to copy a TZif file from")
    result = run(host(NY_LOG, etc__localtime=source.read_bytes()))
    assert result.outcome == "fail"
    assert result.evidence[0]["time"] == "2026-11-19T13:30:00+00:00"


def test_unknown_zone_reads_utc_and_says_so():
    result = run(host(NY_LOG))
    assert result.outcome == "pass"
    assert "times read as UTC: host time zone unknown" in result.message


@pytest.mark.parametrize("name", ["Not/AZone", "../../etc/passwd", "", "/abs"])
def test_bad_zone_names_are_ignored(name: str):
    facts = facts_from(host(NY_LOG, etc__timezone=name))
    assert facts.host_timezone is None


# --------------------------------------------------------------------------------------------
# Log readable but incomplete: /proc/vmstat counts kills the log no longer holds
# --------------------------------------------------------------------------------------------


def test_kills_scrolled_out_of_a_short_log_are_an_error():
    log = "[80000.000000] eth0: link up\n"  # the ring buffer starts 2.8 h before collection
    result = run(host(log, vmstat="oom_kill 3\n"))
    assert result.outcome == "error"
    assert "counts 3 OOM kill(s) since boot" in result.message
    assert "holds 0" in result.message


def test_kills_scrolled_out_before_the_window_pass():
    log = "[ 2000.000000] eth0: link up\n"  # reaches back 24.4 h: the window is covered
    result = run(host(log, vmstat="oom_kill 3\n"))
    assert result.outcome == "pass"


def test_counter_matching_the_log_passes():
    log = "[80000.000000] x\n" + kill_line(80001.0, 5, "java")
    result = run(host(log, vmstat="oom_kill 1\n"), params={"window_hours": 1})
    assert result.outcome == "pass"
    assert "1 older kill(s)" in result.message


# --------------------------------------------------------------------------------------------
# Kernel log unreadable: fall back to /proc/vmstat oom_kill
# --------------------------------------------------------------------------------------------

DENIED = {LOG: "permission denied (dmesg: read kernel buffer failed)"}


def fallback(vmstat: str | None, uptime: str | None = UPTIME_25H) -> CheckResult:
    files: dict[str, str | bytes] = {}
    if vmstat is not None:
        files["/proc/vmstat"] = vmstat
    if uptime is not None:
        files["/proc/uptime"] = uptime
    return run(files, errors=DENIED)


def test_fallback_counter_zero_passes_and_says_so():
    result = fallback("oom_kill 0\n")
    assert result.outcome == "pass"
    assert "per /proc/vmstat oom_kill" in result.message
    assert "kernel log could not be read (permission denied" in result.message
    assert result.evidence[0]["source"] == "/proc/vmstat"


def test_fallback_kills_since_a_recent_boot_fail():
    result = fallback("oom_kill 2\n", uptime="3600.00 100.00\n")
    assert result.outcome == "fail"
    assert result.observed == 2
    assert "since boot 1.0 h ago" in result.message
    assert "no details" in result.message


def test_fallback_kills_since_an_old_boot_cannot_be_placed():
    result = fallback("oom_kill 2\n", uptime="864000.00 100.00\n")
    assert result.outcome == "error"
    assert "10.0 days ago" in result.message
    assert "--sudo" in result.message and "kernel.dmesg_restrict=0" in result.message


def test_fallback_without_counter_is_an_error():  # RHEL 7's 3.10 has no oom_kill
    result = fallback("nr_free_pages 1\nallocstall 4\n")
    assert result.outcome == "error"
    assert "no oom_kill counter" in result.message and "--sudo" in result.message


def test_fallback_without_vmstat_is_an_error():
    result = fallback(None)
    assert result.outcome == "error"
    assert "kernel log could not be read" in result.message


def test_fallback_without_uptime_is_an_error():
    result = fallback("oom_kill 2\n", uptime=None)
    assert result.outcome == "error"


def test_kernel_log_not_collected_at_all_uses_the_counter():
    result = run({"/proc/vmstat": "oom_kill 0\n", "/proc/uptime": UPTIME_25H})
    assert result.outcome == "pass"
    assert "no such file" in result.message


def test_malformed_vmstat_in_fallback_is_an_error_not_a_pass():
    result = fallback("oom_kill lots\n")
    assert result.outcome == "error"


# --------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-20T12:00:00Z", datetime(2026, 11, 20, 12, tzinfo=timezone.utc)),
        ("2026-11-20T12:00:00+00:00", datetime(2026, 11, 20, 12, tzinfo=timezone.utc)),
        ("2026-11-20T12:00:00.123456Z", datetime(2026, 11, 20, 12, 0, 0, 123456, timezone.utc)),
        ("2026-11-20T12:00:00", datetime(2026, 11, 20, 12, tzinfo=timezone.utc)),
        ("", None),
        ("yesterday", None),
    ],
)
def test_collected_at(text: str, expected: datetime | None):
    assert parse_collected_at(text) == expected


def test_facts_expose_log_kills_drops_vmstat_and_uptime():
    log = BOOT_LINES + kill_line(10.0, 3, "a") + "[   11.000000] sh (44): drop_caches: 3\n"
    facts: Facts = facts_from(
        host(log, vmstat="oom_kill 1\n", **{".memcheck__vmstat.after": "oom_kill 2\n"})
    )
    assert [k.pid for k in facts.oom_kills] == [3]
    assert [(d.comm, d.pid, d.value) for d in facts.drop_caches_events] == [("sh", 44, 3)]
    assert facts.vmstat.get("oom_kill") == 1
    assert facts.vmstat_after is not None and facts.vmstat_after.get("oom_kill") == 2
    assert facts.uptime.seconds == 90000.0
    assert facts.kernel_log.boot_time == datetime(2026, 11, 19, 11, tzinfo=timezone.utc)


def test_vmstat_after_is_optional():
    assert facts_from(host("")).vmstat_after is None
