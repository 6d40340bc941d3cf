"""Swap facts: the swap areas, pages swapped over the collection interval, who holds swap."""

from __future__ import annotations

from dataclasses import dataclass

from memcheck.errors import ParseError, Unavailable
from memcheck.facts.base import cached
from memcheck.facts.kernel_log import KernelLogFacts
from memcheck.facts.meminfo import MeminfoFacts
from memcheck.facts.processes import Process, ProcessFacts
from memcheck.parse.swaps import SOURCE as SWAPS_SOURCE
from memcheck.parse.swaps import Swaps, parse_swaps
from memcheck.parse.uptime import parse_uptime
from memcheck.snapshot import UPTIME_AFTER, VMSTAT_AFTER

SWAP_COUNTERS = ("pswpin", "pswpout")


def format_bytes(value: int) -> str:
    """1536 -> '1.5 KiB'; for messages only."""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover - the loop always returns


@dataclass(frozen=True)
class SwapActivity:
    """Pages swapped in and out between the two `/proc/vmstat` samples."""

    pages_in: int
    pages_out: int
    seconds: float
    interval_source: str  # where `seconds` comes from: the two uptimes, or host.json

    @property
    def pages(self) -> int:
        return self.pages_in + self.pages_out

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0


class SwapFacts(KernelLogFacts, MeminfoFacts, ProcessFacts):
    """`facts.swaps`, `facts.swap_activity`, `facts.sample_seconds`,
    `facts.processes_by_swap(n)`."""

    @property
    @cached
    def swaps(self) -> Swaps | None:
        """`/proc/swaps`; None when the file does not exist (a kernel built without swap)."""
        text = self.optional_text(SWAPS_SOURCE)
        return None if text is None else parse_swaps(text, SWAPS_SOURCE)

    @property
    def sample_seconds(self) -> tuple[float, str] | None:
        """Seconds between the two vmstat samples and where that figure comes from.

        The two uptime readings taken with the samples are preferred: host.json's interval is
        the planned sleep, while the readings also count the time the reads themselves took.
        """
        try:
            before = self.uptime.seconds
            after_text = self.optional_text(UPTIME_AFTER)
            after = parse_uptime(after_text).seconds if after_text is not None else None
        except (Unavailable, ParseError):
            after = None
        if after is not None:
            return after - before, f"{UPTIME_AFTER} minus /proc/uptime"
        interval = self.snapshot.info.sample_interval_seconds
        if interval is not None:
            return interval, "sample_interval_seconds in .memcheck/host.json"
        return None

    @property
    @cached
    def swap_activity(self) -> SwapActivity | None:
        """Swap traffic over the sampling interval; None when no second sample was taken.

        Raises `ParseError` when a sample lacks the counters or they run backwards, and
        `Unavailable` when the interval is unknown.
        """
        after = self.vmstat_after
        if after is None:
            return None
        before = self.vmstat
        for name in SWAP_COUNTERS:
            for sample, source in ((before, "/proc/vmstat"), (after, VMSTAT_AFTER)):
                if name not in sample:
                    raise ParseError(source, f"no {name} counter")
        pages_in = after["pswpin"] - before["pswpin"]
        pages_out = after["pswpout"] - before["pswpout"]
        if pages_in < 0 or pages_out < 0:
            raise ParseError(VMSTAT_AFTER, "swap counters are lower than in the first sample")
        interval = self.sample_seconds
        if interval is None:
            raise Unavailable(UPTIME_AFTER, "the time between the two samples is unknown")
        return SwapActivity(pages_in, pages_out, interval[0], interval[1])

    def processes_by_swap(self, limit: int) -> list[Process]:
        """The processes holding the most swap (VmSwap), largest first."""
        holding = [p for p in self.processes if (p.vm_swap_bytes or 0) > 0]
        holding.sort(key=lambda p: (-(p.vm_swap_bytes or 0), p.pid))
        return holding[: max(limit, 0)]
