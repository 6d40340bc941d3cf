"""Process facts: every `/proc/<pid>/` directory the snapshot holds, parsed leniently.

Command lines come with their secrets masked (`memcheck.secrets`).

One odd or vanished process must not hide the others, so per-process read and parse problems
are kept on the process (`problems`) instead of raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from memcheck.errors import ParseError, Unavailable
from memcheck.facts.base import FactsBase, cached
from memcheck.parse import proc_pid
from memcheck.parse.proc_pid import CgroupEntry, ProcStatus
from memcheck.secrets import mask_argv

# ASCII digits, no more than a pid can have (pid_max is at most 4194304): a longer name is not
# a process, and int() of thousands of digits raises.
_PID_DIR = re.compile(r"^/proc/([0-9]{1,10})/")


@dataclass
class Process:
    """What the snapshot says about one process. Absent files are None."""

    pid: int
    comm: str | None = None
    status: ProcStatus | None = None
    oom_score_adj: int | None = None
    cgroup: tuple[CgroupEntry, ...] | None = None
    cmdline: tuple[str, ...] | None = None
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """comm, else the status Name, else the pid in brackets."""
        if self.comm is not None:
            return self.comm
        if self.status is not None:
            return self.status.name
        return f"[{self.pid}]"

    @property
    def ppid(self) -> int | None:
        return self.status.ppid if self.status else None

    @property
    def unit(self) -> str | None:
        return proc_pid.unit_of(self.cgroup) if self.cgroup else None

    @property
    def is_kernel_thread(self) -> bool:
        """Kernel threads have an empty cmdline and no memory of their own."""
        return self.cmdline == () and (self.status is None or self.status.vm_rss_bytes is None)

    @property
    def vm_rss_bytes(self) -> int | None:
        return self.status.vm_rss_bytes if self.status else None

    @property
    def vm_swap_bytes(self) -> int | None:
        return self.status.vm_swap_bytes if self.status else None


class ProcessFacts(FactsBase):
    """`facts.processes`, `facts.processes_named(...)`."""

    @property
    @cached
    def process_pids(self) -> list[int]:
        pids = set()
        for path in [*self.snapshot.files, *self.snapshot.dirs, *self.snapshot.errors]:
            match = _PID_DIR.match(path + "/")
            if match:
                pids.add(int(match.group(1)))
        return sorted(pids)

    @property
    @cached
    def processes(self) -> list[Process]:
        """Every process in the snapshot, by pid."""
        return [self._process(pid) for pid in self.process_pids]

    def _process(self, pid: int) -> Process:
        proc = Process(pid)
        base = f"/proc/{pid}/"

        def read(name: str) -> str | None:
            try:
                return self.snapshot.read_text(base + name)
            except Unavailable as exc:
                if not exc.missing:
                    proc.problems[base + name] = exc.reason
                return None

        try:
            comm = read("comm")
            proc.comm = comm[:-1] if comm and comm.endswith("\n") else comm
            text = read("status")
            proc.status = proc_pid.parse_status(text, base + "status") if text is not None else None
            text = read("oom_score_adj")
            if text is not None:
                proc.oom_score_adj = proc_pid.parse_oom_score_adj(text, base + "oom_score_adj")
            else:
                legacy = read("oom_adj")  # kernels up to 2.6.35 have only oom_adj
                if legacy is not None:
                    value = proc_pid.parse_oom_adj(legacy, base + "oom_adj")
                    proc.oom_score_adj = proc_pid.oom_adj_to_score_adj(value)
            text = read("cgroup")
            proc.cgroup = proc_pid.parse_cgroup(text, base + "cgroup") if text is not None else None
        except ParseError as exc:
            proc.problems[exc.source] = exc.problem
        try:
            # Masked here too (snapshots are masked when collected and loaded): whatever
            # shows a process's arguments, in any check, shows them masked.
            argv = proc_pid.parse_cmdline(self.snapshot.read(base + "cmdline"))
            proc.cmdline = tuple(mask_argv(argv)) if argv else argv
        except Unavailable as exc:
            if not exc.missing:
                proc.problems[base + "cmdline"] = exc.reason
        return proc

    def processes_named(self, *names: str) -> list[Process]:
        """Processes whose comm (or status Name) is one of `names`."""
        wanted = set(names)
        return [p for p in self.processes if p.name in wanted]

    def process_problems(self, field_name: str) -> dict[str, str]:
        """Read or parse problems of one per-process file (e.g. `oom_score_adj`) by path."""
        suffix = "/" + field_name
        return {
            path: reason
            for p in self.processes
            for path, reason in p.problems.items()
            if path.endswith(suffix)
        }
