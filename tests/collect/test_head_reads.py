"""Partial reads (`PATTERN#head=N`): the first N lines of each file, through `head`, read-only."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from memcheck.collect import build_script, parse_output
from memcheck.collect.commands import COMMANDS, EXTERNAL_COMMANDS
from memcheck.collect.script import TRUNCATED, normalise_reads, split_read
from memcheck.snapshot import Snapshot
from tests.collect.shells import NONCE, SHELLS, as_nobody, run_script
from tests.collect.test_read_only import executed, trace, violations

MAPS = "/proc/[0-9]*/numa_maps"
LONG = b"".join(b"%012x default anon=1 N0=1 kernelpagesize_kB=4\n" % (i << 12) for i in range(500))


@pytest.fixture(scope="module")
def root() -> Iterator[str]:
    top = tempfile.mkdtemp(prefix="mc head ", dir="/tmp")
    os.chmod(top, 0o755)
    files = {
        "/proc/100/numa_maps": LONG,
        "/proc/200/numa_maps": b"00400000 default file=/bin/sh N0=3\n",  # shorter than N
        "/proc/300/numa_maps": b"",  # a kernel thread
        "/proc/400/numa_maps": b"00400000 default N0=1\n00401000 default N0=2",  # no final \n
        "/proc/500/numa_maps": LONG,
        "/proc/meminfo": b"".join(b"Key%d: %d kB\n" % (i, i) for i in range(200)),
    }
    for path, data in files.items():
        os.makedirs(os.path.dirname(top + path), exist_ok=True)
        with open(top + path, "wb") as fh:
            fh.write(data)
    os.chmod(top + "/proc/500/numa_maps", 0o000)  # another user's process
    try:
        yield top
    finally:
        shutil.rmtree(top)


def collect(
    root: str, reads: list[str], shell: str = "sh", prefix: list[str] | None = None
) -> Snapshot:
    script = build_script(reads, NONCE, sample_interval=0, prefix=root)
    proc = run_script(script, shell, prefix=prefix or ())
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b"", proc.stderr
    return parse_output(proc.stdout, NONCE, "test://head", "test")


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_first_lines_of_every_matching_file(root: str, shell: str) -> None:
    snap = collect(root, [MAPS + "#head=64", "/proc/meminfo"], shell)
    first = b"".join(LONG.splitlines(True)[:64])
    assert snap.files["/proc/100/numa_maps"] == first
    assert snap.files["/proc/200/numa_maps"] == b"00400000 default file=/bin/sh N0=3\n"
    assert snap.files["/proc/300/numa_maps"] == b""
    assert snap.files["/proc/400/numa_maps"].endswith(b"00401000 default N0=2")
    # A whole read after a partial one is whole again.
    assert snap.files["/proc/meminfo"].count(b"\n") == 200


def test_exact_path_with_head(root: str) -> None:
    snap = collect(root, ["/proc/meminfo#head=3"])
    assert snap.files["/proc/meminfo"] == b"Key0: 0 kB\nKey1: 1 kB\nKey2: 2 kB\n"


def test_a_whole_read_wins_over_a_partial_one(root: str) -> None:
    snap = collect(root, [MAPS + "#head=2", MAPS])
    assert snap.files["/proc/100/numa_maps"] == LONG


def test_an_inherited_h_does_not_shorten_whole_reads(root: str) -> None:
    script = build_script(["/proc/meminfo"], NONCE, sample_interval=0, prefix=root)
    env = {**os.environ, "H": "1"}
    proc = subprocess.run(["sh", "-c", script, "sh"], capture_output=True, env=env, check=False)
    snap = parse_output(proc.stdout, NONCE, "t", "t")
    assert snap.files["/proc/meminfo"].count(b"\n") == 200


def test_unreadable_file_is_recorded_as_permission_denied(root: str) -> None:
    snap = collect(root, [MAPS + "#head=64"], prefix=as_nobody())
    assert snap.errors["/proc/500/numa_maps"] == "permission denied"
    assert "/proc/500/numa_maps" not in snap.files
    assert snap.files["/proc/100/numa_maps"].count(b"\n") == 64


def test_output_cut_short_names_the_pattern_without_its_option(root: str) -> None:
    script = build_script([MAPS + "#head=64"], NONCE, sample_interval=0, prefix=root)
    out = subprocess.run(["sh", "-c", script, "sh"], capture_output=True, check=True).stdout
    cut = out[: out.index(b"/proc/100/numa_maps") + 200]
    snap = parse_output(cut, NONCE, "t", "t")
    assert snap.errors[MAPS] == TRUNCATED
    assert not any("#head" in path for path in [*snap.errors, *snap.files])


def test_partial_reads_stay_read_only(root: str) -> None:
    script = build_script([MAPS + "#head=64"], NONCE, sample_interval=0, prefix=root)
    traced = trace(["sh", "-c", script])
    assert violations(traced) == []
    ran = executed(traced)
    # Every numa_maps file goes through one head, not one process per file.
    heads = [a for n, a in traced.calls if n == "execve" and a.startswith('"') and '/head"' in a]
    assert len(heads) == 1, heads
    assert ran <= EXTERNAL_COMMANDS
    assert "head -n LINES -- FILE..." in COMMANDS["head"].usage


def test_head_still_reads_other_files_partially(root: str) -> None:
    target = Path(root) / "etc" / "long.conf"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(f"line {i}\n" for i in range(500)))
    script = build_script(["/etc/long.conf#head=3"], NONCE, sample_interval=0, prefix=root)
    traced = trace(["sh", "-c", script])
    assert "head" in executed(traced) and violations(traced) == []
    out = subprocess.run(["sh", "-c", script, "sh"], capture_output=True, check=True).stdout
    snap = parse_output(out, NONCE, "t", "t")
    assert snap.files["/etc/long.conf"] == b"line 0\nline 1\nline 2\n"


@pytest.mark.parametrize(
    ("spec", "path", "lines"),
    [
        ("/proc/[0-9]*/numa_maps#head=64", "/proc/[0-9]*/numa_maps", 64),
        ("/proc/meminfo", "/proc/meminfo", None),
        ("/etc/cron.d/#backup#", "/etc/cron.d/#backup#", None),  # '#' alone is a path
    ],
)
def test_split_read(spec: str, path: str, lines: int | None) -> None:
    assert split_read(spec) == (path, lines)


def test_normalise_keeps_the_whole_or_the_longest_read() -> None:
    reads = normalise_reads(
        [MAPS + "#head=8", "/proc/meminfo#head=2", MAPS + "#head=64", "/proc/meminfo", "/x#head=3"]
    )
    assert MAPS + "#head=64" in reads and MAPS + "#head=8" not in reads
    assert "/proc/meminfo" in reads and "/proc/meminfo#head=2" not in reads
    assert "/x#head=3" in reads
    assert reads.index(MAPS + "#head=64") < reads.index("/x#head=3")


@pytest.mark.parametrize(
    "spec",
    [
        "/proc/meminfo#head=0",
        "/proc/meminfo#head=x",
        "/proc/meminfo#head=",
        "/proc/meminfo#head=-1",
        "/proc/meminfo#head=1000000",
        "/proc/meminfo#head=01",
        "/etc/sysctl.d/**#head=3",
        "/.memcheck/kernel.log#head=1",
    ],
)
def test_bad_head_options_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        build_script([spec], NONCE)
