"""A planned audit: targets, the effective profile, collection, judging and the run's results.

The pytest plugin drives it item by item; nothing here knows about pytest.
"""

from __future__ import annotations

import getpass
import importlib.util
import json
import math
import os
import queue
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, TextIO, TypeVar
from urllib.parse import quote

from memcheck import __version__
from memcheck.collect.errors import redact
from memcheck.detect import DETECT_READS, PROFILE_ORDER, Detection, detect
from memcheck.engine import evaluate, unreachable_result
from memcheck.errors import ConfigError, MemcheckError
from memcheck.facts import Facts
from memcheck.facts.host import HOST_READS
from memcheck.model import SEVERITY_RANK
from memcheck.profile import EffectiveProfile, expand_auto, load_profiles, uses_auto
from memcheck.registry import Check, all_checks
from memcheck.results import CheckResult, HostResult, RunResult
from memcheck.secrets import mask_argv
from memcheck.snapshot import Snapshot
from memcheck.waivers import WaiverSet

T = TypeVar("T")


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Target:
    """One host to audit: a live testinfra URL or a saved snapshot.

    `options` are backend options for this host alone (an inventory host's key file);
    `error` says why the host cannot be collected at all (its checks end in error).
    """

    label: str
    kind: Literal["live", "root"]
    spec: str
    options: tuple[tuple[str, str], ...] = ()
    error: str | None = None


INVENTORY_SCHEMES = ("ssh", "paramiko")


# The bounds of the run options (the memcheck command's and the plugin's alike).
MAX_WORKERS = 1024
MAX_TIMEOUT = 86_400.0
MAX_SAMPLE_INTERVAL = 3_600.0


def check_run_values(
    workers: int, timeout: float, sample_interval: float | None, prefix: str = "--"
) -> None:
    """`-n`, `--timeout` and `--sample-interval` within their bounds; ConfigError (exit 2)
    otherwise. `prefix` names the options as the user gave them (`--memcheck-` in pytest)."""
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(
            "command line",
            f"{prefix}workers",
            f"expected a whole number from 1 to {MAX_WORKERS}, got {workers}",
        )
    # nan compares false with everything, so each bound is written to fail on it.
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        raise ConfigError(
            "command line",
            f"{prefix}timeout",
            f"expected seconds above 0 and at most {MAX_TIMEOUT:g}, got {timeout:g}",
        )
    if sample_interval is not None and not (
        math.isfinite(sample_interval) and 0 <= sample_interval <= MAX_SAMPLE_INTERVAL
    ):
        raise ConfigError(
            "command line",
            f"{prefix}sample-interval",
            f"expected seconds from 0 to {MAX_SAMPLE_INTERVAL:g}, got {sample_interval:g}",
        )


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` (1 <= K <= N) -> (K, N); ConfigError otherwise."""
    # ASCII digits only (int() also takes other scripts' digits), and few enough of them that
    # int() never meets its 4,300-digit limit; a shard count has no use beyond a million.
    match = re.fullmatch(r"\s*([0-9]{1,7})\s*/\s*([0-9]{1,7})\s*", text, re.ASCII)
    if match is None:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ConfigError("command line", "--shard", f"expected K/N such as 2/4, got {shown!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ConfigError("command line", "--shard", f"expected 1 <= K <= N, got {text.strip()!r}")
    return index, count


def shard_targets(targets: list[T], shard: tuple[int, int] | None) -> list[T]:
    """Shard K of N: every Nth target from the (K-1)th, so N jobs split a fleet evenly.

    The slice depends only on the target list, so CI matrix jobs that list the same fleet
    agree on who does what, and every target is in exactly one shard.
    """
    if shard is None:
        return list(targets)
    index, count = shard
    return [t for i, t in enumerate(targets) if i % count == index - 1]


def parse_targets(
    hosts: list[str],
    roots: list[str],
    *,
    inventory: str | None = None,
    limit: str | None = None,
    connection: str | None = None,
    ansible_inventory: str | None = None,
    shard: tuple[int, int] | None = None,
) -> list[Target]:
    """The run's targets: `--hosts` URLs (comma-separated, repeatable), `--root` snapshots or
    the hosts of an Ansible `--inventory` (narrowed by `--limit`); default the local host.

    `shard` keeps one slice (see `shard_targets`).
    """
    urls = [u.strip() for item in hosts for u in item.split(",") if u.strip()]
    given = [
        name
        for name, used in (("--hosts", urls), ("--root", roots), ("--inventory", inventory))
        if used
    ]
    if len(given) > 1:
        raise ConfigError("command line", "/".join(given), "give one kind of target per run")
    if limit and not inventory:
        raise ConfigError("command line", "--limit", "--limit selects hosts of an --inventory")
    if roots:
        targets = [Target(r, "root", r) for r in roots]
    elif inventory:
        targets = inventory_targets(inventory, limit, connection)
    elif not urls:
        targets = [Target("local", "live", "local://")]
    else:
        targets = []
        for url in urls:
            targets += _url_targets(url, connection, ansible_inventory)
    return shard_targets(targets, shard)


def _url_targets(url: str, connection: str | None, ansible_inventory: str | None) -> list[Target]:
    from memcheck.collect.errors import redact

    if url in ("local", "localhost", "local://"):
        return [Target("local", "live", "local://")]
    if "://" not in url:
        scheme = connection if connection in ("ssh", "paramiko", "safe-ssh") else "ssh"
        return [Target(redact(url), "live", f"{scheme}://{url}")]
    if url.startswith("ansible://"):
        return _ansible_targets(url, ansible_inventory)
    return [Target(redact(url), "live", url)]


def _ansible_targets(url: str, ansible_inventory: str | None) -> list[Target]:
    """`ansible://pattern`: the hosts Ansible itself resolves (needs memcheck[ansible])."""
    if importlib.util.find_spec("ansible") is None:
        raise ConfigError(
            "command line",
            "--hosts",
            f"{url} needs Ansible, which is not installed: pip install 'memcheck[ansible]' "
            "(or give --inventory FILE, which memcheck reads without Ansible)",
        )
    from testinfra.backend import parse_hostspec
    from testinfra.backend.ansible import AnsibleBackend

    pattern, kwargs = parse_hostspec(url)
    inventory = kwargs.get("ansible_inventory") or ansible_inventory
    try:
        names = AnsibleBackend.get_hosts(pattern or "all", ansible_inventory=inventory)
    except Exception as exc:
        raise ConfigError("command line", url, f"Ansible could not list its hosts: {exc}") from None
    if not names:
        raise ConfigError("command line", url, "Ansible lists no host for this pattern")
    query = url.split("?", 1)[1] if "?" in url else ""
    return [
        Target(name, "live", f"ansible://{name}" + (f"?{query}" if query else "")) for name in names
    ]


def inventory_targets(path: str, limit: str | None, connection: str | None) -> list[Target]:
    """The targets of an Ansible inventory file, read without Ansible (`memcheck.inventory`)."""
    from memcheck.collect.transport import TransportError, check_host_name, check_user_name
    from memcheck.inventory import load_inventory, resolve_connection_vars

    default_scheme = connection if connection in INVENTORY_SCHEMES else "ssh"
    targets = []
    for entry in load_inventory(path).select(limit):
        try:
            host = resolve_connection_vars(entry)
        except ConfigError as exc:
            # One host's bad variables (a template that refers to itself) cost that host.
            targets.append(Target(entry.name, "live", f"inventory://{entry.name}", error=str(exc)))
            continue
        kind = host.connection
        if kind == "local":
            targets.append(Target(host.name, "live", "local://"))
            continue
        if kind not in (None, "ssh", "smart", "paramiko", "docker"):
            targets.append(
                Target(
                    host.name,
                    "live",
                    f"inventory://{host.name}",
                    error=f"ansible_connection={kind} is not supported "
                    "(memcheck reads hosts over ssh, paramiko, local or docker)",
                )
            )
            continue
        try:
            address = check_host_name(host.address)
            user = check_user_name(host.user) if host.user else None
            port = host.port
        except (TransportError, ConfigError) as exc:
            reason = exc.reason if isinstance(exc, TransportError) else str(exc)
            targets.append(Target(host.name, "live", f"inventory://{host.name}", error=reason))
            continue
        if kind == "docker":
            targets.append(Target(host.name, "live", f"docker://{address}"))
            continue
        scheme = "paramiko" if kind == "paramiko" else default_scheme
        netloc = f"[{address}]" if ":" in address else address
        if user:
            netloc = f"{quote(user, safe='')}@{netloc}"
        if port is not None:
            netloc += f":{port}"
        options = (("ssh_identity_file", host.key_file),) if host.key_file else ()
        targets.append(Target(host.name, "live", f"{scheme}://{netloc}", options))
    return targets


def reads_for(checks: list[Check], extra: Sequence[str] = ()) -> list[str]:
    """What the collector must fetch: the host identity files plus every selected check's reads."""
    seen: dict[str, None] = dict.fromkeys(HOST_READS)
    seen["/proc/meminfo"] = None  # the report's memory composition
    for check in checks:
        seen.update(dict.fromkeys(check.meta.reads))
    seen.update(dict.fromkeys(extra))
    return list(seen)


@dataclass
class ProfilePlan:
    """How a host's effective profile is built from the `--profile` specs.

    Without `auto` every host gets the same profile. With it, each host gets the profiles
    detected on it (memcheck.detect) in place of `auto`, then --checks/--skip-checks and
    --fail-on, exactly as a fixed profile would.
    """

    specs: list[str]
    checks: Mapping[str, Check]
    only: list[str] | None = None
    skip: list[str] | None = None
    fail_on: str | None = None

    @property
    def auto(self) -> bool:
        return uses_auto(self.specs)

    def resolve(self, detected: Sequence[str] = ()) -> EffectiveProfile:
        """The effective profile for a host on which `detected` profiles were found."""
        specs = expand_auto(self.specs, detected) if self.auto else list(self.specs)
        profile = load_profiles(specs or ["default"], self.checks)
        profile = profile.narrow(self.only, self.skip)
        return profile.with_fail_on(self.fail_on) if self.fail_on else profile

    def candidates(self) -> list[EffectiveProfile]:
        """Every profile a host may end up with (one without `auto`); validates them all."""
        if not self.auto:
            return [self.resolve()]
        return [self.resolve()] + [self.resolve([name]) for name in PROFILE_ORDER]

    def reads(self) -> list[str]:
        """What to collect so that any host can be judged by whatever profile it gets."""
        selected: dict[str, Check] = {}
        for profile in self.candidates():
            selected.update({c: self.checks[c] for c in profile.selected})
        return reads_for(list(selected.values()), DETECT_READS if self.auto else ())


@dataclass
class HostData:
    target: Target
    snapshot: Snapshot | None = None
    error: str | None = None
    seconds: float = 0.0
    facts: Facts | None = None
    profile: EffectiveProfile | None = None
    detection: Detection | None = None


@dataclass
class RunOptions:
    workers: int = 8
    timeout: float = 30.0
    sample_interval: float = 1.0
    backend_options: dict[str, object] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    # The previous run's results (`--baseline`), for checks that compare runs.
    baseline: RunResult | None = None
    baseline_path: str | None = None
    waivers: WaiverSet | None = None
    # Show `collected 3/50 hosts` on stderr while hosts are collected (only on a terminal).
    progress: bool = False
    accept_new_host_keys: bool = False


def _csv(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def redact_command(argv: list[str]) -> list[str]:
    """The command line for the reports, with passwords in host URLs and secret-like
    option values masked (memcheck.secrets)."""
    return [",".join(redact(part) for part in arg.split(",")) for arg in mask_argv(argv)]


@dataclass(eq=False)  # pytest keeps its plugins in a set
class PreparedAudit:
    """An audit the memcheck command built and started before pytest: handed to
    `pytest.main` as a plugin object, where the memcheck plugin takes it instead of building
    its own from the (same) options."""

    audit: Audit


def build_audit(option: Callable[[str], Any], command: list[str]) -> Audit:
    """Turn run options into a planned audit; `ConfigError` on anything wrong.

    `option(name)` gives the value of the pytest option with that destination name
    (`memcheck_profile`, testinfra's `hosts`, ...), or None where it is not defined: the
    plugin passes pytest's parsed options, the memcheck command its own (see
    `memcheck.cli.plugin_options`), so that it can start the audit before pytest.
    """
    checks = all_checks(option("memcheck_check_dir") or [])
    plan = ProfilePlan(
        list(option("memcheck_profile") or ["default"]),
        checks,
        only=_csv(option("memcheck_checks")),
        skip=_csv(option("memcheck_skip_checks")),
        fail_on=option("memcheck_fail_on"),
    )
    profile = plan.candidates()[0]  # every candidate is validated here, before any host
    hosts = option("hosts") or []
    if isinstance(hosts, str):
        hosts = [hosts]
    roots = list(option("memcheck_root") or [])
    for root in roots:
        if not os.path.exists(root):
            raise ConfigError(root, None, "no such snapshot directory or .tar.gz file")
    shard_text = option("memcheck_shard")
    targets = parse_targets(
        list(hosts),
        roots,
        inventory=option("memcheck_inventory"),
        limit=option("memcheck_limit"),
        connection=option("connection"),
        ansible_inventory=option("ansible_inventory"),
        shard=parse_shard(shard_text) if shard_text else None,
    )
    backend: dict[str, object] = {}
    for key in ("ssh_config", "ssh_identity_file", "sudo", "sudo_user", "ansible_inventory"):
        value = option(key)
        if value:
            backend[key] = value
    waivers = None
    if option("memcheck_waivers"):
        from memcheck.waivers import load_waivers

        waivers = WaiverSet(load_waivers(option("memcheck_waivers")))
    baseline_path = option("memcheck_baseline")
    baseline = None
    if baseline_path:
        from memcheck.report.json_report import load_results

        baseline = load_results(baseline_path)
    # The memcheck command checked these already; plain pytest's options arrive unchecked.
    check_run_values(
        option("memcheck_workers"),
        option("memcheck_timeout"),
        option("memcheck_sample_interval"),
        prefix="--memcheck-",
    )
    options = RunOptions(
        workers=max(1, option("memcheck_workers")),
        timeout=option("memcheck_timeout"),
        sample_interval=option("memcheck_sample_interval"),
        backend_options=backend,
        command=redact_command(command),
        baseline=baseline,
        baseline_path=baseline_path or None,
        progress=True,
        waivers=waivers,
        accept_new_host_keys=bool(option("memcheck_accept_new_host_keys")),
    )
    return Audit(profile, checks, targets, options, plan)


class ProgressLine:
    """`collected 3/50 hosts (1 failed)`, rewritten in place with \\r on a terminal.

    Silent unless `stream` is a terminal and more than one host is collected; called from the
    collector's worker threads.
    """

    def __init__(self, total: int, stream: TextIO, own_fd: bool = False) -> None:
        self.total = total
        self.stream = stream
        self.done = 0
        self.failed = 0
        self.lock = threading.Lock()
        isatty = getattr(stream, "isatty", None)
        self.active = total > 1 and callable(isatty) and bool(isatty())
        self._owned: TextIO | None = None
        if self.active and own_fd:
            # Collection that starts before pytest (the memcheck command's head start) writes
            # through its own copy of the terminal's descriptor: pytest's output capture,
            # which replaces descriptor 2 while it starts, would otherwise swallow the line.
            try:
                self._owned = self.stream = os.fdopen(os.dup(stream.fileno()), "w")
            except (AttributeError, OSError, ValueError):
                pass  # a terminal-like stream without a descriptor: written to as it is

    def text(self) -> str:
        failed = f" ({self.failed} failed)" if self.failed else ""
        return f"collected {self.done}/{self.total} hosts{failed}"

    def __call__(self, url: str, ok: bool) -> None:
        with self.lock:
            self.done += 1
            self.failed += 0 if ok else 1
            if self.active:
                self.stream.write("\r" + self.text() + "\x1b[K")
                self.stream.flush()

    def close(self) -> None:
        if self.active and self.done:
            self.stream.write("\n")
            self.stream.flush()
        if self._owned is not None:
            self._owned.close()
            self._owned = None


class Audit:
    """One run: collect every target once, judge each (host, check) on demand, then summarise.

    `profile` applies to every host, unless `plan` holds `auto`: then each host gets its own
    profile once it is collected (`profile_for`), and `profile` is the one for hosts that
    could not be collected (`auto` with nothing detected).
    """

    def __init__(
        self,
        profile: EffectiveProfile,
        checks: dict[str, Check],
        targets: list[Target],
        options: RunOptions | None = None,
        plan: ProfilePlan | None = None,
    ) -> None:
        self.profile = profile
        self.checks = checks
        self.selected = [checks[c] for c in profile.selected]
        self.targets = targets
        self.options = options or RunOptions()
        self.plan = plan if plan is not None and plan.auto else None
        self.started_at = utc_now()
        self.hosts: list[HostData] | None = None
        self.results: dict[tuple[int, str], CheckResult] = {}
        # Verdicts judged while hosts were still being collected, before waivers.
        self._verdicts: dict[tuple[int, str], CheckResult] = {}
        # `start`: gathering in a thread of its own, and what it raised, if anything.
        self._gathering: threading.Thread | None = None
        self._gather_error: BaseException | None = None

    @property
    def per_host(self) -> bool:
        """Whether hosts may differ in profile (`--profile auto`)."""
        return self.plan is not None

    # -- collection ---------------------------------------------------------------------
    def start(self) -> None:
        """Begin gathering in a background thread; `gather` then waits for it.

        The memcheck command starts an audit this way before it imports and starts pytest,
        so that the hosts are already being collected (and the first ones judged) while
        pytest sets itself up (~0.4 s of one core, otherwise spent with the other idle).
        """
        if self.hosts is not None or self._gathering is not None:
            return
        live = [t for t in self.targets if t.kind == "live" and t.error is None]
        if live:
            # What the collecting threads import is imported here first: an import in a
            # thread while this one imports pytest is slow (see `import_for`).
            from memcheck.collect import collect_many  # noqa: F401
            from memcheck.collect.transport import import_for

            import_for([t.spec for t in live], [dict(t.options) for t in live])

        def run() -> None:
            try:
                self._gather_now(background=True)
            except BaseException as exc:  # handed to the thread that waits (`gather`)
                self._gather_error = exc

        self._gathering = threading.Thread(target=run, name="memcheck-gather", daemon=True)
        self._gathering.start()

    def settle(self) -> None:
        """Wait for a gathering `start` began, should pytest have ended without asking for
        the hosts (an internal error): no collection outlives the command. Each host is
        bounded by --timeout."""
        if self._gathering is not None:
            self._gathering.join()

    def gather(self) -> list[HostData]:
        """Collect (or load) every target once; live hosts concurrently.

        Each live host is judged as soon as it arrives, on one judging thread, while the
        workers go on collecting the others (they mostly wait on their hosts).
        """
        if self._gathering is not None:
            self._gathering.join()
            error = self._gather_error
            if error is not None:
                self._gather_error = None
                self._gathering = None
                raise error
        if self.hosts is not None:
            return self.hosts
        return self._gather_now(background=False)

    def _gather_now(self, background: bool) -> list[HostData]:
        hosts = [HostData(t) for t in self.targets]
        live = [h for h in hosts if h.target.kind == "live" and h.target.error is None]
        for index, host in enumerate(hosts):
            if host.target.kind == "root":
                started = time.perf_counter()
                try:
                    host.snapshot = Snapshot.load(host.target.spec)
                except ConfigError as exc:
                    host.error = str(exc)
                except Exception as exc:
                    # Whatever else a hostile snapshot does costs this host, not the run.
                    host.error = f"{host.target.spec}: cannot load: {type(exc).__name__}: {exc}"
                host.seconds = time.perf_counter() - started
                if background and host.snapshot is not None:
                    # Started ahead of pytest: judge each snapshot as it loads, as live
                    # hosts are judged as they arrive, rather than later in pytest's loop.
                    self._judge_host(index, host)
            elif host.target.error is not None:
                host.error = host.target.error
        if live:
            self._collect(live, {id(h): i for i, h in enumerate(hosts)}, background)
        for host in hosts:
            if host.snapshot is not None and host.facts is None and host.error is None:
                self._prepare(host)
        self.hosts = hosts
        return hosts

    def _judge_host(self, index: int, host: HostData) -> None:
        """Facts for a host just collected or loaded, and every verdict of its checks."""
        self._prepare(host)
        for check_id in (host.profile or self.profile).selected:
            self._verdict(index, host, check_id)

    def _prepare(self, host: HostData) -> None:
        """Facts for a collected host and, with `--profile auto`, its own profile; a host
        that cannot be prepared ends in error (its checks with it), never the run."""
        try:
            self._prepare_facts(host)
        except ConfigError:
            raise  # a profile error is the run's (exit 2), not the host's
        except Exception as exc:
            host.facts = None
            host.error = f"cannot judge this host: {type(exc).__name__}: {exc}"

    def _prepare_facts(self, host: HostData) -> None:
        assert host.snapshot is not None
        baseline = self.options.baseline
        if self.plan is None:
            host.facts = Facts(host.snapshot, _selection(self.profile), baseline)
            return
        # Detection reads only process facts, which do not depend on the selection; the
        # selection is set before any check runs.
        facts = Facts(host.snapshot, {}, baseline)
        try:
            host.detection = detect(facts.processes)
        except MemcheckError:
            host.detection = Detection()
        host.profile = self.plan.resolve(host.detection.profiles)
        facts.selection = _selection(host.profile)
        host.facts = facts

    def _collect(self, live: list[HostData], positions: dict[int, int], background: bool) -> None:
        from memcheck.collect import collect_many

        reads = self.plan.reads() if self.plan else reads_for(self.selected)
        started = time.perf_counter()
        finished: dict[int, float] = {}
        arrived: queue.Queue[HostData | None] = queue.Queue()

        def judge_arrivals() -> None:
            while True:
                host = arrived.get()
                if host is None:
                    return
                self._judge_host(positions[id(host)], host)

        judge = threading.Thread(target=judge_arrivals, name="memcheck-judge", daemon=True)
        judge.start()

        def on_result(index: int, got: Snapshot | object) -> None:
            finished[index] = time.perf_counter() - started
            if isinstance(got, Snapshot):
                live[index].snapshot = got
                arrived.put(live[index])

        progress = (
            ProgressLine(len(live), sys.stderr, background) if self.options.progress else None
        )
        try:
            outcomes = collect_many(
                [h.target.spec for h in live],
                reads,
                workers=self.options.workers,
                timeout=self.options.timeout,
                sample_interval=self.options.sample_interval,
                backend_options=self.options.backend_options,
                host_options=[dict(h.target.options) for h in live],
                accept_new_host_keys=self.options.accept_new_host_keys,
                progress=progress,
                on_result=on_result,
            )
        finally:
            arrived.put(None)
            judge.join()
            if progress is not None:
                progress.close()
        for index, (host, (_, got)) in enumerate(zip(live, outcomes)):
            if isinstance(got, Snapshot):
                host.snapshot = got
            else:
                host.error = getattr(got, "reason", None) or str(got)
            host.seconds = finished.get(index, time.perf_counter() - started)

    def profile_for(self, host_index: int) -> EffectiveProfile:
        """The effective profile of one host (collecting every host first with `auto`)."""
        if self.plan is None:
            return self.profile
        return self.gather()[host_index].profile or self.profile

    def selected_for(self, host_index: int) -> list[Check]:
        """The checks that run on one host."""
        if self.plan is None:
            return self.selected
        return [self.checks[c] for c in self.profile_for(host_index).selected]

    # -- judging ------------------------------------------------------------------------
    def evaluate(self, host_index: int, check_id: str) -> CheckResult:
        key = (host_index, check_id)
        if key in self.results:
            return self.results[key]
        host = self.gather()[host_index]
        result = self._verdict(host_index, host, check_id)
        del self._verdicts[key]
        if self.options.waivers is not None:
            self.options.waivers.apply(self.host_name(host_index), result)
        self.results[key] = result
        return result

    def _verdict(self, host_index: int, host: HostData, check_id: str) -> CheckResult:
        """The check's own verdict on one host (waivers come later, in `evaluate`)."""
        key = (host_index, check_id)
        found = self._verdicts.get(key)
        if found is not None:
            return found
        check = self.checks[check_id]
        profile = host.profile or self.profile
        severity = profile.severity.get(check_id)
        if host.facts is None:
            result = unreachable_result(check, host.error or "not collected", severity)
        else:
            params = profile.params.get(check_id, check.meta.defaults())
            result = evaluate(check, host.facts, params, severity)
        self._verdicts[key] = result
        return result

    def evaluate_all(self) -> None:
        for index in range(len(self.targets)):
            for check in self.selected_for(index):
                self.evaluate(index, check.id)

    # -- summary ------------------------------------------------------------------------
    def host_name(self, index: int) -> str:
        """The host's name in reports; made unique with the target when two hosts share one."""
        hosts = self.gather()
        names = [_host_name(h) for h in hosts]
        name = names[index]
        if names.count(name) > 1:
            name = f"{name} ({hosts[index].target.label})"
        return name

    def host_results(self) -> list[HostResult]:
        hosts = self.gather()
        out = []
        for index, host in enumerate(hosts):
            name = self.host_name(index)
            facts = host.facts
            info = host.snapshot.info if host.snapshot else None
            profile = self.profile_for(index)
            out.append(
                HostResult(
                    name=name,
                    source=info.source if info and info.source else redact(host.target.spec),
                    kernel=_fact(facts, "kernel_release"),
                    distribution=_fact(facts, "distribution"),
                    collected_at=info.collected_at if info else None,
                    in_container=_in_container(facts),
                    cgroup_mode=_fact(facts, "cgroup_mode"),
                    unreachable=host.error,
                    collection_errors=dict(info.errors) if info else {},
                    collection_seconds=round(host.seconds, 3),
                    notes=list(info.notes) if info else [],
                    memory=memory_summary(facts) if facts else None,
                    profiles=list(profile.names),
                    conflicts=[dict(c) for c in profile.conflicts],
                    detected=(
                        host.detection.as_dicts()
                        if self.plan is not None and host.detection is not None
                        else None
                    ),
                    results=[
                        self.results[(index, c.id)]
                        for c in self.selected_for(index)
                        if (index, c.id) in self.results
                    ],
                )
            )
        return out

    def run_result(self) -> RunResult:
        hosts = self.host_results()
        profiles = [self.profile_for(i) for i in range(len(self.targets))] or [self.profile]
        if self.plan is None:
            profiles = [self.profile]
        hashes: dict[str, str] = {}
        conflicts: list[dict[str, Any]] = []
        seen: set[str] = set()
        for profile in profiles:
            for entry in profile.chain:
                hashes.setdefault(entry.name, entry.sha256)
            for conflict in profile.conflicts:
                key = json.dumps(conflict, sort_keys=True, default=str)
                if key not in seen:
                    seen.add(key)
                    conflicts.append(dict(conflict))
        run = RunResult(
            memcheck_version=__version__,
            started_at=self.started_at,
            finished_at=utc_now(),
            profiles=list(self.plan.specs) if self.plan else list(self.profile.names),
            fail_on=min((p.fail_on for p in profiles), key=lambda s: SEVERITY_RANK.get(s, 1)),
            command=list(self.options.command),
            user=_user(),
            controller=socket.gethostname(),
            profile_hashes=hashes,
            conflicts=conflicts,
            hosts=hosts,
        )
        if self.options.waivers is not None:
            self.options.waivers.record(run)
        if self.options.baseline is not None:
            from memcheck.changes import compare

            run.changes = compare(run, self.options.baseline, self.options.baseline_path)
        run.exit_code = run.compute_exit_code()
        return run


def memory_summary(facts: Facts) -> dict[str, int | None] | None:
    """The host's memory composition from /proc/meminfo for the report; None when unreadable.

    Inside a container with a memory limit below the host's RAM, the container's own: its
    limit as the total and what its working set leaves of it as available (capped at the
    host's MemAvailable), as memory_available judges it; the swap it may use is the host's
    as far as its cgroup allows. Figures that cannot be known are None.
    """
    from memcheck.facts.container import container_memory, container_swap

    try:
        info = facts.meminfo
    except Exception:  # the report's bar only; the checks say what was wrong with the file
        info = None
    try:
        container = container_memory(facts)
    except Exception:
        container = None
    host_swap = info.swap_total_bytes if info is not None else None
    if container is not None and container.problem is not None:
        return None  # /proc/meminfo is the host's, and the container's own figures are unknown
    limit = container.limit_bytes if container is not None else None
    if container is not None and limit is not None:
        if info is None or limit < info.mem_total_bytes:
            working_set = container.working_set_bytes
            available = max(0, limit - working_set) if working_set is not None else None
            if available is not None and info is not None:
                available = min(available, info.available_bytes()[0])
            group = container.cgroup
            swap_total: int | None = None
            swap_used: int | None = None
            if host_swap == 0:
                swap_total, swap_used = 0, 0
            elif host_swap is not None:
                try:
                    allowed = container_swap(facts)
                except Exception:
                    allowed = None
                if allowed is not None and allowed.problem is None:
                    own = allowed.limit_bytes
                    swap_total = host_swap if own is None else min(host_swap, own)
                    swap_used = allowed.usage_bytes
            return {
                "total_bytes": limit,
                "available_bytes": available,
                "cache_bytes": group.file_bytes if group is not None else None,
                "used_bytes": limit - available if available is not None else None,
                "swap_total_bytes": swap_total,
                "swap_used_bytes": swap_used,
            }
    if info is None:
        return None
    total, available = info.mem_total_bytes, info.mem_available_bytes
    cache = None
    if info.cached_bytes is not None or info.buffers_bytes is not None:
        cache = (info.cached_bytes or 0) + (info.buffers_bytes or 0)
    swap_total, swap_free = info.swap_total_bytes, info.swap_free_bytes
    return {
        "total_bytes": total,
        "available_bytes": available,
        "cache_bytes": cache,
        "used_bytes": max(total - available, 0) if available is not None else None,
        "swap_total_bytes": swap_total,
        "swap_used_bytes": (
            max(swap_total - swap_free, 0)
            if swap_total is not None and swap_free is not None
            else None
        ),
    }


def _fact(facts: Facts | None, name: str) -> Any:
    """A host fact for the report's header, or None when the host cannot tell (an unreadable
    or malformed file is the checks' to report, not a reason to lose the report)."""
    if facts is None:
        return None
    try:
        return getattr(facts, name)
    except Exception:
        return None


def _in_container(facts: Facts | None) -> bool | None:
    """For the report's header: as the checks see it (markers, or a cgroup root that is the
    container's own), so a pod without markers is shown as the container it is."""
    if facts is None:
        return None
    from memcheck.facts.container import container_basis

    try:
        return True if container_basis(facts) is not None else facts.in_container
    except Exception:
        return None


def _selection(profile: EffectiveProfile) -> dict[str, dict[str, Any]]:
    """The selected checks and their params, as facts see them (sysctl_persisted uses it)."""
    return {c: dict(profile.params[c]) for c in profile.selected}


def _host_name(host: HostData) -> str:
    if host.snapshot is not None and host.snapshot.info.hostname:
        return host.snapshot.info.hostname
    label = host.target.label
    return label.split("://", 1)[-1] if "://" in label else label


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
