"""build_script: what goes into the script, what is refused, and the host-side time limit."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from memcheck.collect import BASE_READS, build_script, parse_output
from memcheck.collect.script import (
    _STAND_IN,
    NO_SWAP_DEVICE,
    TRUNCATED,
    _build_script,
    expand_braces,
    normalise_reads,
    separator,
    stdin_command,
)
from memcheck.snapshot import UPTIME_AFTER, VMSTAT_AFTER
from tests.collect.shells import NONCE, SHELLS, SWAPS_HEADER, need, shell_argv, with_swap_device


def test_the_nonce_never_appears_whole_in_the_script() -> None:
    # /proc/<pid>/cmdline of the shell running the script holds the script; were the nonce in
    # it in one piece, reading that file would forge a frame.
    script = build_script(["/proc/[0-9]*/cmdline"], NONCE, timeout=30)
    assert NONCE not in script
    assert separator(NONCE).decode() not in script
    assert script.isascii()


def test_base_reads_are_always_read() -> None:
    assert normalise_reads([])[: len(BASE_READS)] == list(BASE_READS)
    assert (
        normalise_reads(["/proc/uptime", "/proc/meminfo", "/proc/meminfo"]).count("/proc/meminfo")
        == 1
    )


def test_braces_expand_like_a_shell_would() -> None:
    assert expand_braces("/etc/cron.{daily,weekly}/*") == [
        "/etc/cron.daily/*",
        "/etc/cron.weekly/*",
    ]
    assert expand_braces("/{a,b}/{c,d}") == ["/a/c", "/a/d", "/b/c", "/b/d"]


@pytest.mark.parametrize(
    "pattern",
    [
        "proc/meminfo",
        "/proc/../etc/shadow",
        "/proc//meminfo",
        "/**",
        "/**/memory.max",
        "/a/**/b/c",
        "/a/**/**/b",
        "/a/*/**/b",
        "/a/**/**",
        "/a/**/..",
        "/a/../b/**/c",
        "/a/**/[^x]",
        "/dev/**/mem",
        "/.memcheck/**/x",
        "/dev/mem",
        "/dev/**",
        "/.memcheck/anything",
        "/etc/caf\u00e9",
        "/etc/new\nline",
        "/proc/[^0-9]*/comm",
    ],
)
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        build_script([pattern], NONCE)


@pytest.mark.parametrize("nonce", ["short", "x" * 15, "has space " * 3, "é" * 20, ""])
def test_bad_nonces_are_refused(nonce: str) -> None:
    with pytest.raises(ValueError):
        build_script([], nonce)


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_script_is_valid_syntax_for_every_shell(shell: str) -> None:
    script = build_script(["/etc/**", "/proc/[0-9]*/comm", "/.memcheck/kernel.log"], NONCE)
    argv = [*shell_argv(shell), "-n", "-c", script]
    assert subprocess.run(argv, capture_output=True, check=False).returncode == 0


def test_host_timeout_stops_the_script_and_keeps_what_arrived(tmp_path: Path) -> None:
    need("timeout")
    # A 5 s sample interval cannot fit in a 1 s limit: the host's `timeout` ends the run.
    command = build_script([VMSTAT_AFTER], NONCE, sample_interval=5, timeout=1)
    prefix = with_swap_device(tmp_path)
    started = time.monotonic()
    proc = subprocess.run(
        [*prefix, "sh", "-c", command], capture_output=True, check=False, timeout=20
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 124
    assert elapsed < 4
    snap = parse_output(proc.stdout, NONCE, "local", "t")
    assert snap.files["/proc/uptime"]
    assert snap.errors[VMSTAT_AFTER] == TRUNCATED
    assert VMSTAT_AFTER not in snap.files


def test_without_a_timeout_program_the_script_still_runs(tmp_path: object) -> None:
    # A PATH without `timeout`: `command -v timeout` finds nothing, and the script runs bare.
    bindir = str(tmp_path)
    for tool in ("sh", "cat", "date", "readlink"):
        os.symlink(need(tool), os.path.join(bindir, tool))
    command = build_script(["/proc/meminfo"], NONCE, timeout=10)
    proc = subprocess.run(
        [need("sh"), "-c", command], capture_output=True, check=False, env={"PATH": bindir}
    )
    snap = parse_output(proc.stdout, NONCE, "local", "t")
    assert snap.files["/proc/meminfo"].startswith(b"MemTotal:")


def proc_tree(root: Path, swaps: str | None) -> str:
    """A tree with uptime, vmstat and (unless None) swaps under proc; returns the prefix."""
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "uptime").write_text("1000.00 900.00\n")
    (root / "proc" / "vmstat").write_text("nr_free_pages 1\npswpin 0\npswpout 0\n")
    if swaps is not None:
        (root / "proc" / "swaps").write_text(swaps)
    return str(root)


def test_fractional_sample_interval_is_honoured(tmp_path: Path) -> None:
    script = build_script([VMSTAT_AFTER], NONCE, sample_interval=0.3)
    proc = subprocess.run(
        [*with_swap_device(tmp_path), "sh", "-c", script], capture_output=True, check=True
    )
    snap = parse_output(proc.stdout, NONCE, "local", "t")
    interval = snap.info.sample_interval_seconds
    assert interval is not None and 0.3 <= interval < 2.5
    assert snap.files[VMSTAT_AFTER].startswith(b"nr_free_pages")


@pytest.mark.parametrize("shell", SHELLS)
def test_a_host_without_a_swap_device_is_not_sampled_twice(tmp_path: Path, shell: str) -> None:
    # Nothing can be swapped without a swap device: the interval (paid by every host of a
    # fleet) is not waited for, and the snapshot says why there is no second sample.
    need(shell)
    prefix = proc_tree(tmp_path, SWAPS_HEADER)
    script = build_script([VMSTAT_AFTER], NONCE, sample_interval=30, prefix=prefix)
    proc = subprocess.run(
        [*shell_argv(shell), "-c", script], capture_output=True, check=True, timeout=20
    )
    snap = parse_output(proc.stdout, NONCE, "local", "t")
    assert snap.errors[VMSTAT_AFTER] == NO_SWAP_DEVICE
    assert VMSTAT_AFTER not in snap.files and UPTIME_AFTER not in snap.files
    assert snap.files["/proc/vmstat"].startswith(b"nr_free_pages")  # the first sample


@pytest.mark.parametrize("swaps", [None, ""])
def test_without_a_readable_swap_list_the_second_sample_is_taken(
    tmp_path: Path, swaps: str | None
) -> None:
    prefix = proc_tree(tmp_path, swaps)
    script = build_script([VMSTAT_AFTER], NONCE, sample_interval=0.1, prefix=prefix)
    proc = subprocess.run(["sh", "-c", script], capture_output=True, check=True)
    snap = parse_output(proc.stdout, NONCE, "local", "t")
    assert snap.files[VMSTAT_AFTER].startswith(b"nr_free_pages")


def test_a_run_builds_the_script_once_and_each_host_gets_its_own_nonce() -> None:
    reads = ["/proc/[0-9]*/status", "/etc/sysctl.d/**", "/proc/sys/vm/swappiness"]
    other = "Zz" * 16
    first = build_script(reads, NONCE, 1.0, timeout=28)
    second = build_script(reads, other, 1.0, timeout=28)
    # Same text as building from scratch, for both nonces; only the halves differ.
    assert first == _build_script(reads, NONCE, 1.0, 28)
    assert second == _build_script(reads, other, 1.0, 28)
    assert first != second
    assert first.replace(NONCE[:16], "").replace(NONCE[16:], "") == second.replace(
        other[:16], ""
    ).replace(other[16:], "")
    for half in _STAND_IN:
        assert half not in first
    # A read that holds a stand-in half is not rewritten: that script is built afresh.
    odd = [*reads, "/etc/" + _STAND_IN[0]]
    assert build_script(odd, NONCE) == _build_script(odd, NONCE)


def test_the_stdin_bootstrap_reads_the_whole_script_then_runs_it(tmp_path: Path) -> None:
    assert stdin_command(None) == "sh -c 'eval \"$(cat)\"'"
    bounded = stdin_command(7)
    assert "7 sh -c" in bounded and "</dev/null" in bounded  # the probe reads no input
    script = build_script(["/proc/meminfo"], NONCE)
    for command in (stdin_command(None), stdin_command(7)):
        proc = subprocess.run(
            ["sh", "-c", command], input=script.encode(), capture_output=True, check=True
        )
        snap = parse_output(proc.stdout, NONCE, "local", "t")
        assert snap.files["/proc/meminfo"].startswith(b"MemTotal:")
