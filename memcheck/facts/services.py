"""Service facts: the running processes of a named service, found by comm or systemd unit.

A service's main process is the one whose parent is not itself a process of the service: the
sshd listener (its per-connection children are `sshd`, or `sshd-session` from OpenSSH 9.8),
the postmaster (its backends are `postgres` too). Processes with the service's comm that run
outside its unit (e.g. an sshd inside a container) are kept apart when the unit is running.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from memcheck.errors import ParseError, Unavailable
from memcheck.facts.processes import Process, ProcessFacts
from memcheck.facts.systemd import SystemdFacts
from memcheck.parse.systemd_unit import Assignment


@dataclass(frozen=True)
class ServiceAlias:
    """How a service shows up: process names (comm) and unit names (fnmatch patterns)."""

    comms: tuple[str, ...]
    units: tuple[str, ...]


_SSHD = ServiceAlias(("sshd", "sshd-session", "sshd-auth"), ("ssh.service", "sshd.service"))
SERVICE_ALIASES: dict[str, ServiceAlias] = {
    # Debian names the OpenSSH unit ssh.service, RHEL sshd.service.
    "sshd": _SSHD,
    "ssh": _SSHD,
    "kubelet": ServiceAlias(("kubelet",), ("kubelet.service",)),
    "containerd": ServiceAlias(("containerd",), ("containerd.service",)),
    "dockerd": ServiceAlias(("dockerd",), ("docker.service",)),
    "docker": ServiceAlias(("dockerd",), ("docker.service",)),
    # RHEL postgresql.service, PGDG postgresql-16.service, Debian postgresql@16-main.service.
    "postgres": ServiceAlias(
        ("postgres", "postmaster"),
        ("postgresql.service", "postgresql-*.service", "postgresql@*.service"),
    ),
    "mysqld": ServiceAlias(("mysqld",), ("mysqld.service", "mysql.service")),
    "mariadbd": ServiceAlias(("mariadbd", "mysqld"), ("mariadb.service", "mariadb@*.service")),
    "mongod": ServiceAlias(("mongod",), ("mongod.service",)),
    "redis-server": ServiceAlias(
        ("redis-server",), ("redis.service", "redis-server.service", "redis@*.service")
    ),
}


def service_alias(service: str) -> ServiceAlias:
    """The alias table entry, or comm `<service>` and unit `<service>.service`."""
    return SERVICE_ALIASES.get(service, ServiceAlias((service,), (service + ".service",)))


@dataclass(frozen=True)
class ServiceProcesses:
    service: str
    main: tuple[Process, ...]
    children: tuple[Process, ...]
    elsewhere: tuple[Process, ...]
    unit: str | None  # the unit the main process runs in, else the first alias unit on disk

    @property
    def running(self) -> bool:
        return bool(self.main)

    @property
    def not_judged(self) -> str | None:
        """What was left out of the judgement and why, for the report."""
        parts = []
        if self.children:
            parts.append(
                f"{len(self.children)} child processes (per-connection sessions or workers)"
            )
        if self.elsewhere:
            parts.append(f"{len(self.elsewhere)} same-named processes outside {self.unit}")
        return f"{self.service}: not judged: {'; '.join(parts)}" if parts else None


SERVICE_READS = tuple(
    f"/proc/[0-9]*/{name}"
    for name in ("comm", "status", "oom_score_adj", "oom_adj", "cgroup", "cmdline")
)


class ServiceFacts(ProcessFacts, SystemdFacts):
    """`facts.service_processes(name)`, `facts.unit_setting(unit, section, key)`."""

    def unit_setting(
        self, name: str, section: str, key: str
    ) -> tuple[Assignment | None, str | None]:
        """(the effective assignment or None, a problem reading the unit or None)."""
        try:
            unit = self.unit(name)
        except (ParseError, Unavailable) as exc:
            return None, str(exc)
        return (unit.get(section, key) if unit else None), None

    def _in_units(self, process: Process, alias: ServiceAlias) -> bool:
        unit = process.unit
        return unit is not None and any(fnmatch.fnmatchcase(unit, u) for u in alias.units)

    def _has_unit(self, name: str) -> bool:
        try:
            return self.unit(name) is not None
        except (ParseError, Unavailable):
            return True  # it exists; reading it is the caller's concern

    @property
    def unidentified_processes(self) -> dict[int, str]:
        """Processes in the snapshot whose name could not be read (pid -> why): any of them
        may be the service a check looks for, so "not running" cannot be concluded."""
        cache_key = "unidentified-processes"
        found: dict[int, str] | None = self._cache.get(cache_key)
        if found is None:
            found = {}
            for process in self.processes:
                if process.comm is not None or process.status is not None:
                    continue
                hidden = self.unlisted(f"/proc/{process.pid}")
                if hidden is not None:
                    found[process.pid] = f"{hidden[0]}: {hidden[1]}"
                elif process.problems:
                    path, reason = next(iter(sorted(process.problems.items())))
                    found[process.pid] = f"{path}: {reason}"
            self._cache[cache_key] = found
        return found

    def unidentified_note(self) -> str | None:
        """One line saying which processes could not be identified, or None."""
        found = self.unidentified_processes
        if not found:
            return None
        first = next(iter(found.values()))
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        return f"{len(found)} processes could not be identified ({first}{more})"

    def service_processes(self, service: str) -> ServiceProcesses:
        alias = service_alias(service)
        candidates = [
            p
            for p in self.processes
            if not p.is_kernel_thread and (p.name in alias.comms or self._in_units(p, alias))
        ]
        in_unit = [p for p in candidates if self._in_units(p, alias)]
        elsewhere: list[Process] = []
        if in_unit:
            elsewhere = [p for p in candidates if not self._in_units(p, alias)]
            candidates = in_unit
        pids = {p.pid for p in candidates}
        main = tuple(p for p in candidates if p.ppid not in pids)
        children = tuple(p for p in candidates if p.ppid in pids)
        unit = next((p.unit for p in main if p.unit and p.unit.endswith(".service")), None)
        if unit is None:
            unit = next((u for u in alias.units if "*" not in u and self._has_unit(u)), None)
        return ServiceProcesses(service, main, children, tuple(elsewhere), unit)
