"""parse_output: framed bytes to a Snapshot, including output that was cut short."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

import pytest

from memcheck.collect import CollectError, build_script, parse_output
from memcheck.collect.script import KERNEL_LOG_SOURCE, TRUNCATED, separator
from memcheck.errors import MISSING
from memcheck.snapshot import KERNEL_LOG, Snapshot
from tests.collect.shells import NONCE, run_script
from tests.collect.tree import HOSTILE_READS, hostile_tree

SEP = separator(NONCE)


def frame(*records: tuple[str, bytes | str]) -> bytes:
    out = b""
    for tag, data in records:
        raw = data.encode() if isinstance(data, str) else data
        out += SEP + tag.encode() + b"\n" + raw
    return out


def parse(stdout: bytes) -> Snapshot:
    return parse_output(stdout, NONCE, "ssh://user:pw@db1", "9.9")


HEAD = (("begin", "1\n/proc/meminfo\n"), ("date", "2026-01-02T03:04:05Z"))


def test_minimal_output() -> None:
    snap = parse(
        frame(
            *HEAD,
            ("read", "/proc/meminfo"),
            ("path", "/proc/meminfo"),
            ("file", "MemTotal: 1 kB\n"),
            ("done", ""),
            ("end", ""),
        )
    )
    assert snap.files == {"/proc/meminfo": b"MemTotal: 1 kB\n"}
    assert snap.info.collected_at == "2026-01-02T03:04:05Z"
    assert snap.info.memcheck_version == "9.9"
    assert snap.info.errors == {}
    # No /proc/sys/kernel/hostname: the host part of the source names it, without the user.
    assert snap.info.hostname == "db1"
    assert snap.info.sample_interval_seconds is None


def test_text_around_the_frames_is_ignored() -> None:
    # Login banners before, shell noise after: neither is part of any record.
    body = frame(*HEAD, ("path", "/proc/meminfo"), ("file", "x"), ("end", ""))
    snap = parse(b"Welcome to host!\n:MEMCHECK:\n" + body + b"\nlogout\n")
    assert snap.files == {"/proc/meminfo": b"x"}


def test_a_marker_from_another_run_is_content() -> None:
    other = separator("f" * 32) + b"end\n"
    snap = parse(frame(*HEAD, ("path", "/a"), ("file", other), ("end", "")))
    assert snap.files["/a"] == other


@pytest.mark.parametrize(
    ("complaint", "reason"),
    [
        ("cat: /a: Permission denied", "permission denied"),
        ("cat: /a: No such file or directory", MISSING),
        ("cat: /a: Input/output error", "Input/output error"),
        ("cat: can't open '/a': Operation not permitted", "operation not permitted"),
        ("", "read failed"),
    ],
)
def test_read_errors_become_reasons(complaint: str, reason: str) -> None:
    records = [*HEAD, ("path", "/a"), ("file", ""), ("error", complaint), ("end", "")]
    snap = parse(frame(*records))
    assert snap.errors == {"/a": reason}
    assert "/a" not in snap.files


def test_missing_gone_special_and_skipped() -> None:
    snap = parse(
        frame(
            *HEAD,
            ("path", "/m"),
            ("missing", ""),
            ("path", "/proc/9/comm"),
            ("gone", ""),
            ("path", "/run/fifo"),
            ("special", ""),
            ("path", "/proc/kmsg"),
            ("skip", "not read: consumes"),
            ("end", ""),
        )
    )
    assert snap.errors == {
        "/m": MISSING,
        "/run/fifo": "not a regular file (not read)",
        "/proc/kmsg": "not read: consumes",
    }
    # A process that exited during the glob simply is not there.
    assert "/proc/9/comm" not in snap.files and "/proc/9/comm" not in snap.errors


def test_followed_link_lands_where_the_snapshot_resolves_it() -> None:
    snap = parse(
        frame(
            *HEAD,
            ("path", "/etc/os-release"),
            ("link", "../usr/lib/os-release\n"),
            ("target", "ID=x\n"),
            ("path", "/etc/unreadable-link"),
            ("link", "/root/x\n"),
            ("target", ""),
            ("error", "cat: /etc/unreadable-link: Permission denied"),
            ("end", ""),
        )
    )
    assert snap.links["/etc/os-release"] == "../usr/lib/os-release"
    assert snap.files["/usr/lib/os-release"] == b"ID=x\n"
    assert snap.read("/etc/os-release") == b"ID=x\n"
    assert snap.links["/etc/unreadable-link"] == "/root/x"
    assert snap.errors["/etc/unreadable-link"] == "permission denied"


def test_kernel_log_falls_back_to_the_journal_and_says_so() -> None:
    snap = parse(
        frame(
            *HEAD,
            ("path", KERNEL_LOG),
            ("cmd", "dmesg"),
            ("file", ""),
            ("error", "dmesg: read kernel buffer failed: Operation not permitted"),
            ("cmd", "journalctl -k --no-pager -o short-monotonic"),
            ("file", "[    1.000000] host kernel: hello\n"),
            ("end", ""),
        )
    )
    assert snap.files[KERNEL_LOG] == b"[    1.000000] host kernel: hello\n"
    source = snap.files[KERNEL_LOG_SOURCE].decode()
    assert source.splitlines()[0] == "source: journalctl -k --no-pager -o short-monotonic"
    assert "failed: dmesg: dmesg: read kernel buffer failed: Operation not permitted" in source
    assert KERNEL_LOG not in snap.errors


def test_kernel_log_unreadable_records_both_errors() -> None:
    snap = parse(
        frame(
            *HEAD,
            ("path", KERNEL_LOG),
            ("cmd", "dmesg"),
            ("file", ""),
            ("error", "dmesg: read kernel buffer failed: Operation not permitted"),
            ("cmd", "journalctl -k --no-pager -o short-monotonic"),
            ("file", ""),
            ("error", "sh: 1: journalctl: not found"),
            ("end", ""),
        )
    )
    assert KERNEL_LOG not in snap.files
    reason = snap.errors[KERNEL_LOG]
    assert "dmesg: dmesg: read kernel buffer failed: Operation not permitted" in reason
    assert "journalctl: sh: 1: journalctl: not found" in reason
    assert snap.files[KERNEL_LOG_SOURCE].startswith(b"source: none\n")


def test_journal_hint_is_kept_as_a_warning() -> None:
    snap = parse(
        frame(
            *HEAD,
            ("path", KERNEL_LOG),
            ("cmd", "journalctl -k --no-pager -o short-monotonic"),
            ("file", "-- No entries --\n"),
            ("warn", "Hint: You are currently not seeing messages from other users"),
            ("end", ""),
        )
    )
    assert b"warning: Hint: You are currently not seeing" in snap.files[KERNEL_LOG_SOURCE]


def test_sample_interval_comes_from_the_two_uptime_readings() -> None:
    snap = parse(
        frame(
            *HEAD,
            ("path", "/proc/uptime"),
            ("file", "1000.50 10.00\n"),
            ("path", "/.memcheck/uptime.after"),
            ("file", "1001.53 10.00\n"),
            ("path", "/.memcheck/vmstat.after"),
            ("file", "pswpin 0\n"),
            ("end", ""),
        )
    )
    assert snap.info.sample_interval_seconds == pytest.approx(1.03)


@pytest.mark.parametrize("stdout", [b"", b"sh: syntax error\n", SEP[:-3], b"\x00" * 100])
def test_output_without_frames_is_a_collect_error(stdout: bytes) -> None:
    with pytest.raises(CollectError) as err:
        parse(stdout)
    assert "pw" not in str(err.value)  # the URL's password never shows
    assert "\n" not in err.value.reason


def test_bad_date_falls_back_to_the_local_clock() -> None:
    snap = parse(frame(("begin", "1"), ("date", "date: invalid"), ("end", "")))
    assert len(snap.info.collected_at) == 20 and snap.info.collected_at.endswith("Z")


# -- output cut short ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_output() -> Iterator[tuple[bytes, Snapshot]]:
    with hostile_tree() as tree:
        script = build_script(HOSTILE_READS, NONCE, sample_interval=0, prefix=tree.root)
        proc = run_script(script, "sh")
        assert proc.returncode == 0, proc.stderr
        yield proc.stdout, parse_output(proc.stdout, NONCE, "local", "t")


def cut_points(stdout: bytes) -> list[int]:
    points = set(range(0, len(stdout), 4099))
    start = 0
    while True:
        found = stdout.find(SEP, start)
        if found < 0:
            break
        # Just before, inside and just after every separator and its tag line.
        points.update(range(max(0, found - 2), min(len(stdout), found + len(SEP) + 8)))
        start = found + 1
    return sorted(points)


def test_truncated_output_keeps_what_arrived_whole(full_output: tuple[bytes, Snapshot]) -> None:
    stdout, full = full_output
    assert full.errors.get("/etc/hostile/big") is None
    checked = 0
    via = {full.resolve(link): link for link in ("/etc/os-release", "/etc/hostile/lnk")}
    plan_arrived = stdout.index(SEP, stdout.index(SEP + b"begin\n") + 1) + len(SEP)
    for cut in cut_points(stdout):
        head = stdout[:cut]
        if cut < plan_arrived:
            with pytest.raises(CollectError):
                parse_output(head, NONCE, "local", "t")
            continue
        snap = parse_output(head, NONCE, "local", "t")
        checked += 1
        # Nothing that arrived is altered: every file kept is exactly the full run's.
        for path, data in snap.files.items():
            assert full.files.get(path) == data, (cut, path)
        for path, target in snap.links.items():
            assert full.links.get(path) == target, (cut, path)
        # Whatever is missing is accounted for: kept, or an error (truncated or the real one).
        cut_short = [p for p, why in snap.errors.items() if why == TRUNCATED]
        for path in full.files:
            if path in snap.files or path.startswith("/.memcheck/uptime"):
                continue
            # A followed link's target is accounted for by the link.
            wanted = via.get(path, path)
            assert wanted in snap.errors or any(
                fnmatch.fnmatchcase(wanted, p.replace("**", "*")) for p in cut_short
            ), (cut, path)
    assert checked > 50


def test_cut_in_the_middle_of_a_file_records_that_file_as_truncated(
    full_output: tuple[bytes, Snapshot],
) -> None:
    stdout, full = full_output
    # The tree travels as a tar stream (member names relative to /).
    start = stdout.index(b"etc/hostile/big\x00")
    head = stdout[: start + 500_000]
    snap = parse_output(head, NONCE, "local", "t")
    assert snap.errors["/etc/hostile/big"] == TRUNCATED
    assert "/etc/hostile/big" not in snap.files
    assert snap.errors["/etc/hostile/**"] == TRUNCATED
    # Kernel files are read before the trees: this one arrived, with its real reason.
    assert snap.errors["/proc/sys/vm/no_such_knob"] == MISSING
    assert snap.files["/proc/meminfo"] == full.files["/proc/meminfo"]
