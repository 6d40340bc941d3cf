"""Running the collection script under real shells for the collect tests."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
NONCE = "c0ffee00deadbeef0123456789abcdef"

SHELLS: dict[str, tuple[str, ...]] = {
    "sh": ("sh",),
    "dash": ("dash",),
    "bash": ("bash", "--posix"),
    "busybox": ("busybox", "sh"),
}


def need(tool: str) -> str:
    """The tool's path; skip the test without it (fail in CI, where every tool is installed)."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (apt-get install -y {tool})"
        if IN_CI:
            pytest.fail(message + "; CI must run this test")
        pytest.skip(message)
    return path


def shell_argv(name: str) -> tuple[str, ...]:
    argv = SHELLS[name]
    need(argv[0])
    return argv


def as_nobody() -> list[str]:
    """A command prefix that drops root to `nobody`; skips when that is not possible."""
    if os.geteuid() != 0:
        pytest.skip("permission tests need to drop from root to nobody; not running as root")
    setpriv = need("setpriv")
    nobody = pwd.getpwnam("nobody")
    return [
        setpriv,
        f"--reuid={nobody.pw_uid}",
        f"--regid={nobody.pw_gid}",
        "--clear-groups",
        "--",
    ]


def run_script(
    script: str, shell: str = "sh", prefix: Sequence[str] = (), timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """Run the script as `sh -c SCRIPT sh`, the way a backend does."""
    argv = [*prefix, *shell_argv(shell), "-c", script, "sh"]
    return subprocess.run(argv, capture_output=True, timeout=timeout, check=False)


SWAPS_HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
A_SWAP_FILE = "/swapfile                               file\t\t65532\t\t0\t\t-2\n"


def with_swap_device(tmp_path: Path) -> list[str]:
    """A command prefix that runs its command with this machine's /proc, except for a
    /proc/swaps that lists a swap file (a bind mount in a private mount namespace), so
    that the second vmstat sample is taken on machines without swap too."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to show the script a swap device")
    fake = tmp_path / "swaps"
    fake.write_text(SWAPS_HEADER + A_SWAP_FILE)
    mount = f'mount --bind {fake} /proc/swaps && exec "$@"'
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", mount, "sh", "cat", "/proc/swaps"],
        capture_output=True,
        text=True,
        check=False,
    )
    if "/swapfile" not in probe.stdout:
        pytest.skip(f"cannot bind-mount over /proc/swaps here: {probe.stderr.strip()}")
    return ["unshare", "-m", "sh", "-c", mount, "sh"]
