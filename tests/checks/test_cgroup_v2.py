from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.cgroups import FILESYSTEMS, FILESYSTEMS_NO_V2, MOUNTS_HYBRID, MOUNTS_V1, MOUNTS_V2
from tests.snapshots import facts_from

CHECK = builtin_checks()["cgroup_v2"]


def run(files: Mapping[str, str], errors: Mapping[str, str] | None = None) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), {})


def test_unified_hierarchy_passes() -> None:
    result = run({"/proc/mounts": MOUNTS_V2, "/proc/filesystems": FILESYSTEMS})
    assert result.outcome == "pass"
    assert (result.observed, result.expected) == ("v2", "v2")
    assert result.message == "unified hierarchy: cgroup2 on /sys/fs/cgroup"
    assert result.evidence[0]["mountpoint"] == "/sys/fs/cgroup"


@pytest.mark.parametrize(("mounts", "mode"), [(MOUNTS_V1, "v1"), (MOUNTS_HYBRID, "hybrid")])
def test_v1_and_hybrid_fail_and_say_a_boot_parameter_is_enough(mounts: str, mode: str) -> None:
    result = run({"/proc/mounts": mounts, "/proc/filesystems": FILESYSTEMS})
    assert result.outcome == "fail"
    assert result.severity == "low"
    assert (result.observed, result.expected) == (mode, "v2")
    assert "the kernel supports cgroup2" in result.message
    assert "systemd.unified_cgroup_hierarchy=1 is enough" in result.message
    if mode == "hybrid":
        assert result.message.startswith("hybrid:")
    mountpoints = {e.get("mountpoint") for e in result.evidence}
    assert "/sys/fs/cgroup/memory" in mountpoints


def test_kernel_without_cgroup2_needs_an_upgrade() -> None:
    files = {"/proc/mounts": MOUNTS_V1, "/proc/filesystems": FILESYSTEMS_NO_V2}
    result = run(files)
    assert result.outcome == "fail"
    assert "does not support cgroup2" in result.message
    assert "upgrade the kernel" in result.message
    assert any(e.get("cgroup2_supported") is False for e in result.evidence)


def test_command_line_forcing_v1_is_named() -> None:
    files = {
        "/proc/mounts": MOUNTS_HYBRID,
        "/proc/filesystems": FILESYSTEMS,
        "/proc/cmdline": "BOOT_IMAGE=/vmlinuz-5.15 root=/dev/sda1 ro "
        "systemd.unified_cgroup_hierarchy=0 quiet\n",
    }
    result = run(files)
    assert result.outcome == "fail"
    assert "the kernel command line sets systemd.unified_cgroup_hierarchy=0" in result.message


def test_unknown_kernel_support_is_said_so() -> None:
    result = run({"/proc/mounts": MOUNTS_V1}, errors={"/proc/filesystems": "permission denied"})
    assert result.outcome == "fail"
    assert "unknown" in result.message


def test_no_cgroup_mounted_skips() -> None:
    result = run({"/proc/mounts": "proc /proc proc rw 0 0\n/dev/sda1 / ext4 rw 0 0\n"})
    assert result.outcome == "skip"
    assert result.message == "no cgroup file system is mounted"


def test_unreadable_mounts_is_an_error() -> None:
    result = run({}, errors={"/proc/mounts": "permission denied"})
    assert result.outcome == "error"
    assert "/proc/mounts" in result.message


def test_inside_a_container_it_is_said() -> None:
    mounts = "cgroup2 /sys/fs/cgroup cgroup2 ro,nosuid,nodev,noexec,relatime 0 0\n"
    result = run({"/proc/mounts": mounts, "/.dockerenv": ""})
    assert result.outcome == "pass"
    assert "inside a container" in result.message
