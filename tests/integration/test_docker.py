"""`docker://` against real containers (issue 12): a private dockerd, an image imported from a
debootstrap root (no registry is reachable), containers under `--memory 64m`.

Inside a container memory_available must judge the container's own cgroup limit, not the
host's /proc/meminfo, and the report's memory bar must show that limit; host-wide values seen
from inside must say so; an OOM kill under `--memory` must show in oom_kills and
cgroup_oom_events both from the host (a local run, as root) and from inside (`docker://`),
where oom_kills counts the container's own kill, not the host's.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from tests.integration.cli import run_memcheck
from tests.integration.dockerd import MIB, Dockerd, image_root, missing_tools, new_workdir

IMAGE = "memcheck-test:minbase"
LIMIT = 64 * MIB
HELD = 48 * MIB  # what the container holds: its limit, not the host's RAM, shows it


@pytest.fixture(scope="module")
def dockerd() -> Iterator[Dockerd]:
    problem = missing_tools()
    need(problem is None, problem or "")
    try:
        root = image_root()
    except (RuntimeError, OSError) as exc:
        need(False, f"cannot build the test image's root: {exc}")
        raise
    daemon = Dockerd(new_workdir())
    try:
        daemon.start()
    except RuntimeError as exc:
        need(False, f"dockerd cannot run here: {exc}")
        raise
    try:
        daemon.import_image(root, IMAGE)
        yield daemon
    finally:
        daemon.stop()


def start_container(daemon: Dockerd, name: str, *options: str) -> str:
    """A container that idles (so the collector can exec into it); returns its full id."""
    daemon.docker(
        "run", "-d", "--name", name, "--hostname", name, "--network", "none",
        *options, IMAGE, "sleep", "infinity",
    )  # fmt: skip
    return daemon.docker("inspect", "-f", "{{.Id}}", name).stdout.strip()


def audit(tmp_path: Path, checks: str, *target: str, env: dict[str, str]) -> dict[str, Any]:
    """One host's results.json entry from `memcheck run`."""
    reports = Path(tempfile.mkdtemp(dir=tmp_path))
    done = run_memcheck(
        "run", *target, "--checks", checks, "--report-dir", str(reports), "--color", "never",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stdout + done.stderr
    hosts: list[dict[str, Any]] = json.loads((reports / "results.json").read_text())["hosts"]
    assert len(hosts) == 1
    return hosts[0]


def results(host: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["check"]: r for r in host["results"]}


def usage_inside(daemon: Dockerd, name: str) -> int:
    """The container's memory usage as its own cgroup shows it (v1 or v2)."""
    shown = daemon.docker(
        "exec", name, "sh", "-c",
        "cat /sys/fs/cgroup/memory/memory.usage_in_bytes 2>/dev/null "
        "|| cat /sys/fs/cgroup/memory.current",
    )  # fmt: skip
    return int(shown.stdout.split()[0])


def host_uptime() -> float:
    """Seconds since this machine booted: a container's uptime is its host's."""
    return float(Path("/proc/uptime").read_text().split()[0])


def test_memory_available_judges_the_containers_own_limit(dockerd: Dockerd, tmp_path: Path) -> None:
    start_container(dockerd, "limited", "--memory", "64m", "--memory-swap", "64m")
    # tail keeps everything it reads until end of file, which never comes: 48 MiB held.
    dockerd.docker(
        "exec", "-d", "limited", "sh", "-c",
        f"{{ head -c {HELD} /dev/zero; exec sleep infinity; }} | tail",
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while usage_inside(dockerd, "limited") < HELD and time.monotonic() < deadline:
        time.sleep(0.1)
    assert usage_inside(dockerd, "limited") >= HELD

    checks = "memory_available,vfs_cache_pressure,psi_memory,sysctl_persisted"
    host = audit(tmp_path, checks, "--hosts", "docker://limited", env=dockerd.env)
    assert host["in_container"] is True
    found = results(host)["memory_available"]
    # The host's MemAvailable would be most of its RAM; the container has 16 MiB or less left.
    assert found["message"].startswith("container limit 64 MiB, "), found["message"]
    assert found["observed"] < 100 * (LIMIT - HELD) / LIMIT
    limit = next(e for e in found["evidence"] if "limit_bytes" in e)
    assert limit["limit_bytes"] == LIMIT
    assert limit["source"] in (
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",  # v1: the group docker mounts there
        "/sys/fs/cgroup/memory.max",  # v2: its own cgroup namespace
    )
    working = next(e for e in found["evidence"] if "working_set_bytes" in e)
    assert working["working_set_bytes"] >= HELD
    assert found["observed"] == round(working["available_bytes"] / LIMIT * 100, 1)
    assert found["outcome"] == ("pass" if found["observed"] >= 10 else "fail")
    # The report's memory bar is the container's: its limit, and what its working set leaves.
    assert host["memory"]["total_bytes"] == LIMIT
    assert host["memory"]["available_bytes"] == working["available_bytes"]
    # vm.* sysctls and /proc/pressure/memory are the host kernel's, and say so from inside.
    vfs = results(host)["vfs_cache_pressure"]
    assert vfs["message"].endswith(
        "host-wide value, seen from inside a container: change it on the host"
    ), vfs["message"]
    pressure = results(host)["psi_memory"]
    if pressure["outcome"] != "skip":  # a kernel without PSI has none to judge
        assert "container" in pressure["message"], pressure["message"]
    persisted = results(host)["sysctl_persisted"]
    assert persisted["outcome"] == "skip" and "audit the host" in persisted["message"]

    start_container(dockerd, "unlimited")
    host = audit(tmp_path, "memory_available", "--hosts", "docker://unlimited", env=dockerd.env)
    found = results(host)["memory_available"]
    assert found["message"].startswith("MemAvailable is ")
    assert "these are the host's numbers" in found["message"]


def test_oom_kill_under_memory_limit_shows_from_the_host_and_from_inside(
    dockerd: Dockerd, tmp_path: Path
) -> None:
    container_id = start_container(dockerd, "oom", "--memory", "64m", "--memory-swap", "64m")
    # tail buffers /dev/zero (no newline ever comes) until the kernel kills it at the limit.
    killed = dockerd.docker("exec", "oom", "tail", "/dev/zero", check=False, timeout=60)
    assert killed.returncode == 137, killed.stderr  # SIGKILL from the OOM killer

    inside = results(
        audit(tmp_path, "oom_kills,cgroup_oom_events", "--hosts", "docker://oom", env=dockerd.env)
    )
    events = inside["cgroup_oom_events"]
    assert events["outcome"] == "fail", events["message"]
    own = [e for e in events["evidence"] if e.get("path") == "/" and e.get("oom_kill")]
    assert own and own[0]["oom_kill"] >= 1, events["evidence"]
    # A container cannot read the kernel log (no CAP_SYSLOG), and /proc/vmstat counts the
    # whole host's kills: the container's own memory cgroup counts this one kill.
    kills = inside["oom_kills"]
    assert kills["outcome"] != "pass", kills["message"]
    own_count = [e for e in kills["evidence"] if e.get("in_container") and "oom_kill" in e]
    assert own_count and own_count[0]["oom_kill"] == 1, kills["evidence"]
    assert own_count[0]["source"] in (
        "/sys/fs/cgroup/memory/memory.oom_control",  # v1: the group docker mounts there
        "/sys/fs/cgroup/memory.events",  # v2: its own cgroup namespace
    )
    host_wide = [e for e in kills["evidence"] if e.get("host_wide") and "oom_kill" in e]
    assert host_wide and host_wide[0]["oom_kill"] >= 1, kills["evidence"]
    if host_uptime() <= 24 * 3600:  # the kill then falls in the window, whenever it was
        assert (kills["outcome"], kills["observed"]) == ("fail", 1), kills["message"]
        assert "in this container" in kills["message"]

    outside = results(audit(tmp_path, "oom_kills,cgroup_oom_events", env={}))
    kills = outside["oom_kills"]
    assert kills["outcome"] == "fail", kills["message"]
    ours = [
        e
        for e in kills["evidence"]
        if e.get("name") == "tail" and container_id in str(e.get("memcg") or e.get("task_memcg"))
    ]
    assert ours and ours[-1]["in_window"] is True, kills["evidence"][-5:]
    events = outside["cgroup_oom_events"]
    assert events["outcome"] == "fail", events["message"]
    mine = [e for e in events["evidence"] if container_id in str(e.get("path"))]
    assert mine and mine[0]["oom_kill"] >= 1, events["evidence"]
