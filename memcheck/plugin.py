"""The pytest layer: options, one item per (host, check), outcomes into pytest, reports at the end.

Registered as a `pytest11` plugin, so `pytest --memcheck-profile database --hosts ssh://db1`
works; the `memcheck` command runs the same plugin through an isolated `pytest.main`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from memcheck.errors import ConfigError
from memcheck.report.background import BackgroundReports
from memcheck.results import CheckResult, RunResult
from memcheck.runner import Audit, PreparedAudit, build_audit

SUITE = str(Path(__file__).parent / "suite" / "test_memcheck.py")
AUDIT_KEY = pytest.StashKey["Audit"]()
# Set by the memcheck command so reports show how a user ran it, not the internal pytest argv.
COMMAND_LINE: list[str] = []
RESULT_KEY = pytest.StashKey[RunResult]()
REPORTS_KEY = pytest.StashKey[dict[str, str]]()
REPORT_ERROR_KEY = pytest.StashKey[str]()
WRITER_KEY = pytest.StashKey[BackgroundReports]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memcheck", "memcheck: Linux memory-management audit")
    group.addoption(
        "--memcheck-profile",
        action="append",
        default=[],
        metavar="NAME|FILE|auto",
        help="profile to apply (repeatable; later wins; 'auto' picks them per host from "
        "its processes); enables memcheck",
    )
    group.addoption(
        "--memcheck-root",
        action="append",
        default=[],
        metavar="DIR|TAR.GZ",
        help="audit a saved host snapshot (repeatable); enables memcheck",
    )
    group.addoption("--memcheck-checks", default=None, help="only these check ids (comma list)")
    group.addoption("--memcheck-skip-checks", default=None, help="leave out these check ids")
    group.addoption(
        "--memcheck-check-dir",
        action="append",
        default=[],
        help="a directory of extra check modules",
    )
    group.addoption(
        "--memcheck-fail-on", default=None, choices=["critical", "high", "medium", "low"]
    )
    group.addoption(
        "--memcheck-waivers", default=None, metavar="FILE", help="TOML or YAML waiver file"
    )
    group.addoption("--memcheck-report-dir", default="reports")
    group.addoption("--memcheck-junit-xml", default=None)
    group.addoption("--memcheck-html", default=None)
    group.addoption("--memcheck-json", default=None)
    group.addoption("--memcheck-no-reports", action="store_true", default=False)
    group.addoption("--memcheck-workers", type=int, default=8)
    group.addoption("--memcheck-timeout", type=float, default=30.0)
    group.addoption(
        "--memcheck-inventory",
        default=None,
        metavar="FILE",
        help="audit the hosts of an Ansible inventory (INI or YAML); enables memcheck",
    )
    group.addoption(
        "--memcheck-limit",
        default=None,
        metavar="PATTERN",
        help="only the inventory hosts this Ansible pattern names (web*,&prod,!db3)",
    )
    group.addoption(
        "--memcheck-shard",
        default=None,
        metavar="K/N",
        help="audit only shard K of N of the targets (for CI matrix jobs)",
    )
    group.addoption(
        "--memcheck-accept-new-host-keys",
        action="store_true",
        default=False,
        help="accept (and record) SSH host keys known_hosts lacks; changed keys stay refused",
    )
    group.addoption(
        "--memcheck-baseline",
        default=None,
        metavar="PREVIOUS.json",
        help="the previous run's results.json: findings are marked new, still failing or "
        "fixed against it, and checks that compare runs use it",
    )
    group.addoption(
        "--memcheck-sample-interval",
        type=float,
        default=1.0,
        help="seconds between the two /proc/vmstat samples (default 1)",
    )


def _enabled(config: pytest.Config) -> bool:
    return bool(
        config.getoption("memcheck_profile")
        or config.getoption("memcheck_root")
        or config.getoption("memcheck_inventory")
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not _enabled(config):
        return
    prepared = next(
        (p for p in config.pluginmanager.get_plugins() if isinstance(p, PreparedAudit)), None
    )
    if prepared is not None:
        audit = prepared.audit  # built (and started) by the memcheck command from the same options
    else:
        try:
            _check_report_targets(config)
            command = COMMAND_LINE or ["pytest", *config.invocation_params.args]
            audit = build_audit(lambda name: config.getoption(name, default=None), command)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[AUDIT_KEY] = audit
    if SUITE not in config.args:
        config.args.append(SUITE)


@dataclass
class Case:
    """One (host, check) item."""

    audit: Audit
    host_index: int
    check_id: str

    def result(self) -> CheckResult:
        return self.audit.evaluate(self.host_index, self.check_id)

    def verdict(self) -> None:
        """Judge the case. Its pytest outcome is set on the report (`pytest_runtest_makereport`)
        rather than raised: for an exception pytest builds a traceback it never shows (about
        a quarter of its per-item time under the profiler), for every failing check on every
        host."""
        self.result()


def _one_line(result: CheckResult) -> str:
    parts = [f"{result.check}: {result.message}"]
    if result.outcome == "fail":
        parts.append(f"observed {result.observed!r}, expected {result.expected!r}")
    return " | ".join(parts)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "memcheck_case" not in metafunc.fixturenames:
        return
    audit = metafunc.config.stash.get(AUDIT_KEY, None)
    if audit is None:
        metafunc.parametrize("memcheck_case", [], ids=[])
        return
    _gather(metafunc.config, audit)
    params, ids = [], []
    # With `--profile auto` each host's checks depend on what runs on it: this collects every
    # host now, during collection, so that the items are that host's checks.
    for index, target in enumerate(audit.targets):
        for check in audit.selected_for(index):
            params.append(Case(audit, index, check.id))
            ids.append(f"{check.id}[{target.label}]")
    # The cases are the parameters themselves (no fixture to set up per item); each is judged
    # when its item's set-up is reported (`pytest_runtest_makereport`).
    metafunc.parametrize("memcheck_case", params, ids=ids)


def _gather(config: pytest.Config, audit: Audit) -> None:
    """Collect every host once (or wait for the collection the memcheck command started
    before pytest), with output capture suspended so that the progress line reaches the
    terminal."""
    if audit.hosts is not None:
        return
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is None:
        audit.gather()
        return
    with capman.global_and_fixture_disabled():
        audit.gather()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A case's verdict as its pytest outcome: error in setup, fail or skip in the call.

    A check that could not be evaluated is an error, as a fixture that raised would be (the
    call does not run); a failed check fails the item and a skipped or waived one skips it,
    each with the one-line verdict as its text.
    """
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    case = getattr(item, "funcargs", {}).get("memcheck_case")
    if not isinstance(case, Case) or not report.passed or report.when == "teardown":
        return
    result = case.result()
    text = _one_line(result)
    if report.when == "setup" and result.outcome == "error":
        report.outcome = "failed"
        report.longrepr = text
    elif report.when == "call" and result.outcome == "fail":
        report.outcome = "failed"
        report.longrepr = text
    elif report.when == "call" and result.outcome in ("skip", "waived"):
        path, line = item.reportinfo()[:2]
        report.outcome = "skipped"
        report.longrepr = (str(path), (line or 0) + 1, f"Skipped: {text}")


def _check_report_targets(config: pytest.Config) -> None:
    """Refuse report targets that could not be written (a device, a folder, a link) before
    any host is audited, as the memcheck command does; ConfigError."""
    if config.getoption("memcheck_no_reports"):
        return
    from memcheck.report.paths import check_report_paths, report_paths

    report_dir = config.getoption("memcheck_report_dir")
    paths = report_paths(
        report_dir=report_dir,
        junit=config.getoption("memcheck_junit_xml"),
        html=config.getoption("memcheck_html"),
        json=config.getoption("memcheck_json"),
    )
    check_report_paths(paths, report_dir, where="pytest options")


def _finish_audit(config: pytest.Config) -> None:
    """Judge what is left, build the run's result and start writing its reports."""
    audit = config.stash[AUDIT_KEY]
    audit.evaluate_all()
    run = audit.run_result()
    config.stash[RESULT_KEY] = run
    if not config.getoption("memcheck_no_reports"):
        from memcheck.report import write_reports

        def write(result: RunResult) -> dict[str, Path]:
            return write_reports(
                result,
                report_dir=config.getoption("memcheck_report_dir"),
                junit=config.getoption("memcheck_junit_xml"),
                html=config.getoption("memcheck_html"),
                json=config.getoption("memcheck_json"),
            )

        config.stash[WRITER_KEY] = BackgroundReports(run, write)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Every verdict is in before the first item runs: the reports are written meanwhile
    (see memcheck.report.background); the item loop itself is pytest's."""
    config = session.config
    if AUDIT_KEY not in config.stash or config.option.collectonly:
        return
    if session.testsfailed and not config.option.continue_on_collection_errors:
        return  # pytest stops before the loop; the session's end writes them
    _finish_audit(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if AUDIT_KEY not in config.stash:
        return
    if RESULT_KEY not in config.stash:
        _finish_audit(config)
    run = config.stash[RESULT_KEY]
    writer = config.stash.get(WRITER_KEY, None)
    if writer is not None:
        outcome = writer.outcome()
        if outcome.error is not None:
            # The verdicts are still printed; the run ends as a configuration error.
            exc = outcome.error
            where = exc.filename or config.getoption("memcheck_report_dir")
            config.stash[REPORT_ERROR_KEY] = f"cannot write reports to {where}: {exc.strerror}"
            session.exitstatus = 2
            return
        config.stash[REPORTS_KEY] = outcome.written
    session.exitstatus = run.exit_code


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = config.stash.get(RESULT_KEY, None)
    if run is None:
        return
    from memcheck.report.console import render_console

    color = getattr(terminalreporter, "hasmarkup", False)
    terminalreporter.write("\n" + render_console(run, color=color, verbose=False))
    problem = config.stash.get(REPORT_ERROR_KEY, None)
    if problem:
        terminalreporter.write_line(f"memcheck: error: {problem}", red=True)
