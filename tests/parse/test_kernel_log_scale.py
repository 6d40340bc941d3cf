"""The kernel log at scale: logs cut at any byte (the snapshot keeps the last 16 MiB), the
records sequence, memory per line, dumps that made the OOM scanner quadratic, and the facts
layer parsing the log once per host."""

from __future__ import annotations

import importlib
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import memcheck.facts.kernel_log as kernel_log_facts
from memcheck.facts.kernel_log import parse_collected_at
from memcheck.parse.kernel_log import (
    KernelLog,
    LogRecord,
    LogRecords,
    parse_drop_caches,
    parse_kernel_log,
    parse_oom_kills,
)
from tests.fuzz.bounds import call_bounded
from tests.snapshots import facts_from

DATA = Path(__file__).resolve().parent.parent / "data" / "kernel_logs"
COLLECTED = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
UPTIME = 90000.0
BOOT = COLLECTED - timedelta(seconds=UPTIME)
LOGS = sorted(p.name for p in DATA.glob("*.log"))


def parse(text: str) -> KernelLog:
    return parse_kernel_log(text, COLLECTED, UPTIME)


def dmesg_log(lines: int, every: int = 1000) -> str:
    """A dmesg log of `lines` lines with an OOM dump and a drop_caches write now and then."""
    out: list[str] = []
    stamp = 1.0
    while len(out) < lines:
        stamp += 0.001
        if len(out) % every == 0:
            out += [
                f"[{stamp:12.6f}] java invoked oom-killer: gfp_mask=0x100cca, order=0, "
                "oom_score_adj=0",
                f"[{stamp:12.6f}] CPU: 3 PID: 1234 Comm: java Not tainted 5.15.0 #1",
                f"[{stamp:12.6f}] [  pid  ]   uid  tgid total_vm      rss nr_ptes swapents "
                "oom_score_adj name",
                f"[{stamp:12.6f}] [   1234]  1000  1234   500000   400000 300 0 -5 java",
                f"[{stamp:12.6f}] Out of memory: Killed process 1234 (java) total-vm:2000000kB, "
                "anon-rss:1600000kB, file-rss:0kB, shmem-rss:0kB",
            ]
        elif len(out) % every == every // 2:
            out.append(f"[{stamp:12.6f}] bash (4321): drop_caches: 3")
        else:
            out.append(f"[{stamp:12.6f}] eth0: link up, 1000 Mbps, full duplex {len(out)}")
    return "\n".join(out[:lines]) + "\n"


# --------------------------------------------------------------------------------------------
# Cut anywhere
# --------------------------------------------------------------------------------------------


def _cuts(text: str) -> list[int]:
    """Around every line end, and inside each line."""
    cuts = {0, len(text)}
    position = 0
    for line in text.split("\n"):
        end = position + len(line)
        cuts.update({position + 1, (position + end) // 2, end - 1, end, end + 1})
        position = end + 1
    return sorted(c for c in cuts if 0 <= c <= len(text))


@pytest.mark.parametrize("name", LOGS)
def test_a_log_cut_anywhere_keeps_every_kill_of_its_whole_lines(name: str) -> None:
    """The snapshot keeps the tail of a long log, and a live read may stop mid-line: what the
    kept lines say is still found, and the cut line is a record like any other."""
    text = (DATA / name).read_text(encoding="utf-8")
    whole = parse_oom_kills(parse(text))
    for cut in _cuts(text):
        head = parse(text[:cut])
        complete = text[:cut].count("\n")  # lines before the cut that are whole
        kills = parse_oom_kills(head)
        parse_drop_caches(head)
        found = {(k.line, k.pid) for k in kills}
        assert {(k.line, k.pid) for k in whole if k.line <= complete} <= found
        assert len(head.records) <= len(parse(text).records)
        tail = parse(text[cut:])
        parse_oom_kills(tail)
        parse_drop_caches(tail)


def test_a_kill_line_cut_short_is_not_a_kill_of_garbage() -> None:
    line = "[ 5.000000] Out of memory: Killed process 1234 (java) total-vm:2000000kB, anon-rss:1"
    for cut in range(len(line) + 1):
        kills = parse_oom_kills(parse(line[:cut]))
        assert all(k.pid == 1234 and k.name == "java" for k in kills)
        if cut < line.index(")") + 1:
            assert kills == []
    (kill,) = parse_oom_kills(parse(line))
    assert kill.total_vm_bytes == 2000000 * 1024 and kill.anon_rss_bytes is None


def test_a_log_starting_mid_line_reads_its_first_part_as_a_plain_record() -> None:
    text = "ed process 1 (x) total-vm:1kB\n[ 5.0] sh (7): drop_caches: 3\n"
    log = parse(text)
    first, _ = log.records
    assert (first.format, first.time, first.continuation) == ("none", None, False)
    assert parse_oom_kills(log) == []
    assert [(e.pid, e.line) for e in parse_drop_caches(log)] == [(7, 2)]


# --------------------------------------------------------------------------------------------
# The records sequence
# --------------------------------------------------------------------------------------------


def test_records_behave_as_a_read_only_sequence() -> None:
    text = "plain\n[ 1.0] a\n  more of a\n[ 2.0] h kernel: b\n"
    records = parse(text).records
    assert isinstance(records, LogRecords)
    listed = list(records)
    assert len(records) == len(listed) == 4
    assert all(isinstance(r, LogRecord) for r in listed)
    assert records[0] == listed[0] and records[-1] == listed[3] and records[-4] == listed[0]
    assert records[1:3] == (listed[1], listed[2])
    assert records[::-1] == tuple(reversed(listed))
    assert [r.continuation for r in records] == [False, False, True, False]
    assert records[2].time == records[1].time == BOOT + timedelta(seconds=1)
    for bad in (4, -5, 10**9):
        with pytest.raises(IndexError):
            records[bad]
    assert "4 records" in repr(records)
    assert records.message(3) == "b"


def test_kernel_records_and_earliest_time_read_the_same_records() -> None:
    text = "Nov 18 00:00:00 h cron[1]: x\n  cont\nNov 19 00:00:00 h kernel: y\n[ 5.0] z"
    log = parse(text)
    assert [r.line for r in log.kernel_records] == [3, 4]
    assert log.earliest_time == datetime(2026, 11, 19, tzinfo=timezone.utc)
    # the same answer from a plain tuple of the same records
    plain = KernelLog(tuple(log.records), collected_at=COLLECTED)
    assert plain.earliest_time == log.earliest_time
    assert parse_oom_kills(plain) == parse_oom_kills(log)


def test_a_plain_tuple_of_records_is_scanned_like_a_parsed_log() -> None:
    text = (DATA / "rhel7_3.10_dmesg.log").read_text() + "[ 9.0] sh (3): drop_caches: 1\n"
    log = parse(text)
    plain = KernelLog(tuple(log.records), COLLECTED, UPTIME, log.boot_time, log.formats)
    assert parse_oom_kills(plain) == parse_oom_kills(log) and len(parse_oom_kills(log)) == 2
    assert parse_drop_caches(plain) == parse_drop_caches(log) != []


def test_a_keyword_in_the_prefix_and_again_in_the_message_is_found() -> None:
    # `] oom-kill:` - the space before the word belongs to the dmesg stamp; the word comes again
    text = "[ 1.0] x invoked oom-killer: a invoked oom-killer: gfp_mask=0x1, order=2\n"
    text += "[ 2.0] Killed process 9 (x) total-vm:1kB\n"
    (kill,) = parse_oom_kills(parse(text))
    assert (kill.order, kill.lines) == (2, (1, 2))
    text = "Nov 19 12:00:00 h drop_caches: x (5): drop_caches: 1\n"  # ident looks like the word
    assert parse_drop_caches(parse(text)) == []


# --------------------------------------------------------------------------------------------
# Memory and time per line
# --------------------------------------------------------------------------------------------


def test_memory_per_line_is_a_few_dozen_bytes() -> None:
    """The old parser kept a dozen-field object per line (about 900 bytes); the records are
    now columns of numbers over the text: well under 100 bytes a line."""
    lines = 30_000
    text = dmesg_log(lines)
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        log = parse(text)
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        if not tracing:
            tracemalloc.stop()
    assert len(log.records) == lines
    assert kept / lines < 100, f"{kept / lines:.0f} bytes kept per line"


def test_many_tiny_lines_cost_a_few_bytes_each() -> None:
    # two-byte lines: the most records a log of its size can have
    text = "a\n" * (16 << 10)
    log = call_bounded(lambda: parse(text), seconds=30, megabytes=2)
    assert len(log.records) == 16 << 10
    assert log.records[-1].message == "a" and not log.records[-1].continuation


def test_a_large_log_is_parsed_and_scanned() -> None:
    log = call_bounded(lambda: parse(dmesg_log(20_000)), seconds=30)
    kills = call_bounded(lambda: parse_oom_kills(log), seconds=10)
    # uid and oom_score_adj from the task table: the kill lines do not print them
    assert len(kills) == 20 and all(k.oom_score_adj == -5 and k.uid == 1000 for k in kills)
    assert len(parse_drop_caches(log)) == 20


def test_group_kills_cite_a_bounded_number_of_lines() -> None:
    """memory.oom.group kills every task of a cgroup after one dump; each kill used to copy
    every line the dump had cited, `memory.oom.group` lines included: quadratic."""
    lines = ["[ 1.0] x invoked oom-killer: gfp_mask=0x1, order=0, oom_score_adj=0"]
    for pid in range(4_000):
        lines.append(f"[ 1.0] Memory cgroup out of memory: Killed process {pid} (x) total-vm:1kB")
        lines.append("[ 1.0] Tasks in /a are going to be killed due to memory.oom.group set")
    log = parse("\n".join(lines))
    # 4,000 kills citing 2,000 lines each on average were 64 MB of line numbers
    kills = call_bounded(lambda: parse_oom_kills(log), seconds=10, megabytes=32)
    assert len(kills) == 4_000
    assert kills[0].lines == (1, 2) and len(kills[-1].lines) <= 33
    assert kills[-1].trigger_name == "x"


def test_killed_threads_are_found_in_the_task_table_by_thread_group() -> None:
    """A killed pid missing from the table is looked up by tgid: once per kill, not a scan of
    the whole table per kill."""
    rows = [f"[ 1.0] [{pid:7d}] {pid % 7} {pid} 1 1 1 1 {pid % 100} p" for pid in range(10_000)]
    kills = [
        f"[ 1.0] Memory cgroup out of memory: Killed process {pid} (p) total-vm:1kB"
        for pid in range(9_000, 10_000)
    ]
    text = "\n".join(
        [
            "[ 1.0] p invoked oom-killer: gfp_mask=0x1, order=0, oom_score_adj=0",
            "[ 1.0] [  pid  ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name",
            *rows,
            "[ 1.0] Tasks in /a are going to be killed due to memory.oom.group set",
            *kills,
        ]
    )
    log = parse(text)
    found = call_bounded(lambda: parse_oom_kills(log), seconds=10)
    assert len(found) == 1000
    assert (found[0].pid, found[0].uid, found[0].oom_score_adj) == (9_000, 9_000 % 7, 0)
    # a thread (pid not in the table) takes its thread group's row
    thread = "[ 1.0] [   9001]  3  4242 1 1 1 1 -17 t\n"
    text = (
        "[ 1.0] t invoked oom-killer: gfp_mask=0x1, order=0, oom_score_adj=0\n"
        "[ 1.0] [  pid  ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name\n"
        f"{thread}[ 1.0] Killed process 4242 (t) total-vm:1kB\n"
    )
    (kill,) = parse_oom_kills(parse(text))
    assert (kill.uid, kill.oom_score_adj) == (3, -17)


# --------------------------------------------------------------------------------------------
# Facts: once per host
# --------------------------------------------------------------------------------------------


def _host_files(log: str) -> dict[str, str | bytes]:
    return {
        "/.memcheck/kernel.log": log,
        "/proc/uptime": f"{UPTIME} 1.0\n",
        "/proc/vmstat": "oom_kill 50\nnr_free_pages 1\n",
    }


def test_the_log_is_parsed_once_per_host_whatever_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real = parse_kernel_log

    def counting(*args: Any, **kwargs: Any) -> KernelLog:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(kernel_log_facts, "parse_kernel_log", counting)
    facts = facts_from(_host_files(dmesg_log(5_000)))
    oom = importlib.import_module("checks.oom_kills")
    drop = importlib.import_module("checks.drop_caches_scheduled")
    for _ in range(3):
        outcome = oom.judge(facts, {"window_hours": 48, "protected_services": []})
        assert outcome.outcome == "fail"  # the kills are 25 h old
        drop.judge(facts, {"window_hours": 24, "max_drops": 1})
        assert len(facts.oom_kills) == 5 and len(facts.drop_caches_events) == 5
        assert facts.kernel_log is facts.kernel_log
    assert calls == [1]
    other = facts_from(_host_files(dmesg_log(5_000)))
    assert other.kernel_log is not facts.kernel_log and calls == [1, 1]  # per host


def test_an_unreadable_log_is_read_once_too(monkeypatch: pytest.MonkeyPatch) -> None:
    facts = facts_from({}, errors={"/.memcheck/kernel.log": "permission denied"})
    reads: list[str] = []
    real = facts.text

    def counting(path: str) -> str:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(facts, "text", counting)
    for _ in range(3):
        with pytest.raises(Exception, match="permission denied"):
            _ = facts.kernel_log
    assert reads.count("/.memcheck/kernel.log") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T12:00:00Z", datetime(2026, 11, 20, 12, tzinfo=timezone.utc)),
        ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=timezone.utc)),
        ("0001-01-01T00:00:00+14:00", None),  # before year 1 in UTC
        ("0001-01-01T00:00:00Z", None),
        ("1969-12-31T23:59:59Z", None),
        ("9999-12-31T23:59:59-14:00", None),  # after year 9999 in UTC
        ("9000-01-01T00:00:00Z", None),
        ("2026-02-30T00:00:00Z", None),
        ("2026-11-20T12:00:00Z" + " " * 100 + "x", None),
        ("9" * 5000, None),
    ],
)
def test_collected_at_outside_a_sane_clock_is_unknown(text: str, expected: datetime | None) -> None:
    assert parse_collected_at(text) == expected


def test_collected_at_keeps_its_zone() -> None:
    when = parse_collected_at("2026-11-20T14:00:00+02:00")
    assert when is not None and when.utcoffset() == timedelta(hours=2)
    assert when == datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def test_a_broken_host_clock_leaves_kills_unplaced_not_a_crash() -> None:
    text = (DATA / "rhel7_3.10_dmesg.log").read_text()
    facts = facts_from(_host_files(text), collected_at="0001-01-01T00:00:00+14:00")
    assert facts.kernel_log.collected_at is None
    assert all(k.time is None for k in facts.oom_kills) and len(facts.oom_kills) == 2
    oom = importlib.import_module("checks.oom_kills")
    outcome = oom.judge(facts, {"window_hours": 24, "protected_services": []})
    assert outcome.outcome == "fail"  # unplaced kills count as recent
