"""A planned audit: targets, the effective profile, collection, judging and the run's results.

The pytest plugin drives it item by item; nothing here knows about pytest.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from memcheck import __version__
from memcheck.engine import evaluate, unreachable_result
from memcheck.errors import ConfigError
from memcheck.facts import Facts
from memcheck.facts.host import HOST_READS
from memcheck.profile import EffectiveProfile
from memcheck.registry import Check
from memcheck.results import CheckResult, HostResult, RunResult
from memcheck.snapshot import Snapshot
from memcheck.waivers import WaiverSet


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Target:
    """One host to audit: a live testinfra URL or a saved snapshot."""

    label: str
    kind: Literal["live", "root"]
    spec: str


def parse_targets(hosts: list[str], roots: list[str]) -> list[Target]:
    """`--hosts` URLs (comma-separated, repeatable) or `--root` paths; default the local host."""
    urls = [u.strip() for item in hosts for u in item.split(",") if u.strip()]
    if urls and roots:
        raise ConfigError("command line", "--hosts/--root", "give one kind of target per run")
    if roots:
        return [Target(r, "root", r) for r in roots]
    if not urls:
        return [Target("local", "live", "local://")]
    targets = []
    for url in urls:
        if url in ("local", "localhost", "local://"):
            targets.append(Target("local", "live", "local://"))
        elif "://" in url:
            targets.append(Target(url, "live", url))
        else:
            targets.append(Target(url, "live", "ssh://" + url))
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
    # The previous run's results (`--baseline`), for checks that compare runs.
    baseline: RunResult | None = None
    waivers: WaiverSet | None = None


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
        if live:
            from memcheck.collect import collect_many

            reads = reads_for(self.selected)
            started = time.perf_counter()
            outcomes = collect_many(
                [h.target.spec for h in live],
                reads,
                workers=self.options.workers,
                timeout=self.options.timeout,
                sample_interval=self.options.sample_interval,
                backend_options=self.options.backend_options,
            )
            elapsed = time.perf_counter() - started
            for host, (_, got) in zip(live, outcomes):
                if isinstance(got, Snapshot):
                    host.snapshot = got
                else:
                    host.error = getattr(got, "reason", None) or str(got)
                host.seconds = elapsed
        selection = {c.id: self.profile.params.get(c.id, c.meta.defaults()) for c in self.selected}
        for host in hosts:
            if host.snapshot is not None:
                host.facts = Facts(host.snapshot, selection, self.options.baseline)
        self.hosts = hosts
        return hosts

    # -- judging ------------------------------------------------------------------------
    def evaluate(self, host_index: int, check_id: str) -> CheckResult:
        key = (host_index, check_id)
        if key in self.results:
            return self.results[key]
        host = self.gather()[host_index]
        check = self.checks[check_id]
        severity = self.profile.severity.get(check_id)
        if host.facts is None:
            result = unreachable_result(check, host.error or "not collected", severity)
        else:
            params = self.profile.params.get(check_id, check.meta.defaults())
            result = evaluate(check, host.facts, params, severity)
        if self.options.waivers is not None:
            self.options.waivers.apply(self.host_name(host_index), result)
        self.results[key] = result
        return result

    def evaluate_all(self) -> None:
        for index in range(len(self.targets)):
            for check in self.selected:
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
            out.append(
                HostResult(
                    name=name,
                    source=info.source if info and info.source else host.target.spec,
                    kernel=facts.kernel_release if facts else None,
                    distribution=facts.distribution if facts else None,
                    collected_at=info.collected_at if info else None,
                    in_container=facts.in_container if facts else None,
                    cgroup_mode=facts.cgroup_mode if facts else None,
                    unreachable=host.error,
                    collection_errors=dict(info.errors) if info else {},
                    collection_seconds=round(host.seconds, 3),
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
        if self.options.waivers is not None:
            self.options.waivers.record(run)
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
