"""Parse the kernel log memcheck stores in `/.memcheck/kernel.log`: records, OOM kills, drop_caches.

The collector saves whatever the host could give: `dmesg` (plain, `-T`, `-x`, `-r`,
`--time-format iso`), `journalctl -k` (short, short-precise, short-iso, short-full,
short-monotonic) or a syslog file (BSD or RFC 3339 stamps, with or without a host name). Every
line becomes a record with its line number, its message and, where the prefix allows, the time
it was logged. OOM kills and `drop_caches` writes are then read from the kernel's records.

What the kernel prints is defined in `mm/oom_kill.c`, `mm/memcontrol.c` and `fs/drop_caches.c`;
the knobs are described in https://docs.kernel.org/admin-guide/sysctl/vm.html
(`oom_dump_tasks`, `oom_kill_allocating_task`, `panic_on_oom`, `drop_caches`).

Nothing here raises on odd input: a line that is not understood is kept as a record without a
time, and a kill line that is cut short yields no kill.
"""

from __future__ import annotations

import heapq
import re
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Callable, NamedTuple, overload

SOURCE = "/.memcheck/kernel.log"
_KB = 1024
# Slack between the moment `/proc/uptime` and the log were read, and for clock jitter.
_UPTIME_SLACK = timedelta(seconds=60)
# A year-less date up to this far past collection is a clock/time-zone difference, not a date
# of last year (a host west of UTC logs "today" while UTC is already tomorrow, and back).
_FUTURE_SLACK = timedelta(days=1)
# Monotonic stamps going back by more than this start a new boot (logs spanning boots).
_BOOT_RESTART_SECONDS = 1.0
# printk lines are at most ~1 KiB; longer text is garbage as far as the patterns go.
_MATCH_LIMIT = 4096

A = re.ASCII


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogRecord:
    """One line of the log.

    `time` is an aware UTC datetime when the line's stamp could be placed, else None.
    `monotonic` is the seconds-since-boot stamp when the line shows one. `ident` is the syslog
    or journal tag (`kernel`, `systemd`, ...); None means the line came from a kernel-only
    source (dmesg). `continuation` marks a line without prefix that belongs to the record
    before it (Mem-Info and cgroup v2 memory.stat blocks are printed that way).
    """

    line: int
    message: str
    time: datetime | None = None
    monotonic: float | None = None
    ident: str | None = None
    host: str | None = None
    facility: str | None = None
    level: str | None = None
    format: str = "none"
    continuation: bool = False
    boot: int = 0

    @property
    def is_kernel(self) -> bool:
        """True for kernel messages; False for other programs interleaved by syslog/journal."""
        if self.ident is not None and self.ident != "kernel":
            return False
        return self.facility in (None, "kern")


@dataclass(frozen=True)
class KernelLog:
    """The whole log: records in file order and what was used to place their times.

    `records` is a `LogRecords` when the log comes from `parse_kernel_log`: a sequence that
    builds each `LogRecord` when it is read, so that a log of a million lines is not a million
    objects of a dozen fields each.
    """

    records: Sequence[LogRecord]
    collected_at: datetime | None = None
    uptime_seconds: float | None = None
    boot_time: datetime | None = None
    formats: tuple[str, ...] = ()
    # True when local wall-clock stamps (syslog, journal short, dmesg -T) were read as UTC
    # because the host's time zone was not known.
    local_time_assumed_utc: bool = False

    @property
    def kernel_records(self) -> tuple[LogRecord, ...]:
        return tuple(r for r in self.records if r.is_kernel)

    @property
    def earliest_time(self) -> datetime | None:
        """The earliest placed time of a kernel record: how far back the log reaches."""
        if isinstance(self.records, LogRecords):
            return self.records.earliest_kernel_time
        times = [r.time for r in self.records if r.is_kernel and r.time is not None]
        return min(times) if times else None


# --------------------------------------------------------------------------------------------
# Prefixes
# --------------------------------------------------------------------------------------------

# Month abbreviations as `%b` prints them in common locales (glibc), lower case, dots removed.
_MONTHS: dict[str, int] = {
    # English
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
    # German (de_DE: Jan Feb Mär Apr Mai Jun Jul Aug Sep Okt Nov Dez; older: Mrz)
    "mär": 3, "mrz": 3, "mai": 5, "okt": 10, "dez": 12,
    # French (fr_FR: janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.)
    "janv": 1, "févr": 2, "fevr": 2, "mars": 3, "avr": 4, "juin": 6, "juil": 7,
    "août": 8, "aout": 8, "déc": 12,
    # Spanish (es_ES: ene feb mar abr may jun jul ago sept oct nov dic)
    "ene": 1, "abr": 4, "ago": 8, "dic": 12,
    # Italian and Portuguese (gen mag giu lug set ott; fev out) and Dutch (mrt mei)
    "gen": 1, "mag": 5, "giu": 6, "lug": 7, "set": 9, "ott": 10, "fev": 2, "out": 10,
    "mrt": 3, "mei": 5,
}  # fmt: skip
_CJK_MONTH = re.compile(r"([0-9]{1,2})\s*(?:月|월)")
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2}):([0-9]{2})", re.ASCII)
_DAY = re.compile(r"[0-9]{1,2}\.?", re.ASCII)


def month_number(token: str) -> int | None:
    """The month a locale's abbreviated (or full) month name stands for, else None."""
    name = token.strip(".,").lower()
    cjk = _CJK_MONTH.fullmatch(name)
    if cjk:
        number = int(cjk.group(1))
        return number if 1 <= number <= 12 else None
    for candidate in (name, name[:4], name[:3]):
        if candidate in _MONTHS:
            return _MONTHS[candidate]
    return None


_PRIORITY = re.compile(r"<[0-9]{1,3}>", A)
# dmesg / short-monotonic: `[   12.345678] msg`; CONFIG_PRINTK_CALLER adds `[  T123]`.
_MONO = re.compile(r"\[\s*([0-9]{1,10}\.[0-9]{1,9})\](?:\[\s*[TC][0-9]+\])?\s?", A)
# dmesg -T: `[Thu Dec  7 00:05:15 2017] msg` in the host's locale.
_CTIME = re.compile(r"\[([^\]\n]{0,40}?[0-9]{1,2}:[0-9]{2}:[0-9]{2}\s+[0-9]{4})\]\s?", A)
# dmesg -H: `[Dec 7 00:05] msg` and `[  +0.000123] msg`; no usable time.
_HUMAN = re.compile(r"\[(?:\s*[+<>=]\s*[0-9]+\.[0-9]+|[^\]\n]{1,20} [0-9]{1,2}:[0-9]{2})\]\s?")
# dmesg -x: `kern  :info  : msg`.
_DECODED = re.compile(
    r"(kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local[0-7])\s*:"
    r"(emerg|alert|crit|err|warn|notice|info|debug)\s*:\s?"
)
# ISO 8601 stamps: rsyslog (RFC 3339), journalctl short-iso[-precise], dmesg --time-format iso.
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:([.,])([0-9]{1,9}))?(Z|[+-][0-9]{2}:?[0-9]{2})?\s",
    A,
)
# journalctl -o short-full: `Tue 2024-03-19 03:22:15 CET host kernel: msg`.
_FULL = re.compile(
    r"[^\W\d_]{2,4}\.?\s([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))? ([A-Za-z+-][\w+-]{0,9})\s"
)
# BSD syslog and journalctl short[-precise]: `Mar 19 03:22:15[.123456] host kernel: msg`.
# journalctl prints `%b` in the host's locale, so the month may be `Mär`, `déc.`, ...
_BSD = re.compile(
    r"([^\W\d_][^\s\d]{1,9}) +([0-9]{1,2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?\s"
)
# After a syslog/journal stamp: `[host ]ident[\[pid\]]: message`. A host never ends in ':'.
_TAG = re.compile(r"(?:(\S*[^\s:]) )?([^\s:\[\]]+)(?:\[[0-9]+\])?: ?")
_HOST_KERNEL = re.compile(r"(\S*[^\s:]) kernel: ?")
_JOURNAL_META = re.compile(r"-- .* --\s*")


@dataclass
class _Stamp:
    aware: datetime | None = None  # an instant (ISO with offset, journal short-full in UTC)
    naive: datetime | None = None  # wall-clock with year, in the host's zone
    yearless: tuple[int, int, int, int, int, int] | None = None  # month, day, h, m, s, us
    monotonic: float | None = None


@dataclass
class _Prefix:
    message: str
    stamp: _Stamp
    format: str
    ident: str | None = None
    host: str | None = None
    facility: str | None = None
    level: str | None = None


def _micro(frac: str | None) -> int:
    return int((frac or "0")[:6].ljust(6, "0"))


def _naive(y: int, mo: int, d: int, h: int, mi: int, s: int, us: int) -> datetime | None:
    try:
        return datetime(y, mo, d, h, mi, s, us)
    except ValueError:
        return None


def _ctime_stamp(body: str) -> _Stamp:
    """`Thu Dec  7 00:05:15 2017` in any locale: month token, day, time, year."""
    tokens = body.split()
    stamp = _Stamp()  # a date the locale tables cannot read: no time
    if len(tokens) < 4:
        return stamp
    year_t, time_t = tokens[-1], tokens[-2]
    clock = _CLOCK.fullmatch(time_t)
    day_i = next((i for i in range(len(tokens) - 3, 0, -1) if _DAY.fullmatch(tokens[i])), None)
    if clock is None or day_i is None:
        return stamp
    # `%a %b %e`: the month is the token right before the day (`mar dic  7` in es_ES: Tuesday,
    # December 7; the weekday may itself look like a month).
    month = month_number(tokens[day_i - 1])
    if month is None:
        return stamp
    h, mi, s = (int(x) for x in clock.groups())
    value = _naive(int(year_t), month, int(tokens[day_i].rstrip(".")), h, mi, s, 0)
    return _Stamp(naive=value)


def _bracket(rest: str) -> tuple[_Stamp, str, str] | None:
    """A dmesg bracket stamp at the start of `rest`: (stamp, message, format) or None."""
    m = _MONO.match(rest)
    if m:
        return _Stamp(monotonic=float(m.group(1))), rest[m.end() :], "dmesg"
    m = _CTIME.match(rest)
    if m:
        return _ctime_stamp(m.group(1)), rest[m.end() :], "dmesg-T"
    m = _HUMAN.match(rest)
    if m:
        return _Stamp(), rest[m.end() :], "dmesg-H"
    return None


def _tagged(stamp: _Stamp, rest: str, fmt: str) -> _Prefix:
    """`[host ]ident: message` after a syslog/journal stamp; strips a dmesg stamp klogd kept."""
    m = _TAG.match(rest)
    if not m:
        return _Prefix(rest, stamp, fmt, ident="")
    message = rest[m.end() :]
    if m.group(2) == "kernel":
        inner = _MONO.match(message)
        if inner:
            stamp.monotonic = float(inner.group(1))
            message = message[inner.end() :]
    return _Prefix(message, stamp, fmt, ident=m.group(2), host=m.group(1))


def _prefix(line: str) -> _Prefix | None:
    """Recognise one line's prefix; None when it has none (plain text or a continuation)."""
    rest = line
    m = _PRIORITY.match(rest)
    if m:
        rest = rest[m.end() :]
    m = _DECODED.match(rest)
    if m:
        inner = _bracket(rest[m.end() :])
        stamp, message = (inner[0], inner[1]) if inner else (_Stamp(), rest[m.end() :])
        return _Prefix(message, stamp, "dmesg-x", facility=m.group(1), level=m.group(2))
    inner = _bracket(rest)
    if inner:
        stamp, message, fmt = inner
        if fmt == "dmesg":
            # journalctl -o short-monotonic: `[ 12.345678] host kernel: msg`. Only the kernel
            # tag is taken as a prefix: dmesg messages like `usb 1-1: ...` look the same.
            host = _HOST_KERNEL.match(message)
            if host:
                return _Prefix(
                    message[host.end() :], stamp, "journal-monotonic", ident="kernel",
                    host=host.group(1),
                )  # fmt: skip
        return _Prefix(message, stamp, fmt)
    m = _ISO.match(rest)
    if m:
        y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        naive = _naive(y, mo, d, h, mi, s, _micro(m.group(8)))
        stamp = _Stamp()
        if naive is not None and m.group(9):
            stamp.aware = naive.replace(tzinfo=_offset(m.group(9)))
        else:
            stamp.naive = naive
        if m.group(7) == ",":  # dmesg --time-format iso: no host, no tag
            return _Prefix(rest[m.end() :], stamp, "dmesg-iso")
        return _tagged(stamp, rest[m.end() :], "iso")
    m = _FULL.match(rest)
    if m:
        y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        naive = _naive(y, mo, d, h, mi, s, _micro(m.group(7)))
        stamp = _Stamp()
        zone = m.group(8)
        if naive is not None and zone.upper() in ("UTC", "GMT", "Z"):
            stamp.aware = naive.replace(tzinfo=timezone.utc)
        elif naive is not None and re.fullmatch(r"[+-][0-9]{2}(?::?[0-9]{2})?", zone, A):
            stamp.aware = naive.replace(tzinfo=_offset(zone))  # zones without a name: `+03`
        else:  # a zone abbreviation (CET, EST, ...): ambiguous, read in the host's zone
            stamp.naive = naive
        return _tagged(stamp, rest[m.end() :], "journal-full")
    m = _BSD.match(rest)
    if m:
        month = month_number(m.group(1))
        day, h, mi, s = (int(m.group(i)) for i in range(2, 6))
        if month is None or not (1 <= day <= 31 and h < 24 and mi < 60 and s < 61):
            stamp = _Stamp()  # a date the locale tables cannot read: no time
        else:
            stamp = _Stamp(yearless=(month, day, h, mi, min(s, 59), _micro(m.group(6))))
        return _tagged(stamp, rest[m.end() :], "syslog")
    if rest is not line:  # only a `<6>` priority
        return _Prefix(rest, _Stamp(), "none")
    return None


def _offset(text: str) -> timezone:
    if text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    if minutes >= 24 * 60:
        return timezone.utc
    return timezone(sign * timedelta(minutes=minutes))


# --------------------------------------------------------------------------------------------
# Placing times
# --------------------------------------------------------------------------------------------


class _Placer:
    def __init__(
        self, collected_at: datetime | None, uptime: float | None, local_tz: tzinfo | None
    ) -> None:
        self.collected_at = collected_at
        self.tz: tzinfo = local_tz or timezone.utc
        self.assumed_utc = False
        self.local_tz_known = local_tz is not None
        self.boot_time: datetime | None = None
        if collected_at is not None and uptime is not None:
            try:
                self.boot_time = collected_at - timedelta(seconds=uptime)
            except OverflowError:
                uptime = None
        self.uptime = uptime

    def _local(self, value: datetime) -> datetime:
        if not self.local_tz_known:
            self.assumed_utc = True
        return value.replace(tzinfo=self.tz).astimezone(timezone.utc)

    def wall(self, stamp: _Stamp) -> datetime | None:
        try:
            return self._wall(stamp)
        except OverflowError:  # year 1 or 9999 shifted out of range by a zone offset
            return None

    def _wall(self, stamp: _Stamp) -> datetime | None:
        if stamp.aware is not None:
            return stamp.aware.astimezone(timezone.utc)
        if stamp.naive is not None:
            return self._local(stamp.naive)
        if stamp.yearless is not None and self.collected_at is not None:
            month, day, h, mi, s, us = stamp.yearless
            year = self.collected_at.astimezone(self.tz).year
            # Year-less dates take the collection year, or an earlier one when that would lie
            # in the future (a December line read in January); Feb 29 needs a leap year.
            for candidate in range(year, year - 8, -1):
                naive = _naive(candidate, month, day, h, mi, s, us)
                if naive is None:
                    continue
                placed = self._local(naive)
                if placed <= self.collected_at + _FUTURE_SLACK:
                    return placed
        return None

    def monotonic(self, seconds: float) -> datetime | None:
        # printk stamps use the local clock, which stops during suspend while /proc/uptime
        # does not; on a host that was suspended, placed times come out early.
        if self.boot_time is None or self.uptime is None:
            return None
        if seconds > self.uptime + _UPTIME_SLACK.total_seconds():
            return None  # cannot be this boot
        try:
            return self.boot_time + timedelta(seconds=seconds)
        except OverflowError:
            return None


class _Kind(NamedTuple):
    """What a line's prefix says about where it comes from; shared by every line alike."""

    ident: str | None
    host: str | None
    facility: str | None
    level: str | None
    format: str

    @property
    def is_kernel(self) -> bool:
        if self.ident is not None and self.ident != "kernel":
            return False
        return self.facility in (None, "kern")


# `when` of a record whose prefix has no time, and of one whose time comes from its monotonic
# stamp (placed when read, once the log's last boot is known); other values are microseconds
# since the epoch.
_NO_TIME = -(2**63)
_FROM_MONOTONIC = _NO_TIME + 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
# Lines without prefix before the first prefixed one. Equal to the kind of a line with only a
# priority (`<6>text`), so it is told apart by identity, and kept out of the look-up table.
_PLAIN = _Kind(None, None, None, None, "none")
_DMESG = _Kind(None, None, None, None, "dmesg")


class LogRecords(Sequence[LogRecord]):
    """The records of a parsed log, kept as columns of numbers over the log's text.

    Each `LogRecord` is built when it is read. A record is a line number, where its message
    starts in the text, and its head: the prefixed line it belongs to (itself, or the line a
    continuation continues), which holds the kind of prefix, the time, the monotonic stamp and
    the boot. A line costs a few dozen bytes, whatever the log.
    """

    def __init__(self, text: str, placer: _Placer) -> None:
        self._text = text
        self._placer = placer
        code = "i" if len(text) < 2**31 - 1 else "q"  # line numbers and offsets fit
        # per record
        self._line = array(code)
        self._start = array(code)
        self._head = array(code)
        # per head
        self._head_kind = array(code)
        self._head_when = array("q")
        self._head_mono = array("d")
        self._head_boot = array(code)
        self._kinds: list[_Kind] = [_PLAIN]
        self._kind_ids: dict[_Kind, int] = {}
        self._last_boot = 0
        self._earliest: tuple[datetime | None] | None = None

    def _kind_id(self, kind: _Kind) -> int:
        found = self._kind_ids.get(kind)
        if found is None:
            found = self._kind_ids[kind] = len(self._kinds)
            self._kinds.append(kind)
        return found

    def __len__(self) -> int:
        return len(self._line)

    @overload
    def __getitem__(self, index: int) -> LogRecord: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[LogRecord, ...]: ...

    def __getitem__(self, index: int | slice) -> LogRecord | tuple[LogRecord, ...]:
        if isinstance(index, slice):
            return tuple(self._record(i) for i in range(*index.indices(len(self))))
        count = len(self._line)
        position = index + count if index < 0 else index
        if not 0 <= position < count:
            raise IndexError("record index out of range")
        return self._record(position)

    def __iter__(self) -> Iterator[LogRecord]:
        return (self._record(i) for i in range(len(self._line)))

    def __repr__(self) -> str:
        return f"<LogRecords: {len(self)} records>"

    def message(self, index: int) -> str:
        """The message of record `index`, cut from the text."""
        start = self._start[index]
        end = self._text.find("\n", start)
        message = self._text[start : end if end >= 0 else len(self._text)]
        return message.rstrip("\r") if message.endswith("\r") else message

    def _record(self, index: int) -> LogRecord:
        head = self._head[index]
        boot = self._head_boot[head]
        kind_id = self._head_kind[head]
        kind = self._kinds[kind_id]
        if kind_id == 0:  # _PLAIN
            return LogRecord(line=self._line[index], message=self.message(index), boot=boot)
        mono = self._head_mono[head]
        return LogRecord(
            line=self._line[index],
            message=self.message(index),
            time=self._time(head),
            monotonic=None if mono != mono else mono,  # NaN: no stamp
            ident=kind.ident,
            host=kind.host,
            facility=kind.facility,
            level=kind.level,
            format=kind.format,
            # a head's lines are consecutive: its own, then those continuing it
            continuation=index > 0 and self._head[index - 1] == head,
            boot=boot,
        )

    def _time(self, head: int) -> datetime | None:
        when = self._head_when[head]
        if when == _NO_TIME:
            return None
        if when == _FROM_MONOTONIC:
            if self._head_boot[head] != self._last_boot:
                return None  # only the last boot's start is known
            return self._placer.monotonic(self._head_mono[head])
        return _EPOCH + timedelta(microseconds=when)

    def kernel_lines(self, indices: Iterable[int] | None = None) -> Iterator[tuple[int, int, str]]:
        """(index, line number, message) of the kernel records among `indices` (default:
        all), in their order, without building the records: what the scanners read."""
        kernel = [kind.is_kernel for kind in self._kinds]
        head_kind, heads, lines = self._head_kind, self._head, self._line
        for index in range(len(lines)) if indices is None else indices:
            if kernel[head_kind[heads[index]]]:
                yield index, lines[index], self.message(index)

    def containing(self, *words: str) -> Iterator[int]:
        """Indices of the records whose message holds one of `words`, in order, each once:
        found by searching the whole text for each word (`str.find` runs at memory speed),
        not line by line."""
        last = -1
        for index in heapq.merge(*(self._holding(word) for word in words)):
            if index != last:
                yield index
                last = index

    def _holding(self, word: str) -> Iterator[int]:
        text, starts = self._text, self._start
        position = 0
        while True:
            found = text.find(word, position)
            if found < 0:
                return
            end = text.find("\n", found)
            index = bisect_right(starts, found) - 1
            if index >= 0 and text.find("\n", starts[index]) == end:
                yield index  # in the record's message: the same line, after its start
                if end < 0:
                    return
                position = end + 1
            else:  # in a prefix or a skipped line; the line may hold it again further on
                position = found + 1

    @property
    def formats(self) -> tuple[str, ...]:
        """The prefix formats seen, in the order they first appear."""
        seen: dict[str, None] = {}
        for kind in dict.fromkeys(self._head_kind):
            if kind != 0:  # _PLAIN
                seen.setdefault(self._kinds[kind].format)
        return tuple(seen)

    @property
    def earliest_kernel_time(self) -> datetime | None:
        """The earliest placed time of a kernel record (computed once)."""
        if self._earliest is None:
            self._earliest = (self._find_earliest(),)
        return self._earliest[0]

    def _find_earliest(self) -> datetime | None:
        kernel = [kind.is_kernel for kind in self._kinds]
        wall: int | None = None
        mono: float | None = None
        last = self._last_boot
        for kind, when, stamp, boot in zip(
            self._head_kind, self._head_when, self._head_mono, self._head_boot
        ):
            if when == _NO_TIME or not kernel[kind]:
                continue
            if when == _FROM_MONOTONIC:
                # placed times grow with the stamp, and only the last boot is placed
                if boot == last and (mono is None or stamp < mono):
                    mono = stamp
            elif wall is None or when < wall:
                wall = when
        times = [_EPOCH + timedelta(microseconds=wall)] if wall is not None else []
        placed = self._placer.monotonic(mono) if mono is not None else None
        if placed is not None:
            times.append(placed)
        return min(times) if times else None


_NAN = float("nan")


def parse_kernel_log(
    text: str,
    collected_at: datetime | None,
    uptime_seconds: float | None,
    local_tz: tzinfo | None = None,
) -> KernelLog:
    """Split the log into records and place each record's time.

    Monotonic stamps are placed as `collected_at - uptime + stamp`, for the last boot in the
    log only. Wall-clock stamps without a zone (syslog, journal short, dmesg -T) are read in
    `local_tz` (the host's zone), else as UTC, which `local_time_assumed_utc` then says.
    `collected_at` without a zone is taken as UTC.

    Time and memory grow linearly with the log: one pass over the lines, a few dozen bytes
    kept per line (see `LogRecords`). A last line cut short (a log truncated to a size cap)
    is a record like any other.
    """
    if collected_at is not None and collected_at.tzinfo is None:
        collected_at = collected_at.replace(tzinfo=timezone.utc)
    if uptime_seconds is not None and not (0 <= uptime_seconds < 1e10):
        uptime_seconds = None
    placer = _Placer(collected_at, uptime_seconds, local_tz)
    records = LogRecords(text, placer)
    kind_id = records._kind_id
    dmesg = kind_id(_DMESG)
    journal_kinds: dict[str, int] = {}  # host -> kind of its `host kernel:` lines
    hosts: set[str] = set()
    # The columns, appended to directly: this loop runs once per line of a log that may
    # have millions.
    add_line, add_start, add_head = (
        records._line.append,
        records._start.append,
        records._head.append,
    )
    head_kind, head_when = records._head_kind.append, records._head_when.append
    head_mono, head_boot = records._head_mono.append, records._head_boot.append
    heads = 0

    boot = 0
    last_mono: float | None = None
    previous = -1  # the head a line without prefix continues
    plain = -1  # the head of lines without prefix before any prefixed line
    plain_boot = 0
    for number, (start, line) in enumerate(_lines(text), start=1):
        if line.endswith("\r"):
            line = line.rstrip("\r")
        if not line or line.isspace():
            continue
        if line.startswith("-- ") and _JOURNAL_META.fullmatch(line):
            # `-- Reboot --` (older journalctl) and `-- Boot <id> --` (newer) separate boots.
            if "Reboot" in line or line.startswith("-- Boot "):
                boot += 1
                last_mono = None
            continue
        if line.startswith("["):
            # The common case, dmesg and journalctl -o short-monotonic, without the detour
            # through _prefix's objects.
            m = _MONO.match(line)
            if m is not None:
                mono = float(m.group(1))
                if last_mono is not None and mono < last_mono - _BOOT_RESTART_SECONDS:
                    boot += 1
                last_mono = mono
                tag = _HOST_KERNEL.match(line, m.end()) if "kernel:" in line else None
                if tag is None:
                    kind, offset = dmesg, m.end()
                else:
                    host = tag.group(1)
                    kind = journal_kinds.get(host, -1)
                    if kind < 0:
                        kind = journal_kinds[host] = kind_id(
                            _Kind("kernel", host, None, None, "journal-monotonic")
                        )
                        hosts.add(host)
                    offset = tag.end()
                head_kind(kind)
                head_when(_FROM_MONOTONIC)
                head_mono(mono)
                head_boot(boot)
                previous, heads = heads, heads + 1
                add_line(number)
                add_start(start + offset)
                add_head(previous)
                continue
        prefix = _prefix(line)
        if prefix is None:
            if previous < 0 and (plain < 0 or plain_boot != boot):
                head_kind(0)  # _PLAIN
                head_when(_NO_TIME)
                head_mono(_NAN)
                head_boot(boot)
                plain, plain_boot, heads = heads, boot, heads + 1
            add_line(number)
            add_start(start)
            add_head(plain if previous < 0 else previous)
            continue
        stamp = prefix.stamp
        if stamp.monotonic is not None and prefix.ident != "":
            if last_mono is not None and stamp.monotonic < last_mono - _BOOT_RESTART_SECONDS:
                boot += 1
            last_mono = stamp.monotonic
        if prefix.format == "journal-monotonic" and prefix.host is not None:
            hosts.add(prefix.host)
        if stamp.aware is None and stamp.naive is None and stamp.yearless is None:
            when = _NO_TIME if stamp.monotonic is None else _FROM_MONOTONIC
        else:
            placed = placer.wall(stamp)
            when = _NO_TIME if placed is None else (placed - _EPOCH) // _MICROSECOND
        head_kind(
            kind_id(_Kind(prefix.ident, prefix.host, prefix.facility, prefix.level, prefix.format))
        )
        head_when(when)
        head_mono(_NAN if stamp.monotonic is None else stamp.monotonic)
        head_boot(boot)
        previous, heads = heads, heads + 1
        add_line(number)
        add_start(start + len(line) - len(prefix.message))  # the message ends the line
        add_head(previous)
    records._last_boot = boot

    if hosts:
        _retag_journal_lines(records, hosts)
    return KernelLog(
        records=records,
        collected_at=collected_at,
        uptime_seconds=uptime_seconds,
        boot_time=placer.boot_time,
        formats=records.formats,
        local_time_assumed_utc=placer.assumed_utc,
    )


_BLOCK = 1 << 20


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset, line) for `text.split("\n")`, split a block of about `_BLOCK` characters at a
    time: as fast as one split, without a list of every line of a huge log."""
    position, size = 0, len(text)
    while True:
        stop = text.rfind("\n", position, position + _BLOCK) if size - position > _BLOCK else -1
        if stop < 0 and size - position > _BLOCK:
            stop = text.find("\n", position + _BLOCK)  # a line longer than a block
        last = stop < 0
        for line in text[position : size if last else stop].split("\n"):
            yield position, line
            position += len(line) + 1
        if last:
            return


def _retag_journal_lines(records: LogRecords, hosts: set[str]) -> None:
    """journalctl -o short-monotonic shows other programs' lines too (`[ 3.2] host
    systemd[1]:`); once the file shows `host kernel:` lines, the same host before another tag
    is such a line, not a dmesg line."""
    dmesg = records._kind_ids.get(_DMESG)
    kinds = records._head_kind
    last = -1
    for index, head in enumerate(records._head):
        if head == last:
            continue  # a continuation: its head was seen on the line before
        last = head
        if kinds[head] != dmesg:
            continue
        tag = _TAG.match(records.message(index))
        if tag and tag.group(1) in hosts:
            records._start[index] += tag.end()
            kinds[head] = records._kind_id(
                _Kind(tag.group(2), tag.group(1), None, None, "journal-monotonic")
            )


# --------------------------------------------------------------------------------------------
# OOM kills
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OomKill:
    """One process the OOM killer killed, with what the dump around it says.

    `pid`/`name` are the killed process; `selected_pid`/`selected_name` the process the killer
    chose when a child was killed in its place. `trigger_*` describe the task whose allocation
    invoked the killer, usually not the victim. `constraint` is `global`, `memcg`, `cpuset` or
    `memory_policy`; `memcg` is the cgroup whose limit was hit, `task_memcg` the victim's.
    Sizes are in bytes; None when this kernel does not print them.
    """

    pid: int
    name: str
    line: int
    raw: str
    time: datetime | None = None
    anon_rss_bytes: int | None = None
    total_vm_bytes: int | None = None
    file_rss_bytes: int | None = None
    shmem_rss_bytes: int | None = None
    pgtables_bytes: int | None = None
    uid: int | None = None
    oom_score_adj: int | None = None
    context: str | None = None
    trigger_name: str | None = None
    trigger_pid: int | None = None
    gfp_mask: str | None = None
    order: int | None = None
    trigger_oom_score_adj: int | None = None
    constraint: str | None = None
    memcg: str | None = None
    task_memcg: str | None = None
    selected_pid: int | None = None
    selected_name: str | None = None
    score: int | None = None
    lines: tuple[int, ...] = ()


@dataclass
class _Dump:
    """What one OOM dump has said so far, from `invoked oom-killer` to the kill."""

    lines: list[int]
    trigger_name: str | None = None
    trigger_pid: int | None = None
    gfp_mask: str | None = None
    order: int | None = None
    trigger_oom_score_adj: int | None = None
    constraint: str | None = None
    memcg: str | None = None
    task_memcg: str | None = None
    context: str | None = None
    selected_pid: int | None = None
    selected_name: str | None = None
    score: int | None = None
    columns: tuple[str, ...] = ()
    # The task table by pid: (uid, tgid, oom_score_adj) as printed; and the first pid of each
    # tgid, so that a killed thread group is found without a scan per kill.
    tasks: dict[int, tuple[str | None, str | None, str | None]] | None = None
    by_tgid: dict[str, int] = field(default_factory=dict)
    killed: bool = False
    group: bool = False  # memory.oom.group: every task of the cgroup is killed (4.19+)


_INVOKED = " invoked oom-killer:"
_GFP = re.compile(r"gfp_mask=(0x[0-9a-fA-F]+(?:\([^)]*\))?)", A)
_ORDER = re.compile(r"\border=(-?[0-9]+)", A)
_INVOKER_ADJ = re.compile(r"\boom_score_adj=(-?[0-9]+)", A)
# `CPU: 3 PID: 1234 Comm: java ...` (3.x+) or `Pid: 1234, comm: java ...` (2.6).
_TRIGGER_PID = re.compile(r"(?:CPU: [0-9]+ (?:UID: [0-9]+ )?PID: |Pid: )([0-9]+)", A)
_TASK_IN = re.compile(r"Task in (\S+) killed as a result of limit of (\S+)")
_TABLE_HEAD = re.compile(r"\[\s*pid\s*\]\s+uid\s+tgid\s+total_vm\b")
_TABLE_ROW = re.compile(r"\[\s*([0-9]+)\]\s+(.*)", A)
# `Out of memory: Kill process 1234 (java) score 905 or sacrifice child` (2.6.36-5.0),
# `... kill process ... or a child` (2.6.25-2.6.35), `... and children` (older patches).
_SELECT = re.compile(
    r"(?:([^:]{1,80}): )?[Kk]ill process ([0-9]+) \((.*)\) score (-?[0-9]+)"
    r"(?= (?:or sacrifice child|and children|or a child))",
    A,
)
_KILLED = re.compile(
    r"(?:([^:]{1,80}): )?Killed process ([0-9]+)(?:, UID ([0-9]+),)? \((.*)\)"
    r"(?=,? (?:total-vm|vsz|UID)\b|\.?\s*$)",
    A,
)
_KILL_FIELDS = {
    "total_vm_bytes": re.compile(r"(?:total-vm|vsz):([0-9]+)kB", A),
    "anon_rss_bytes": re.compile(r"anon-rss:([0-9]+)kB", A),
    "file_rss_bytes": re.compile(r"file-rss:([0-9]+)kB", A),
    "shmem_rss_bytes": re.compile(r"shmem-rss:([0-9]+)kB", A),
    "pgtables_bytes": re.compile(r"pgtables:([0-9]+)kB", A),
}
_KILL_UID = re.compile(r"\bUID[: ]([0-9]+)", A)
_KILL_ADJ = re.compile(r"\boom_score_adj:(-?[0-9]+)", A)
_NO_KILLABLE = "Out of memory and no killable processes"
_CONSTRAINTS = {
    "CONSTRAINT_NONE": "global",
    "CONSTRAINT_MEMCG": "memcg",
    "CONSTRAINT_CPUSET": "cpuset",
    "CONSTRAINT_MEMORY_POLICY": "memory_policy",
}


def _oom_kill_line(dump: _Dump, text: str) -> None:
    """`oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,
    oom_memcg=/a,task_memcg=/a/b,task=java,pid=1234,uid=0` (4.19+)."""
    body = text[len("oom-kill:") :]
    constraint = re.match(r"constraint=(\w+)", body, A)
    if constraint:
        raw = constraint.group(1)
        dump.constraint = _CONSTRAINTS.get(raw, raw.lower().replace("constraint_", ""))
    oom_memcg = re.search(r"(?:^|,)oom_memcg=(.*?),(?:task_memcg|task)=", body)
    if oom_memcg:
        dump.memcg = oom_memcg.group(1)
    task_memcg = re.search(r"(?:^|,)task_memcg=(.*?),task=", body)
    if task_memcg:
        dump.task_memcg = task_memcg.group(1)


# A dump's task table lists every process; rows past this many are not kept (the kill line
# itself says uid and oom_score_adj on 4.x and later; the table is a fallback for older ones).
_TABLE_ROWS = 100_000
# Lines of one dump a kill cites; a dump repeating `memory.oom.group` lines stops there.
_DUMP_LINES = 32


def _table_row(dump: _Dump, text: str) -> None:
    m = _TABLE_ROW.fullmatch(text)
    if not m or dump.tasks is None or not dump.columns or len(dump.tasks) >= _TABLE_ROWS:
        return
    # The name is the last column and may hold spaces.
    values = m.group(2).split(None, len(dump.columns) - 1)
    if len(values) != len(dump.columns):
        return
    row = dict(zip(dump.columns, values))
    pid, tgid = int(m.group(1)), row.get("tgid")
    dump.tasks[pid] = (row.get("uid"), tgid, row.get("oom_score_adj"))
    if tgid is not None:
        dump.by_tgid.setdefault(tgid, pid)


def _cite(dump: _Dump, line: int) -> None:
    if len(dump.lines) < _DUMP_LINES:
        dump.lines.append(line)


def _int(text: str | None) -> int | None:
    if text is None or not re.fullmatch(r"-?[0-9]+", text, A):
        return None
    return int(text)


def _kill(dump: _Dump | None, record: LogRecord, text: str, m: re.Match[str]) -> OomKill:
    pid, name = int(m.group(2)), m.group(4)
    rest = text[m.end() :]
    sizes = {}
    for key, pattern in _KILL_FIELDS.items():
        found = pattern.search(rest)
        sizes[key] = int(found.group(1)) * _KB if found else None
    uid = int(m.group(3)) if m.group(3) else None
    if uid is None:
        found = _KILL_UID.search(rest)
        uid = int(found.group(1)) if found else None
    found = _KILL_ADJ.search(rest)
    adj = int(found.group(1)) if found else None
    context = m.group(1)
    if dump is None:
        dump = _Dump(lines=[])
    if dump.tasks:
        row = dump.tasks.get(pid)
        if row is None:  # the thread group of a killed thread
            first = dump.by_tgid.get(str(pid))
            row = dump.tasks.get(first) if first is not None else None
            if row is not None and row[1] != str(pid):
                row = None
        if row is not None:
            adj = adj if adj is not None else _int(row[2])
            uid = uid if uid is not None else _int(row[0])
    context = context or dump.context
    constraint = dump.constraint
    if constraint is None and context:
        constraint = "memcg" if context.lower().startswith("memory cgroup") else "global"
    selected_differs = dump.selected_pid is not None and dump.selected_pid != pid
    return OomKill(
        pid=pid,
        name=name,
        line=record.line,
        raw=record.message.strip(),
        time=record.time,
        uid=uid,
        oom_score_adj=adj,
        context=context,
        trigger_name=dump.trigger_name,
        trigger_pid=dump.trigger_pid,
        gfp_mask=dump.gfp_mask,
        order=dump.order,
        trigger_oom_score_adj=dump.trigger_oom_score_adj,
        constraint=constraint,
        memcg=dump.memcg,
        task_memcg=dump.task_memcg,
        selected_pid=dump.selected_pid if selected_differs else None,
        selected_name=dump.selected_name if selected_differs else None,
        score=dump.score,
        lines=(*dump.lines, record.line),
        **sizes,
    )


def parse_oom_kills(log: KernelLog) -> list[OomKill]:
    """Every process the OOM killer killed, in log order.

    Only `Killed process` lines count as kills, in all their forms since 2.4:
    `Out of Memory: Killed process N (c).` (2.4), `Out of memory: Killed process N (c).`
    (2.6.18-2.6.24), `Killed process N (c) [vsz:...]` (2.6.25-2.6.35), `Killed process N, UID U,
    (c) total-vm:...` (RHEL 6), `Killed process N (c), UID U, total-vm:...` (RHEL 7.9),
    `Killed process N (c) total-vm:..., anon-rss:..., file-rss:...[, shmem-rss:...]` (3.x, 4.x)
    and `<context>: Killed process N (c) total-vm:... UID:U pgtables:... oom_score_adj:A`
    (5.x+). The `Kill process ... or sacrifice child` selection line that precedes the kill on
    2.6.25-5.0 is the same event and is only used to say which process was selected. A dump
    that ends in `Out of memory and no killable processes` has no kill.
    """
    kills: list[OomKill] = []
    dump: _Dump | None = None

    def reading_a_dump() -> bool:
        return dump is not None and not dump.killed

    for index, line, message in _oom_lines(log.records, reading_a_dump):
        text = message.strip()
        if len(text) > _MATCH_LIMIT:
            continue
        if _INVOKED in text:
            name, _, args = text.partition(_INVOKED)
            dump = _Dump(lines=[line], trigger_name=name.strip() or None)
            gfp = _GFP.search(args)
            dump.gfp_mask = gfp.group(1) if gfp else None
            order = _ORDER.search(args)
            dump.order = int(order.group(1)) if order else None
            adj = _INVOKER_ADJ.search(args)
            dump.trigger_oom_score_adj = int(adj.group(1)) if adj else None
            continue
        if "Killed process " in text:
            m = _KILLED.match(text)
            if m:
                # Further kills belong to this dump only when memory.oom.group kills the rest
                # of the cgroup; otherwise they come from a dump whose start the log lost.
                same = dump is not None and (not dump.killed or dump.group)
                kills.append(_kill(dump if same else None, log.records[index], text, m))
                if dump is not None:
                    dump.killed = True
            continue
        if dump is not None and dump.killed and "memory.oom.group" in text:
            dump.group = True
            _cite(dump, line)
            continue
        select = _SELECT.match(text) if "ill process " in text else None
        task_in = _TASK_IN.search(text) if "Task in " in text else None
        if select or task_in or text.startswith("oom-kill:"):
            if dump is None or dump.killed:  # the log lost this dump's first lines
                dump = _Dump(lines=[])
        if dump is None or dump.killed:
            continue
        if dump.trigger_pid is None and dump.tasks is None:
            m = _TRIGGER_PID.match(text)
            if m:
                dump.trigger_pid = int(m.group(1))
                continue
        if text.startswith("oom-kill:"):
            _oom_kill_line(dump, text)
            _cite(dump, line)
        elif select:
            dump.context = select.group(1)
            dump.selected_pid, dump.selected_name = int(select.group(2)), select.group(3)
            dump.score = int(select.group(4))
            _cite(dump, line)
        elif task_in:
            dump.task_memcg, dump.memcg = task_in.group(1), task_in.group(2)
            dump.constraint = dump.constraint or "memcg"
            _cite(dump, line)
        elif _TABLE_HEAD.search(text):
            head = re.sub(r"^.*?\[\s*pid\s*\]\s*", "", text)
            dump.columns = tuple(head.split())
            dump.tasks = {}
        elif text.startswith("["):
            _table_row(dump, text)
        elif text.startswith(_NO_KILLABLE):
            dump = None
    return kills


# --------------------------------------------------------------------------------------------
# drop_caches
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DropCachesEvent:
    """A write to /proc/sys/vm/drop_caches, as the kernel logs it (`comm (pid): drop_caches: n`).

    Writes with bit 4 of the value set are not logged (since 3.19), so absence proves nothing.
    """

    comm: str
    pid: int
    value: int
    line: int
    time: datetime | None = None


_DROP = re.compile(r"(.+) \(([0-9]+)\): drop_caches: ([0-9]+)", A)


def parse_drop_caches(log: KernelLog) -> list[DropCachesEvent]:
    """Every logged `drop_caches` write, in log order."""
    events: list[DropCachesEvent] = []
    records = log.records
    if isinstance(records, LogRecords):
        found: Iterator[tuple[int, int, str]] = records.kernel_lines(
            records.containing("drop_caches: ")
        )
    else:
        found = _kernel_lines(records)
    for index, line, message in found:
        if "drop_caches: " not in message:
            continue
        text = message.strip()
        m = _DROP.fullmatch(text) if len(text) <= _MATCH_LIMIT else None
        if m:
            events.append(
                DropCachesEvent(
                    comm=m.group(1),
                    pid=int(m.group(2)),
                    value=int(m.group(3)),
                    line=line,
                    time=log.records[index].time,
                )
            )
    return events


def _kernel_lines(records: Sequence[LogRecord]) -> Iterator[tuple[int, int, str]]:
    """(index, line number, message) of the kernel's records."""
    if isinstance(records, LogRecords):
        return records.kernel_lines()
    return ((i, r.line, r.message) for i, r in enumerate(records) if r.is_kernel)


# What starts or ends a dump, or is a kill: outside a dump, only lines saying one of these
# matter to `parse_oom_kills`.
_OOM_WORDS = (
    _INVOKED,
    "Killed process ",
    "memory.oom.group",
    "ill process ",
    "Task in ",
    "oom-kill:",
)


def _oom_lines(
    records: Sequence[LogRecord], reading_a_dump: Callable[[], bool]
) -> Iterator[tuple[int, int, str]]:
    """The kernel lines `parse_oom_kills` needs: those `_OOM_WORDS` finds, found by one search
    over the text, and while `reading_a_dump()` says a dump is open, every line of it."""
    if not isinstance(records, LogRecords):
        yield from _kernel_lines(records)
        return
    hits = records.containing(*_OOM_WORDS)
    hit = next(hits, None)
    index = hit
    while index is not None:
        yield from records.kernel_lines((index,))
        if reading_a_dump():
            index += 1
            if index >= len(records):
                return
            while hit is not None and hit < index:
                hit = next(hits, None)
        else:
            while hit is not None and hit <= index:
                hit = next(hits, None)
            index = hit
