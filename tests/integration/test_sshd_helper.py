"""The loopback sshd helper itself (used by the fleet tests and the benchmark)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.sshd import keygen


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed")
def test_keygen_replaces_a_pair_left_in_the_folder(tmp_path: Path) -> None:
    first = keygen(tmp_path / "host_ed25519", "first")
    second = keygen(tmp_path / "host_ed25519", "second")
    assert first.split()[1] != second.split()[1]  # a new key, not the old one kept
    assert second.strip().endswith("second")
    assert (tmp_path / "host_ed25519.pub").read_text() == second
