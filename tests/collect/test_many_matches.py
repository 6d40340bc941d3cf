"""Globs that match thousands of files: every file read once, in one batch, names intact.

A database host runs thousands of processes, so `/proc/[0-9]*/status` matches thousands of
files. The script gathers the matches as one newline-separated list that becomes head's
(or tar's) arguments; these tests check that nothing is lost or split on the way.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from memcheck.collect import build_script, parse_output
from memcheck.snapshot import Snapshot
from tests.collect.shells import NONCE, SHELLS, run_script

PROCESSES = 3000
# A second pattern's matches join the same head: chunk boundaries (64) fall differently.
COMM_PROCESSES = 1000 + 64 + 1
ODD_DISK_NAMES = ("with space.conf", " leading", "trailing ", "tab\there", "star*", "q'uote")


@pytest.fixture(scope="module")
def root() -> Iterator[str]:
    top = tempfile.mkdtemp(prefix="mc many ", dir="/tmp")
    os.chmod(top, 0o755)
    for pid in range(1, PROCESSES + 1):
        os.makedirs(f"{top}/proc/{pid}")
        with open(f"{top}/proc/{pid}/status", "w") as fh:
            fh.write(f"Name:\tworker-{pid}\nPid:\t{pid}\n")
        if pid <= COMM_PROCESSES:
            with open(f"{top}/proc/{pid}/comm", "w") as fh:
                fh.write(f"worker-{pid}\n")
    os.symlink("1", f"{top}/proc/9999")  # a link among the matches: recorded, not batched
    os.makedirs(f"{top}/etc/cron.d")
    for index, name in enumerate(ODD_DISK_NAMES):
        with open(f"{top}/etc/cron.d/{name}", "w") as fh:
            fh.write(f"# file {index}\n")
    try:
        yield top
    finally:
        shutil.rmtree(top)


def collect(root: str, shell: str) -> Snapshot:
    script = build_script(
        ["/proc/[0-9]*/status", "/proc/[0-9]*/comm", "/etc/cron.d/*"],
        NONCE,
        sample_interval=0,
        prefix=root,
    )
    proc = run_script(script, shell, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b"", proc.stderr
    return parse_output(proc.stdout, NONCE, "test://many", "test")


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_thousands_of_matches_are_all_read_names_intact(root: str, shell: str) -> None:
    snap = collect(root, shell)
    statuses = snap.glob("/proc/[0-9]*/status")
    assert len(statuses) == PROCESSES + 1  # /proc/9999 is a link to /proc/1
    for pid in (1, 2, 1500, PROCESSES):
        assert snap.read_text(f"/proc/{pid}/status") == f"Name:\tworker-{pid}\nPid:\t{pid}\n"
    assert snap.read_text("/proc/9999/status") == snap.read_text("/proc/1/status")
    assert not [path for path in snap.errors if path.endswith("/status")]
    comms = snap.glob("/proc/[0-9]*/comm")
    assert len(comms) == COMM_PROCESSES + 1  # and /proc/9999 -> 1
    for pid in (1, 64, 65, 128, 129, COMM_PROCESSES):
        assert snap.read_text(f"/proc/{pid}/comm") == f"worker-{pid}\n"
    assert not [path for path in snap.errors if path.endswith("/comm")]
    # Names on disk with spaces, tabs, quotes and glob characters survive the list.
    for index, name in enumerate(ODD_DISK_NAMES):
        assert snap.read_text(f"/etc/cron.d/{name}") == f"# file {index}\n"
    assert len(snap.glob("/etc/cron.d/*")) == len(ODD_DISK_NAMES)
