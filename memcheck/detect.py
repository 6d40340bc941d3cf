"""`--profile auto`: which workloads a host runs, read from the processes its snapshot holds.

Pure: the input is the host's processes (their `comm`, command line and parent), nothing is
asked of the host beyond the files in `DETECT_READS`. A process counts by its name (`comm`,
which the kernel truncates to 15 characters), never by a substring of it, so
`postgres_exporter` or `vim redis-server.conf` are not databases; Java servers count by the
main class on their command line (`-cp ... CLASS` or `-m MODULE/CLASS`).

The profiles apply in `PROFILE_ORDER`, later winning, after `default`: platforms first
(kubernetes-node, container-host), then the workloads in alphabetical order. Where two of
them disagree the run reports the conflict; pin the order by naming the profiles yourself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from memcheck.model import JSON, ev
from memcheck.secrets import mask_argv

DETECT_READS = ("/proc/[0-9]*/comm", "/proc/[0-9]*/cmdline", "/proc/[0-9]*/status")
"""What detection reads on each host (the collector adds it to the checks' reads)."""

PROFILE_ORDER = (
    "kubernetes-node",
    "container-host",
    "cassandra",
    "elasticsearch",
    "mongodb",
    "mongodb8",
    "mysql",
    "postgres",
    "redis",
)
"""Every profile detection may pick, in the order they apply (later wins)."""

MAX_EVIDENCE = 3
MAX_CMDLINE = 200

# comm -> (workload, profile)
_BY_NAME: dict[str, tuple[str, str]] = {
    "postgres": ("PostgreSQL", "postgres"),
    "postmaster": ("PostgreSQL", "postgres"),
    "mysqld": ("MySQL", "mysql"),
    "mariadbd": ("MariaDB", "mysql"),
    "redis-server": ("Redis", "redis"),
    "valkey-server": ("Valkey", "redis"),
    "scylla": ("ScyllaDB", "cassandra"),
    "kubelet": ("kubelet", "kubernetes-node"),
}
# Java main class -> (workload, profile)
_BY_MAIN_CLASS: dict[str, tuple[str, str]] = {
    "org.elasticsearch.bootstrap.Elasticsearch": ("Elasticsearch", "elasticsearch"),
    "org.opensearch.bootstrap.OpenSearch": ("OpenSearch", "elasticsearch"),
    "org.apache.cassandra.service.CassandraDaemon": ("Cassandra", "cassandra"),
}
# Container runtimes and the monitor Podman and CRI-O leave beside each container.
_RUNTIMES = ("containerd", "dockerd", "crio", "podman", "conmon")
_MONGOD = "mongod"

_VERSION = re.compile(r"(?<![0-9.])([0-9]{1,2})\.([0-9]{1,2})(?:\.[0-9]{1,3})?(?![0-9])")
_PURE_VERSION = re.compile(r"^v?([0-9]{1,2})\.([0-9]{1,2})(?:\.[0-9]{1,3})?$")


class ProcessLike(Protocol):
    """What detection needs of a process (memcheck.facts.processes.Process has it)."""

    @property
    def pid(self) -> int: ...

    @property
    def comm(self) -> str | None: ...

    @property
    def cmdline(self) -> tuple[str, ...] | None: ...

    @property
    def ppid(self) -> int | None: ...


@dataclass(frozen=True)
class Workload:
    """One workload found on a host and the processes that show it."""

    name: str
    profile: str
    pids: tuple[int, ...]
    evidence: tuple[dict[str, JSON], ...]
    note: str | None = None

    def as_dict(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {
            "workload": self.name,
            "profile": self.profile,
            "processes": len(self.pids),
            "evidence": [dict(e) for e in self.evidence],
        }
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True)
class Detection:
    """What `auto` found on one host: the workloads and the profiles they call for."""

    workloads: tuple[Workload, ...] = ()
    profiles: tuple[str, ...] = field(default=())

    def as_dicts(self) -> list[dict[str, JSON]]:
        return [w.as_dict() for w in self.workloads]


def _argv0_name(cmdline: tuple[str, ...] | None) -> str | None:
    if not cmdline or not cmdline[0]:
        return None
    return cmdline[0].rsplit("/", 1)[-1] or None


def process_name(process: ProcessLike) -> str | None:
    """comm, or the base name of argv[0] when comm could not be read."""
    if process.comm:
        return process.comm
    return _argv0_name(process.cmdline)


def _is_java(process: ProcessLike) -> bool:
    return "java" in (process.comm, _argv0_name(process.cmdline))


def shown_cmdline(cmdline: tuple[str, ...] | None) -> str | None:
    """The command line for a report: secrets masked (`memcheck.secrets`), at most
    MAX_CMDLINE characters."""
    if not cmdline:
        return None
    text = " ".join(mask_argv(cmdline))
    return text if len(text) <= MAX_CMDLINE else text[: MAX_CMDLINE - 1] + "…"


def mongodb_major(cmdline: tuple[str, ...] | None) -> int | None:
    """MongoDB's major version where mongod's command line shows one, else None.

    Tarball and versioned installs put it in a path segment that names MongoDB
    (`/opt/mongodb-linux-x86_64-ubuntu2204-8.0.4/bin/mongod`, `/usr/local/mongodb-7.0/...`)
    or in the segment after one (`/opt/mongodb/8.0.3/bin/mongod`), and a data or config path
    may carry it too (`--dbpath /var/lib/mongodb-8.0`). Package installs (`/usr/bin/mongod`)
    show none. Two different versions on one command line count as none.
    """
    found: set[int] = set()
    for arg in cmdline or ():
        value = arg.partition("=")[2] if arg.startswith("-") and "=" in arg else arg
        segments = value.split("/")
        for index, segment in enumerate(segments):
            if "mongo" not in segment.lower():
                continue
            match = _VERSION.search(segment)
            if match is None and index + 1 < len(segments):
                match = _PURE_VERSION.match(segments[index + 1])
            if match is not None:
                major = int(match.group(1))
                if 2 <= major <= 30:
                    found.add(major)
    return found.pop() if len(found) == 1 else None


def _evidence(processes: Sequence[ProcessLike]) -> tuple[dict[str, JSON], ...]:
    """The processes to show: the ones whose parent is not of the same kind first."""
    pids = {p.pid for p in processes}
    ordered = sorted(processes, key=lambda p: (p.ppid in pids, p.pid))
    items = []
    for process in ordered[:MAX_EVIDENCE]:
        name = process_name(process) or f"[{process.pid}]"
        cmdline = shown_cmdline(process.cmdline)
        items.append(
            ev(
                f"pid {process.pid} {name}: {cmdline}" if cmdline else f"pid {process.pid} {name}",
                source=f"/proc/{process.pid}/cmdline" if cmdline else f"/proc/{process.pid}/comm",
                pid=process.pid,
                comm=name,
            )
        )
    return tuple(items)


def _workload(
    name: str, profile: str, processes: Sequence[ProcessLike], note: str | None = None
) -> Workload:
    return Workload(
        name=name,
        profile=profile,
        pids=tuple(sorted(p.pid for p in processes)),
        evidence=_evidence(processes),
        note=note,
    )


def detect(processes: Iterable[ProcessLike]) -> Detection:
    """The workloads the processes show, and the profiles to apply for them, in order."""
    groups: dict[tuple[str, str], list[ProcessLike]] = {}
    mongods: dict[int | None, list[ProcessLike]] = {}
    runtimes: dict[str, list[ProcessLike]] = {}
    for process in processes:
        if process.cmdline == ():
            continue  # a kernel thread (or a zombie): never a workload
        name = process_name(process)
        if name in _BY_NAME:
            groups.setdefault(_BY_NAME[name], []).append(process)
        elif name == _MONGOD:
            mongods.setdefault(mongodb_major(process.cmdline), []).append(process)
        elif name in _RUNTIMES:
            runtimes.setdefault(name, []).append(process)
        elif _is_java(process):
            for arg in process.cmdline or ():
                # `-cp ... CLASS`, or with modules `-m MODULE/CLASS` (Elasticsearch 8).
                main_class = arg.rsplit("/", 1)[-1]
                if main_class in _BY_MAIN_CLASS:
                    groups.setdefault(_BY_MAIN_CLASS[main_class], []).append(process)
                    break

    workloads: list[Workload] = []
    for (name, profile), members in groups.items():
        if name == "MySQL" and any(
            "mariadb" in arg.lower() for p in members for arg in (p.cmdline or ())[:1]
        ):
            name = "MariaDB"
        note = None
        if profile == "kubernetes-node" and runtimes:
            note = (
                f"container runtime {', '.join(sorted(runtimes))} runs beside the kubelet; "
                "kubernetes-node covers it"
            )
        workloads.append(_workload(name, profile, members, note))
    for major, members in mongods.items():
        if major is None:
            note = (
                "MongoDB version not shown by mongod's command line in the snapshot; "
                "applying mongodb (7.0 and earlier); for 8.0 and later, audit it with --profile mongodb8"
            )
            workloads.append(_workload("MongoDB", "mongodb", members, note))
        else:
            profile = "mongodb8" if major >= 8 else "mongodb"
            workloads.append(_workload(f"MongoDB {major}", profile, members))
    if runtimes and not any(w.profile == "kubernetes-node" for w in workloads):
        members = [p for name in sorted(runtimes) for p in runtimes[name]]
        label = "container runtime (" + ", ".join(sorted(runtimes)) + ")"
        workloads.append(_workload(label, "container-host", members))

    rank = {name: i for i, name in enumerate(PROFILE_ORDER)}
    workloads.sort(key=lambda w: (rank[w.profile], w.name))
    profiles = tuple(dict.fromkeys(w.profile for w in workloads))
    return Detection(tuple(workloads), profiles)


def describe(detected: Sequence[dict[str, JSON]] | None) -> str:
    """One line for reports: `PostgreSQL (pid 812), Redis (pid 901)`."""
    if detected is None:
        return ""
    if not detected:
        return "no known workload detected (default applies)"
    parts = []
    for item in detected:
        evidence = item.get("evidence")
        pids = [
            e.get("pid")
            for e in (evidence if isinstance(evidence, list) else [])
            if isinstance(e, dict)
        ]
        where = f" (pid {pids[0]})" if pids else ""
        parts.append(f"{item.get('workload', '?')}{where} -> {item.get('profile', '?')}")
    return ", ".join(parts)
