"""The `collected n/N hosts` line: in place on a terminal, silent otherwise."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from memcheck.collect import collect_many
from memcheck.runner import ProgressLine
from memcheck.snapshot import Snapshot


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_in_place_on_a_terminal() -> None:
    stream = Terminal()
    line = ProgressLine(3, stream)
    line("ssh://a", True)
    line("ssh://b", False)
    line("ssh://c", True)
    line.close()
    assert stream.getvalue() == (
        "\rcollected 1/3 hosts\x1b[K"
        "\rcollected 2/3 hosts (1 failed)\x1b[K"
        "\rcollected 3/3 hosts (1 failed)\x1b[K\n"
    )


@pytest.mark.parametrize(
    ("stream", "total"),
    [(io.StringIO(), 5), (Terminal(), 1)],
    ids=["not-a-terminal", "one-host"],
)
def test_silent_when_not_a_terminal_or_one_host(stream: io.StringIO, total: int) -> None:
    line = ProgressLine(total, stream)
    for n in range(total):
        line(f"ssh://h{n}", n % 2 == 0)
    line.close()
    assert stream.getvalue() == ""
    assert line.done == total


def test_collect_many_reports_each_host_as_it_finishes() -> None:
    seen: list[tuple[str, bool]] = []
    urls = ["local://", "local://"]
    got = collect_many(
        urls,
        ["/proc/sys/vm/swappiness"],
        workers=2,
        sample_interval=0.05,
        progress=lambda url, ok: seen.append((url, ok)),
    )
    assert [isinstance(s, Snapshot) for _, s in got] == [True, True]
    assert seen == [("local://", True), ("local://", True)]


def _run_on_pty(*args: str, cwd: Path) -> tuple[int, str]:
    """Run `memcheck` with stdout and stderr on a pseudo-terminal; return (rc, output)."""
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "PYTEST_ADDOPTS")}
    env["TERM"] = "xterm"
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("memcheck")), *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=child,
        stderr=child,
        env=env,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


ROOT = str(Path(__file__).parent / "hosts" / "stock-ubuntu-22.04")


def test_colour_on_a_terminal_and_only_there(tmp_path: Path) -> None:
    from tests.integration.cli import run_memcheck

    rc, out = _run_on_pty("--root", ROOT, "--profile", "database", "--no-reports", cwd=tmp_path)
    assert rc == 1, out
    assert "\x1b[1;31mFAIL\x1b[0m" in out
    piped = run_memcheck("--root", ROOT, "--profile", "database", "--no-reports", cwd=tmp_path)
    assert "FAIL " in piped.stdout and "\x1b[" not in piped.stdout
    always = run_memcheck(
        "--root", ROOT, "--profile", "database", "--no-reports", "--color", "always", cwd=tmp_path
    )
    assert "\x1b[1;31mFAIL\x1b[0m" in always.stdout
    rc, never = _run_on_pty(
        "--root", ROOT, "--profile", "database", "--no-reports", "--color", "never", cwd=tmp_path
    )
    assert "FAIL " in never and "\x1b[" not in never


def test_progress_on_a_terminal_and_not_in_a_pipe(tmp_path: Path) -> None:
    from tests.integration.cli import run_memcheck

    args = ("--hosts", "local://,local://", "--checks", "swappiness", "--no-reports")
    args += ("--sample-interval", "0.05")
    rc, out = _run_on_pty(*args, cwd=tmp_path)
    assert rc in (0, 1), out
    assert "\rcollected 1/2 hosts\x1b[K" in out
    assert "\rcollected 2/2 hosts\x1b[K" in out
    piped = run_memcheck(*args, cwd=tmp_path)
    assert "collected" not in piped.stderr + piped.stdout
