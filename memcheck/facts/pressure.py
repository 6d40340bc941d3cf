"""Pressure stall facts: system-wide memory pressure, per-cgroup pressure, and why PSI is absent.

PSI is absent before Linux 4.20, when the kernel is built without CONFIG_PSI, when it boots
with `psi=0`, and on kernels built with CONFIG_PSI_DEFAULT_DISABLED unless `psi=1` is given
(RHEL 8's 4.18 kernels carry PSI that way). Where the file exists but PSI is off, reading it
fails with EOPNOTSUPP ("Operation not supported"), which counts as absent too.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from memcheck.errors import ParseError, Unavailable
from memcheck.facts.base import LISTING_DENIED, cached
from memcheck.facts.boot import BootFacts
from memcheck.parse.psi import SOURCE as PSI_SOURCE
from memcheck.parse.psi import Pressure, parse_pressure

CGROUP_PRESSURE_GLOB = "/sys/fs/cgroup/**/memory.pressure"
# cgroup v2 mount points: the unified hierarchy, or its place beside v1 on hybrid hosts.
CGROUP_ROOTS = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")
PSI_READS = (
    PSI_SOURCE,
    CGROUP_PRESSURE_GLOB,
    "/proc/cmdline",
    "/proc/sys/kernel/osrelease",
    "/boot/config-*",
)


def disabled_by_read(reason: str) -> bool:
    """True for the EOPNOTSUPP a pressure file gives when PSI is compiled in but off."""
    return "not supported" in reason.lower()


def kernel_bool(value: str | None) -> bool | None:
    """The kernel's kstrtobool(): y/Y/1/on -> True, n/N/0/off -> False, else None."""
    if not value:
        return None
    lowered = value.lower()
    if lowered[0] in "y1" or lowered.startswith("on"):
        return True
    if lowered[0] in "n0" or lowered.startswith("of"):
        return False
    return None


@dataclass(frozen=True)
class CgroupPressure:
    """One cgroup's `memory.pressure`: parsed, or the problem that kept it from being read."""

    cgroup: str  # the cgroup's path below the v2 mount, e.g. /system.slice/mysqld.service
    path: str
    pressure: Pressure | None
    problem: str | None = None


def cgroup_name(path: str) -> str:
    """`/sys/fs/cgroup/system.slice/x.service/memory.pressure` -> `/system.slice/x.service`."""
    directory = posixpath.dirname(path)
    for root in CGROUP_ROOTS:
        if directory == root:
            return "/"
        if directory.startswith(root + "/"):
            return directory[len(root) :]
    return directory


class PressureFacts(BootFacts):
    """`facts.memory_pressure`, `facts.psi_absent_reason`, `facts.cgroup_memory_pressures`."""

    @property
    @cached
    def memory_pressure(self) -> Pressure | None:
        """`/proc/pressure/memory`; None when PSI is absent or disabled (see
        `psi_absent_reason`). Other read problems raise `Unavailable`, bad text `ParseError`."""
        try:
            text = self.optional_text(PSI_SOURCE)
        except Unavailable as exc:
            if disabled_by_read(exc.reason):
                return None
            raise
        return None if text is None else parse_pressure(text, PSI_SOURCE)

    @property
    def psi_absent_reason(self) -> str:
        """Why this host has no memory pressure figures, as precisely as the snapshot tells."""
        release = self.kernel_release or "(unknown release)"
        version = self.kernel_version
        try:
            psi = kernel_bool(self.kernel_cmdline.get("psi"))
        except (Unavailable, ParseError):
            psi = None
        if psi is False:
            return "PSI is disabled on the kernel command line (psi=0)"
        if version is not None and version < (4, 20):
            if version == (4, 18) and ".el8" in release:
                return (
                    f"kernel {release} (RHEL 8 family) carries PSI but leaves it off unless "
                    "booted with psi=1"
                )
            return f"kernel {release} predates pressure stall information (Linux 4.20)"
        try:
            config = self.kernel_config
        except (Unavailable, ParseError):
            config = None
        if config is not None and config.get("CONFIG_PSI") == "n":
            return f"kernel {release} is built without CONFIG_PSI"
        if config is not None and config.get("CONFIG_PSI_DEFAULT_DISABLED") == "y" and not psi:
            return (
                f"kernel {release} is built with PSI off by default "
                "(CONFIG_PSI_DEFAULT_DISABLED); boot with psi=1"
            )
        reason = self.snapshot.errors.get(PSI_SOURCE, "")
        if disabled_by_read(reason):
            return (
                f"reading {PSI_SOURCE} fails with 'Operation not supported': PSI is off on "
                "this kernel; boot with psi=1"
            )
        return (
            f"no {PSI_SOURCE}: kernel {release} is built without PSI or boots with it off "
            "(psi=1 turns it on)"
        )

    @property
    @cached
    def cgroup_memory_pressures(self) -> tuple[CgroupPressure, ...]:
        """Every non-root cgroup v2 `memory.pressure`, by path (the root repeats the
        system-wide figures). Per-file problems are kept on the entry, never raised."""
        paths = set(self.glob(CGROUP_PRESSURE_GLOB))
        paths.update(
            p
            for p in self.snapshot.errors
            if p.startswith("/sys/fs/cgroup/") and p.endswith("/memory.pressure")
        )
        found = []
        for path in sorted(paths):
            name = cgroup_name(path)
            if name == "/":
                continue
            try:
                pressure = parse_pressure(self.text(path), path)
            except Unavailable as exc:
                if exc.missing:
                    continue  # the cgroup went away while the host was read
                found.append(CgroupPressure(name, path, None, exc.reason))
                continue
            except ParseError as exc:
                found.append(CgroupPressure(name, path, None, exc.problem))
                continue
            found.append(CgroupPressure(name, path, pressure))
        for folder, reason in sorted(self.unreadable_below(CGROUP_ROOTS[1]).items()):
            if LISTING_DENIED not in reason or _in_v1_hierarchy(folder):
                continue
            # The cgroups below it, and their memory.pressure, are unknown.
            name = cgroup_name(folder + "/memory.pressure")
            found.append(CgroupPressure(name, folder, None, f"{folder}: {reason}"))
        return tuple(found)


# The v1 controller hierarchies mounted beside (hybrid) or instead of cgroup2 have no
# memory.pressure files: a folder there that could not be listed hides none.
_V1_CONTROLLERS = frozenset(
    "blkio cpu cpuacct cpuset devices freezer hugetlb memory misc net_cls net_prio "
    "perf_event pids rdma systemd".split()
)


def _in_v1_hierarchy(folder: str) -> bool:
    rest = folder[len(CGROUP_ROOTS[1]) :].strip("/").split("/", 1)[0]
    return bool(rest) and (rest in _V1_CONTROLLERS or "," in rest)
