"""cgroup facts: the host's memory cgroups (v2, or v1's memory hierarchy), what each one is,
its limits, usage and events, and which cgroup a systemd unit or process runs in.

The memory controller lives in the unified hierarchy at /sys/fs/cgroup on v2 hosts, and in the
v1 hierarchy mounted at /sys/fs/cgroup/memory on v1 and hybrid hosts (hybrid adds an empty
cgroup2 mount at /sys/fs/cgroup/unified). The root cgroup has no memory.current on v2: its
usage comes from /proc/meminfo, as runc does. One unreadable or odd cgroup must not hide the
others, so per-cgroup read and parse problems are kept on the cgroup (`problems`).
See docs.kernel.org admin-guide/cgroup-v2.html and admin-guide/cgroup-v1/memory.html.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from memcheck.errors import ParseError, Unavailable
from memcheck.facts.base import LISTING_DENIED, cached
from memcheck.facts.host import HostFacts
from memcheck.facts.meminfo import MeminfoFacts
from memcheck.facts.processes import Process, ProcessFacts
from memcheck.facts.services import ServiceFacts
from memcheck.facts.systemd import SystemdFacts
from memcheck.parse import cgroup as cg
from memcheck.parse.cgroup import Limit, MemoryEvents, MemoryStat, OomControl
from memcheck.parse.systemd_unit import Assignment, parse_unit

T = TypeVar("T")

CGROUP_ROOT = "/sys/fs/cgroup"
V1_MEMORY_ROOT = "/sys/fs/cgroup/memory"
V2_FILES = (
    "memory.max",
    "memory.high",
    "memory.current",
    "memory.stat",
    "memory.events",
    "memory.events.local",
)
V1_FILES = (
    "memory.limit_in_bytes",
    "memory.usage_in_bytes",
    "memory.stat",
    "memory.kmem.usage_in_bytes",
    "memory.oom_control",
    "memory.failcnt",
)
# One walk of /sys/fs/cgroup reads these files wherever they are (the v1 names only exist in
# the v1 memory hierarchy); everything else in the tree is left unread.
CGROUP_LIMIT_READS = (
    CGROUP_ROOT + "/**/memory.{max,high,current,stat}",
    CGROUP_ROOT + "/**/memory.{limit_in_bytes,usage_in_bytes,kmem.usage_in_bytes}",
    "/proc/mounts",
    "/proc/meminfo",
)
CGROUP_EVENT_READS = (
    CGROUP_ROOT + "/**/memory.{events,events.local}",
    CGROUP_ROOT + "/**/memory.{oom_control,failcnt}",
    "/proc/mounts",
)
# `systemctl set-property` persists into system.control (or /run's with --runtime); these
# directories outrank every other unit directory.
CONTROL_DIRS = ("/etc/systemd/system.control", "/run/systemd/system.control")
CONTROL_READS = tuple(d + "/**" for d in CONTROL_DIRS)
MEMORY_SETTINGS = ("MemoryMax", "MemoryHigh", "MemoryLimit")
_SECTIONS = {".service": "Service", ".slice": "Slice", ".scope": "Scope", ".socket": "Socket"}

_HEX_ID = re.compile(r"[0-9a-f]{64}")
_SCOPE_ID = re.compile(r"^(cri-containerd|crio|docker|libpod|crio-conmon)-([0-9a-f]{64})\.scope$")
_POD_SLICE = re.compile(r"^kubepods(?:-(burstable|besteffort))?-pod([0-9a-fA-F_-]+)\.slice$")
_QOS_SLICE = re.compile(r"^kubepods-(burstable|besteffort)\.slice$")
_RUNTIMES = {
    "cri-containerd": "containerd",
    "crio": "cri-o",
    "crio-conmon": "cri-o (conmon)",
    "docker": "docker",
    "libpod": "podman",
}


@dataclass(frozen=True)
class CgroupKind:
    """What a cgroup is, from its path: systemd unit, container, Kubernetes pod, ..."""

    label: str
    unit: str | None = None
    qos: str | None = None
    pod_uid: str | None = None
    container_id: str | None = None
    runtime: str | None = None

    def describe(self) -> str:
        """`kubernetes container (burstable, pod 0f1e..., containerd 4f3e2d1c0b9a)`."""
        extra = [
            x
            for x in (
                self.qos,
                f"pod {self.pod_uid}" if self.pod_uid else None,
                f"{self.runtime or 'id'} {self.container_id[:12]}" if self.container_id else None,
            )
            if x
        ]
        return self.label + (f" ({', '.join(extra)})" if extra else "")


def classify(path: str) -> CgroupKind:
    """Label a cgroup by its path (v1 or v2, systemd or cgroupfs driver)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return CgroupKind("root")
    last = parts[-1]
    if parts[0].startswith("kubepods"):
        return _kubernetes(parts)
    scope = _SCOPE_ID.match(last)
    if scope:
        runtime = _RUNTIMES[scope.group(1)]
        label = "podman container" if runtime == "podman" else "docker container"
        if runtime not in ("docker", "podman"):
            label = "container"
        return CgroupKind(label, unit=last, container_id=scope.group(2), runtime=runtime)
    if len(parts) >= 2 and parts[-2] == "docker" and _HEX_ID.fullmatch(last):
        return CgroupKind("docker container", container_id=last, runtime="docker")
    if parts[0] == "lxc" or last.startswith("lxc.payload."):
        return CgroupKind("lxc container")
    for suffix, label in ((".slice", "slice"), (".service", "service"), (".scope", "scope")):
        if last.endswith(suffix):
            return CgroupKind(f"systemd {label}", unit=last)
    return CgroupKind("cgroup")


def _kubernetes(parts: list[str]) -> CgroupKind:
    qos: str | None = None
    uid: str | None = None
    container: str | None = None
    runtime: str | None = None
    pod_index = -1
    for i, part in enumerate(parts[1:], 1):
        pod = _POD_SLICE.match(part)
        tier = _QOS_SLICE.match(part)
        scope = _SCOPE_ID.match(part)
        if pod:  # systemd driver: underscores stand for the UID's dashes
            qos = pod.group(1) or qos or "guaranteed"
            uid, pod_index = pod.group(2).replace("_", "-"), i
        elif tier:
            qos = tier.group(1)
        elif part in ("burstable", "besteffort") and uid is None:  # cgroupfs driver
            qos = part
        elif part.startswith("pod") and uid is None:
            uid, pod_index = part[3:], i
            qos = qos or "guaranteed"
        elif scope and uid is not None:
            container, runtime = scope.group(2), _RUNTIMES[scope.group(1)]
        elif _HEX_ID.fullmatch(part) and uid is not None:
            container = part
    unit = parts[-1] if parts[-1].endswith((".slice", ".scope")) else None
    if container is not None:
        return CgroupKind("kubernetes container", unit, qos, uid, container, runtime)
    if uid is not None and pod_index == len(parts) - 1:
        return CgroupKind("kubernetes pod", unit, qos, uid)
    if uid is not None:
        return CgroupKind("kubernetes pod cgroup", unit, qos, uid)
    if qos is not None and len(parts) == 2:
        return CgroupKind("kubernetes QoS class", unit, qos)
    if len(parts) == 1:
        return CgroupKind("kubernetes pods (node allocatable)", unit)
    return CgroupKind("kubernetes cgroup", unit, qos)


@dataclass
class Cgroup:
    """One memory cgroup as the snapshot shows it. Files absent or unreadable are None;
    why each unreadable one could not be used is in `problems` (path -> reason)."""

    path: str
    directory: str
    version: str
    kind: CgroupKind
    is_root: bool = False
    limit: Limit | None = None
    high: Limit | None = None
    usage_bytes: int | None = None
    usage_source: str | None = None
    stat: MemoryStat | None = None
    kmem_usage_bytes: int | None = None
    events: MemoryEvents | None = None
    events_local: MemoryEvents | None = None
    oom_control: OomControl | None = None
    failcnt: int | None = None
    root_inactive_file_bytes: int | None = None
    problems: dict[str, str] = field(default_factory=dict)

    def file(self, name: str) -> str:
        return self.directory.rstrip("/") + "/" + name

    @property
    def limit_source(self) -> str:
        return self.file("memory.max" if self.version == "v2" else "memory.limit_in_bytes")

    @property
    def usage_path(self) -> str:
        if self.is_root and self.version == "v2":
            return "/proc/meminfo"
        return self.file("memory.current" if self.version == "v2" else "memory.usage_in_bytes")

    @property
    def depth(self) -> int:
        return 0 if self.path == "/" else self.path.count("/")

    @property
    def parent_path(self) -> str | None:
        return None if self.path == "/" else (posixpath.dirname(self.path) or "/")

    @property
    def inactive_file_bytes(self) -> int | None:
        if self.stat is not None and self.stat.inactive_file_bytes is not None:
            return self.stat.inactive_file_bytes
        return self.root_inactive_file_bytes

    @property
    def working_set_bytes(self) -> int | None:
        """Usage minus inactive file pages (the kubelet's working set); None without usage."""
        if self.usage_bytes is None:
            return None
        return cg.working_set_bytes(self.usage_bytes, self.inactive_file_bytes)

    @property
    def anon_bytes(self) -> int | None:
        return self.stat.anon_bytes if self.stat else None

    @property
    def file_bytes(self) -> int | None:
        return self.stat.file_bytes if self.stat else None

    @property
    def kernel_bytes(self) -> int | None:
        """v2: memory.stat `kernel` or the sum of its parts; v1: memory.kmem.usage_in_bytes."""
        if self.version == "v1":
            return self.kmem_usage_bytes
        return self.stat.kernel_bytes if self.stat else None

    @property
    def kernel_parts(self) -> dict[str, int]:
        return self.stat.kernel_parts if self.stat else {}


@dataclass(frozen=True)
class MemoryHierarchy:
    """Where the memory controller is: `version` v2 or v1, its `root` directory, and how that
    was decided (`basis`); `problem` says why no memory cgroup can be read, when so."""

    version: str | None
    root: str | None
    mode: str | None
    basis: str
    problem: str | None = None


@dataclass(frozen=True)
class EventCounts:
    """Memory events that happened in one cgroup itself (not in its descendants)."""

    cgroup: Cgroup
    oom_kill: int | None
    max: int | None
    oom: int | None
    high: int | None
    oom_group_kill: int | None
    failcnt: int | None
    under_oom: bool
    source: str
    how: str


@dataclass(frozen=True)
class UnitMemorySettings:
    """A unit's MemoryMax=, MemoryHigh=, MemoryLimit= as systemd would apply them."""

    unit: str
    settings: dict[str, Assignment]
    problem: str | None = None
    found: bool = True


def _in_control_dir(assignment: Assignment) -> str | None:
    for directory in CONTROL_DIRS:
        if assignment.source.startswith(directory + "/"):
            return directory
    return None


# The bases repeat what ServiceFacts brings (processes, systemd) so that this class
# linearises in the same order as `Facts` lists its mixins.
class CgroupFacts(ServiceFacts, HostFacts, MeminfoFacts, ProcessFacts, SystemdFacts):
    """`facts.memory_hierarchy`, `facts.cgroups`, `facts.cgroup_by_path(path)`,
    `facts.unit_cgroups`, `facts.cgroup_of_process(p)`, `facts.memory_event_counts`,
    `facts.unit_memory_settings(unit)`, `facts.cgroup2_supported`."""

    # -- where the memory controller is --------------------------------------------------
    @property
    @cached
    def memory_hierarchy(self) -> MemoryHierarchy:
        try:
            mounts = self.mounts
        except (Unavailable, ParseError):
            found = self._hierarchy_from_files()
            if found is None:
                raise  # nothing else tells where the memory controller is
            return found
        mode = self.cgroup_mode
        memory_v1 = [m for m in mounts if m.fstype == "cgroup" and "memory" in m.options]
        if memory_v1:
            point = memory_v1[0].mountpoint
            if point != V1_MEMORY_ROOT:
                return MemoryHierarchy(
                    "v1",
                    None,
                    mode,
                    f"/proc/mounts: memory controller (v1) at {point}",
                    f"the v1 memory hierarchy is mounted at {point}, which is not read "
                    f"(only {V1_MEMORY_ROOT})",
                )
            return MemoryHierarchy(
                "v1", point, mode, f"/proc/mounts: memory controller (v1) at {point}"
            )
        unified = [m for m in mounts if m.fstype == "cgroup2"]
        if not unified:
            if mode is None:
                return MemoryHierarchy(
                    None, None, None, "/proc/mounts", "no cgroup file system is mounted"
                )
            return MemoryHierarchy(
                None,
                None,
                mode,
                "/proc/mounts",
                "the memory controller is not mounted (booted with cgroup_disable=memory?)",
            )
        points = [m.mountpoint for m in unified]
        point = CGROUP_ROOT if CGROUP_ROOT in points else points[0]
        basis = f"/proc/mounts: cgroup2 at {point}"
        if point != CGROUP_ROOT:
            problem = None
            if not self._has_memory_files(point):
                problem = (
                    f"no v1 memory hierarchy, and the memory controller is not enabled in "
                    f"the cgroup2 hierarchy at {point}"
                )
            return MemoryHierarchy("v2", point, mode, basis, problem)
        return MemoryHierarchy("v2", point, mode, basis, self._v2_controller_problem())

    def _hierarchy_from_files(self) -> MemoryHierarchy | None:
        """Without /proc/mounts: the files collected say which hierarchy this is."""
        why = "/proc/mounts unreadable; judged from the files under "
        if self.snapshot.glob(V1_MEMORY_ROOT + "/**/memory.limit_in_bytes"):
            return MemoryHierarchy("v1", V1_MEMORY_ROOT, None, why + V1_MEMORY_ROOT)
        if self._has_memory_files(CGROUP_ROOT):
            return MemoryHierarchy("v2", CGROUP_ROOT, None, why + CGROUP_ROOT)
        return None

    def _has_memory_files(self, root: str) -> bool:
        return any(self.snapshot.glob(f"{root}/**/{name}") for name in V2_FILES)

    def _v2_controller_problem(self) -> str | None:
        if self._has_memory_files(CGROUP_ROOT):
            return None
        try:
            controllers = self.optional_text(CGROUP_ROOT + "/cgroup.controllers")
        except Unavailable:
            controllers = None
        if controllers is not None and "memory" not in controllers.split():
            return (
                f"the memory controller is not available in this cgroup2 hierarchy "
                f"(cgroup.controllers: {controllers.strip() or 'empty'})"
            )
        return None

    @property
    def cgroup2_supported(self) -> bool | None:
        """Whether the kernel knows cgroup2 (`nodev cgroup2` in /proc/filesystems, 4.5+)."""
        try:
            text = self.optional_text("/proc/filesystems")
        except Unavailable:
            return None
        if text is None:
            return None
        return any(line.split()[-1:] == ["cgroup2"] for line in text.splitlines())

    # -- the cgroups ---------------------------------------------------------------------
    @property
    @cached
    def cgroups(self) -> list[Cgroup]:
        """Every memory cgroup the snapshot shows, root first, then by path."""
        hierarchy = self.memory_hierarchy
        if hierarchy.root is None or hierarchy.version is None:
            return []
        version = hierarchy.version
        try:  # a snapshot may hold the hierarchy behind a link (memory -> memory,cpu)
            root = self.snapshot.resolve(hierarchy.root)
        except Unavailable:
            root = hierarchy.root
        names = V2_FILES if version == "v2" else V1_FILES
        directories: set[str] = set()
        prefix = root + "/"
        snap = self.snapshot
        for path in (*snap.files, *snap.links, *snap.errors):
            if path.startswith(prefix) and posixpath.basename(path) in names:
                directories.add(posixpath.dirname(path))
        for path, reason in snap.errors.items():
            if (path == root or path.startswith(prefix)) and LISTING_DENIED in reason:
                directories.add(path)
        if self.unlisted(root) is not None:
            directories.add(root)  # a folder above it could not be listed: say so on the root
        if directories:
            directories.add(root)  # the root exists whenever anything below it does
        found = [self._cgroup(d, root, version) for d in directories]
        return sorted(found, key=lambda c: (c.path != "/", c.path))

    def _cgroup(self, directory: str, root: str, version: str) -> Cgroup:
        path = "/" + directory[len(root) :].strip("/") if directory != root else "/"
        group = Cgroup(path, directory, version, classify(path))
        hidden = self.unlisted(directory)
        if hidden is not None:
            group.problems[directory] = (
                f"{hidden[0]}: {hidden[1]}" if hidden[0] != directory else hidden[1]
            )
        if version == "v2":
            group.limit = self._read(group, "memory.max", cg.parse_limit)
            group.high = self._read(group, "memory.high", cg.parse_limit)
            group.usage_bytes = self._read(group, "memory.current", cg.parse_bytes)
            group.events = self._read(group, "memory.events", cg.parse_memory_events)
            group.events_local = self._read(group, "memory.events.local", cg.parse_memory_events)
            if group.usage_bytes is not None:
                group.usage_source = group.file("memory.current")
        else:
            group.limit = self._read(group, "memory.limit_in_bytes", cg.parse_limit)
            group.usage_bytes = self._read(group, "memory.usage_in_bytes", cg.parse_bytes)
            group.kmem_usage_bytes = self._read(group, "memory.kmem.usage_in_bytes", cg.parse_bytes)
            group.oom_control = self._read(group, "memory.oom_control", cg.parse_oom_control)
            group.failcnt = self._read(group, "memory.failcnt", cg.parse_bytes)
            if group.usage_bytes is not None:
                group.usage_source = group.file("memory.usage_in_bytes")
        group.stat = self._read(group, "memory.stat", cg.parse_memory_stat)
        if directory != root:
            return group
        # The root of the hierarchy has no memory.current and no limit. Inside a container
        # with its own cgroup namespace, /sys/fs/cgroup is the container's cgroup: it has
        # both, and is judged like any other cgroup.
        limited = group.limit is not None and not group.limit.unlimited
        if version == "v2" and group.usage_bytes is None:
            group.is_root = True
            self._root_from_meminfo(group)
        elif version == "v2" or limited:
            group.kind = CgroupKind("container's own cgroup (cgroup namespace root)")
        else:
            group.is_root = True
        return group

    def _root_from_meminfo(self, group: Cgroup) -> None:
        try:
            meminfo = self.meminfo
        except (Unavailable, ParseError) as exc:
            group.problems["/proc/meminfo"] = str(exc)
            return
        free = meminfo.mem_free_bytes
        if free is not None:
            group.usage_bytes = max(0, meminfo.mem_total_bytes - free)
            group.usage_source = "/proc/meminfo"
        group.root_inactive_file_bytes = meminfo.get("Inactive(file)")

    def _read(self, group: Cgroup, name: str, parse: Callable[[str, str], T]) -> T | None:
        path = group.file(name)
        try:
            text = self.text(path)
        except Unavailable as exc:
            if not exc.missing and group.directory not in group.problems:
                group.problems[path] = exc.reason
            return None
        try:
            return parse(text, path)
        except ParseError as exc:
            group.problems[path] = exc.problem
            return None

    @property
    @cached
    def _cgroups_by_path(self) -> dict[str, Cgroup]:
        return {c.path: c for c in self.cgroups}

    def cgroup_by_path(self, path: str) -> Cgroup | None:
        """The memory cgroup at this path (`/system.slice/sshd.service`), or None."""
        return self._cgroups_by_path.get("/" + path.strip("/") if path.strip("/") else "/")

    @property
    @cached
    def unit_cgroups(self) -> dict[str, Cgroup]:
        """systemd unit name -> its memory cgroup (the shallowest one of that name)."""
        found: dict[str, Cgroup] = {}
        for group in sorted(self.cgroups, key=lambda c: c.depth):
            name = group.path.rsplit("/", 1)[-1]
            if name.endswith((".service", ".scope", ".slice")) and name not in found:
                found[name] = group
        return found

    def memory_cgroup_path(self, process: Process) -> str | None:
        """The process's cgroup in the memory hierarchy (v2 `0::`, v1 the `memory` line)."""
        version = self.memory_hierarchy.version
        for entry in process.cgroup or ():
            if version == "v2" and entry.hierarchy_id == 0:
                return entry.path
            if version == "v1" and "memory" in entry.controllers:
                return entry.path
        return None

    def cgroup_of_process(self, process: Process) -> Cgroup | None:
        """The memory cgroup the process is charged to: its own, else its nearest ancestor
        the snapshot holds."""
        path = self.memory_cgroup_path(process)
        while path is not None:
            group = self.cgroup_by_path(path)
            if group is not None:
                return group
            path = None if path in ("/", "") else (posixpath.dirname(path) or "/")
        return None

    # -- events --------------------------------------------------------------------------
    @property
    @cached
    def memory_event_counts(self) -> list[EventCounts]:
        """Per cgroup, the events that happened in that cgroup itself.

        v2 `memory.events` is hierarchical since 5.2 (unless the cgroup2 mount has
        `memory_localevents`), which also added `memory.events.local`: that file is used when
        present, else a cgroup's count less its children's, else (before 5.2) the counts as
        they are. v1 `memory.oom_control` and `memory.failcnt` count the group alone.
        """
        groups = self.cgroups
        out: list[EventCounts] = []
        hierarchical = self._events_hierarchical(groups)
        children = self._event_children(groups)
        for group in groups:
            if group.version == "v1":
                control = group.oom_control
                if control is None and group.failcnt is None:
                    continue
                out.append(
                    EventCounts(
                        group,
                        control.oom_kill if control else None,
                        None,
                        None,
                        None,
                        None,
                        group.failcnt,
                        bool(control and control.under_oom),
                        group.file("memory.oom_control"),
                        "memory.oom_control and memory.failcnt (the group alone)",
                    )
                )
                continue
            if group.events_local is not None:
                local = group.events_local
                out.append(self._counts(group, local.get, "memory.events.local", "local file"))
            elif group.events is not None:
                events = group.events
                if hierarchical:
                    get = _less_children(events, children.get(group.path, []))
                    how = "memory.events less its child cgroups' (hierarchical since 5.2)"
                    out.append(self._counts(group, get, "memory.events", how))
                else:
                    how = "memory.events (counts the cgroup alone on this kernel)"
                    out.append(self._counts(group, events.get, "memory.events", how))
        return out

    def _counts(
        self, group: Cgroup, get: Callable[[str], int | None], name: str, how: str
    ) -> EventCounts:
        return EventCounts(
            group,
            get("oom_kill"),
            get("max"),
            get("oom"),
            get("high"),
            get("oom_group_kill"),
            None,
            False,
            group.file(name),
            how,
        )

    def _event_children(self, groups: list[Cgroup]) -> dict[str, list[Cgroup]]:
        """Path -> the nearest descendants that have memory.events (skipping gaps)."""
        with_events = {g.path: g for g in groups if g.events is not None}
        children: dict[str, list[Cgroup]] = {}
        for group in with_events.values():
            parent = group.parent_path
            while parent is not None and parent not in with_events:
                parent = None if parent == "/" else (posixpath.dirname(parent) or "/")
            if parent is not None:
                children.setdefault(parent, []).append(group)
        return children

    def _events_hierarchical(self, groups: list[Cgroup]) -> bool:
        try:
            mounts = self.mounts
        except (Unavailable, ParseError):
            mounts = ()
        if any(m.fstype == "cgroup2" and "memory_localevents" in m.options for m in mounts):
            return False
        if any(g.events_local is not None for g in groups):
            return True  # .local came with hierarchical memory.events (5.2, and backports)
        version = self._release()
        if version is not None:
            return version >= (5, 2)
        # Unknown kernel: hierarchical counts never fall below the sum of their children's.
        children = self._event_children(groups)
        for path, kids in children.items():
            parent = self.cgroup_by_path(path)
            if parent is None or parent.events is None:
                continue
            for key in ("oom_kill", "max", "oom"):
                own = parent.events.get(key) or 0
                if own < sum((k.events.get(key) or 0) for k in kids if k.events):
                    return False
        return True

    def _release(self) -> tuple[int, int] | None:
        """(major, minor) from osrelease, else from `/proc/version` (`Linux version 5.15.0-...`)."""
        try:
            found = self.kernel_version
            if found is not None:
                return found
            text = self.optional_text("/proc/version") or ""
        except Unavailable:
            return None
        match = re.search(r"Linux version ([0-9]{1,6})\.([0-9]{1,6})", text)
        return (int(match.group(1)), int(match.group(2))) if match else None

    # -- systemd settings ----------------------------------------------------------------
    def unit_memory_settings(self, unit: str) -> UnitMemorySettings:
        """MemoryMax=, MemoryHigh=, MemoryLimit= of a unit as systemd applies them: the unit
        file, then drop-ins in file name order, `systemctl set-property` ones outranking
        same-named drop-ins elsewhere."""
        section = _SECTIONS.get(unit[unit.rfind(".") :], "Service")
        try:
            loaded = self.unit(unit)
        except (ParseError, Unavailable) as exc:
            return UnitMemorySettings(unit, {}, str(exc))
        files = list(loaded.files) if loaded else []
        main = [f for f in files if ".d/" not in f.source]
        dropins = {posixpath.basename(f.source): f for f in files if ".d/" in f.source}
        problem = None
        for directory in reversed(CONTROL_DIRS):  # /etc's outranks /run's
            hidden = self.unlisted(f"{directory}/{unit}.d")
            if hidden is not None:
                problem = f"{hidden[0]}: {hidden[1]}"
            for name in self.snapshot.listdir(f"{directory}/{unit}.d"):
                if not name.endswith(".conf"):
                    continue
                path = f"{directory}/{unit}.d/{name}"
                try:
                    dropins[name] = parse_unit(self.text(path), path)
                except (ParseError, Unavailable) as exc:
                    problem = str(exc)
        settings: dict[str, Assignment] = {}
        for unit_file in [*main, *(dropins[n] for n in sorted(dropins))]:
            for a in unit_file.assignments:
                if a.section == section and a.key in MEMORY_SETTINGS:
                    if a.value == "":
                        settings.pop(a.key, None)
                    else:
                        settings[a.key] = a
        return UnitMemorySettings(unit, settings, problem, loaded is not None or bool(dropins))


def _less_children(events: MemoryEvents, kids: list[Cgroup]) -> Callable[[str], int | None]:
    def get(key: str) -> int | None:
        own = events.get(key)
        if own is None:
            return None
        below = sum((k.events.get(key) or 0) for k in kids if k.events is not None)
        return max(0, own - below)

    return get


def setting_origin(assignment: Assignment) -> str:
    """Where a memory setting lives, and whether it survives a reboot."""
    control = _in_control_dir(assignment)
    if control == CONTROL_DIRS[0]:
        return "systemctl set-property (persistent)"
    if control == CONTROL_DIRS[1]:
        return "systemctl set-property --runtime (lost at reboot)"
    if assignment.source.startswith("/run/"):
        return "a runtime drop-in under /run (lost at reboot)"
    return "the unit configuration"
