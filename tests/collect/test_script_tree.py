"""The real script under sh, dash, bash and busybox sh, over a hand-made hostile tree."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from memcheck.collect import build_script, parse_output
from memcheck.errors import MISSING, Unavailable
from memcheck.snapshot import UPTIME_AFTER, VMSTAT_AFTER, Snapshot
from tests.collect.shells import NONCE, SHELLS, as_nobody, run_script
from tests.collect.tree import HOSTILE_NAMES, HOSTILE_READS, Tree, hostile_tree

H = "/etc/hostile"


@pytest.fixture(scope="module")
def tree() -> Iterator[Tree]:
    with hostile_tree() as t:
        yield t


def collect(tree: Tree, shell: str, user: list[str] | None = None) -> Snapshot:
    script = build_script(HOSTILE_READS, NONCE, sample_interval=0.1, prefix=tree.root)
    proc = run_script(script, shell, prefix=user or ())
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b"", proc.stderr
    return parse_output(proc.stdout, NONCE, "test://tree", "test")


@pytest.fixture(scope="module", params=sorted(SHELLS))
def snap(request: pytest.FixtureRequest, tree: Tree) -> Snapshot:
    return collect(tree, request.param)


def test_every_file_in_the_tree_arrives_byte_for_byte(tree: Tree, snap: Snapshot) -> None:
    below = {p: b for p, b in tree.files.items() if p.startswith(H + "/")}
    below.pop(H + "/secret")  # root reads it; compared in the nobody test
    below.pop(H + "/locked/inner")
    for path, data in below.items():
        assert snap.files.get(path) == data, path
    assert snap.files[H + "/secret"] == b"top secret\n"  # tests run as root or it errors
    assert len(snap.files[H + "/big"]) == 1 << 20


def test_hostile_names_are_recorded_verbatim(snap: Snapshot) -> None:
    for i, name in enumerate(HOSTILE_NAMES):
        assert snap.files[f"{H}/{name}"] == f"content {i}: {name}\n".encode()
    assert snap.files[H + "/new\ndir/x y"] == b"in a dir with a newline\n"
    assert not os.path.exists("PWNED")


def test_links_inside_a_tree_are_recorded_not_followed(tree: Tree, snap: Snapshot) -> None:
    for path, target in tree.links.items():
        if path.startswith(H + "/"):
            assert snap.links[path] == target, path
    # `abs` points out of the tree: its target is never read through the tree walk.
    assert "/etc/hostname" not in snap.files
    assert snap.read(H + "/sp ace link") == snap.files[H + "/sp ace"]


def test_directories_are_recorded(tree: Tree, snap: Snapshot) -> None:
    for path in tree.dirs:
        assert path in snap.dirs, path
    assert snap.listdir(H + "/empty-dir") == []
    assert snap.listdir(H + "/sub") == [".dot", "deeper"]


def test_special_files_are_not_opened(snap: Snapshot) -> None:
    # A FIFO would block `cat` for ever; it is recorded as an error instead.
    assert snap.errors[H + "/pipe"] == "not a regular file (not read)"
    assert H + "/pipe" not in snap.files


def test_exact_link_is_kept_and_followed(snap: Snapshot) -> None:
    assert snap.links["/etc/os-release"] == "../usr/lib/os-release"
    assert snap.read("/etc/os-release").startswith(b"ID=test\n")
    assert snap.files["/usr/lib/os-release"].startswith(b"ID=test\n")
    # A link to a directory, read as an exact path: the link, and the target as a directory.
    assert snap.links[H + "/dir-link"] == "sub"
    assert snap.is_dir(H + "/dir-link")


def test_globs_expand_on_the_host(snap: Snapshot) -> None:
    assert snap.files["/proc/123/comm"] == b"bash\n"
    assert snap.files["/proc/456/comm"] == b"we\rird\tcomm"
    assert snap.files["/proc/456/cmdline"] == b"we\rird\x00arg \x00\x00"
    assert "/proc/abc/comm" not in snap.files
    thp = "/sys/kernel/mm/transparent_hugepage"
    assert snap.glob(thp + "/hugepages-*/enabled") == [
        thp + "/hugepages-2048kB/enabled",
        thp + "/hugepages-64kB/enabled",
    ]


def test_missing_exact_paths_are_errors_not_files(snap: Snapshot) -> None:
    assert snap.errors["/proc/sys/vm/no_such_knob"] == MISSING
    assert snap.errors["/run/.containerenv"] == MISSING
    assert "/proc/sys/vm/no_such_knob" not in snap.files


def test_host_info_comes_from_the_tree_and_the_host_clock(snap: Snapshot) -> None:
    assert snap.info.hostname == "treehost"
    assert snap.info.collected_at.endswith("Z") and len(snap.info.collected_at) == 20
    assert snap.files[VMSTAT_AFTER] == b"pswpin 1\npswpout 2\n"
    assert snap.files[UPTIME_AFTER] == b"100.25 50.00\n"
    # The tree's uptime does not move, so the measured interval is 0.
    assert snap.info.sample_interval_seconds == 0.0
    assert snap.info.source == "test://tree"


def test_snapshot_survives_a_write_and_load(tmp_path: object, snap: Snapshot) -> None:
    out = os.path.join(str(tmp_path), "snap")
    snap.write(out)
    again = Snapshot.load(out)
    assert again.files[H + "/marker"] == snap.files[H + "/marker"]
    assert again.files[H + "/big"] == snap.files[H + "/big"]
    assert again.links[H + "/lnk"] == "nul"
    assert again.errors == snap.errors


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_unprivileged_reads_record_permission_denied(tree: Tree, shell: str) -> None:
    snap = collect(tree, shell, as_nobody())
    assert snap.errors[H + "/secret"] == "permission denied"
    assert H + "/secret" not in snap.files
    # The locked directory is seen, cannot be listed, and its file cannot be reached.
    assert H + "/locked" in snap.dirs
    assert snap.errors[H + "/locked"].startswith("permission denied")
    assert snap.errors[H + "/locked/inner"] == "permission denied"
    # Everything readable still arrived.
    assert snap.files[H + "/nul"] == b"a\x00b\x00\x00"


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_a_glob_in_a_folder_that_cannot_be_listed_records_the_folder(shell: str) -> None:
    top = tempfile.mkdtemp(prefix="memcheck-glob-", dir="/tmp")
    try:
        os.chmod(top, 0o755)
        os.makedirs(top + "/etc/cron.d")
        with open(top + "/etc/cron.d/clear-cache", "w") as fh:
            fh.write("0 * * * * root sync; echo 3 > /proc/sys/vm/drop_caches\n")
        os.chmod(top + "/etc/cron.d", 0o700)
        script = build_script(("/etc/cron.d/*",), NONCE, sample_interval=0, prefix=top)
        proc = run_script(script, shell, prefix=as_nobody())
        assert proc.returncode == 0, proc.stderr
        snap = parse_output(proc.stdout, NONCE, "test://glob", "test")
        # Listed by nobody, the glob matches nothing; the folder says why.
        assert "/etc/cron.d" in snap.dirs
        assert snap.errors["/etc/cron.d"].lower().startswith("permission denied")
        with pytest.raises(Unavailable) as caught:
            snap.read("/etc/cron.d/clear-cache")
        assert caught.value.denied
        # Root lists it and reads the file; no folder error then.
        as_root = parse_output(run_script(script, shell).stdout, NONCE, "test://glob", "test")
        assert as_root.files["/etc/cron.d/clear-cache"].startswith(b"0 * * * *")
        assert "/etc/cron.d" not in as_root.errors
    finally:
        os.chmod(top + "/etc/cron.d", 0o755)
        shutil.rmtree(top)
