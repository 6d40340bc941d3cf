"""Parser for `/proc/mounts` (see proc(5)): device, mount point, type, options, dump, pass."""

from __future__ import annotations

import re
from dataclasses import dataclass

from memcheck.errors import ParseError
from memcheck.parse.values import quote


@dataclass(frozen=True)
class Mount:
    device: str
    mountpoint: str
    fstype: str
    options: tuple[str, ...]


# The kernel escapes space, tab, newline and backslash in paths as three octal digits
# (`\040`); a backslash followed by anything else (`\999`) is kept as it is.
_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mounts(text: str, source: str = "/proc/mounts") -> tuple[Mount, ...]:
    mounts = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) < 4:
            raise ParseError(
                source, f"line {number}: expected at least 4 fields, got {quote(line)}"
            )
        mounts.append(
            Mount(_unescape(parts[0]), _unescape(parts[1]), parts[2], tuple(parts[3].split(",")))
        )
    return tuple(mounts)


def cgroup_mode(mounts: tuple[Mount, ...]) -> str | None:
    """`v2` (unified), `hybrid` (v1 controllers plus a cgroup2 mount), `v1`, or None (none mounted)."""
    v2_root = any(m.fstype == "cgroup2" and m.mountpoint == "/sys/fs/cgroup" for m in mounts)
    has_v2 = any(m.fstype == "cgroup2" for m in mounts)
    has_v1 = any(m.fstype == "cgroup" for m in mounts)
    if v2_root and not has_v1:
        return "v2"
    if has_v1 and has_v2:
        return "hybrid"
    if has_v1:
        return "v1"
    if has_v2:
        return "v2"
    return None
