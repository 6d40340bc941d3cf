"""Kernel log facts: the log's records, OOM kills and drop_caches writes; vmstat and uptime."""

from __future__ import annotations

import io
import posixpath
from datetime import datetime, timezone, tzinfo

from memcheck.errors import ParseError, Unavailable
from memcheck.facts.base import FactsBase, cached
from memcheck.parse.kernel_log import (
    DropCachesEvent,
    KernelLog,
    OomKill,
    parse_drop_caches,
    parse_kernel_log,
    parse_oom_kills,
)
from memcheck.parse.uptime import Uptime, parse_uptime
from memcheck.parse.vmstat import Vmstat, parse_vmstat
from memcheck.snapshot import KERNEL_LOG, VMSTAT_AFTER

# Where the host's time zone is recorded: a link into the zoneinfo tree, a copy of a TZif file
# (containers, some minimal images), or the zone's name (Debian and Ubuntu).
TIMEZONE_READS = ("/etc/localtime", "/etc/timezone")


# A host clock outside these years is broken, and times computed from it (a window of hours
# before it, a stamp placed in a zone) would overflow near year 1 or 9999.
_CLOCK_RANGE = (
    datetime(1970, 1, 1, tzinfo=timezone.utc),
    datetime(9000, 1, 1, tzinfo=timezone.utc),
)


def parse_collected_at(value: str) -> datetime | None:
    """host.json's `collected_at` (ISO 8601, UTC); None when empty, unreadable, or outside
    the years 1970 to 9000 (`0001-01-01T00:00:00+14:00` lies before year 1 in UTC)."""
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        utc = when.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    if not _CLOCK_RANGE[0] <= utc < _CLOCK_RANGE[1]:
        return None
    return when


def _zone(name: str) -> tzinfo | None:
    try:
        from zoneinfo import ZoneInfo
    except ImportError:  # pragma: no cover - Python 3.9+ always has it
        return None
    name = name.strip()
    if not name or ".." in name or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, LookupError):
        return None


class KernelLogFacts(FactsBase):
    """`facts.kernel_log`, `facts.oom_kills`, `facts.drop_caches_events`, `facts.vmstat`,
    `facts.vmstat_after`, `facts.uptime`, `facts.host_timezone`."""

    @property
    @cached
    def uptime(self) -> Uptime:
        return parse_uptime(self.text("/proc/uptime"))

    @property
    @cached
    def vmstat(self) -> Vmstat:
        return parse_vmstat(self.text("/proc/vmstat"))

    @property
    @cached
    def vmstat_after(self) -> Vmstat | None:
        """The second sample taken `sample_interval_seconds` later; None when not taken."""
        text = self.optional_text(VMSTAT_AFTER)
        return None if text is None else parse_vmstat(text, source=VMSTAT_AFTER)

    @property
    @cached
    def host_timezone(self) -> tzinfo | None:
        """The host's local time zone, needed to read syslog and `dmesg -T` stamps."""
        target = self.snapshot.readlink("/etc/localtime")
        if target and "zoneinfo/" in target:
            zone = _zone(target.split("zoneinfo/", 1)[1])
            if zone is not None:
                return zone
        if target is None:
            try:
                data = self.snapshot.read("/etc/localtime")
            except Unavailable:
                data = b""
            if data.startswith(b"TZif"):
                try:
                    from zoneinfo import ZoneInfo

                    return ZoneInfo.from_file(io.BytesIO(data), key="localtime")
                except (ValueError, OSError):
                    pass
        try:
            name = self.optional_text("/etc/timezone")
        except Unavailable:
            name = None
        if name and name.strip():
            return _zone(posixpath.normpath(name.split()[0]))
        return None

    @property
    @cached
    def kernel_log(self) -> KernelLog:
        """Raises `Unavailable` when the log could not be read (dmesg restricted, no journal).

        Parsed once per host: every check that reads the log (and `oom_kills`,
        `drop_caches_events`) shares this one result, cached on the Facts object."""
        text = self.text(KERNEL_LOG)
        try:
            uptime: float | None = self.uptime.seconds
        except (Unavailable, ParseError):
            uptime = None
        collected_at = parse_collected_at(self.snapshot.info.collected_at)
        return parse_kernel_log(text, collected_at, uptime, local_tz=self.host_timezone)

    @property
    @cached
    def oom_kills(self) -> tuple[OomKill, ...]:
        return tuple(parse_oom_kills(self.kernel_log))

    @property
    @cached
    def drop_caches_events(self) -> tuple[DropCachesEvent, ...]:
        return tuple(parse_drop_caches(self.kernel_log))
