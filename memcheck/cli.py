"""The `memcheck` command: run (implied), collect, report, list-checks, list-profiles, explain.

`run` builds a pytest argument list and calls `pytest.main` once, isolated from the user's
own pytest set-up: our own ini file with `-c`, `--rootdir`, no conftest files, no plugin
autoloading, no PYTEST_ADDOPTS.
"""

from __future__ import annotations

import argparse
import gc
import os
import queue
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from memcheck import __version__
from memcheck.errors import ConfigError, MemcheckError

COMMANDS = ("run", "collect", "report", "list-checks", "list-profiles", "explain")
SUITE_DIR = Path(__file__).parent / "suite"
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2), not the whole usage first."""

    def error(self, message: str) -> NoReturn:
        # argparse quotes most values with repr, not "unrecognized arguments": keep one line.
        text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message[:300])
        self.exit(EXIT_USAGE, f"{self.prog}: error: {text} (see {self.prog} --help)\n")


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("targets (default: the local host)")
    group.add_argument(
        "--hosts",
        action="append",
        default=[],
        metavar="URL[,URL...]",
        help="testinfra host URLs (local://, ssh://user@host:port, paramiko://, "
        "docker://, ansible://); a bare name means ssh://name",
    )
    group.add_argument(
        "--root",
        action="extend",
        nargs="+",
        default=[],
        metavar="DIR|FILE.tar.gz",
        help="saved host snapshots, evaluated offline (repeatable; `--root DIR/*` works)",
    )
    group.add_argument(
        "--inventory",
        metavar="FILE",
        help="the hosts of an Ansible inventory, INI or YAML (read without Ansible)",
    )
    group.add_argument(
        "--limit", metavar="PATTERN", help="only these inventory hosts (Ansible pattern)"
    )
    group.add_argument(
        "--shard",
        metavar="K/N",
        help="only shard K of N of the targets (a stable slice, for CI matrix jobs)",
    )
    group.add_argument(
        "--accept-new-host-keys",
        action="store_true",
        help="lab use: accept and record SSH host keys known_hosts lacks (the report says "
        "so); changed keys are still refused",
    )
    group.add_argument("--ssh-config", help="SSH config file passed to testinfra")
    group.add_argument("--ssh-identity-file", help="SSH identity file passed to testinfra")
    group.add_argument("--sudo", action="store_true", help="read the host through sudo")
    group.add_argument("--sudo-user", help="sudo to this user")
    group.add_argument("--ansible-inventory", help="inventory for ansible:// URLs")
    group.add_argument(
        "--connection",
        help="transport for bare host names and inventory hosts: ssh (default) or paramiko",
    )
    group.add_argument(
        "-n", "--workers", type=int, default=8, help="hosts collected concurrently (default 8)"
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="per-host collection limit in seconds (default 30)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="memcheck",
        description="Audit Linux hosts against memory-management best practice.",
        epilog="Run 'memcheck COMMAND --help' for a command's options. Exit codes: 0 no failure "
        "at or above fail_on, 1 failures, 2 usage or configuration error, 3 errors only.",
    )
    parser.add_argument("--version", action="version", version=f"memcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="audit hosts (the default command)")
    run.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME|FILE|auto",
        help="profile to apply; repeatable, later wins (default: default). 'auto' applies, "
        "per host, the profiles of the workloads its processes show",
    )
    _add_target_options(run)
    run.add_argument("--checks", help="only these check ids (comma-separated)")
    run.add_argument("--skip-checks", help="leave out these check ids (comma-separated)")
    run.add_argument(
        "--check-dir",
        action="append",
        default=[],
        help="a directory of your own check modules (repeatable)",
    )
    run.add_argument(
        "--report-dir",
        default="reports",
        help="where junit.xml, report.html and results.json go (default ./reports): a "
        "folder or a link to one; a report replaces only a regular file, never a link or "
        "device",
    )
    run.add_argument("--junit-xml", help="JUnit XML path (overrides --report-dir for it)")
    run.add_argument("--html", help="HTML report path")
    run.add_argument("--json", help="results.json path")
    run.add_argument("--no-reports", action="store_true", help="write no report files")
    run.add_argument(
        "--fail-on",
        choices=["critical", "high", "medium", "low"],
        help="lowest severity that makes the run fail (default: the profile's)",
    )
    run.add_argument(
        "--baseline",
        metavar="PREVIOUS.json",
        help="the previous run's results.json: mark findings new, still failing or fixed "
        "and list OOM kills new since then (process_memory_growth also compares with it)",
    )
    run.add_argument(
        "--waivers",
        metavar="FILE",
        help="TOML or YAML file of accepted exceptions (check, hosts, reason, approved_by, expires)",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="only failures and the totals")
    run.add_argument("-v", "--verbose", action="store_true", help="also list passes and skips")
    run.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    run.add_argument(
        "--sample-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="time between the two /proc/vmstat samples for swap activity (default 1; "
        "not waited for on hosts without a swap device)",
    )
    run.add_argument("pytest_args", nargs="*", help="after --: passed to pytest unchanged")

    collect = sub.add_parser("collect", help="save a host snapshot; evaluate nothing")
    _add_target_options(collect)
    collect.add_argument("--out", required=True, metavar="DIR|FILE.tar.gz")
    collect.add_argument(
        "--profile",
        action="append",
        default=[],
        help="collect only what these profiles need, 'auto' for any profile auto may pick "
        "(default: every check)",
    )

    report = sub.add_parser("report", help="re-render JUnit and HTML from results.json files")
    report.add_argument("results", nargs="+", metavar="RESULTS.json")
    report.add_argument("--report-dir", default="reports")
    report.add_argument("--junit-xml")
    report.add_argument("--html")
    report.add_argument("--json")

    lc = sub.add_parser("list-checks", help="id, severity, title and the profiles using each")
    lc.add_argument("--profile", action="append", default=[])
    lc.add_argument("--check-dir", action="append", default=[])
    sub.add_parser("list-profiles", help="name, extends, description")
    ex = sub.add_parser("explain", help="what a check reads, judges and cites, per profile")
    ex.add_argument("check_id")
    ex.add_argument("--check-dir", action="append", default=[])
    return parser


def _split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # A run allocates many small objects that live to the end (snapshots, facts, results):
    # collecting the youngest generation less often saved ~9% of a 50-host run (measured).
    gc.set_threshold(50_000, 50, 100)
    ours, passthrough = _split_argv(args_list)
    if not ours or (ours[0] not in COMMANDS and ours[0] not in ("-h", "--help", "--version")):
        ours = ["run", *ours]
    parser = build_parser()
    try:
        args = parser.parse_args(ours)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "run":
            return cmd_run(args, passthrough, args_list)
        if args.command == "collect":
            return cmd_collect(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "list-checks":
            return cmd_list_checks(args)
        if args.command == "list-profiles":
            return cmd_list_profiles()
        if args.command == "explain":
            return cmd_explain(args)
    except ConfigError as exc:
        print(f"memcheck: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MemcheckError as exc:
        print(f"memcheck: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("memcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`memcheck explain x | head`): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return EXIT_USAGE


def run() -> NoReturn:
    """The `memcheck` command: `main`, then an exit that skips the interpreter's teardown.

    By the end of a run every report is written and closed; what remains is freeing the
    run's objects one by one (at 50 hosts ~140,000 of them in reference cycles, a final
    garbage collection of ~0.25 s measured) and joining idle worker threads. The process
    flushes its output and ends without that teardown, as its exit frees everything at
    once. `main` itself returns normally, for callers that import it.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            code = code or 141
    os._exit(code)


# -- run ------------------------------------------------------------------------------------
class _Capture:
    """Receives the run's results from the plugin inside the isolated pytest session."""

    def __init__(self) -> None:
        self.run: Any = None
        self.reports: dict[str, str] = {}
        self.report_error: str | None = None

    def pytest_sessionfinish(self, session: Any) -> None:
        from memcheck.plugin import REPORT_ERROR_KEY, REPORTS_KEY, RESULT_KEY

        self.run = session.config.stash.get(RESULT_KEY, None)
        self.reports = session.config.stash.get(REPORTS_KEY, {})
        self.report_error = session.config.stash.get(REPORT_ERROR_KEY, None)


def plugin_options(args: argparse.Namespace) -> dict[str, Any]:
    """The run's options as the plugin reads them (pytest destination names), the same values
    `pytest_argv` passes on the command line (tests/test_head_start.py compares them)."""
    return {
        "memcheck_profile": list(args.profile or ["default"]),
        "memcheck_root": list(args.root),
        "hosts": ",".join(args.hosts) if args.hosts else None,
        "memcheck_inventory": args.inventory,
        "memcheck_limit": args.limit,
        "memcheck_shard": args.shard,
        "ssh_config": args.ssh_config,
        "ssh_identity_file": args.ssh_identity_file,
        "sudo": bool(args.sudo),
        "sudo_user": args.sudo_user,
        "ansible_inventory": args.ansible_inventory,
        "connection": args.connection,
        "memcheck_checks": args.checks,
        "memcheck_skip_checks": args.skip_checks,
        "memcheck_fail_on": args.fail_on,
        "memcheck_waivers": args.waivers,
        "memcheck_baseline": args.baseline,
        "memcheck_accept_new_host_keys": bool(args.accept_new_host_keys),
        "memcheck_check_dir": list(args.check_dir),
        "memcheck_workers": args.workers,
        "memcheck_timeout": args.timeout,
        "memcheck_sample_interval": args.sample_interval,
    }


def _plan_run(args: argparse.Namespace, original: list[str]) -> Any:
    """The run's audit, built before pytest starts: exit 2 with one line on a bad profile,
    check id, target, waiver or baseline file, and no pytest start-up to wait for first."""
    from memcheck.runner import build_audit

    _check_run_args(args)
    return build_audit(plugin_options(args).get, ["memcheck", *original])


def _check_run_args(args: argparse.Namespace) -> None:
    """What argparse cannot check about the targets and their options; ConfigError (exit 2)."""
    for root in args.root:
        if not os.path.exists(root):
            raise ConfigError(root, None, "no such snapshot directory or .tar.gz file")
    from memcheck.runner import check_run_values

    check_run_values(args.workers, args.timeout, getattr(args, "sample_interval", None))
    if args.connection and args.connection not in ("ssh", "paramiko", "safe-ssh"):
        raise ConfigError(
            "command line", "--connection", f"expected ssh or paramiko, got {args.connection!r}"
        )


def _targets(args: argparse.Namespace) -> list[Any]:
    """The run's targets from the command line; ConfigError (exit 2) on anything wrong."""
    from memcheck.runner import parse_shard, parse_targets

    _check_run_args(args)
    return parse_targets(
        args.hosts,
        args.root,
        inventory=args.inventory,
        limit=args.limit,
        connection=args.connection,
        ansible_inventory=args.ansible_inventory,
        shard=parse_shard(args.shard) if args.shard else None,
    )


def pytest_argv(args: argparse.Namespace, passthrough: list[str]) -> list[str]:
    """The isolated pytest command line for a run."""
    argv = [
        str(SUITE_DIR / "test_memcheck.py"),
        "-c",
        str(SUITE_DIR / "pytest.ini"),
        "--rootdir",
        str(SUITE_DIR),
        "--confcutdir",
        str(SUITE_DIR),
        "--noconftest",
        "--assert=plain",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        # Both watch for exceptions nobody handled in threads and finalisers, and the first
        # runs five full garbage collections at the end (~0.3 s at 50 hosts); memcheck's
        # threads report their own failures.
        "-p",
        "no:unraisableexception",
        "-p",
        "no:threadexception",
        "-p",
        "testinfra.plugin",
        "-p",
        "memcheck.plugin",
    ]
    for profile in args.profile or ["default"]:
        argv += ["--memcheck-profile", profile]
    for root in args.root:
        argv += ["--memcheck-root", root]
    if args.hosts:
        # testinfra's --hosts keeps only its last value: pass one comma-separated list.
        argv += ["--hosts", ",".join(args.hosts)]
    for flag, value in (
        ("--memcheck-inventory", args.inventory),
        ("--memcheck-limit", args.limit),
        ("--memcheck-shard", args.shard),
        ("--ssh-config", args.ssh_config),
        ("--ssh-identity-file", args.ssh_identity_file),
        ("--sudo-user", args.sudo_user),
        ("--ansible-inventory", args.ansible_inventory),
        ("--connection", args.connection),
        ("--memcheck-checks", args.checks),
        ("--memcheck-skip-checks", args.skip_checks),
        ("--memcheck-fail-on", args.fail_on),
        ("--memcheck-junit-xml", args.junit_xml),
        ("--memcheck-html", args.html),
        ("--memcheck-json", args.json),
        ("--memcheck-baseline", args.baseline),
        ("--memcheck-waivers", args.waivers),
    ):
        if value:
            argv += [flag, value]
    if args.sudo:
        argv.append("--sudo")
    if args.accept_new_host_keys:
        argv.append("--memcheck-accept-new-host-keys")
    for directory in args.check_dir:
        argv += ["--memcheck-check-dir", directory]
    argv += ["--memcheck-report-dir", args.report_dir]
    if args.no_reports:
        argv.append("--memcheck-no-reports")
    argv += ["--memcheck-workers", str(args.workers), "--memcheck-timeout", str(args.timeout)]
    argv += ["--memcheck-sample-interval", str(args.sample_interval)]
    return argv + list(args.pytest_args) + passthrough


def _isolated_environment() -> dict[str, str | None]:
    saved: dict[str, str | None] = {}
    for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        saved[name] = os.environ.pop(name, None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return saved


def _restore_environment(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _use_color(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty() and os.environ.get("TERM", "") != "dumb"


def cmd_run(args: argparse.Namespace, passthrough: list[str], original: list[str]) -> int:
    from memcheck.runner import PreparedAudit

    _check_report_targets(args)
    audit = _plan_run(args, original)
    capture = _Capture()
    plugins: list[Any] = [capture]
    # The environment is changed before any collecting thread starts and restored after
    # the last ends: a thread copies os.environ for each ssh it starts.
    saved = _isolated_environment()
    wait = False
    try:
        if not passthrough and not args.pytest_args:
            # A head start: the hosts are collected (and judged as they arrive) while
            # pytest is imported and sets itself up. Options after -- could change what
            # pytest's own parsing makes of the run; with any, the plugin builds the audit.
            audit.start()
            plugins.append(PreparedAudit(audit))
        import pytest

        from memcheck import plugin

        plugin.COMMAND_LINE = ["memcheck", *original]
        code = pytest.main(pytest_argv(args, passthrough), plugins=plugins)
        # Should pytest have ended without asking for the hosts, no collection outlives the
        # command; after Ctrl-C it is not waited for (ssh got the same signal).
        wait = code != pytest.ExitCode.INTERRUPTED
    finally:
        if wait:
            audit.settle()
        _restore_environment(saved)
    if capture.run is None:
        print(
            f"memcheck: error: pytest ended before the audit ran (exit {int(code)})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from memcheck.report.console import render_console

    text = render_console(
        capture.run, color=_use_color(args.color), verbose=args.verbose, reports=capture.reports
    )
    if args.quiet:
        text = "\n".join(line for line in text.splitlines() if line.strip())
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if capture.report_error:
        print(f"memcheck: error: {capture.report_error}", file=sys.stderr)
        return EXIT_USAGE
    return int(capture.run.exit_code)


# -- collect --------------------------------------------------------------------------------
def cmd_collect(args: argparse.Namespace) -> int:
    from memcheck.collect import collect_many
    from memcheck.detect import DETECT_READS
    from memcheck.registry import all_checks
    from memcheck.report.safe_text import one_line
    from memcheck.runner import ProfilePlan, reads_for
    from memcheck.snapshot import Snapshot

    checks = all_checks()
    if args.profile:
        reads = ProfilePlan(list(args.profile), checks).reads()
    else:
        reads = reads_for(list(checks.values()), DETECT_READS)
    if args.root:
        raise ConfigError("command line", "--root", "collect reads live hosts; give --hosts")
    targets = _targets(args)
    out = Path(args.out)
    # One host into --out itself (a folder or .tar.gz); a fleet, an inventory or a shard
    # into one folder per host below --out, named after the target.
    per_host = len(targets) > 1 or bool(args.inventory or args.shard)
    if per_host and args.out.endswith((".tar.gz", ".tgz")):
        raise ConfigError("command line", "--out", "several hosts need a folder, not a .tar.gz")
    backend: dict[str, object] = {}
    for key in ("ssh_config", "ssh_identity_file", "sudo", "sudo_user", "ansible_inventory"):
        value = getattr(args, key)
        if value:
            backend[key] = value
    live = [t for t in targets if t.error is None]
    # Where each host goes, named in target order (the same names whatever arrives first).
    places: dict[int, Path] = {}
    used: set[str] = set()
    for target in targets:
        where = out
        if per_host:
            name = _safe_name(_target_name(target.label))
            while name in used:
                name += "_"
            used.add(name)
            where = out / name
        places[id(target)] = where
    # Each snapshot is written as it arrives, by one writer thread, while the other hosts
    # are still being collected (a thousand small files per host take ~0.05-0.1 s).
    written: dict[int, Exception | None] = {}
    pending: queue.Queue[tuple[int, Snapshot] | None] = queue.Queue()

    def writer() -> None:
        while (item := pending.get()) is not None:
            key, snapshot = item
            try:
                snapshot.write(places[key])
                written[key] = None
            except Exception as exc:  # handed to the main thread
                written[key] = exc

    def arrived(index: int, got: Snapshot | object) -> None:
        if isinstance(got, Snapshot):
            pending.put((id(live[index]), got))

    thread = threading.Thread(target=writer, name="memcheck-write", daemon=True)
    thread.start()
    try:
        results = collect_many(
            [t.spec for t in live],
            reads,
            workers=args.workers,
            timeout=args.timeout,
            backend_options=backend,
            host_options=[dict(t.options) for t in live],
            accept_new_host_keys=args.accept_new_host_keys,
            on_result=arrived,
        )
    finally:
        pending.put(None)
        thread.join()
    outcomes = {id(t): got for t, (_, got) in zip(live, results)}
    failed = 0
    for target in targets:
        got = outcomes.get(id(target), target.error)
        if not isinstance(got, Snapshot):
            failed += 1
            print(
                one_line(f"memcheck: {target.label}: not collected: {getattr(got, 'reason', got)}"),
                file=sys.stderr,
            )
            continue
        where = places[id(target)]
        problem = written.get(id(target), RuntimeError("the snapshot was not written"))
        if problem is not None and not isinstance(problem, (OSError, ConfigError)):
            raise problem
        if problem is not None:
            # The disk or the folder, not the host: the other snapshots are kept, the run
            # ends as 3.
            failed += 1
            reason = (
                f"{problem.filename or where}: {problem.strerror or problem}"
                if isinstance(problem, OSError)
                else str(problem)
            )
            print(one_line(f"memcheck: {target.label}: not written: {reason}"), file=sys.stderr)
            continue
        problems = len(got.info.errors)
        print(
            one_line(f"{target.label}: {len(got.files)} files -> {where}")
            + (f" ({problems} unreadable, listed in .memcheck/host.json)" if problems else "")
        )
        for note in got.info.notes:
            # Notes name paths the host chose: its escapes never reach the terminal raw.
            print(one_line(f"{target.label}: note: {note}"))
    return 3 if failed else 0


def _target_name(label: str) -> str:
    """`ssh://user:pw@db1:2222` -> `db1_2222`: the host part, without scheme or user."""
    rest = label.split("://", 1)[-1].split("?", 1)[0]
    rest = rest.rsplit("@", 1)[-1].rstrip("/")
    return rest or label


def _safe_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return cleaned.strip(".") or "host"


# -- report ---------------------------------------------------------------------------------
def _check_report_targets(args: argparse.Namespace) -> None:
    """Before anything is read or any host audited: ConfigError (exit 2) when a report could
    not be written where it is asked for (a target that exists and is not a regular file, a
    report folder that is a file). The writers check again when they write."""
    from memcheck.report.paths import check_report_paths, report_paths

    if getattr(args, "no_reports", False):
        return  # the plugin then writes none, named or not
    paths = report_paths(args.report_dir, junit=args.junit_xml, html=args.html, json=args.json)
    check_report_paths(paths, args.report_dir)


def cmd_report(args: argparse.Namespace) -> int:
    from memcheck.report import write_reports
    from memcheck.report.json_report import load_results
    from memcheck.report.safe_text import one_line

    _check_report_targets(args)
    run = load_results(args.results)
    try:
        written = write_reports(
            run, report_dir=args.report_dir, junit=args.junit_xml, html=args.html, json=args.json
        )
    except OSError as exc:
        where = os.fspath(exc.filename) if exc.filename is not None else args.report_dir
        raise ConfigError(where, None, f"cannot write the report: {exc.strerror or exc}") from exc
    for kind, path in sorted(written.items()):
        print(one_line(f"{kind}: {path}"))
    return int(run.exit_code)


# -- listings -------------------------------------------------------------------------------
def _profiles_using(checks: dict[str, Any]) -> dict[str, list[str]]:
    from memcheck.profile import list_builtin_profiles, load_profiles

    users: dict[str, list[str]] = {cid: [] for cid in checks}
    for info in list_builtin_profiles():
        try:
            profile = load_profiles([info.name], checks)
        except ConfigError:
            continue
        for cid in profile.selected:
            users.setdefault(cid, []).append(info.name)
    return users


def cmd_list_checks(args: argparse.Namespace) -> int:
    from memcheck.profile import builtin_profile_names, load_profiles
    from memcheck.registry import all_checks

    checks = all_checks(args.check_dir)
    ids = list(checks)
    if args.profile:
        ids = list(load_profiles(args.profile, checks).selected)
    users = _profiles_using(checks)
    every = set(builtin_profile_names())
    width = max((len(i) for i in ids), default=10)
    print(f"{'ID':<{width}}  {'SEVERITY':<8}  {'AREA':<9}  TITLE  [PROFILES]")
    for cid in ids:
        meta = checks[cid].meta
        names = users.get(cid, [])
        used = "every profile" if names and set(names) == every else ", ".join(names) or "-"
        print(f"{cid:<{width}}  {meta.severity:<8}  {meta.area:<9}  {meta.title}  [{used}]")
    return 0


def cmd_list_profiles() -> int:
    from memcheck.profile import list_builtin_profiles

    profiles = list_builtin_profiles()
    width = max((len(p.name) for p in profiles), default=8)
    print(f"{'NAME':<{width}}  {'EXTENDS':<16}  DESCRIPTION")
    for p in profiles:
        print(f"{p.name:<{width}}  {', '.join(p.extends) or '-':<16}  {p.description}")
    print(
        f"{'auto':<{width}}  {'(per host)':<16}  The profiles of the workloads each host's "
        "processes show (PostgreSQL, MySQL/MariaDB, MongoDB, Redis, Elasticsearch/OpenSearch, "
        "Cassandra/ScyllaDB, kubelet, container runtimes), on top of default"
    )
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from memcheck.profile import check_per_profile
    from memcheck.registry import all_checks

    checks = all_checks(args.check_dir)
    check = checks.get(args.check_id)
    if check is None:
        raise ConfigError(
            "explain", args.check_id, f"unknown check (known: {', '.join(sorted(checks))})"
        )
    meta = check.meta
    wrap = textwrap.TextWrapper(width=88, initial_indent="  ", subsequent_indent="  ")
    print(f"{meta.id}: {meta.title}")
    print(f"  area {meta.area}, default severity {meta.severity}\n")
    print("Why it matters:")
    print(wrap.fill(meta.rationale) + "\n")
    print("Reads:")
    for path in meta.reads:
        print(f"  {path}")
    print("\nParams (defaults):")
    if not meta.params:
        print("  (none)")
    for name, param in meta.params.items():
        limits = [param.kind, param.range_text()]
        if param.at_most:
            limits.append(f"<= {param.at_most}")
        print(f"  {name} = {param.default!r}  ({', '.join(x for x in limits if x)}) {param.doc}")
    print("\nPer profile (effective params, and the authority the profile follows):")
    try:
        per_profile = check_per_profile(meta.id, checks)
    except ConfigError as exc:
        per_profile = {}
        print(f"  the built-in profiles could not be loaded: {exc}")
    if not per_profile:
        print("  not selected by any built-in profile (see the references below)")
    follows = textwrap.TextWrapper(
        width=88,
        initial_indent="    ",
        subsequent_indent="      ",
        break_long_words=False,  # keep each address whole, for copying
        break_on_hyphens=False,
    )
    for name, view in per_profile.items():
        shown = ", ".join(f"{k}={v!r}" for k, v in view.params.items()) or "(no params)"
        print(f"  {name}: {shown}")
        print(follows.fill(f"follows: {view.authority or 'the check references below'}"))
    print("\nHow to fix:")
    print(wrap.fill(meta.remediation) + "\n")
    print("References:")
    for ref in meta.references:
        print(f"  {ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
