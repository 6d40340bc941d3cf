"""A real sshd on 127.0.0.1 for the fleet tests (started once, stopped at the end)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need
from tests.integration.sshd import ClientConfig, SshServer, missing_tools

FLEET_PROFILE = """
[profile]
name = "fleet-test"
description = "Two checks that pass on any host that was read: exit codes show the fleet"
fail_on = "low"

[checks]
include = ["swappiness", "memory_available"]

[params.swappiness]
min = 0
max = 200

[params.memory_available]
warn_percent = 0.0
high_percent = 0.0
critical_percent = 0.0
"""


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    problem = missing_tools()
    need(problem is None, problem or "")
    server = SshServer(tmp_path_factory.mktemp("sshd")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ssh_client(sshd: SshServer, tmp_path_factory: pytest.TempPathFactory) -> ClientConfig:
    return sshd.write_client_config(tmp_path_factory.mktemp("ssh-client"))


@pytest.fixture
def swap_hosts(ssh_client: ClientConfig) -> ClientConfig:
    """The client config, for tests that need the `swap-N` hosts to show a swap device."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("swap-N shows a swap device only as root, with unshare(1)")
    return ssh_client


@pytest.fixture(scope="session")
def fleet_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("profile") / "fleet-test.toml"
    path.write_text(FLEET_PROFILE)
    return path
