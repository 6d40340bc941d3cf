"""Snapshot.glob: a glob without `**` walks the folder index; it must agree with a scan of
every path (the way every glob was matched before, and still is with `**`)."""

from __future__ import annotations

import pytest

from memcheck.snapshot import HostInfo, Snapshot, _glob_regex

FILES = [
    "/proc/1/status",
    "/proc/22/status",
    "/proc/22/task/22/status",
    "/proc/self/status",
    "/proc/meminfo",
    "/etc/cron.d/.hidden",
    "/etc/cron.d/job",
    "/etc/cron.d/job.dpkg-old",
    "/etc/cron.d/new\nline",
    "/etc/cron.d/[a]",
    "/etc/cron.d/a",
    "/etc/cron.d/sp ace",
    "/etc/cron.d/star*",
    "/etc/systemd/system/db.service",
    "/etc/systemd/system/db.service.d/limits.conf",
    "/sys/devices/system/node/node0/meminfo",
    "/sys/devices/system/node/node1/meminfo",
    "/sys/devices/system/node/online",
]
LINKS = {"/lib": "usr/lib", "/etc/systemd/system/multi-user.target.wants/db.service": "../db"}
DIRS = ["/usr/lib/systemd/system", "/etc/cron.d/sub"]
PATTERNS = [
    "/proc/[0-9]*/status",
    "/proc/*/status",
    "/proc/?/status",
    "/proc/[!0-9]*/status",
    "/proc/*/task/*/status",
    "/proc/*",
    "/etc/cron.d/*",
    "/etc/cron.d/.*",
    "/etc/cron.d/job*",
    "/etc/cron.d/[[]a]",
    "/etc/cron.d/*\n*",
    "/etc/cron.d/star[*]",
    "/etc/systemd/system/*.service",
    "/etc/systemd/system/*.service.d/*.conf",
    "/etc/systemd/system/*/*",
    "/lib/systemd/system/*",
    "/sys/devices/system/node/node[0-9]*/meminfo",
    "/sys/devices/system/node/node1",
    "/sys/devices/system/node/node9/meminfo",
    "/*",
    "/usr/lib/systemd/system",
    "/nothing/*",
]


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return Snapshot(
        HostInfo("h", "2026-01-01T00:00:00Z", "t", "test"),
        {path: b"x\n" for path in FILES},
        LINKS,
        DIRS,
    )


def scanned(snap: Snapshot, pattern: str) -> list[str]:
    # The scan let `*` match nothing, so `/*` matched the root itself: no longer.
    regex = _glob_regex(pattern, tree=False)
    paths = {*snap.files, *snap.links, *snap.dirs} - {"/"}
    return sorted(p for p in paths if regex.fullmatch(p))


@pytest.mark.parametrize("pattern", PATTERNS)
def test_folder_walk_agrees_with_a_full_scan(snap: Snapshot, pattern: str) -> None:
    assert snap.glob(pattern) == scanned(snap, pattern)


def test_the_walk_finds_what_it_should(snap: Snapshot) -> None:
    assert snap.glob("/proc/[0-9]*/status") == ["/proc/1/status", "/proc/22/status"]
    assert snap.glob("/etc/systemd/system/*/*") == [
        "/etc/systemd/system/db.service.d/limits.conf",
        "/etc/systemd/system/multi-user.target.wants/db.service",
    ]
    assert snap.glob("/lib/systemd/system/*") == []  # the link's folder is not walked


def test_a_path_added_after_a_glob_is_found_by_the_next(snap: Snapshot) -> None:
    copy = Snapshot(snap.info, snap.files, snap.links, snap.dirs)
    assert copy.glob("/proc/[0-9]*/status") == ["/proc/1/status", "/proc/22/status"]
    copy.files["/proc/333/status"] = b"x\n"
    copy.dirs.add("/proc/333")
    assert copy.glob("/proc/[0-9]*/status")[-1] == "/proc/333/status"
    assert "333" in copy.listdir("/proc")
