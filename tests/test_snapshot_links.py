"""Symbolic links inside a snapshot: resolved as the host would, never out of the snapshot."""

from __future__ import annotations

import pytest

from memcheck.errors import Unavailable
from memcheck.snapshot import HostInfo, Snapshot

LINKS = {
    "/lib": "usr/lib",
    "/etc/alternatives/x": "/usr/bin/x.real",
    "/usr/bin/x": "/etc/alternatives/x",
    "/etc/rel": "../usr/lib/os-release",
    "/a/up": "../b",
    "/loop1": "loop2",
    "/loop2": "loop1",
    "/usr/lib/systemd/system/masked.service": "/dev/null",
    "/deep/link": "../deep/./target/",
}


@pytest.fixture
def snap() -> Snapshot:
    return Snapshot(
        HostInfo("h", "", "", ""),
        {"/usr/lib/os-release": b"ID=x\n", "/b/file": b"b\n"},
        LINKS,
    )


@pytest.mark.parametrize(
    ("path", "real"),
    [
        ("/", "/"),
        ("/usr/lib/os-release", "/usr/lib/os-release"),
        ("/lib/os-release", "/usr/lib/os-release"),
        ("/lib", "/usr/lib"),
        ("/usr/bin/x", "/usr/bin/x.real"),  # a chain of two links
        ("/etc/rel", "/usr/lib/os-release"),
        ("/a/up/file", "/b/file"),  # a link in the middle of the path
        ("//lib/./systemd/../os-release", "/usr/lib/os-release"),
        ("/lib/systemd/system/masked.service", "/dev/null"),
        ("/deep/link", "/deep/target"),
        ("/no/such", "/no/such"),
    ],
)
def test_resolve(snap: Snapshot, path: str, real: str) -> None:
    assert snap.resolve(path) == real


def test_a_loop_of_links_is_unavailable(snap: Snapshot) -> None:
    with pytest.raises(Unavailable, match="too many levels"):
        snap.resolve("/loop1/x")


def test_reading_through_links(snap: Snapshot) -> None:
    assert snap.read("/lib/os-release") == b"ID=x\n"
    assert snap.read("/a/up/file") == b"b\n"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/lib", "usr/lib"),
        ("/usr/lib/systemd/system/masked.service", "/dev/null"),
        # readlink(2) follows links in the folders of the path, not the last one
        ("/lib/systemd/system/masked.service", "/dev/null"),
        ("/usr/bin/x", "/etc/alternatives/x"),
        ("/usr/lib/os-release", None),
        ("/lib/nothing", None),
        ("/loop1/x", None),
    ],
)
def test_readlink(snap: Snapshot, path: str, target: str | None) -> None:
    assert snap.readlink(path) == target
