"""Every pattern's files share one `head` per line count and one `tar`.

A process costs about a millisecond on a host, and a fleet pays it on every host; the script
queues the regular files of every pattern and reads each queue once at the end. These
tests check how many readers a whole profile starts, and that patterns which may match the
same file (an exact path and a glob, two globs, a glob and a cgroup walk, a whole and a
partial read) still give every file whole and once: `head` prints a file's header once per
time it is named, and a header seen twice is trusted nowhere.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from memcheck.collect import build_script, parse_output
from memcheck.collect.script import _records, may_overlap
from memcheck.profile import load_profiles
from memcheck.registry import all_checks
from memcheck.runner import reads_for
from memcheck.snapshot import Snapshot
from tests.collect.shells import NONCE, SHELLS, run_script

NUMA_LINES = [f"7f{i:04x} default anon={i}\n" for i in range(100)]
FILES = {
    **{f"/proc/{pid}/status": f"Name:\tp{pid}\nPid:\t{pid}\n" for pid in (1, 2, 10, 11, 300)},
    **{f"/proc/{pid}/numa_maps": "".join(NUMA_LINES) for pid in (1, 2, 10)},
    "/proc/meminfo": "MemTotal: 1000 kB\n",
    "/sys/fs/cgroup/memory.max": "max\n",
    "/sys/fs/cgroup/db/memory.max": "1073741824\n",
    "/sys/fs/cgroup/db/inner/memory.max": "536870912\n",
    "/etc/cron.d/job": "* * * * * root true\n",
    "/etc/crontab": "# none\n",
    "/etc/sysctl.d/90-db.conf": "vm.swappiness = 1\n",
}
OVERLAPPING = [
    "/proc/1/status",  # exact, and matched by both globs below
    "/proc/[0-9]*/status",
    "/proc/1*/status",  # overlaps the glob above: needs a head of its own
    "/proc/[0-9]*/numa_maps#head=3",
    "/proc/1/numa_maps",  # whole: wins over the partial read of the glob
    "/sys/fs/cgroup/**/memory.max",
    "/sys/fs/cgroup/*/memory.max",  # overlaps the walk
    "/sys/fs/cgroup/memory.max",  # exact, found by the walk too
    "/etc/cron.d/*",
    "/etc/crontab",
    "/etc/sysctl.d/**",
]


@pytest.fixture(scope="module")
def root() -> Iterator[str]:
    top = tempfile.mkdtemp(prefix="mc-batch-", dir="/tmp")
    os.chmod(top, 0o755)
    for path, text in FILES.items():
        os.makedirs(os.path.dirname(top + path), exist_ok=True)
        with open(top + path, "w") as fh:
            fh.write(text)
    try:
        yield top
    finally:
        shutil.rmtree(top)


def run(reads: list[str], root: str, shell: str) -> tuple[Snapshot, list[str]]:
    script = build_script(reads, NONCE, sample_interval=0, prefix=root)
    proc = run_script(script, shell)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b"", proc.stderr
    tags = [tag for tag, _data, _complete in _records(proc.stdout, NONCE)]
    return parse_output(proc.stdout, NONCE, "test://batch", "test"), tags


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_overlapping_patterns_give_every_file_once_and_whole(root: str, shell: str) -> None:
    snap, tags = run(OVERLAPPING, root, shell)
    for path, text in FILES.items():
        if path.endswith("numa_maps") and path != "/proc/1/numa_maps":
            assert snap.files[path] == "".join(NUMA_LINES[:3]).encode(), path
        elif path != "/proc/meminfo":
            assert snap.files[path] == text.encode(), path
    assert snap.files["/proc/1/numa_maps"] == "".join(NUMA_LINES).encode()
    assert not [why for why in snap.errors.values() if why.startswith("not collected")]
    # Whole kernel files: one head, and one more that `/proc/1*/status` and
    # `*/memory.max` join (each overlaps a pattern of the first). One partial-read head.
    assert tags.count("list") == 3
    assert tags.count("tar") == 1


def database_reads() -> list[str]:
    checks = all_checks()
    profile = load_profiles(["database"], checks)
    return list(reads_for([checks[c] for c in profile.selected]))


def test_the_database_profile_starts_one_head_per_line_count_and_one_tar(root: str) -> None:
    reads = database_reads()
    assert any(r.endswith("#head=64") for r in reads)  # the numa_maps partial read
    snap, tags = run(reads, root, "sh")
    assert tags.count("list") == 2  # whole files, and numa_maps' first 64 lines
    assert tags.count("tar") == 1
    assert snap.files["/proc/300/status"] == FILES["/proc/300/status"].encode()
    assert snap.files["/etc/sysctl.d/90-db.conf"] == b"vm.swappiness = 1\n"
    assert snap.files["/sys/fs/cgroup/db/inner/memory.max"] == b"536870912\n"
    assert snap.files["/proc/10/numa_maps"] == "".join(NUMA_LINES[:64]).encode()


def test_the_database_profile_on_this_host_uses_the_same_few_readers() -> None:
    script = build_script(database_reads(), NONCE, sample_interval=0)
    proc = run_script(script, "sh")
    assert proc.returncode == 0, proc.stderr
    tags = [tag for tag, _data, _complete in _records(proc.stdout, NONCE)]
    # The first /proc/uptime and /proc/vmstat samples, whole files, and numa_maps' first 64
    # lines (no numa_maps without CONFIG_NUMA).
    assert tags.count("list") == 2 + os.path.exists("/proc/self/numa_maps")
    assert tags.count("tar") == 1
    snap = parse_output(proc.stdout, NONCE, "local", "test")
    assert snap.files["/proc/meminfo"].startswith(b"MemTotal:")
    assert not [why for why in snap.errors.values() if why.startswith("not collected")]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("/proc/1/status", "/proc/[0-9]*/status", True),
        ("/proc/self/status", "/proc/[0-9]*/status", False),
        ("/proc/[0-9]*/status", "/proc/[0-9]*/cmdline", False),
        ("/proc/[0-9]*/status", "/proc/1*/status", True),
        ("/proc/[0-9]*/status", "/proc/[0-9]*/task/1/status", False),
        ("/sys/fs/cgroup/**/memory.max", "/sys/fs/cgroup/*/memory.max", True),
        ("/sys/fs/cgroup/**/memory.max", "/sys/fs/cgroup/memory.max", True),
        ("/sys/fs/cgroup/**/memory.max", "/sys/fs/cgroup/cgroup.controllers", False),
        ("/sys/fs/cgroup/**/memory.max", "/proc/1/memory.max", False),
        ("/sys/fs/cgroup/**/memory.max", "/sys/fs/cgroup/a/**/memory.*", True),
        ("/sys/fs/cgroup/**/memory.max", "/sys/fs/cgroup/a/**/memory.high", False),
    ],
)
def test_may_overlap(a: str, b: str, expected: bool) -> None:
    assert may_overlap(a, b) is expected
    assert may_overlap(b, a) is expected


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_links_to_files_are_read_by_the_batches(
    tmp_path_factory: pytest.TempPathFactory, shell: str
) -> None:
    top = str(tmp_path_factory.mktemp("links"))
    for path, text in {
        "/usr/lib/os-release": "ID=test\n",
        "/proc/self/mounts": "proc /proc proc rw 0 0\n",
    }.items():
        os.makedirs(os.path.dirname(top + path), exist_ok=True)
        with open(top + path, "w") as fh:
            fh.write(text)
    os.makedirs(top + "/etc")
    os.symlink("../usr/lib/os-release", top + "/etc/os-release")
    os.symlink("self/mounts", top + "/proc/mounts")
    os.symlink("nowhere", top + "/etc/dangling")
    snap, tags = run(["/etc/os-release", "/proc/mounts", "/etc/dangling"], top, shell)
    assert snap.links["/etc/os-release"] == "../usr/lib/os-release"
    assert snap.read("/etc/os-release") == b"ID=test\n"
    assert snap.links["/proc/mounts"] == "self/mounts"
    assert snap.read("/proc/mounts") == b"proc /proc proc rw 0 0\n"
    # Both through head and tar (no readlink, no cat); the dangling one read on its own.
    assert tags.count("lhead") == 2
    assert tags.count("link") == 1 and snap.links["/etc/dangling"] == "nowhere"
    assert not [why for why in snap.errors.values() if why.startswith("not collected")]
