"""Parsers for per-process files under `/proc/<pid>/` (see docs.kernel.org filesystems/proc.html).

`status` gives names, parents and memory use; `oom_score_adj` the OOM protection; `cgroup` the
cgroup (and so the systemd unit) a process runs in; `cmdline` its NUL-separated arguments.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from memcheck.errors import ParseError
from memcheck.parse.values import quote, to_int

_KB = 1024

# The status lines memcheck uses. Lines end at "\n" only: the kernel escapes a newline in a
# process name, while some kernels leave a carriage return in it as it is.
_STATUS_LINE = re.compile(
    r"^(Name|Pid|PPid|Uid|State|VmRSS|VmSwap|VmData|VmSize|Mems_allowed_list):(.*)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class ProcStatus:
    """The fields of `/proc/<pid>/status` memcheck uses. Kernel threads have no Vm* lines."""

    name: str
    pid: int
    ppid: int | None
    uid: int | None
    state: str | None
    vm_rss_bytes: int | None
    vm_swap_bytes: int | None
    vm_data_bytes: int | None
    vm_size_bytes: int | None
    mems_allowed_list: str | None


def _kb(value: str, source: str, key: str) -> int:
    parts = value.split()
    number = to_int(parts[0], signed=True) if parts else None
    if number is None:
        raise ParseError(source, f"{key}: expected '<n> kB', got {quote(value)}")
    if len(parts) > 1 and parts[1].lower() != "kb":
        raise ParseError(source, f"{key}: unknown unit {quote(parts[1], 40)}")
    return number * _KB


def parse_status(text: str, source: str = "/proc/<pid>/status") -> ProcStatus:
    """Parse `/proc/<pid>/status` (`Key:\\tvalue` lines)."""
    fields: dict[str, str] = {}
    # A torn last line without its ":" is no field; the first of a key wins.
    for key, value in _STATUS_LINE.findall(text):
        if key not in fields:
            # Name is the only value that may hold anything (spaces, ':', a trailing space).
            fields[key] = value[1:] if key == "Name" and value[:1] == "\t" else value.strip()
    if "Name" not in fields or "Pid" not in fields:
        raise ParseError(source, "expected Name: and Pid: lines")

    def integer(key: str) -> int | None:
        raw = fields.get(key)
        if raw is None:
            return None
        words = raw.split()
        value = to_int(words[0], signed=True) if words else None
        if value is None:
            raise ParseError(source, f"{key}: expected an integer, got {quote(raw)}")
        return value

    def size(key: str) -> int | None:
        raw = fields.get(key)
        return None if raw is None else _kb(raw, source, key)

    pid = integer("Pid")
    assert pid is not None
    return ProcStatus(
        name=fields["Name"],
        pid=pid,
        ppid=integer("PPid"),
        uid=integer("Uid"),
        state=fields.get("State"),
        vm_rss_bytes=size("VmRSS"),
        vm_swap_bytes=size("VmSwap"),
        vm_data_bytes=size("VmData"),
        vm_size_bytes=size("VmSize"),
        mems_allowed_list=fields.get("Mems_allowed_list"),
    )


def parse_oom_score_adj(text: str, source: str = "/proc/<pid>/oom_score_adj") -> int:
    """`oom_score_adj` is one integer, -1000..1000."""
    value = to_int(text.strip(), signed=True)
    if value is None:
        raise ParseError(source, f"expected an integer, got {quote(text.strip(), 40)}")
    if not -1000 <= value <= 1000:
        raise ParseError(source, f"{value} is outside -1000..1000")
    return value


def parse_oom_adj(text: str, source: str = "/proc/<pid>/oom_adj") -> int:
    """The pre-2.6.36 `oom_adj`, -17..15 (-17 disables OOM killing)."""
    value = to_int(text.strip(), signed=True)
    if value is None:
        raise ParseError(source, f"expected an integer, got {quote(text.strip(), 40)}")
    if not -17 <= value <= 15:
        raise ParseError(source, f"{value} is outside -17..15")
    return value


def oom_adj_to_score_adj(value: int) -> int:
    """Map the legacy scale onto oom_score_adj the way the kernel does (-17 is -1000).

    fs/proc/base.c oom_adj_write(): 15 (OOM_ADJUST_MAX) becomes 1000, anything else
    `value * 1000 / 17` with C division, which truncates toward zero.
    """
    if value == 15:
        return 1000
    scaled = abs(value) * 1000 // 17
    return -scaled if value < 0 else scaled


@dataclass(frozen=True)
class CgroupEntry:
    """One line of `/proc/<pid>/cgroup`: `hierarchy-id:controllers:path`."""

    hierarchy_id: int
    controllers: tuple[str, ...]
    path: str


def parse_cgroup(text: str, source: str = "/proc/<pid>/cgroup") -> tuple[CgroupEntry, ...]:
    """Parse `/proc/<pid>/cgroup`; v2 has the single line `0::/path`."""
    # Only texts of a real cgroup file's size are memoised: the cache keeps its keys, and a
    # hostile host's megabyte-long texts would stay in memory with them.
    parse = _parse_cgroup if len(text) <= _CACHED_TEXT else _parse_cgroup.__wrapped__
    try:
        return parse(text)
    except ValueError as exc:
        raise ParseError(source, str(exc)) from None


_CACHED_TEXT = 4096


# Most processes of a host share their cgroups, so the same text comes many times per host;
# the result is immutable and shared.
@functools.lru_cache(maxsize=4096)
def _parse_cgroup(text: str) -> tuple[CgroupEntry, ...]:
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(":", 2)
        if len(parts) != 3:
            raise ValueError(f"line {number}: expected 'id:controllers:path', got {quote(line)}")
        hid = to_int(parts[0])
        if hid is None:
            raise ValueError(f"line {number}: hierarchy id {quote(parts[0], 40)} is not a number")
        controllers = tuple(c for c in parts[1].split(",") if c)
        entries.append(CgroupEntry(hid, controllers, parts[2]))
    return tuple(entries)


def unit_of(entries: tuple[CgroupEntry, ...]) -> str | None:
    """The systemd unit a process runs in, from its cgroup path (v2, or v1's name=systemd)."""
    for entry in entries:
        if entry.hierarchy_id == 0 or "name=systemd" in entry.controllers:
            for part in reversed(entry.path.split("/")):
                if part.endswith((".service", ".scope")):
                    return part
    return None


def parse_cmdline(data: bytes) -> tuple[str, ...]:
    """`cmdline` is NUL-separated; kernel threads have none (empty tuple)."""
    if not data:
        return ()
    return tuple(arg.decode("utf-8", errors="replace") for arg in data.rstrip(b"\0").split(b"\0"))
