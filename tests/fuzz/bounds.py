"""A bound on the time and memory one fuzz input may cost: a hang or a blow-up fails the
example (and hypothesis shrinks it) instead of stalling or exhausting the test run."""

from __future__ import annotations

import signal
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

SECONDS = 10.0
MEGABYTES = 256


class OverBound(AssertionError):
    """One input cost more time or memory than the bound allows."""


@contextmanager
def bounded(seconds: float = SECONDS, megabytes: int = MEGABYTES) -> Iterator[None]:
    """Fail when the block runs longer than `seconds` (SIGALRM; main thread only) or allocates
    more than `megabytes` at its peak (Python allocations, through tracemalloc)."""

    def expired(signum: int, frame: object) -> None:
        raise OverBound(f"one input took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
        if peak > megabytes * 1024 * 1024:
            raise OverBound(f"one input peaked at {peak / 2**20:.0f} MiB (bound {megabytes})")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if not tracing:
            tracemalloc.stop()


def call_bounded(call: Callable[[], T], seconds: float = SECONDS, megabytes: int = MEGABYTES) -> T:
    with bounded(seconds, megabytes):
        return call()
