"""The memcheck command's head start: the audit is built from the command's own options and
starts collecting before pytest is imported; pytest's plugin then takes that audit."""

from __future__ import annotations

import argparse
import gc
import io
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from memcheck import cli
from memcheck.runner import Audit, PreparedAudit, ProgressLine, build_audit

HOSTS = Path(__file__).parent / "hosts"
ROOT_A = str(HOSTS / "stock-ubuntu-22.04")
ROOT_B = str(HOSTS / "cron-drop-caches")


def parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(["run", *argv])


class _Stop:
    """Records the options pytest parsed, then ends the session before it configures."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.seen: dict[str, Any] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_cmdline_main(self, config: pytest.Config) -> int:
        self.seen = {n: config.getoption(n, default=None) for n in self.names}
        return 0


def parsed_by_pytest(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    stop = _Stop(names)
    saved = cli._isolated_environment()
    try:
        pytest.main(cli.pytest_argv(args, []), plugins=[stop])
    finally:
        cli._restore_environment(saved)
    return stop.seen


COMMANDS = {
    "defaults": ["--root", ROOT_A],
    "everything": [
        "--profile",
        "database",
        "--profile",
        "redis",
        "--root",
        ROOT_A,
        "--root",
        ROOT_B,
        "--hosts",
        "ssh://a,paramiko://b",
        "--hosts",
        "c",
        "--inventory",
        "inv.ini",
        "--limit",
        "db:!db-9",
        "--shard",
        "2/3",
        "--ssh-config",
        "ssh_config",
        "--ssh-identity-file",
        "id_ed25519",
        "--sudo",
        "--sudo-user",
        "postgres",
        "--ansible-inventory",
        "hosts.yml",
        "--connection",
        "paramiko",
        "--checks",
        "swappiness,thp_*",
        "--skip-checks",
        "thp_defrag",
        "--fail-on",
        "high",
        "--waivers",
        "waivers.toml",
        "--baseline",
        "old.json",
        "--accept-new-host-keys",
        "--check-dir",
        "mychecks",
        "--check-dir",
        "more",
        "-n",
        "3",
        "--timeout",
        "7.5",
        "--sample-interval",
        "0.25",
    ],
}


@pytest.mark.parametrize("argv", list(COMMANDS.values()), ids=list(COMMANDS))
def test_the_commands_options_are_what_pytest_parses(argv: list[str]) -> None:
    args = parse(*argv)
    ours = cli.plugin_options(args)
    theirs = parsed_by_pytest(args, list(ours))
    for name, value in ours.items():
        assert theirs[name] == value, name


def test_every_option_the_audit_reads_comes_from_the_command(tmp_path: Path) -> None:
    ours = cli.plugin_options(parse("--root", ROOT_A, "--profile", "database"))
    asked: list[str] = []

    def option(name: str) -> Any:
        asked.append(name)
        return ours.get(name)

    audit = build_audit(option, ["memcheck"])
    assert len(audit.targets) == 1
    assert "memcheck_workers" in asked and "hosts" in asked
    assert set(asked) <= set(ours), sorted(set(asked) - set(ours))


def run_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *argv: str
) -> tuple[int, list[PreparedAudit], list[bool]]:
    """`memcheck ARGV` in this process; what it handed to pytest.main, and whether the
    handed audit was already collecting when pytest was called."""
    handed: list[PreparedAudit] = []
    collecting: list[bool] = []
    real_main = pytest.main

    def spying_main(args: list[str], plugins: list[object]) -> Any:
        for plugin in plugins:
            if isinstance(plugin, PreparedAudit):
                handed.append(plugin)
                collecting.append(plugin.audit._gathering is not None)
        return real_main(args, plugins=plugins)

    monkeypatch.setattr(pytest, "main", spying_main)
    monkeypatch.chdir(tmp_path)
    thresholds = gc.get_threshold()  # the command tunes the collector for its own process
    try:
        code = cli.main(list(argv))
    finally:
        gc.set_threshold(*thresholds)
    return code, handed, collecting


def test_the_command_collects_before_pytest_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, handed, collecting = run_command(
        monkeypatch, tmp_path, "--hosts", "local://,local://", "--checks", "swappiness"
    )
    out = capsys.readouterr().out
    assert code in (0, 1), out
    assert collecting == [True]
    audit = handed[0].audit
    # pytest's items were judged on that very audit: both hosts, one verdict each.
    assert audit.hosts is not None and len(audit.hosts) == 2
    assert sorted(key[0] for key in audit.results) == [0, 1]
    assert "drop_caches" not in out and "2 hosts" in out


def test_collection_runs_inside_the_isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The command changes os.environ for pytest; collecting threads copy it for every ssh
    they start, so no change may happen while they run."""
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    seen: list[str | None] = []
    real_start, real_settle = Audit.start, Audit.settle

    def start(self: Audit) -> None:
        seen.append(os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"))
        real_start(self)

    def settle(self: Audit) -> None:
        real_settle(self)
        seen.append(os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"))

    monkeypatch.setattr(Audit, "start", start)
    monkeypatch.setattr(Audit, "settle", settle)
    code, _, collecting = run_command(
        monkeypatch, tmp_path, "--hosts", "local://", "--checks", "swappiness"
    )
    assert code in (0, 1) and collecting == [True]
    assert seen == ["1", "1"]  # isolated from before the start until after the last host
    assert "PYTEST_DISABLE_PLUGIN_AUTOLOAD" not in os.environ  # and restored after


def test_options_after_a_double_dash_leave_the_audit_to_the_plugin(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, handed, _ = run_command(
        monkeypatch, tmp_path, "--root", ROOT_B, "--checks", "swappiness", "--", "-p", "no:warnings"
    )
    assert handed == []
    assert code in (0, 1)
    assert "swappiness" in capsys.readouterr().out


def test_a_started_audit_gathers_what_a_waiting_one_does() -> None:
    options = cli.plugin_options(parse("--root", ROOT_A, "--root", ROOT_B, "--profile", "database"))
    started = build_audit(options.get, ["memcheck"])
    started.start()
    waited = build_audit(options.get, ["memcheck"])
    for audit in (started, waited):
        audit.evaluate_all()
    a, b = started.run_result(), waited.run_result()
    assert [h.name for h in a.hosts] == [h.name for h in b.hosts]
    assert [[(r.check, r.outcome, r.message) for r in h.results] for h in a.hosts] == [
        [(r.check, r.outcome, r.message) for r in h.results] for h in b.hosts
    ]


def test_a_started_audit_judges_each_snapshot_as_it_loads() -> None:
    options = cli.plugin_options(parse("--root", ROOT_A, "--root", ROOT_B, "--profile", "database"))
    audit = build_audit(options.get, ["memcheck"])
    audit.start()
    audit.settle()
    # Every verdict is in before pytest's loop asks for the first one.
    wanted = {(i, c) for i in range(2) for c in audit.profile.selected}
    assert set(audit._verdicts) == wanted
    waiting = build_audit(options.get, ["memcheck"])
    waiting.gather()
    assert waiting._verdicts == {}  # judged on demand, item by item


def test_what_gathering_raised_reaches_the_thread_that_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    audit = build_audit(cli.plugin_options(parse("--hosts", "local://")).get, ["memcheck"])

    def broken(self: Audit, *args: object) -> None:  # a bug no real host can cause
        raise RuntimeError("collector bug")

    monkeypatch.setattr(Audit, "_collect", broken)
    audit.start()
    audit.settle()
    with pytest.raises(RuntimeError, match="collector bug"):
        audit.gather()


def test_the_progress_line_outlives_a_replaced_descriptor() -> None:
    """pytest's capture puts a file on descriptor 2 while it starts; a progress line that
    began before writes through its own copy of the terminal."""
    for own_fd, expected in ((True, b"collected 1/2 hosts"), (False, b"")):
        master, slave = pty.openpty()
        stream = os.fdopen(os.dup(slave), "w")
        line = ProgressLine(2, stream, own_fd=own_fd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())  # what fd capture does to descriptor 2
        line("ssh://a", True)
        line.close()
        stream.close()
        os.close(devnull)
        os.close(slave)
        seen = b""
        try:
            while True:
                chunk = os.read(master, 4096)
                if not chunk:
                    break
                seen += chunk
        except OSError:  # EIO: the terminal's other end is closed
            pass
        os.close(master)
        assert (expected in seen) if expected else (b"collected" not in seen)


def test_a_terminal_without_a_descriptor_still_gets_the_progress_line() -> None:
    class Console(io.StringIO):  # an IDE's console: a terminal, but no file descriptor
        def isatty(self) -> bool:
            return True

    stream = Console()
    line = ProgressLine(2, stream, own_fd=True)
    line("ssh://a", True)
    line.close()
    assert stream.getvalue() == "\rcollected 1/2 hosts\x1b[K\n"


@pytest.mark.parametrize(
    ("urls", "options", "imported"),
    [
        (["ssh://a", "b"], [{}, {}], False),
        (["ssh://a", "paramiko://b"], [{}, {}], True),
        (["c"], [{"connection": "paramiko"}], True),
        (["paramiko://[::1", "ssh://a"], [{}, {}], False),  # left to its own collection
    ],
)
def test_paramiko_is_imported_up_front_only_for_paramiko_hosts(
    urls: list[str], options: list[dict[str, str]], imported: bool
) -> None:
    code = (
        "import sys\n"
        "from memcheck.collect.transport import import_for\n"
        f"import_for({urls!r}, {options!r})\n"
        "print('paramiko' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert proc.stdout.strip() == str(imported)


# An import hook that makes paramiko's import warn, as some paramiko and cryptography pairs do.
WARNING_ON_IMPORT = """
import importlib.abc, sys, warnings

class Warn(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "paramiko":
            warnings.warn("paramiko: old cipher", UserWarning)
        return None

sys.meta_path.insert(0, Warn())
"""


@pytest.mark.parametrize(
    ("importing", "shown"),
    [
        (
            "from memcheck.collect.transport import import_for\nimport_for(['paramiko://a'], [{}])",
            False,
        ),
        ("import paramiko", True),
    ],
    ids=["up-front-import", "plain-import"],
)
def test_an_import_warning_from_paramiko_stays_off_the_terminal(
    importing: str, shown: bool
) -> None:
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", WARNING_ON_IMPORT + importing],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert ("old cipher" in proc.stderr) is shown, proc.stderr
