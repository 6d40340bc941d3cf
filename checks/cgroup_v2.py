"""The host runs the unified cgroup hierarchy (cgroup v2), not v1 or the hybrid layout."""

from __future__ import annotations

from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
from memcheck.model import JSON, CheckMeta, Outcome, Params, ev

META = CheckMeta(
    id="cgroup_v2",
    title="The unified cgroup hierarchy (cgroup v2) is in use",
    area="cgroup",
    severity="low",
    rationale=(
        "Only cgroup v2 charges kernel memory, socket buffers and page-cache writeback to the "
        "right cgroup, offers memory.high throttling, pressure information (PSI) per cgroup "
        "and reliable OOM events, and is what current Kubernetes memory features need. "
        "systemd 256 deprecated v1 and hybrid hierarchies and later releases drop them, so a "
        "v1 host is also a host that cannot take current systemd."
    ),
    remediation=(
        "Boot with the unified hierarchy: add systemd.unified_cgroup_hierarchy=1 to the "
        "kernel command line (grubby --update-kernel=ALL --args=systemd.unified_cgroup_"
        "hierarchy=1 on RHEL, or GRUB_CMDLINE_LINUX in /etc/default/grub then update-grub), "
        "remove any systemd.unified_cgroup_hierarchy=0 or systemd.legacy_systemd_cgroup_"
        "controller, and reboot. Kernels without cgroup2 (before 4.5; Kubernetes wants 5.8 "
        "or later) need an upgrade first. Check that container runtimes and agents support v2."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/cgroup-v2.html",
        "https://kubernetes.io/docs/concepts/architecture/cgroups/",
        "https://github.com/systemd/systemd/blob/main/NEWS",
        "https://man7.org/linux/man-pages/man1/systemd.1.html",
    ),
    reads=("/proc/mounts", "/proc/filesystems", "/proc/cmdline"),
    params={},
)

_FORCING = ("systemd.unified_cgroup_hierarchy", "systemd.legacy_systemd_cgroup_controller")


def _kernel_support(facts: Facts) -> str:
    supported = facts.cgroup2_supported
    if supported is None:
        return "whether the kernel supports cgroup2 is unknown (/proc/filesystems not read)"
    if supported:
        return (
            "the kernel supports cgroup2 (/proc/filesystems lists it), so booting with "
            "systemd.unified_cgroup_hierarchy=1 is enough"
        )
    return "the kernel does not support cgroup2 (not in /proc/filesystems): upgrade the kernel"


def _cmdline_note(facts: Facts) -> str | None:
    try:
        cmdline = facts.kernel_cmdline
    except (Unavailable, ParseError):
        return None
    found = [f"{k}={cmdline.get(k)}" if cmdline.get(k) else k for k in _FORCING if cmdline.has(k)]
    return f"the kernel command line sets {', '.join(found)}" if found else None


def judge(facts: Facts, params: Params) -> Outcome:
    mounts = facts.mounts  # unreadable /proc/mounts ends in error, not in a guess
    mode = facts.cgroup_mode
    cgroup_mounts = [m for m in mounts if m.fstype in ("cgroup", "cgroup2")]
    evidence: list[dict[str, JSON]] = [
        ev(
            f"{m.fstype} on {m.mountpoint} ({','.join(m.options)})",
            source="/proc/mounts",
            fstype=m.fstype,
            mountpoint=m.mountpoint,
        )
        for m in cgroup_mounts[:20]
    ]
    if mode is None:
        return Outcome.skipped("no cgroup file system is mounted", evidence)
    where = "" if not facts.in_container else " (seen from inside a container)"
    if mode == "v2":
        point = next(m.mountpoint for m in cgroup_mounts if m.fstype == "cgroup2")
        return Outcome.passed(f"unified hierarchy: cgroup2 on {point}{where}", mode, "v2", evidence)
    support = _kernel_support(facts)
    evidence.append(
        ev(support, source="/proc/filesystems", cgroup2_supported=facts.cgroup2_supported)
    )
    note = _cmdline_note(facts)
    if note:
        evidence.append(ev(note, source="/proc/cmdline"))
    layout = (
        "hybrid: the controllers are on cgroup v1, cgroup2 only tracks systemd's processes"
        if mode == "hybrid"
        else "cgroup v1 only"
    )
    extra = f"; {note}" if note else ""
    return Outcome.failed(f"{layout}{where}; {support}{extra}", mode, "v2", evidence)
