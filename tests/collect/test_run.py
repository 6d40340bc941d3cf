"""collect_host / collect_many: live collection through testinfra, and how failures look."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import testinfra.backend.local

from memcheck import __version__
from memcheck.collect import CollectError, collect_host, collect_many
from memcheck.collect.errors import redact
from memcheck.collect.script import NO_SWAP_DEVICE
from memcheck.secrets import SCRIPT_STAND_IN
from memcheck.snapshot import KERNEL_LOG, VMSTAT_AFTER
from tests.collect.shells import with_swap_device

REALISTIC = (
    "/proc/meminfo",
    "/proc/vmstat",
    "/proc/sys/vm/swappiness",
    "/proc/sys/vm/overcommit_memory",
    "/proc/[0-9]*/comm",
    "/proc/[0-9]*/cmdline",
    "/sys/kernel/mm/transparent_hugepage/enabled",
    "/etc/sysctl.d/**",
    KERNEL_LOG,
    VMSTAT_AFTER,
)


@pytest.fixture
def run_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the commands testinfra's local backend is asked to run."""
    calls: list[str] = []
    real = testinfra.backend.local.LocalBackend.run

    def counting(self: Any, command: str, *args: str, **kwargs: Any) -> Any:
        calls.append(command)
        return real(self, command, *args, **kwargs)

    monkeypatch.setattr(testinfra.backend.local.LocalBackend, "run", counting)
    return calls


def test_live_local_collection(run_calls: list[str]) -> None:
    snap = collect_host("local://", REALISTIC, sample_interval=0.2)
    assert len(run_calls) == 1  # one round trip, whatever the number of files
    assert snap.files["/proc/meminfo"].startswith(b"MemTotal:")
    with open("/proc/swaps") as fh:
        has_swap = len(fh.read().splitlines()) > 1
    if has_swap:
        assert b"pgfault" in snap.files[VMSTAT_AFTER]
    else:  # nothing can be swapped: no second sample, and the reason why
        assert snap.errors[VMSTAT_AFTER] == NO_SWAP_DEVICE
    assert int(snap.files["/proc/sys/vm/swappiness"]) >= 0
    with open("/proc/sys/kernel/hostname") as fh:
        assert snap.info.hostname == fh.read().strip()
    stamp = datetime.strptime(snap.info.collected_at, "%Y-%m-%dT%H:%M:%SZ")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    assert abs((now - stamp).total_seconds()) < 120
    assert snap.info.source == "local"
    assert snap.info.memcheck_version == __version__
    interval = snap.info.sample_interval_seconds
    assert (interval is not None and interval >= 0.2) if has_swap else interval is None
    assert KERNEL_LOG in snap.files or KERNEL_LOG in snap.errors
    assert not any(why.startswith("not collected") for why in snap.errors.values())


def test_own_command_line_does_not_forge_frames() -> None:
    # The shell running the script is one of the processes whose cmdline is read; its text
    # neither breaks the framing nor reaches the snapshot: it is stored as a stand-in.
    snap = collect_host("local://", ["/proc/[0-9]*/cmdline"])
    own = [p for p, data in snap.files.items() if SCRIPT_STAND_IN.encode() in data.split(b"\0")]
    assert own, "the collecting shell's own cmdline should be among the files, as the stand-in"
    assert not any(b":MEMCHECK:" in data for data in snap.files.values())
    assert not any(why.startswith("not collected") for why in snap.errors.values())


def test_base_set_collection_is_quick() -> None:
    started = time.perf_counter()
    snap = collect_host("local://", [])
    elapsed = time.perf_counter() - started
    assert snap.files["/proc/version"].startswith(b"Linux version")
    assert elapsed < 10, elapsed


def test_host_side_time_limit_returns_partial_snapshot(tmp_path: Path) -> None:
    # 3 s budget: the host's `timeout` gets 1 s, the vmstat sleep needs 5 s. The host is
    # this machine shown a swap device (else there is no second sample to wait for).
    code = (
        "import json, time\n"
        "from memcheck.collect import collect_host\n"
        "started = time.perf_counter()\n"
        f"snap = collect_host('local://', [{VMSTAT_AFTER!r}], timeout=3, sample_interval=5)\n"
        "print(json.dumps([time.perf_counter() - started, bool(snap.files['/proc/uptime']),"
        f" snap.errors.get({VMSTAT_AFTER!r})]))\n"
    )
    proc = subprocess.run(
        [*with_swap_device(tmp_path), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, uptime_read, why = json.loads(proc.stdout)
    assert seconds < 3
    assert uptime_read
    assert why == "not collected: timed out on the host after 1 s"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("scheme", ["paramiko", "ssh"])
def test_a_host_that_never_speaks_ends_within_the_timeout(silent_server: int, scheme: str) -> None:
    url = f"{scheme}://root@127.0.0.1:{silent_server}"
    started = time.perf_counter()
    with pytest.raises(CollectError) as err:
        collect_host(url, [], timeout=2.5)
    assert time.perf_counter() - started < 3.5
    assert "banner" in err.value.reason or "timed out" in err.value.reason
    assert err.value.url == url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize("scheme", ["paramiko", "ssh"])
def test_connection_refused_is_one_line_without_secrets(scheme: str) -> None:
    port = free_port()
    url = f"{scheme}://admin:s3cret-pw@127.0.0.1:{port}"
    with pytest.raises(CollectError) as err:
        collect_host(url, [], timeout=20)
    text = str(err.value)
    assert "s3cret-pw" not in text and "\n" not in text
    assert "Traceback" not in text
    assert err.value.url == f"{scheme}://admin:***@127.0.0.1:{port}"
    assert "refused" in text.lower() or "unable to connect" in text.lower() or "sshpass" in text


def test_collect_many_keeps_order_and_isolates_failures() -> None:
    bad = f"paramiko://127.0.0.1:{free_port()}"
    urls = ["local://", bad, "local://"]
    results = collect_many(urls, ["/proc/meminfo"], workers=3, timeout=20)
    assert [u for u, _ in results] == urls
    first, failed, last = (r for _, r in results)
    assert not isinstance(first, CollectError) and not isinstance(last, CollectError)
    assert first.files["/proc/meminfo"].startswith(b"MemTotal:")
    assert isinstance(failed, CollectError) and failed.url == bad
    assert collect_many([], ["/proc/meminfo"]) == []


def test_missing_transport_program_is_a_collect_error() -> None:
    # docker:// runs `docker exec`; a container that does not exist fails with no output.
    with pytest.raises(CollectError) as err:
        collect_host("docker://memcheck-no-such-container-xyz", [], timeout=20)
    assert err.value.reason
    assert "\n" not in err.value.reason


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("ssh://u:pw@h:22", "ssh://u:***@h:22"),
        ("paramiko://u:p%40ss@h", "paramiko://u:***@h"),
        ("ssh://u:p@ss@h:2/x?y=1", "ssh://u:***@h:2/x?y=1"),
        ("ssh://u@h", "ssh://u@h"),
        ("local://", "local://"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_bare_name_means_ssh() -> None:
    with pytest.raises(CollectError) as err:
        collect_host("memcheck-no-such-host.invalid", [], timeout=20)
    assert err.value.url == "ssh://memcheck-no-such-host.invalid"


KERNEL_VALUES = (
    "/proc/sys/vm/swappiness",
    "/proc/sys/vm/min_free_kbytes",
    "/proc/sys/kernel/pid_max",
    "/proc/sys/kernel/osrelease",
    "/sys/kernel/mm/transparent_hugepage/enabled",
    "/proc/version",
)


def test_kernel_values_arrive_whole() -> None:
    # /proc/sys files answer only the first read(2): a reader that takes a byte at a time
    # would see "6" for a swappiness of 60. The batched reads must see every byte.
    snap = collect_host("local://", KERNEL_VALUES)
    for path in KERNEL_VALUES:
        try:
            with open(path, "rb") as fh:
                expected = fh.read()
        except OSError:
            continue
        assert snap.files[path] == expected, path


def test_output_that_breaks_the_parser_costs_only_that_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import memcheck.collect.run as run_module

    real = run_module.parse_output
    calls: list[int] = []

    def parse_once_badly(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("invalid literal for int() with base 8: '\\\\999'")
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "parse_output", parse_once_badly)
    results = collect_many(["local://", "local://"], ["/proc/meminfo"], workers=1)
    first, second = (got for _, got in results)
    assert isinstance(first, CollectError)
    assert "ValueError" in first.reason or "invalid literal" in first.reason
    assert second.read("/proc/meminfo").startswith(b"MemTotal:")  # type: ignore[union-attr]
