"""A planned audit: targets, the effective profile, collection, judging and the run's results.

The pytest plugin drives it item by item; nothing here knows about pytest.
"""

from __future__ import annotations

import getpass
import importlib.util
import os
import queue
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Literal, TypeVar
from urllib.parse import quote

from memcheck import __version__
from memcheck.collect.errors import redact
from memcheck.engine import evaluate, unreachable_result
from memcheck.errors import ConfigError
from memcheck.facts import Facts
from memcheck.facts.host import HOST_READS
from memcheck.model import Params
from memcheck.profile import EffectiveProfile
from memcheck.registry import Check
from memcheck.results import CheckResult, HostResult, RunResult
from memcheck.snapshot import Snapshot

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


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` (1 <= K <= N) -> (K, N); ConfigError otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if match is None:
        raise ConfigError("command line", "--shard", f"expected K/N such as 2/4, got {text!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ConfigError("command line", "--shard", f"expected 1 <= K <= N, got {text!r}")
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

    Repeated targets are audited once. `shard` keeps one slice (see `shard_targets`).
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
    return shard_targets(_unique_targets(targets), shard)


def _unique_targets(targets: list[Target]) -> list[Target]:
    seen: set[tuple[str, str, str, tuple[tuple[str, str], ...]]] = set()
    out = []
    for target in targets:
        key = (target.kind, target.label, target.spec, target.options)
        if key not in seen:
            seen.add(key)
            out.append(target)
    return out


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
        host = resolve_connection_vars(entry)
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


def reads_for(checks: list[Check]) -> list[str]:
    """What the collector must fetch: the host identity files plus every selected check's reads."""
    seen: dict[str, None] = dict.fromkeys(HOST_READS)
    for check in checks:
        seen.update(dict.fromkeys(check.meta.reads))
    return list(seen)


@dataclass
class HostData:
    target: Target
    snapshot: Snapshot | None = None
    error: str | None = None
    seconds: float = 0.0
    facts: Facts | None = None


@dataclass
class RunOptions:
    workers: int = 8
    timeout: float = 30.0
    sample_interval: float = 1.0
    backend_options: dict[str, object] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    accept_new_host_keys: bool = False
    progress: Callable[[int, int, str, str | None, float], None] | None = None
    """Called as each live host finishes: (done, total, label, error or None, seconds)."""


class Audit:
    """One run: collect every target once, judge each (host, check) on demand, then summarise."""

    def __init__(
        self,
        profile: EffectiveProfile,
        checks: dict[str, Check],
        targets: list[Target],
        options: RunOptions | None = None,
    ) -> None:
        self.profile = profile
        self.checks = checks
        self.selected = [checks[c] for c in profile.selected]
        self.targets = targets
        self.options = options or RunOptions()
        self.started_at = utc_now()
        self.hosts: list[HostData] | None = None
        self.results: dict[tuple[int, str], CheckResult] = {}

    # -- collection ---------------------------------------------------------------------
    def gather(self) -> list[HostData]:
        """Collect (or load) every target once; live hosts concurrently."""
        if self.hosts is not None:
            return self.hosts
        hosts = [HostData(t) for t in self.targets]
        live = [h for h in hosts if h.target.kind == "live"]
        for host in hosts:
            if host.target.kind == "root":
                started = time.perf_counter()
                try:
                    host.snapshot = Snapshot.load(host.target.spec)
                except ConfigError as exc:
                    host.error = str(exc)
                host.seconds = time.perf_counter() - started
        for host in live:
            if host.target.error is not None:
                host.error = host.target.error
        reachable = [h for h in live if h.target.error is None]
        if reachable:
            self._collect(reachable, {id(h): i for i, h in enumerate(hosts)})
        for host in hosts:
            if host.snapshot is not None and host.facts is None:
                host.facts = Facts(host.snapshot, self._selection())
        self.hosts = hosts
        return hosts

    def _selection(self) -> dict[str, Params]:
        return {c.id: self.profile.params.get(c.id, c.meta.defaults()) for c in self.selected}

    def _collect(self, live: list[HostData], positions: dict[int, int]) -> None:
        from memcheck.collect import collect_many

        started = time.perf_counter()
        finished: dict[int, float] = {}
        lock = threading.Lock()
        # Each host is judged as soon as it arrives, on one judging thread, while the
        # workers go on collecting the others (they mostly wait on their hosts).
        arrived: queue.Queue[HostData | None] = queue.Queue()

        def judge_arrivals() -> None:
            while True:
                host = arrived.get()
                if host is None:
                    return
                host.facts = Facts(host.snapshot, self._selection()) if host.snapshot else None
                for check in self.selected:
                    self._judge(positions[id(host)], host, check.id)

        judge = threading.Thread(target=judge_arrivals, name="memcheck-judge", daemon=True)
        judge.start()

        def progress(index: int, got: object) -> None:
            host = live[index]
            with lock:
                finished[index] = time.perf_counter() - started
                if self.options.progress is not None:
                    error = None if isinstance(got, Snapshot) else getattr(got, "reason", str(got))
                    label = host.target.label
                    self.options.progress(len(finished), len(live), label, error, finished[index])
            if isinstance(got, Snapshot):
                host.snapshot = got
                arrived.put(host)

        outcomes = collect_many(
            [h.target.spec for h in live],
            reads_for(self.selected),
            workers=self.options.workers,
            timeout=self.options.timeout,
            sample_interval=self.options.sample_interval,
            backend_options=self.options.backend_options,
            host_options=[dict(h.target.options) for h in live],
            accept_new_host_keys=self.options.accept_new_host_keys,
            progress=progress,
        )
        arrived.put(None)
        judge.join()
        for index, (host, (_, got)) in enumerate(zip(live, outcomes)):
            if isinstance(got, Snapshot):
                host.snapshot = got
            else:
                host.error = getattr(got, "reason", None) or str(got)
            host.seconds = finished.get(index, time.perf_counter() - started)

    # -- judging ------------------------------------------------------------------------
    def evaluate(self, host_index: int, check_id: str) -> CheckResult:
        key = (host_index, check_id)
        if key in self.results:
            return self.results[key]
        return self._judge(host_index, self.gather()[host_index], check_id)

    def _judge(self, host_index: int, host: HostData, check_id: str) -> CheckResult:
        key = (host_index, check_id)
        check = self.checks[check_id]
        severity = self.profile.severity.get(check_id)
        if host.facts is None:
            result = unreachable_result(check, host.error or "not collected", severity)
        else:
            params = self.profile.params.get(check_id, check.meta.defaults())
            result = evaluate(check, host.facts, params, severity)
        self.results[key] = result
        return result

    def evaluate_all(self) -> None:
        for index in range(len(self.targets)):
            for check in self.selected:
                self.evaluate(index, check.id)

    # -- summary ------------------------------------------------------------------------
    def host_results(self) -> list[HostResult]:
        hosts = self.gather()
        names = [_host_name(h) for h in hosts]
        out = []
        for index, host in enumerate(hosts):
            name = names[index]
            if names.count(name) > 1:
                name = f"{name} ({host.target.label})"
            facts = host.facts
            info = host.snapshot.info if host.snapshot else None
            out.append(
                HostResult(
                    name=name,
                    source=info.source if info and info.source else redact(host.target.spec),
                    kernel=facts.kernel_release if facts else None,
                    distribution=facts.distribution if facts else None,
                    collected_at=info.collected_at if info else None,
                    in_container=facts.in_container if facts else None,
                    cgroup_mode=facts.cgroup_mode if facts else None,
                    unreachable=host.error,
                    collection_errors=dict(info.errors) if info else {},
                    collection_seconds=round(host.seconds, 3),
                    notes=list(info.notes) if info else [],
                    results=[
                        self.results[(index, c.id)]
                        for c in self.selected
                        if (index, c.id) in self.results
                    ],
                )
            )
        return out

    def run_result(self) -> RunResult:
        run = RunResult(
            memcheck_version=__version__,
            started_at=self.started_at,
            finished_at=utc_now(),
            profiles=list(self.profile.names),
            fail_on=self.profile.fail_on,
            command=list(self.options.command),
            user=_user(),
            controller=socket.gethostname(),
            profile_hashes={entry.name: entry.sha256 for entry in self.profile.chain},
            conflicts=[dict(c) for c in self.profile.conflicts],
            hosts=self.host_results(),
        )
        run.exit_code = run.compute_exit_code()
        return run


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
