"""Process memory facts: a sample of the largest processes, and the previous run's sample.

A leak shows as resident memory that keeps growing across days, which one look at a host
cannot tell. Each run records a sample of its largest processes in the evidence of
`process_memory_growth`; given the previous run's results.json (`--baseline`), the next run
compares the same processes (same name and command line) between the two samples.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from memcheck.errors import ParseError, Unavailable
from memcheck.facts.base import cached
from memcheck.facts.host import HostFacts
from memcheck.facts.kernel_log import parse_collected_at
from memcheck.facts.processes import ProcessFacts
from memcheck.model import JSON
from memcheck.parse.smaps import SmapsRollup, parse_smaps_rollup
from memcheck.results import HostResult
from memcheck.secrets import mask_argv, mask_text

SAMPLE_CHECK = "process_memory_growth"
SAMPLE_KIND = "process_sample"
SAMPLE_SIZE = 25
CMDLINE_CHARS = 400
PROCESS_MEMORY_READS = (
    "/proc/[0-9]*/status",
    "/proc/[0-9]*/cmdline",
    "/proc/[0-9]*/smaps_rollup",
)


@dataclass(frozen=True)
class ProcessSample:
    """One process's memory at one run; the evidence fields `process_memory_growth` records."""

    pid: int
    name: str
    cmdline: str
    rss_bytes: int
    data_bytes: int | None = None
    swap_bytes: int | None = None
    private_dirty_bytes: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        """What identifies a process across runs (a restart gives it a new pid)."""
        return self.name, self.cmdline

    def to_json(self) -> dict[str, JSON]:
        return {
            "kind": SAMPLE_KIND,
            "pid": self.pid,
            "name": self.name,
            "cmdline": self.cmdline,
            "rss_bytes": self.rss_bytes,
            "data_bytes": self.data_bytes,
            "swap_bytes": self.swap_bytes,
            "private_dirty_bytes": self.private_dirty_bytes,
        }

    @classmethod
    def from_json(cls, item: Any) -> ProcessSample | None:
        """An evidence item of a previous run, or None when it is not a usable sample."""
        if not isinstance(item, dict) or item.get("kind") != SAMPLE_KIND:
            return None

        def count(key: str) -> int | None:
            value = item.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
            return None

        pid, rss = count("pid"), count("rss_bytes")
        name, cmdline = item.get("name"), item.get("cmdline")
        if pid is None or rss is None or not isinstance(name, str):
            return None
        return cls(
            pid=pid,
            name=name,
            cmdline=mask_text(cmdline) if isinstance(cmdline, str) else "",
            rss_bytes=rss,
            data_bytes=count("data_bytes"),
            swap_bytes=count("swap_bytes"),
            private_dirty_bytes=count("private_dirty_bytes"),
        )


@dataclass(frozen=True)
class ProcessBaseline:
    """This host's sample in the previous run, or why there is none (`samples` empty)."""

    host: str
    collected_at: str | None
    samples: tuple[ProcessSample, ...]
    problem: str | None = None


@dataclass(frozen=True)
class Match:
    before: ProcessSample
    after: ProcessSample
    by: str  # "pid" (same process) or "name and command line" (a new pid)


def match_samples(before: Iterable[ProcessSample], after: Iterable[ProcessSample]) -> list[Match]:
    """Pair the processes of two samples.

    The same pid with the same name and command line is the same process. Otherwise a
    name and command line that occurs exactly once in each sample is taken as the same
    program restarted; identical workers (many `php-fpm: pool www`) are not guessed at.
    """
    old, new = list(before), list(after)
    matches: list[Match] = []
    by_pid = {(s.pid, s.key): s for s in old}
    for sample in new:
        twin = by_pid.get((sample.pid, sample.key))
        if twin is not None:
            matches.append(Match(twin, sample, "pid"))
    paired = {id(m.before) for m in matches} | {id(m.after) for m in matches}
    old_keys: dict[tuple[str, str], list[ProcessSample]] = {}
    for sample in old:
        old_keys.setdefault(sample.key, []).append(sample)
    new_keys: dict[tuple[str, str], list[ProcessSample]] = {}
    for sample in new:
        new_keys.setdefault(sample.key, []).append(sample)
    for key, found in new_keys.items():
        earlier = old_keys.get(key, [])
        if len(found) == 1 and len(earlier) == 1 and not {id(found[0]), id(earlier[0])} & paired:
            matches.append(Match(earlier[0], found[0], "name and command line"))
    return matches


def hours_between(earlier: str | None, later: str | None) -> float | None:
    """Hours from one collected_at to another; None when either is unknown."""
    start = parse_collected_at(earlier or "")
    end = parse_collected_at(later or "")
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 3600


def cmdline_text(argv: tuple[str, ...] | None) -> str:
    """A process's command line as the sample keeps it: masked, at most CMDLINE_CHARS long.

    Masked as words and again as text after the cut, so that the text is what `mask_text`
    makes of it: a baseline's command line, masked as text when read (`from_json`, which
    also masks results written before masking existed), then names the same process.
    """
    if not argv:
        return ""
    return mask_text(" ".join(mask_argv(argv))[:CMDLINE_CHARS])


class ProcessMemoryFacts(HostFacts, ProcessFacts):
    """`facts.process_sample`, `facts.process_baseline`, `facts.smaps_rollup(pid)`,
    `facts.proc_hidden`."""

    def smaps_rollup(self, pid: int) -> SmapsRollup | None:
        """The process's memory rollup; None when absent (before 4.14) or unreadable."""
        path = f"/proc/{pid}/smaps_rollup"
        try:
            text = self.optional_text(path)
            return parse_smaps_rollup(text, path) if text else None
        except (Unavailable, ParseError):
            return None

    @property
    def proc_hidden(self) -> str | None:
        """How /proc hides other users' processes (mounted with hidepid), else None."""
        try:
            mounts = self.mounts
        except (Unavailable, ParseError):
            return None
        for mount in mounts:
            if mount.mountpoint == "/proc" and mount.fstype == "proc":
                for option in mount.options:
                    if option.startswith("hidepid=") and option not in ("hidepid=0", "hidepid=off"):
                        return f"/proc is mounted with {option}"
        return None

    @property
    @cached
    def process_sample(self) -> tuple[ProcessSample, ...]:
        """The `SAMPLE_SIZE` processes with the largest resident set, largest first."""
        candidates = [
            p
            for p in self.processes
            if not p.is_kernel_thread and p.status is not None and p.vm_rss_bytes is not None
        ]
        candidates.sort(key=lambda p: (-(p.vm_rss_bytes or 0), p.pid))
        sample = []
        for process in candidates[:SAMPLE_SIZE]:
            assert process.status is not None and process.vm_rss_bytes is not None
            rollup = self.smaps_rollup(process.pid)
            sample.append(
                ProcessSample(
                    pid=process.pid,
                    name=process.name,
                    cmdline=cmdline_text(process.cmdline),
                    rss_bytes=process.vm_rss_bytes,
                    data_bytes=process.status.vm_data_bytes,
                    swap_bytes=process.vm_swap_bytes,
                    private_dirty_bytes=rollup.private_dirty_bytes if rollup else None,
                )
            )
        return tuple(sample)

    def _baseline_host(self) -> HostResult | None:
        run = self.baseline
        if run is None:
            return None
        info = self.snapshot.info
        named = [h for h in run.hosts if h.name == info.hostname]
        if not named:
            # A run that audited two hosts of the same name labels them "name (target)".
            named = [h for h in run.hosts if h.name.startswith(info.hostname + " (")]
        if len(named) > 1:
            named = [h for h in named if h.source == info.source] or named[:1]
        return named[0] if named else None

    @property
    def collected_at(self) -> str | None:
        """When this snapshot was taken (host.json), None when not recorded."""
        return self.snapshot.info.collected_at or None

    @property
    def process_baseline(self) -> ProcessBaseline | None:
        """This host's sample from the `--baseline` run; None when no baseline was given."""
        run = self.baseline
        if run is None:
            return None
        host = self._baseline_host()
        hostname = self.snapshot.info.hostname
        if host is None:
            return ProcessBaseline(
                hostname, None, (), f"the baseline run has no results for host {hostname}"
            )
        result = next((r for r in host.results if r.check == SAMPLE_CHECK), None)
        if result is None:
            missing = f"the baseline run did not run {SAMPLE_CHECK} on {hostname}"
            return ProcessBaseline(hostname, host.collected_at, (), missing)
        samples = tuple(s for s in (ProcessSample.from_json(item) for item in result.evidence) if s)
        problem: str | None = None
        if not samples:
            problem = (
                f"the baseline run recorded no process sample for {hostname} "
                f"({SAMPLE_CHECK} ended in {result.outcome}: {result.message})"
            )
        return ProcessBaseline(hostname, host.collected_at, samples, problem)
