"""Partial data is never a pass (issue 12): each input of each check, made unreadable in turn.

For every scenario tree in tests/hosts/ and every check its profiles select, each path the
check reads (its `META.reads` expanded through the snapshot, plus what the check was seen to
read) is moved from the snapshot's files into its read errors as "permission denied", a
folder with its whole tree, as the collection script records a folder it could not list.
The check must then not pass, unless it can prove compliance without that input (the short
allow-list below says why for each such pair), and an `error` or `skip` it ends in must say
what could not be read. A `skip` the check already gave with every file readable stands: the
check did not apply before anything was taken away.

Per-process files are sampled (the first and last process, the processes the check's own
evidence names, and every process at once), which keeps the whole file to a few seconds.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memcheck.collect.script import expand_braces, split_read
from memcheck.engine import SUDO_HINT, judge_one
from memcheck.errors import Unavailable
from memcheck.facts import Facts
from memcheck.model import Outcome, ParamValue
from memcheck.profile import load_profiles
from memcheck.registry import Check, builtin_checks
from memcheck.runner import Audit, ProfilePlan, parse_targets
from memcheck.snapshot import KERNEL_LOG, Snapshot
from tests.snapshots import facts_from, snapshot_from

HOSTS = Path(__file__).parent / "hosts"
SCENARIOS = sorted(p.name for p in HOSTS.iterdir() if (p / "expected.json").is_file())
DENIED = "permission denied"
LISTING_DENIED = "permission denied (cannot list the directory)"
# What dmesg says under kernel.dmesg_restrict=1 (and journalctl outside the journal's group).
LOG_DENIED = (
    "dmesg: read kernel buffer failed: Operation not permitted; journalctl: No journal files "
    "were opened due to insufficient permissions"
)
SAYS_WHY = ("permission denied", "not permitted", "cannot read", "cannot list", "not readable")

# (check, path glob) -> why the check may pass without that path. Only inputs that add
# evidence or that another input makes redundant belong here.
MAY_PASS_WITHOUT: dict[tuple[str, str], str] = {
    # The summed SwapTotal of /proc/meminfo decides; /proc/swaps only names the areas.
    ("swap_configured", "/proc/swaps"): "SwapTotal in /proc/meminfo decides",
    # Read for the advice given to a cgroup v1 host; a v2 host passes on /proc/mounts alone.
    ("cgroup_v2", "/proc/cmdline"): "advice for v1 hosts only",
    ("cgroup_v2", "/proc/filesystems"): "advice for v1 hosts only",
    # Without /proc/mounts the files collected under /sys/fs/cgroup show the hierarchy.
    ("cgroup_memory_headroom", "/proc/mounts"): "the cgroup files show the hierarchy",
    ("cgroup_oom_events", "/proc/mounts"): "the cgroup files show the hierarchy",
    # memory.high is shown, not judged; without memory.stat the working set is taken as the
    # whole usage, an upper bound; usage of a cgroup without a limit is not judged (the v2
    # root's comes from /proc/meminfo, and these slices of the scenarios have no limit).
    ("cgroup_memory_headroom", "/sys/fs/cgroup/*/memory.high"): "shown, not judged",
    ("cgroup_memory_headroom", "/sys/fs/cgroup/*/memory.stat"): "usage is an upper bound",
    ("cgroup_memory_headroom", "/proc/meminfo"): "usage of the unlimited v2 root",
    ("cgroup_memory_headroom", "/sys/fs/cgroup/system.slice/memory.current"): "no limit",
    (
        "cgroup_memory_headroom",
        "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/memory.current",
    ): "no limit",
    ("cgroup_oom_events", "/proc/meminfo"): "usage of the v2 root, not an event count",
    # The boot value comes from the configuration or the kernel's default; the runtime value
    # only says whether it reverts at reboot (where it is the boot value, it must be read).
    ("sysctl_persisted", "/proc/sys/vm/*"): "the boot value does not depend on it",
    # Mode 0 and 1 need no commit accounting; mode 2 does (and errors without it).
    ("overcommit_memory", "/proc/meminfo"): "commit figures are judged in mode 2 only",
    # The other THP file of the pair, and the release, are not what these two judge.
    ("thp_enabled", "/sys/kernel/mm/transparent_hugepage/defrag"): "the defrag file",
    ("thp_enabled", "/proc/sys/kernel/osrelease"): "not used to judge the mode",
    ("thp_defrag", "/sys/kernel/mm/transparent_hugepage/enabled"): "the enabled file",
    ("thp_defrag", "/proc/sys/kernel/osrelease"): "not used to judge the mode",
    # thp_persisted judges the boot value; the runtime files only show THP is compiled in,
    # which their folder shows too.
    ("thp_persisted", "/sys/kernel/mm/transparent_hugepage*"): "the folder shows THP is built in",
    # The kernel log decides; the oom_kill counter is its documented fallback, and the
    # uptime only places kills in time (none are in these logs).
    ("oom_kills", "/.memcheck/kernel.log"): "/proc/vmstat oom_kill 0 since boot proves it",
    ("oom_kills", "/proc/vmstat"): "the kernel log lists every kill",
    ("oom_kills", "/proc/uptime"): "no kill in the log to place in time",
    ("drop_caches_scheduled", "/proc/uptime"): "no drop_caches write in the log to place",
    # The pressure figures decide; the command line and kernel build only explain an absence.
    ("psi_memory", "/proc/cmdline"): "explains an absent PSI only",
    ("psi_memory", "/proc/sys/kernel/osrelease"): "explains an absent PSI only",
    ("psi_memory", "/boot/config-*"): "explains an absent PSI only",
    # A service's processes are found by comm or by status Name (either will do); cmdline
    # (kernel threads) and cgroup (the unit) only refine that. Their oom_score_adj, and the
    # PPid postmaster_oom needs, end in error when unreadable.
    ("oom_protected_services", "/proc/[0-9]*/comm"): "status Name gives the name",
    ("oom_protected_services", "/proc/[0-9]*/status"): "comm gives the name",
    ("oom_protected_services", "/proc/[0-9]*/cmdline"): "not needed to find the service",
    ("oom_protected_services", "/proc/[0-9]*/cgroup"): "not needed to find the service",
    ("postmaster_oom", "/proc/[0-9]*/comm"): "status Name gives the name",
    ("postmaster_oom", "/proc/[0-9]*/cmdline"): "evidence only",
    ("postmaster_oom", "/proc/<other>/status"): "comm gives the name; not a postgres process",
    # The unit file only says whether the value is persisted (evidence); the running
    # process's oom_score_adj decides.
    ("oom_protected_services", "*/systemd/system*"): "evidence: OOMScoreAdjust= in the unit",
    # A service that no timer starts schedules nothing; a timer, its drop-ins, its service
    # and every folder of units end in error when unreadable.
    ("drop_caches_scheduled", "*.service"): "a service no timer starts",
    ("drop_caches_scheduled", "*.service.d/*.conf"): "a drop-in of a service no timer starts",
    # With a unit writing the modes at boot, the command line and the built-in default are
    # overridden; with a boot loader configuration, the running command line is not reused.
    ("thp_persisted", "/boot/config-*"): "the command line or a unit sets the mode",
    ("thp_persisted", "/etc/default/grub"): "a unit writes the modes at boot",
    ("thp_persisted", "/proc/cmdline"): "the boot loader configuration gives the next one",
    # Outside a container the host's /proc/meminfo decides; the mounts and cgroup files tell
    # memory_available whether (and where) a container's own limit applies.
    ("memory_available", "/proc/mounts"): "not in a container",
    ("memory_available", "/sys/fs/cgroup*"): "not in a container",
    # The per-process tables are the runbook's evidence; the host-wide figures decide.
    ("memory_available", "/proc/[0-9]*"): "evidence: the largest processes",
    ("swap_activity", "/proc/[0-9]*"): "evidence: who holds swap",
    # The interval falls back to host.json's sample_interval_seconds.
    ("swap_activity", "/proc/uptime"): "host.json gives the interval",
}

WILD = re.compile(r"[*?\[]")
PID = re.compile(r"^/proc/(\d+)(?=/|$)")
MAX_PIDS_FROM_EVIDENCE = 4
OTHER = "/proc/<other>"
IDENTITY = ("/proc/<pid>", "/proc/<pid>/comm", "/proc/<pid>/status")


class RecordingSnapshot(Snapshot):
    """A snapshot that remembers which paths were read (the check's actual inputs)."""

    def __init__(self, base: Snapshot) -> None:
        super().__init__(base.info, base.files, base.links, base.dirs)
        self.seen: set[str] = set()

    def read(self, path: str) -> bytes:
        self.seen.add(path)
        return super().read(path)


@dataclasses.dataclass
class Run:
    scenario: str
    profiles: list[str]
    snapshot: Snapshot
    selection: dict[str, dict[str, Any]]
    checks: list[tuple[Check, dict[str, ParamValue]]]


def runs_of(scenario: str) -> Iterator[Run]:
    checks = builtin_checks()
    expected = json.loads((HOSTS / scenario / "expected.json").read_text())
    for spec in expected.get("runs", [expected]):
        profiles: list[str] = spec["profiles"]
        targets = parse_targets([], [str(HOSTS / scenario)])
        if "auto" in profiles:
            plan = ProfilePlan(profiles, checks)
            audit = Audit(plan.candidates()[0], checks, targets, plan=plan)
        else:
            audit = Audit(load_profiles(profiles, checks), checks, targets)
        host = audit.gather()[0]
        assert host.snapshot is not None and host.facts is not None, host.error
        profile = host.profile or audit.profile
        selected = [
            (checks[c], dict(profile.params.get(c, checks[c].meta.defaults())))
            for c in profile.selected
        ]
        yield Run(scenario, profiles, host.snapshot, dict(host.facts.selection), selected)


def declared_patterns(check: Check) -> list[str]:
    return [p for spec in check.meta.reads for p in expand_braces(split_read(spec)[0])]


def inputs(snapshot: Snapshot, check: Check, seen: set[str]) -> set[str]:
    """The paths the snapshot holds that the check reads, with the folders they are in."""
    found: set[str] = set()
    held = {*snapshot.files, *snapshot.links}
    for pattern in declared_patterns(check):
        if not WILD.search(pattern):
            if pattern in held or pattern in snapshot.dirs:
                found.add(pattern)
            continue
        parts = pattern.split("/")
        first = next(i for i, part in enumerate(parts) if WILD.search(part))
        top = "/".join(parts[:first]) or "/"
        if top.count("/") >= 2 and top in snapshot.dirs:
            found.add(top)  # the folder a glob lists (/etc/cron.d, /sys/fs/cgroup)
        for match in snapshot.glob(pattern):
            found.add(match)
            folder = match.rsplit("/", 1)[0]
            while folder.startswith(top + "/"):  # every folder between (/proc/<pid>)
                found.add(folder)
                folder = folder.rsplit("/", 1)[0]
    # Reads the check makes beyond what it declares (a script a cron line runs, the runtime
    # sysctl values sysctl_persisted compares); not the per-process and per-cgroup files a
    # fact reads in bulk to find the few it needs.
    found.update(
        p for p in seen if p in held and not PID.match(p) and not p.startswith("/sys/fs/cgroup/")
    )
    if KERNEL_LOG in declared_patterns(check):
        found.add(KERNEL_LOG)
    return found


def evidence_pids(outcome: Outcome) -> list[int]:
    pids = [e.get("pid") for e in outcome.evidence]
    return [p for p in pids if isinstance(p, int)][:MAX_PIDS_FROM_EVIDENCE]


def mutations(paths: set[str], named_pids: list[int]) -> list[tuple[str, ...]]:
    """Each path alone, except per-process paths. Of those, for each kind (`/proc/<pid>/comm`):
    the processes the check's evidence names, and all processes at once; and for what tells
    which process it is (its folder, comm, status), also the first and last process. Other
    files of a process the check does not look at cannot change its verdict."""
    single: list[tuple[str, ...]] = []
    per_kind: dict[str, list[str]] = {}
    for path in sorted(paths):
        match = PID.match(path)
        if match is None:
            single.append((path,))
        else:
            per_kind.setdefault(PID.sub("/proc/<pid>", path), []).append(path)
    for kind, group in per_kind.items():
        group.sort(key=pid_of)
        chosen = {p for p in group if pid_of(p) in named_pids}
        if kind in IDENTITY:
            chosen.update((group[0], group[-1]))
        single.extend((p,) for p in sorted(chosen, key=pid_of))
        if len(group) > 1:
            single.append(tuple(group))
    return single


def pid_of(path: str) -> int:
    match = PID.match(path)
    assert match is not None
    return int(match.group(1))


def deny(snapshot: Snapshot, paths: tuple[str, ...]) -> Snapshot:
    """A copy of the snapshot in which `paths` could not be read (folders: not listed)."""
    files, links = dict(snapshot.files), dict(snapshot.links)
    dirs, errors = set(snapshot.dirs), dict(snapshot.errors)
    for path in paths:
        if path == KERNEL_LOG:
            files.pop(path, None)
            errors[path] = LOG_DENIED
        elif path in dirs:
            below = path + "/"
            for table in (files, links, errors):
                for key in [k for k in table if k.startswith(below)]:
                    del table[key]
            dirs = {d for d in dirs if not d.startswith(below)}
            errors[path] = LISTING_DENIED
        else:
            files.pop(path, None)
            links.pop(path, None)
            errors[path] = DENIED
    return Snapshot(dataclasses.replace(snapshot.info, errors=errors), files, links, dirs)


def allowances(
    check: str, paths: tuple[str, ...], named_pids: list[int]
) -> set[tuple[str, str]] | None:
    """The allow-list entries covering every path, or None when one path has none.
    `/proc/<other>/...` covers only processes the check's evidence does not name."""
    keys: set[tuple[str, str]] = set()
    for path in paths:
        covering = set()
        for c, key in MAY_PASS_WITHOUT:
            glob = key
            if c != check:
                continue
            if key.startswith(OTHER):
                match = PID.match(path)
                if match is None or int(match.group(1)) in named_pids:
                    continue
                glob = "/proc/[0-9]*" + key[len(OTHER) :]
            if fnmatch.fnmatchcase(path, glob):
                covering.add((c, key))
        if not covering:
            return None
        keys |= covering
    return keys


def label(paths: tuple[str, ...]) -> str:
    if len(paths) == 1:
        return paths[0]
    return f"all {len(paths)} of {PID.sub('/proc/<pid>', paths[0])}"


@functools.cache
def scan(scenario: str) -> tuple[tuple[str, ...], frozenset[tuple[str, str]]]:
    """Every (check, unreadable input) of one scenario that passes or gives no reason, and
    the allow-list entries that let a check pass."""
    found: list[str] = []
    used: set[tuple[str, str]] = set()
    for run in runs_of(scenario):
        where = f"{scenario} [{'+'.join(run.profiles)}]"
        for check, params in run.checks:
            recording = RecordingSnapshot(run.snapshot)
            before = judge_one(check, Facts(recording, run.selection), params)
            named = evidence_pids(before)
            for paths in mutations(inputs(run.snapshot, check, recording.seen), named):
                got = judge_one(check, Facts(deny(run.snapshot, paths), run.selection), params)
                what = f"{where} {check.id}, {label(paths)} unreadable"
                if got.outcome == "pass":
                    keys = allowances(check.id, paths, named)
                    if keys is None:
                        found.append(f"{what}: pass: {got.message[:200]}")
                    else:
                        used.update(keys)
                elif got.outcome in ("error", "skip") and not says_why(got.message, paths):
                    # The same error as with every file readable (a malformed file), or a
                    # skip given before: that reason stands.
                    same = got.outcome == before.outcome and got.message == before.message
                    if not same and not (got.outcome == "skip" and before.outcome == "skip"):
                        found.append(f"{what}: {got.outcome} without the reason: {got.message}")
    return tuple(found), frozenset(used)


def says_why(message: str, paths: tuple[str, ...]) -> bool:
    lowered = message.lower()
    return any(p in message for p in paths) or any(w in lowered for w in SAYS_WHY)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_check_passes_on_an_unreadable_input(scenario: str) -> None:
    found = scan(scenario)[0]
    assert not found, f"{len(found)} defects:\n" + "\n".join(found[:40])


def test_every_allowance_is_used() -> None:
    """An allow-list entry that no scenario needs any more is dropped, not kept for luck."""
    used: set[tuple[str, str]] = set()
    for scenario in SCENARIOS:
        used |= scan(scenario)[1]
    assert set(MAY_PASS_WITHOUT) - used == set()


def test_deny_hides_a_folder_and_everything_below_it() -> None:
    run = next(runs_of("cron-drop-caches"))
    denied = deny(run.snapshot, ("/etc/cron.d",))
    assert denied.errors["/etc/cron.d"] == LISTING_DENIED
    assert denied.glob("/etc/cron.d/*") == []
    assert "/etc/cron.d" in denied.dirs
    assert run.snapshot.glob("/etc/cron.d/*")  # the original is untouched
    assert "/etc/cron.d" not in run.snapshot.errors


# -- the cases the scenarios do not hold ------------------------------------------------------

CHECKS = builtin_checks()
NO_DROPS_LOGGED = {
    KERNEL_LOG: "[    0.000000] Linux version 6.1.0-25-amd64\n",
    "/proc/uptime": "3600.00 7000.00\n",
}
CRONTAB = "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"


def verdict(check: str, files: dict[str, str], **kwargs: Any) -> Outcome:
    params = CHECKS[check].meta.defaults()
    params.update(kwargs.pop("params", {}))
    return judge_one(CHECKS[check], facts_from(files, **kwargs), params)


def test_a_file_below_an_unlisted_folder_is_unreadable_not_missing() -> None:
    facts = facts_from({"/etc/crontab": CRONTAB}, errors={"/etc/cron.d": LISTING_DENIED})
    with pytest.raises(Unavailable) as raised:
        facts.optional_text("/etc/cron.d/nightly")
    assert raised.value.denied and "/etc/cron.d" in raised.value.reason
    assert facts.optional_text("/etc/cron.weekly/x") is None  # its folder was listed


def test_drop_caches_errors_on_an_unreadable_kernel_log_with_the_sudo_hint() -> None:
    got = verdict(
        "drop_caches_scheduled", {"/etc/crontab": CRONTAB}, errors={KERNEL_LOG: LOG_DENIED}
    )
    assert got.outcome == "error"
    assert "kernel log" in got.message and "Operation not permitted" in got.message
    assert SUDO_HINT in got.message
    assert (
        verdict("drop_caches_scheduled", {"/etc/crontab": CRONTAB, **NO_DROPS_LOGGED}).outcome
        == "pass"
    )


@pytest.mark.parametrize(
    "hidden",
    [
        "/etc/systemd/system/cache-drop.timer",  # the timer itself
        "/etc/systemd/system/timers.target.wants",  # which timers run
        "/usr/local/sbin/drop.sh",  # the script a cron line runs
        "/var/spool/cron/crontabs",  # the users' crontabs (0730 root:crontab on Debian)
    ],
)
def test_drop_caches_errors_when_a_schedule_could_hide_there(hidden: str) -> None:
    files = {
        "/etc/crontab": CRONTAB + "0 3 * * * root /usr/local/sbin/drop.sh\n",
        "/usr/local/sbin/drop.sh": "#!/bin/sh\nlogger nightly\n",
        "/etc/systemd/system/cache-drop.timer": "[Timer]\nOnCalendar=daily\n",
        "/etc/systemd/system/cache-drop.service": "[Service]\nExecStart=/bin/true\n",
        "/etc/systemd/system/timers.target.wants/cache-drop.timer": "",
        "/var/spool/cron/crontabs/.placeholder": "",
        **NO_DROPS_LOGGED,
    }
    assert verdict("drop_caches_scheduled", files).outcome == "pass"
    denied = deny(snapshot_from(files), (hidden,))
    params = CHECKS["drop_caches_scheduled"].meta.defaults()
    got = judge_one(CHECKS["drop_caches_scheduled"], Facts(denied), params)
    assert got.outcome == "error" and hidden in got.message, got.message
    assert SUDO_HINT in got.message


def proc(pid: int, comm: str, ppid: int, adj: int) -> dict[str, str]:
    return {
        f"/proc/{pid}/comm": comm + "\n",
        f"/proc/{pid}/status": f"Name:\t{comm}\nPid:\t{pid}\nPPid:\t{ppid}\nVmRSS:\t 800 kB\n",
        f"/proc/{pid}/oom_score_adj": f"{adj}\n",
        f"/proc/{pid}/cmdline": f"/usr/sbin/{comm}\0",
    }


@pytest.mark.parametrize("sshd_visible", [True, False])
def test_a_process_that_cannot_be_identified_keeps_service_checks_from_passing(
    sshd_visible: bool,
) -> None:
    """/proc/<pid> of another user under hidepid=1: listed in /proc, not searchable."""
    files = {**proc(1, "systemd", 0, 0), **proc(900, "postgres", 1, -1000)}
    if sshd_visible:
        files.update(proc(812, "sshd", 1, -1000))
    errors = {"/proc/4242": LISTING_DENIED}
    for check in ("oom_protected_services", "postmaster_oom"):
        got = verdict(check, files, errors=errors)
        assert got.outcome == "error", (check, got.message)
        assert "/proc/4242" in got.message and SUDO_HINT in got.message
    got = verdict("oom_protected_services", files)
    assert got.outcome == ("pass" if sshd_visible else "skip")


def test_thp_persisted_errors_when_an_enabled_unit_cannot_be_read() -> None:
    thp = "/sys/kernel/mm/transparent_hugepage"
    files = {
        f"{thp}/enabled": "always madvise [never]\n",
        f"{thp}/defrag": "always defer defer+madvise madvise [never]\n",
        "/proc/sys/kernel/osrelease": "6.1.0-25-amd64\n",
        "/proc/cmdline": "BOOT_IMAGE=/vmlinuz ro transparent_hugepage=never\n",
        "/proc/1/comm": "systemd\n",
        "/etc/systemd/system/thp.service": "[Service]\nExecStart=/usr/local/sbin/thp\n",
        "/etc/systemd/system/multi-user.target.wants/thp.service": "",
        "/usr/local/sbin/thp": "#!/bin/sh\necho never > /sys/kernel/mm/transparent_hugepage/defrag\n",
    }
    assert verdict("thp_persisted", files).outcome == "pass"
    for hidden in ("/etc/systemd/system/thp.service", "/usr/local/sbin/thp"):
        got = verdict("thp_persisted", files, errors={hidden: DENIED})
        # Not a fail either: what it would write at boot is unknown.
        assert got.outcome == "error" and hidden in got.message, got.message
    got = verdict("thp_persisted", files, errors={"/proc/cmdline": DENIED})
    assert got.outcome == "error" and "/proc/cmdline" in got.message


def test_psi_memory_errors_when_a_cgroup_folder_cannot_be_listed() -> None:
    pressure = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
    full = pressure.replace("some", "full")
    files = {
        "/proc/pressure/memory": pressure + full,
        "/sys/fs/cgroup/system.slice/memory.pressure": pressure + full,
    }
    assert verdict("psi_memory", files).outcome == "pass"
    got = verdict("psi_memory", files, errors={"/sys/fs/cgroup/user.slice": LISTING_DENIED})
    assert got.outcome == "error" and "/sys/fs/cgroup/user.slice" in got.message


def test_cgroup_checks_error_when_the_hierarchy_cannot_be_listed() -> None:
    files = {
        "/proc/mounts": "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n",
        "/proc/meminfo": "MemTotal: 1000 kB\nMemFree: 500 kB\n",
    }
    for check in ("cgroup_memory_headroom", "cgroup_oom_events"):
        got = verdict(check, files, errors={"/sys/fs/cgroup": LISTING_DENIED})
        assert got.outcome == "error" and "/sys/fs/cgroup" in got.message, got.message


@pytest.mark.parametrize(
    ("check", "params"),
    [
        ("oom_protected_services", {}),
        ("postmaster_oom", {}),
        ("numa_policy", {}),
        ("service_memory_limits", {"services": ["redis-server"]}),
    ],
)
def test_hidepid_is_not_taken_for_not_running(check: str, params: dict[str, Any]) -> None:
    """With /proc mounted hidepid=2, other users' processes are simply absent."""
    node = "/sys/devices/system/node"
    files = {
        **proc(1, "systemd", 0, 0),
        "/proc/mounts": "proc /proc proc rw,nosuid,nodev,noexec,relatime,hidepid=invisible 0 0\n"
        "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n",
        "/sys/fs/cgroup/system.slice/memory.max": "max\n",
        f"{node}/online": "0-1\n",
        f"{node}/possible": "0-1\n",
        f"{node}/has_memory": "0-1\n",
        f"{node}/node0/meminfo": "Node 0 MemTotal: 1000 kB\nNode 0 MemFree: 500 kB\n",
        f"{node}/node1/meminfo": "Node 1 MemTotal: 1000 kB\nNode 1 MemFree: 500 kB\n",
    }
    got = verdict(check, files, params=params)
    assert got.outcome == "error", got.message
    assert "hidepid=invisible" in got.message and SUDO_HINT in got.message
