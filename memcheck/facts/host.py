"""Host identity facts used in every report: distribution, cgroup mode, container."""

from __future__ import annotations

from memcheck.errors import ParseError, Unavailable
from memcheck.facts.base import FactsBase
from memcheck.parse.mounts import Mount, cgroup_mode, parse_mounts
from memcheck.parse.os_release import parse_os_release

HOST_READS = (
    "/proc/sys/kernel/hostname",
    "/proc/sys/kernel/osrelease",
    "/proc/version",
    "/etc/os-release",
    "/proc/mounts",
    "/proc/1/cgroup",
    "/proc/1/comm",
    "/.dockerenv",
    "/run/.containerenv",
    "/run/systemd/container",
)
_CONTAINER_HINTS = ("/docker/", "/kubepods", "/lxc/", "/libpod-", "/containerd/", "docker-")


class HostFacts(FactsBase):
    """`facts.distribution`, `facts.mounts`, `facts.cgroup_mode`, `facts.in_container`."""

    @property
    def distribution(self) -> str | None:
        try:
            text = self.optional_text("/etc/os-release")
        except Unavailable:
            return None
        if not text:
            return None
        values = parse_os_release(text)
        return values.get("PRETTY_NAME") or values.get("NAME")

    @property
    def mounts(self) -> tuple[Mount, ...]:
        return parse_mounts(self.text("/proc/mounts"))

    @property
    def cgroup_mode(self) -> str | None:
        try:
            return cgroup_mode(self.mounts)
        except (Unavailable, ParseError):
            return None

    @property
    def in_container(self) -> bool | None:
        """Best evidence available; None when the snapshot holds none of it."""
        for marker in ("/.dockerenv", "/run/.containerenv"):
            if self.snapshot.exists(marker):
                return True
        try:
            flag = self.optional_text("/run/systemd/container")
            if flag and flag.strip():
                return True
            cgroup = self.optional_text("/proc/1/cgroup")
        except Unavailable:
            return None
        if cgroup is None:
            return None
        return any(hint in cgroup for hint in _CONTAINER_HINTS)
