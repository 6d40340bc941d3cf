"""Named trees (`DIR/**/NAME`): every file called NAME below DIR, nothing else, links kept.

The cgroup hierarchy is read this way: a Kubernetes node has hundreds of cgroups, each with
dozens of files, of which a check wants a handful.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator

import pytest

from memcheck.collect import build_script, parse_output
from memcheck.collect.script import split_named_tree
from memcheck.errors import MISSING
from memcheck.snapshot import HostInfo, Snapshot
from tests.collect.shells import NONCE, SHELLS, as_nobody, run_script
from tests.collect.test_read_only import executed, first_string, trace, violations
from tests.collect.tree import Tree

CG = "/sys/fs/cgroup"
POD = (
    CG + "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod0f1e2d3c_4b5a_6978_8a9b_0c1d2e3f4a5b.slice/"
    "cri-containerd-4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e.scope"
)
READS = (
    CG + "/**/memory.{max,current,stat}",
    CG + "/**/memory.events*",
    "/sys/fs/no-such-hierarchy/**/memory.max",
)
WANTED = {
    CG + "/memory.stat": b"anon 1\n",
    CG + "/system.slice/memory.current": b"4096\n",
    CG + "/system.slice/sshd.service/memory.max": b"max\n",
    CG + "/system.slice/sshd.service/memory.current": b"12288\n",
    CG + "/system.slice/sshd.service/memory.events": b"low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
    CG + "/system.slice/sshd.service/memory.events.local": b"low 0\n",
    POD + "/memory.max": b"268435456\n",
    POD + "/memory.stat": b"anon 4096\nfile 0\n",
    CG + "/sp ace $(touch PWNED) 'q'/memory.max": b"1\n",
    CG + "/.hidden/memory.max": b"2\n",
    CG + "/new\nline/memory.max": b"3\n",
    CG + "/..dots/memory.max": b"4\n",
    CG + "/nonl/memory.stat": b"no newline",
}
UNWANTED = {
    CG + "/system.slice/sshd.service/cgroup.procs": b"812\n",
    CG + "/system.slice/sshd.service/memory.high": b"max\n",
    CG + "/system.slice/sshd.service/memory.maxx": b"x\n",
    CG + "/system.slice/sshd.service/memory.max.bak": b"x\n",
    POD + "/memory.pressure": b"some avg10=0.00\n",
    "/sys/fs/elsewhere/memory.max": b"only through a link\n",
}


@pytest.fixture(scope="module")
def tree() -> Iterator[Tree]:
    top = tempfile.mkdtemp(prefix="mc named '$(touch PWNED)' [a]* ", dir="/tmp")
    os.chmod(top, 0o755)
    t = Tree(top)
    try:
        for path, data in {**WANTED, **UNWANTED}.items():
            t.write(path, data)
        t.write("/proc/uptime", b"1.00 1.00\n")
        # Links are recorded where a name matches, never followed into directories.
        t.link(CG + "/cpu", "../elsewhere")
        t.link(CG + "/odd/memory.max", "../system.slice/sshd.service/memory.max")
        os.makedirs(top + CG + "/fifo")
        t.fifo(CG + "/fifo/memory.events")
        t.write(CG + "/secret/memory.max", b"root only\n", mode=0o000)
        t.mkdir(CG + "/locked")
        t.write(CG + "/locked/memory.max", b"hidden\n")
        os.chmod(top + CG + "/locked", 0o000)
        yield t
    finally:
        for dirpath, dirnames, _ in os.walk(top):
            for name in dirnames:
                full = os.path.join(dirpath, name)
                if not os.path.islink(full):
                    os.chmod(full, stat.S_IRWXU)
        shutil.rmtree(top)


def collect(tree: Tree, shell: str, user: list[str] | None = None) -> Snapshot:
    script = build_script(READS, NONCE, sample_interval=0, prefix=tree.root)
    proc = run_script(script, shell, prefix=user or ())
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b"", proc.stderr
    return parse_output(proc.stdout, NONCE, "test://tree", "test")


@pytest.fixture(scope="module", params=sorted(SHELLS))
def snap(request: pytest.FixtureRequest, tree: Tree) -> Snapshot:
    return collect(tree, request.param)


def test_every_wanted_file_arrives_byte_for_byte(snap: Snapshot) -> None:
    for path, data in WANTED.items():
        assert snap.files.get(path) == data, path
    assert snap.files[CG + "/secret/memory.max"] == b"root only\n"  # tests run as root
    assert not os.path.exists("PWNED")


def test_nothing_else_of_the_tree_is_read(snap: Snapshot) -> None:
    below = {p for p in snap.files if p.startswith(CG + "/")} - {CG + "/cgroup.controllers"}
    # As root, the unreadable file is read too, and so is the locked directory, except under
    # busybox, whose `test -x` refuses root a directory without any x bit (as in `walk`).
    locked = CG + "/locked/memory.max"
    if locked not in below:
        assert snap.errors[CG + "/locked"].startswith("permission denied")
    assert below - {locked} == {*WANTED, CG + "/secret/memory.max"}
    for path in UNWANTED:
        assert path not in snap.files, path


def test_links_are_recorded_not_followed(snap: Snapshot) -> None:
    assert snap.links == {CG + "/odd/memory.max": "../system.slice/sshd.service/memory.max"}
    # The link named like a wanted file resolves inside the snapshot to the real file.
    assert snap.read(CG + "/odd/memory.max") == b"max\n"
    # The directory link `cpu` was not walked: its target's memory.max was never read.
    assert CG + "/cpu/memory.max" not in snap.files


def test_special_files_and_missing_tops_are_errors(snap: Snapshot) -> None:
    assert snap.errors[CG + "/fifo/memory.events"] == "not a regular file (not read)"
    assert snap.errors["/sys/fs/no-such-hierarchy"] == MISSING


def test_snapshot_glob_finds_what_the_host_walk_read(snap: Snapshot) -> None:
    locked = [p for p in (CG + "/locked/memory.max",) if p in snap.files]
    assert snap.glob(CG + "/**/memory.max") == sorted(
        p
        for p in [*WANTED, CG + "/secret/memory.max", CG + "/odd/memory.max", *locked]
        if p.endswith("/memory.max")
    )
    # The FIFO is an error, not a file: the glob does not offer it.
    assert snap.glob(CG + "/**/memory.events*") == [
        CG + "/system.slice/sshd.service/memory.events",
        CG + "/system.slice/sshd.service/memory.events.local",
    ]


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_unprivileged_walk_records_what_it_cannot_list(tree: Tree, shell: str) -> None:
    snap = collect(tree, shell, as_nobody())
    assert snap.errors[CG + "/locked"] == "permission denied (cannot list the directory)"
    assert snap.errors[CG + "/secret/memory.max"] == "permission denied"
    assert CG + "/secret/memory.max" not in snap.files
    assert snap.files[POD + "/memory.max"] == b"268435456\n"


def test_names_sharing_a_directory_share_one_walk() -> None:
    script = build_script(READS, NONCE, sample_interval=0)
    assert script.count(f'ftop "$P"{CG}') == 1
    assert script.count('ftop "$P"/sys/fs/no-such-hierarchy') == 1
    # Each pattern is still framed, so output cut short marks every one not collected.
    for pattern in ("memory.max", "memory.current", "memory.stat", "memory.events*"):
        assert f"d read {CG}/**/{pattern}" in script or f"d read '{CG}/**/{pattern}'" in script


@pytest.mark.parametrize(
    ("pattern", "split"),
    [
        ("/sys/fs/cgroup/**/memory.max", ("/sys/fs/cgroup", "memory.max")),
        ("/sys/fs/cgroup/memory/**/memory.*", ("/sys/fs/cgroup/memory", "memory.*")),
        ("/etc/sysctl.d/**", None),
        ("/proc/[0-9]*/comm", None),
        ("/a/**/b/c", None),
    ],
)
def test_split_named_tree(pattern: str, split: tuple[str, str] | None) -> None:
    assert split_named_tree(pattern) == split


def _snapshot(*paths: str) -> Snapshot:
    return Snapshot(HostInfo("h", "", "", ""), {p: b"" for p in paths})


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("/c/**/memory.max", ["/c/a/b/memory.max", "/c/a/memory.max", "/c/memory.max"]),
        ("/c/**/memory.*", ["/c/a/b/memory.max", "/c/a/memory.max", "/c/memory.max"]),
        ("/c/a/**/memory.max", ["/c/a/b/memory.max", "/c/a/memory.max"]),
        ("/c/**/b/**/memory.max", ["/c/a/b/memory.max"]),
        (
            "/*/**/memory.max",
            ["/c/a/b/memory.max", "/c/a/memory.max", "/c/memory.max", "/cx/memory.max"],
        ),
        ("/c/**/nothing", []),
    ],
)
def test_snapshot_glob_double_star_matches_zero_or_more_directories(
    pattern: str, expected: list[str]
) -> None:
    snap = _snapshot(
        "/c/memory.max",
        "/c/a/memory.max",
        "/c/a/b/memory.max",
        "/c/a/xmemory.max",
        "/cx/memory.max",
        "/c/a/memory.stat/child",
    )
    got = [p for p in snap.glob(pattern) if not p.endswith("memory.stat")]
    assert got == expected


def test_traced_walk_of_the_real_cgroup_tree_opens_only_wanted_files() -> None:
    """Over this machine's own /sys/fs/cgroup: read-only, and exactly the named files."""
    if not os.path.isdir(CG):
        pytest.skip("no /sys/fs/cgroup on this machine")
    names = ("memory.stat", "memory.max", "memory.limit_in_bytes", "memory.oom_control")
    reads = [f"{CG}/**/{name}" for name in names]
    traced = trace(["sh", "-c", build_script(reads, NONCE, sample_interval=0)])
    assert violations(traced) == []
    # tar reads the base set's files on disk (/etc/os-release, ...), never under /sys.
    assert executed(traced) <= {"sh", "cat", "head", "tar", "date", "readlink"}
    opened = {
        first_string(a)
        for n, a in traced.calls
        if n in ("open", "openat") and "O_DIRECTORY" not in a
    }
    under = {p for p in opened if p.startswith(CG + "/")}
    expected = set()
    for dirpath, _dirnames, filenames in os.walk(CG, followlinks=False):
        for name in filenames:
            full = os.path.join(dirpath, name)
            if name in names and not os.path.islink(full) and os.access(full, os.R_OK):
                expected.add(full)
    # Besides the base set's cgroup.controllers, only the named files are opened, each once.
    assert under - {CG + "/cgroup.controllers"} == expected
    snap = parse_output(traced.stdout, NONCE, "local", "t")
    assert {p for p in snap.files if p.startswith(CG + "/")} - {CG + "/cgroup.controllers"} == (
        expected
    )
