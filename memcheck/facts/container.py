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

Most of what a container sees of the kernel is the host's: every /proc/sys/vm value, THP
under /sys/kernel/mm, the counters of /proc/vmstat, /proc/pressure/memory and (without LXCFS)
/proc/meminfo and /proc/swaps. Checks that judge those say so through `seen_from_container`;
where the container has its own equivalent (OOM kills, swap allowance, memory pressure of its
cgroup) the helpers below find it.
"""

from __future__ import annotations

from dataclasses import dataclass

from memcheck.errors import MISSING, ParseError, Unavailable
from memcheck.facts.cgroup import (
    CGROUP_ROOT,
    V1_MEMORY_ROOT,
    Cgroup,
    CgroupFacts,
    MemoryHierarchy,
)
from memcheck.model import Outcome, ev
from memcheck.parse import cgroup as cg

CONTAINER_READS = ("/proc/1/cgroup",)
# A cgroup namespace's root (Docker's default on v2) is the container's own cgroup. Exact
# paths, not globs: a check that needs them only inside a container must not come to depend
# on all of /sys/fs/cgroup on a host, where its verdict never looks there.
NAMESPACE_ROOT_READS = (CGROUP_ROOT + "/memory.{current,max}",)
CONTAINER_SWAP_READS = (CGROUP_ROOT + "/memory.swap.{max,current}",)
CONTAINER_EVENT_READS = (CGROUP_ROOT + "/memory.events",)

HOST_VALUE = "host-wide value"
ON_THE_HOST = "change it on the host"
HOST_COUNTERS = "host-wide counters"
WHOLE_HOST = "they count the whole host, not only this container"


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


# -- seen from inside a container --------------------------------------------------------------


def container_basis(facts: CgroupFacts) -> str | None:
    """Why this snapshot is seen from inside a container, or None when it is a host's.

    The markers, or a cgroup root that is the container's own (a host's v2 root has no
    memory.current or memory.max; a host's v1 root has no limit). /proc/mounts is not read:
    a check that only words its message for a container must not come to depend on it.
    """
    if facts.in_container is True:
        return (
            "container markers: /.dockerenv, /run/.containerenv, /run/systemd/container or "
            "/proc/1/cgroup"
        )
    found = _namespace_root(facts)
    if found is not None:
        return f"{found} exists: {CGROUP_ROOT} is the container's own cgroup (a cgroup namespace)"
    path = V1_MEMORY_ROOT + "/memory.limit_in_bytes"
    try:
        text = facts.optional_text(path)
        limit = cg.parse_limit(text, path) if text is not None else None
    except (Unavailable, ParseError):
        limit = None
    if limit is not None and not limit.unlimited:
        return f"{path} sets a limit: {V1_MEMORY_ROOT} is the container's own memory cgroup"
    return None


def seen_from_container(
    outcome: Outcome, facts: CgroupFacts, what: str = HOST_VALUE, then: str = ON_THE_HOST
) -> Outcome:
    """The outcome, its message saying that `what` it judged is the host's when the snapshot
    is seen from inside a container ("host-wide value, seen from inside a container: change
    it on the host"). Skips and errors are left alone: nothing was judged."""
    if outcome.outcome not in ("pass", "fail"):
        return outcome
    basis = container_basis(facts)
    if basis is None:
        return outcome
    said = f"{what}, seen from inside a container: {then}"
    item = ev(f"inside a container ({basis}): {said}", in_container=True, host_wide=True)
    return outcome.replace(message=f"{outcome.message}; {said}", evidence=[*outcome.evidence, item])


def meminfo_virtualised(facts: CgroupFacts) -> bool:
    """Whether something (LXCFS) is mounted over /proc/meminfo, so that its figures are the
    container's rather than the kernel's. Raises `Unavailable`/`ParseError` when /proc/mounts
    cannot tell."""
    return any(m.mountpoint == "/proc/meminfo" for m in facts.mounts)


# -- the container's own equivalents of host-wide figures -------------------------------------


@dataclass(frozen=True)
class ContainerOomKills:
    """OOM kills counted by the container's own memory cgroup since it was created (v2
    `memory.events`, hierarchical from 5.2, so kills in its child cgroups count too; v1
    `memory.oom_control`), or why that count is unknown (`problem`)."""

    count: int | None
    source: str | None = None
    cgroup: str | None = None
    problem: str | None = None


def container_oom_kills(facts: CgroupFacts) -> ContainerOomKills:
    """The container's own OOM kill count; ask only inside a container."""
    memory = container_memory(facts)
    group, why = _own_group(facts, memory)
    if group is None:
        return ContainerOomKills(None, problem=why)
    if group.version == "v2":
        source = group.file("memory.events")
        count = group.events.get("oom_kill") if group.events is not None else None
        absent = "has no oom_kill"
    else:
        source = group.file("memory.oom_control")
        count = group.oom_control.oom_kill if group.oom_control is not None else None
        absent = "has no oom_kill (kernels before 4.13)"
    if count is not None:
        return ContainerOomKills(count, source, group.path)
    return ContainerOomKills(None, source, group.path, _file_problem(facts, group, source, absent))


@dataclass(frozen=True)
class ContainerSwap:
    """How much swap the container's own cgroup allows. `limit_bytes` None with no `problem`
    means no limit of its own (only the host's swap bounds it); `usage_bytes` is what it has
    swapped out, when known; `denied` marks a limit that could not be read."""

    limit_bytes: int | None
    source: str | None = None
    usage_bytes: int | None = None
    problem: str | None = None
    denied: bool = False


def container_swap(facts: CgroupFacts) -> ContainerSwap:
    """The container's swap allowance: v2 `memory.swap.max` of its cgroup; v1 the memory+swap
    limit (`hierarchical_memsw_limit` of memory.stat, which also carries a parent's) less the
    memory limit. Without swap accounting (no such file or key) the kernel sets no swap limit
    per cgroup. Ask only inside a container."""
    memory = container_memory(facts)
    group, why = _own_group(facts, memory)
    if group is None or memory is None:
        return ContainerSwap(None, problem=why)
    if group.version == "v1":
        return _v1_swap(group, memory.limit_bytes)
    source = group.file("memory.swap.max")
    usage = _optional_bytes(facts, group.file("memory.swap.current"))
    try:
        text = facts.text(source)
    except Unavailable as exc:
        if exc.missing and facts.snapshot.errors.get(source) == MISSING:
            # The host has no such file: swap is not accounted per cgroup (swapaccount=0, or
            # a kernel without CONFIG_MEMCG_SWAP), so only the host's swap bounds it.
            return ContainerSwap(None, source, usage)
        reason = "not collected" if exc.missing else exc.reason
        return ContainerSwap(None, source, usage, f"{source}: {reason}", exc.denied)
    try:
        limit = cg.parse_limit(text, source)
    except ParseError as exc:
        return ContainerSwap(None, source, usage, str(exc))
    return ContainerSwap(limit.limit_bytes, source, usage)


def _own_group(facts: CgroupFacts, memory: ContainerMemory | None) -> tuple[Cgroup | None, str]:
    """The memory cgroup whose counters are the container's own, or None and why not.

    On cgroup v1 runc bind-mounts the container's own group at /sys/fs/cgroup/memory, so a
    root there that PID 1's deeper path (`/docker/<id>`) does not appear below is that group,
    limited or not (a root without a limit is not otherwise told from a host's).
    """
    group = memory.cgroup if memory is not None else None
    if memory is None or group is None:
        why = (memory.problem or memory.note) if memory is not None else None
        return None, why or "its memory cgroup is not known"
    if not group.is_root:
        return group, ""
    init = next((p for p in facts.processes if p.pid == 1), None)
    path = facts.memory_cgroup_path(init) if init is not None else None
    if group.version == "v1" and path is not None and path.strip("/"):
        return group, ""
    return None, "its PID 1 runs in the root memory cgroup, which has no counters of its own"


def _v1_swap(group: Cgroup, memory_limit: int | None) -> ContainerSwap:
    source = group.file("memory.stat")
    stat = group.stat
    if stat is None:
        reason = group.problems.get(source) or group.problems.get(group.directory)
        denied = reason is not None and "denied" in reason.lower()
        return ContainerSwap(None, source, None, f"{source}: {reason or 'not collected'}", denied)
    usage = stat.get("total_swap")
    if usage is None:
        usage = stat.get("swap")
    both = stat.get("hierarchical_memsw_limit")
    if both is None or both >= cg.UNLIMITED_FLOOR or both == cg.UNLIMITED_32BIT:
        return ContainerSwap(None, source, usage)  # no swap accounting, or no memsw limit
    # memsw bounds memory and swap together: what the memory limit leaves of it can be swap.
    return ContainerSwap(max(0, both - (memory_limit or 0)), source, usage)


def container_pressure_path(facts: CgroupFacts) -> str | None:
    """The `memory.pressure` of the container's own cgroup (cgroup v2 only), or None when the
    snapshot shows none. Found without /proc/mounts: the namespace root, else PID 1's `0::`
    cgroup under the unified hierarchy."""
    if _namespace_root(facts) is not None:
        return CGROUP_ROOT + "/memory.pressure"
    init = next((p for p in facts.processes if p.pid == 1), None)
    unified = [e.path for e in (init.cgroup or ()) if e.hierarchy_id == 0] if init else []
    if not unified or not unified[0].strip("/"):
        return None
    for root in (CGROUP_ROOT, CGROUP_ROOT + "/unified"):
        path = f"{root}/{unified[0].strip('/')}/memory.pressure"
        if _held(facts, path):
            return path
    return None


def _namespace_root(facts: CgroupFacts) -> str | None:
    """The file that shows /sys/fs/cgroup is a v2 cgroup namespace's root, i.e. a container's
    own cgroup (a host's root has neither); one that could not be read exists all the same."""
    for name in ("memory.current", "memory.max"):
        path = f"{CGROUP_ROOT}/{name}"
        if _held(facts, path):
            return path
    return None


def _held(facts: CgroupFacts, path: str) -> bool:
    """The path exists on the host: collected, or recorded as unreadable (not as missing)."""
    return facts.exists(path) or facts.snapshot.errors.get(path, MISSING) != MISSING


def _optional_bytes(facts: CgroupFacts, path: str) -> int | None:
    try:
        text = facts.optional_text(path)
        return cg.parse_bytes(text, path) if text is not None else None
    except (Unavailable, ParseError):
        return None


def _file_problem(facts: CgroupFacts, group: Cgroup, source: str, absent: str) -> str:
    reason = group.problems.get(source) or group.problems.get(group.directory)
    if reason is not None:
        return f"{source}: {reason}"
    if facts.exists(source):
        return f"{source} {absent}"
    return f"{source}: not collected"
