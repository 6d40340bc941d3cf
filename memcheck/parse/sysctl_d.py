"""sysctl configuration files and the order the boot applies them (sysctl.d(5)).

Files: `/etc/sysctl.d`, `/run/sysctl.d`, `/usr/local/lib/sysctl.d`, `/usr/lib/sysctl.d` and
`/lib/sysctl.d` (`*.conf`), plus `/etc/sysctl.conf`. systemd-sysctl.service(8) and procps
`sysctl --system` agree on the order:

- every `*.conf` file of all directories is sorted by file name, whatever its directory;
- of same-named files only the one in the first directory of that list counts, so an
  `/etc/sysctl.d/x.conf` hides `/usr/lib/sysctl.d/x.conf`; a link to `/dev/null` (or an
  empty file) in a higher directory masks the lower file;
- within and across files, a later assignment to a key wins;
- `/etc/sysctl.conf` comes last. procps reads it last by design; systemd-sysctl reads it only
  through the `/etc/sysctl.d/99-sysctl.conf` link that distributions install, which normally
  sorts last too. That link is skipped here so each line is reported once.

Line format: `key = value` (spaces around `=` optional); `#` and `;` start comment lines; a key
may use `.` or `/` as separator (normalised here to the dotted form, see `normalize_key`); a
leading `-` means "ignore a failure to write it"; a key with glob characters applies to every
matching key without an explicit assignment (newer systemd), and `-key` without `=` excludes a
key from those globs. A line that is none of these is ignored by both tools with a warning,
so it is recorded as a `LineProblem`, never raised.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

SYSCTL_DIRS = (
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)
SYSCTL_CONF = "/etc/sysctl.conf"
DEV_NULL = "/dev/null"
_GLOB_CHARS = "*?["


def normalize_key(key: str) -> str:
    """The dotted form of a sysctl name, as sysctl.d(5) defines the equivalence.

    If the first separator is a dot, the name is already dotted. If it is a slash, slashes and
    dots swap: `net/ipv4/conf/enp3s0.200/forwarding` is `net.ipv4.conf.enp3s0/200.forwarding`.
    """
    key = key.strip().strip("/")
    for ch in key:
        if ch == ".":
            return key
        if ch == "/":
            return key.translate(str.maketrans("./", "/."))
    return key


@dataclass(frozen=True)
class Assignment:
    """One `key = value` line."""

    key: str
    value: str
    source: str
    line: int
    ignore_errors: bool = False

    @property
    def is_glob(self) -> bool:
        return any(ch in self.key for ch in _GLOB_CHARS)


@dataclass(frozen=True)
class LineProblem:
    """A line sysctl ignores with a warning."""

    source: str
    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class SysctlFile:
    """One parsed file: its assignments in order, glob exclusions and ignored lines."""

    path: str
    assignments: tuple[Assignment, ...]
    exclusions: tuple[str, ...] = ()
    problems: tuple[LineProblem, ...] = ()


def parse_sysctl_file(text: str, source: str) -> SysctlFile:
    """Parse one sysctl.d file; bad lines become `problems`, never exceptions."""
    assignments: list[Assignment] = []
    exclusions: list[str] = []
    problems: list[LineProblem] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        ignore_errors = key.startswith("-")
        if ignore_errors:
            key = key[1:].strip()
        if not sep:
            if ignore_errors and key and " " not in key:
                exclusions.append(normalize_key(key))
            else:
                problems.append(LineProblem(source, number, raw, "not a 'key = value' line"))
            continue
        if not key or any(ch.isspace() for ch in key):
            problems.append(LineProblem(source, number, raw, "no valid key before '='"))
            continue
        assignments.append(
            Assignment(normalize_key(key), value.strip(), source, number, ignore_errors)
        )
    return SysctlFile(source, tuple(assignments), tuple(exclusions), tuple(problems))


@dataclass(frozen=True)
class Setting:
    """The value a key gets at boot, where it is set, and the earlier settings it overrides."""

    key: str
    value: str
    source: str
    line: int
    ignore_errors: bool = False
    overridden: tuple[Setting, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class SysctlConfig:
    """The whole boot-time configuration, in the order it is applied."""

    values: Mapping[str, Setting]
    patterns: tuple[Setting, ...] = ()
    exclusions: frozenset[str] = frozenset()
    applied: tuple[str, ...] = ()
    hidden: Mapping[str, str] = field(default_factory=dict)
    masked: tuple[str, ...] = ()
    problems: tuple[LineProblem, ...] = ()

    def lookup(self, key: str) -> Setting | None:
        """The setting for `key`: an explicit assignment, else the last matching glob.

        As in systemd-sysctl, a key assigned explicitly anywhere, or excluded with `-key`, is
        not touched by glob patterns.
        """
        key = normalize_key(key)
        if key in self.values:
            return self.values[key]
        if key in self.exclusions:
            return None
        for pattern in reversed(self.patterns):
            if fnmatch.fnmatchcase(key, pattern.key):
                return pattern
        return None


def order_files(
    paths: Iterable[str], links: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str], list[str]]:
    """Which drop-in files apply and in what order.

    Returns (files to apply in order, {hidden path: the path hiding it}, masked paths).
    `links` maps a path that is a symbolic link to its resolved target.
    """
    links = links or {}
    rank = {d: i for i, d in enumerate(SYSCTL_DIRS)}
    by_name: dict[str, list[str]] = {}
    for path in paths:
        directory, name = posixpath.split(path)
        if directory in rank and name.endswith(".conf"):
            by_name.setdefault(name, []).append(path)
    applied: list[str] = []
    hidden: dict[str, str] = {}
    masked: list[str] = []
    for name in sorted(by_name):
        candidates = sorted(set(by_name[name]), key=lambda p: rank[posixpath.dirname(p)])
        winner = candidates[0]
        for loser in candidates[1:]:
            hidden[loser] = winner
        target = links.get(winner)
        if target == DEV_NULL:
            masked.append(winner)
        elif target == SYSCTL_CONF:
            continue  # the usual 99-sysctl.conf link: /etc/sysctl.conf is applied last anyway
        else:
            applied.append(winner)
    return applied, hidden, masked


def load_config(files: Mapping[str, str], links: Mapping[str, str] | None = None) -> SysctlConfig:
    """Apply every file the way the boot does.

    `files` maps each path found under the sysctl.d directories (and `/etc/sysctl.conf`) to
    its text; a path that is a link holds its target's text. `links` maps link paths to their
    resolved targets (so `/dev/null` masks and the `99-sysctl.conf` alias are recognised; a
    link path needs no entry in `files` then).
    Paths outside those locations are ignored.
    """
    applied, hidden, masked = order_files({*files, *(links or {})}, links)
    if SYSCTL_CONF in files:
        applied.append(SYSCTL_CONF)
    # Every assignment of a key in order, the last one in force; built into Settings at the end
    # so that a key assigned n times costs n, not n * n (each Setting lists those before it).
    history: dict[str, list[Setting]] = {}
    # A glob assigned again moves to the end: the last matching glob wins in `lookup`.
    patterns: dict[str, Setting] = {}
    exclusions: set[str] = set()
    problems: list[LineProblem] = []
    for path in applied:
        parsed = parse_sysctl_file(files.get(path, ""), path)
        problems.extend(parsed.problems)
        exclusions.update(parsed.exclusions)
        for a in parsed.assignments:
            setting = Setting(a.key, a.value, a.source, a.line, a.ignore_errors)
            if a.is_glob:
                patterns.pop(a.key, None)
                patterns[a.key] = setting
            else:
                history.setdefault(a.key, []).append(setting)
    values = {
        key: replace(settings[-1], overridden=tuple(settings[:-1]))
        for key, settings in history.items()
    }
    return SysctlConfig(
        values=values,
        patterns=tuple(patterns.values()),
        exclusions=frozenset(exclusions),
        applied=tuple(applied),
        hidden=hidden,
        masked=tuple(masked),
        problems=tuple(problems),
    )


def boot_values(
    files: Mapping[str, str], links: Mapping[str, str] | None = None
) -> dict[str, Setting]:
    """{key: the setting the boot leaves in force} for every explicitly assigned key."""
    return dict(load_config(files, links).values)
