"""The memory a container may use: its own memory cgroup's limit and usage.

Inside a container `/proc/meminfo` is the host's (unless LXCFS stands in for it), so the
container's headroom is its cgroup limit less its working set. Where that cgroup is depends on
how the runtime set the container up:

- a cgroup namespace (cgroup v2 with `--cgroupns private`, Docker's default on v2): the
  container sees its own cgroup as the root of /sys/fs/cgroup, which then has `memory.current`
  and `memory.max` (a true root has neither);
- cgroup v1 (Docker, containerd): the runtime mounts the container's own memory cgroup at
  /sys/fs/cgroup/memory, so that "root" has a limit, and `memory.stat`'s
  `hierarchical_memory_limit` also carries a limit set on a parent (a Kubernetes pod);
- the host's hierarchy in full (v2 `--cgroupns host`, privileged containers): the container's
  cgroup is PID 1's, as `/proc/1/cgroup` names it.
"""

from __future__ import annotations

from dataclasses import dataclass

from memcheck.errors import MISSING, ParseError, Unavailable
from memcheck.facts.cgroup import CGROUP_ROOT, Cgroup, CgroupFacts, MemoryHierarchy

CONTAINER_READS = ("/proc/1/cgroup",)


@dataclass(frozen=True)
class ContainerMemory:
    """A container's own memory cgroup and the lowest limit on it.

    `cgroup` is None when the snapshot shows no memory cgroup for the container; it is the
    true root when PID 1 runs there. `limit_bytes` None means no limit is set. `problem` says
    why the container's limit or usage is unknown (files unread or unreadable); `note` why no
    memory cgroup can exist to see (no memory controller), so the host's numbers are all.
    """

    basis: str
    cgroup: Cgroup | None
    limit_bytes: int | None = None
    limit_source: str | None = None
    problem: str | None = None
    note: str | None = None

    @property
    def usage_bytes(self) -> int | None:
        return self.cgroup.usage_bytes if self.cgroup else None

    @property
    def usage_source(self) -> str | None:
        return self.cgroup.usage_path if self.cgroup else None

    @property
    def inactive_file_bytes(self) -> int | None:
        return self.cgroup.inactive_file_bytes if self.cgroup else None

    @property
    def stat_source(self) -> str | None:
        return self.cgroup.file("memory.stat") if self.cgroup else None

    @property
    def working_set_bytes(self) -> int | None:
        return self.cgroup.working_set_bytes if self.cgroup else None


def container_memory(facts: CgroupFacts) -> ContainerMemory | None:
    """The container's own memory cgroup and limit; None when the host is not a container.

    A host counts as a container when its markers say so (`facts.in_container`) or when its
    memory cgroup root is not a true root (a cgroup namespace, or v1's bind-mounted group).
    """
    try:
        groups = facts.cgroups
        hierarchy: MemoryHierarchy | None = facts.memory_hierarchy
        unknown = None
    except (Unavailable, ParseError) as exc:
        groups, hierarchy = [], None
        unknown = f"where the memory cgroup is cannot be told: {exc}"
    root = next((g for g in groups if g.path == "/"), None)
    own: Cgroup | None = None
    if root is not None and _is_own(root):
        own, basis = root, f"its memory cgroup root {root.directory} is the container's own"
    elif facts.in_container is not True:
        return None
    else:
        basis = "container markers (/.dockerenv, /run/.containerenv, /proc/1/cgroup, ...)"
        own = _pid1_cgroup(facts)
    if own is None:
        # No memory controller at all leaves the host's numbers as the only ones; a
        # controller whose files were not read leaves the container's limit unknown.
        if hierarchy is not None and hierarchy.problem is not None:
            return ContainerMemory(basis, None, note=hierarchy.problem)
        unread = _problems(root, root.limit_source, root.file("memory.stat")) if root else None
        if unknown is None and unread is None:
            if not groups:
                where = hierarchy.root if hierarchy and hierarchy.root else CGROUP_ROOT
                unknown = f"no memory cgroup file under {where} was read"
            else:
                unknown = "PID 1's memory cgroup is not known (/proc/1/cgroup was not read)"
        why = "; ".join(x for x in (unknown or unread, _unread_inputs(facts)) if x)
        return ContainerMemory(basis, None, problem=why)
    limit, source = _lowest_limit(facts, own)
    return ContainerMemory(
        basis, own, limit, source, _problems(own, own.limit_source, own.usage_path)
    )


def _unread_inputs(facts: CgroupFacts) -> str | None:
    """What the collection could not read of the files that locate the container's cgroup."""
    roots = ("/proc/mounts", "/proc/1/cgroup", CGROUP_ROOT)
    found = [
        f"{path}: {reason}"
        for path, reason in sorted(facts.snapshot.errors.items())
        if reason != MISSING
        and any(path == r or path.startswith(r + "/") or r.startswith(path + "/") for r in roots)
    ]
    if not found:
        return None
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    return "could not read " + ", ".join(found[:3]) + more


def _is_own(root: Cgroup) -> bool:
    if not root.is_root:
        return True
    stat = root.stat
    return root.version == "v1" and stat is not None and stat.hierarchical_limit_bytes is not None


def _pid1_cgroup(facts: CgroupFacts) -> Cgroup | None:
    init = next((p for p in facts.processes if p.pid == 1), None)
    if init is None:
        return None
    try:
        group = facts.cgroup_of_process(init)
    except (Unavailable, ParseError):
        return None
    return group


def _lowest_limit(facts: CgroupFacts, own: Cgroup) -> tuple[int | None, str | None]:
    """The lowest limit on the container's cgroup and the ancestors the snapshot shows: a
    parent's limit (a pod's) binds the container as much as its own."""
    found: list[tuple[int, str]] = []
    group: Cgroup | None = own
    while group is not None and not group.is_root:
        if group.limit is not None and group.limit.limit_bytes is not None:
            found.append((group.limit.limit_bytes, group.limit_source))
        parent = group.parent_path
        group = facts.cgroup_by_path(parent) if parent is not None else None
    if own.stat is not None and own.stat.hierarchical_limit_bytes is not None:
        found.append((own.stat.hierarchical_limit_bytes, own.file("memory.stat")))
    if not found:
        return None, None
    return min(found, key=lambda item: item[0])  # the first (its own) on a tie


def _problems(group: Cgroup, *paths: str) -> str | None:
    """The group's read problems for these files, and its directory's if it could not be
    listed."""
    wanted = paths
    found = [f"{p}: {group.problems[p]}" for p in wanted if p in group.problems]
    listing = group.problems.get(group.directory)
    if listing and group.directory not in wanted:
        found.append(f"{group.directory}: {listing}")
    return "; ".join(found) or None
