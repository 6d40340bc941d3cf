"""The collection script: one POSIX sh program per host, and the parser of what it prints.

`build_script` turns the union of the selected checks' `reads` into a single script that runs
under dash, bash and busybox sh, reads every requested file once, and prints each one inside
a frame. Reads are exact paths, shell globs, whole trees (`DIR/**`) and named trees
(`DIR/**/NAME`: every file called NAME in DIR or below, links not followed, nothing else of
the tree read; the cgroup hierarchy is read this way, file by file, never whole). `parse_output` turns that output into a `Snapshot`.

Framing. Every record starts with a separator line `\\n:MEMCHECK:<nonce>:<tag>\\n`, and its
data runs up to the next separator. The nonce is random per run and never appears in the
script as one piece (it is printed from two halves), so the files read cannot contain a
separator: not even `/proc/<pid>/cmdline` of the shell that runs the script. Any byte
survives: NULs, `\\r`, invalid UTF-8, a missing final newline. Records:

    begin <format\\n then every pattern this run reads, one per line>
    date <host clock>    read <pattern>      done                end
    path <path>          then one of:
      file <bytes>       dir                 missing             gone (vanished during a glob)
      link <target\\n>   [target <bytes> | tdir]   (for exact and glob reads, the link is
                                                   also followed)
      special            skip <reason>       cmd <command> file <bytes> (kernel log attempts)
      lhead              (a link to a file: head's batch brings the file, tar's the link)
    error <text>         (after file/link/target/dir: what the command printed on stderr)
    warn <text>          (after a kernel log command that worked but complained)
    tar <a tar stream of a whole tree>  [error <what tar printed on stderr>]

Speed. A process costs about a millisecond on the host, and a fleet pays it per host; so
the script starts as few as it can. Every regular kernel file (the exact paths under /proc
and /sys, what each /proc or /sys glob matches such as `/proc/[0-9]*/status`, the cgroup
files of a named tree) waits in one list that a single `head` reads at the end, its POSIX
`==> FILE <==` headers framing the files (checked on the controller, see `_HeadBatch`);
partial reads get one `head -n N` per line count. On disk, the regular files of exact
paths and globs and whole directory trees (`/usr/lib/systemd/system/**`) go into one `tar`.
Without head or tar, files are read one by one. (The shell's own `read` is no shortcut:
/proc/sys files answer only the first read(2), so a byte-by-byte reader would see `6` for a
swappiness of `60`.)

Partial reads. A pattern may end in `#head=N` (`/proc/[0-9]*/numa_maps#head=64`): every
file it matches is read with `head -n N` instead of `cat`, and the snapshot keeps those first
N lines as the file's content. It is for files that are long and whose beginning is all a
check needs (a database's numa_maps runs to thousands of lines, and the kernel walks the page
tables for every line it prints). A whole read of the same path wins over a partial one.

The script writes nothing on the host: no temporary files, no redirection except to
/dev/null and between its own file descriptors. Every command it runs is listed in
`memcheck.collect.commands`.
"""

from __future__ import annotations

import bisect
import fnmatch
import functools
import math
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from memcheck.collect.commands import NEVER_READ
from memcheck.collect.errors import CollectError
from memcheck.collect.quoting import QuotingError, is_glob, quote, quote_glob
from memcheck.errors import MISSING
from memcheck.secrets import mask_snapshot_files
from memcheck.snapshot import (
    KERNEL_LOG,
    META_DIR,
    UPTIME_AFTER,
    VMSTAT_AFTER,
    HostInfo,
    Snapshot,
)

FORMAT_VERSION = "1"

"""The second `/proc/uptime` reading, taken with `.memcheck/vmstat.after`."""

KERNEL_LOG_SOURCE = META_DIR + "/kernel.log.source"
"""Which command produced `.memcheck/kernel.log` and what the others said when they failed."""

KERNEL_LOG_COMMANDS = ("dmesg", "journalctl -k --no-pager -o short-monotonic")

PSEUDO_READS = (KERNEL_LOG, VMSTAT_AFTER)
# Why a host has no second /proc/vmstat sample: /proc/swaps lists only its header line.
NO_SWAP_DEVICE = "not sampled: /proc/swaps lists no swap device, so no page can be swapped"

BASE_READS: tuple[str, ...] = (
    "/proc/sys/kernel/hostname",
    "/proc/sys/kernel/osrelease",
    "/proc/version",
    "/proc/cmdline",
    "/proc/uptime",
    "/proc/mounts",
    "/proc/filesystems",
    "/proc/1/cgroup",
    "/proc/1/comm",
    "/proc/self/cgroup",
    "/etc/os-release",
    "/etc/hostname",
    "/sys/fs/cgroup/cgroup.controllers",
    "/run/systemd/container",
    "/run/.containerenv",
)
"""Read on every host whatever the checks ask: identity, kernel, uptime, mounts, container."""

TRUNCATED = "not collected: the output ended early (connection dropped or time limit reached)"

_NONCE = re.compile(r"[A-Za-z0-9]{16,128}")
HEAD_OPTION = "#head="
_HEAD = re.compile(r"#head=([1-9][0-9]{0,5})")
_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_BRACES = re.compile(r"\{([^{}]*)\}")


# -- building ---------------------------------------------------------------------------------


def separator(nonce: str) -> bytes:
    """The bytes that start every record of one run."""
    return b"\n:MEMCHECK:" + nonce.encode("ascii") + b":"


def expand_braces(pattern: str) -> list[str]:
    """`/etc/cron.{daily,weekly}/*` -> both patterns (sh has no brace expansion)."""
    match = _BRACES.search(pattern)
    if match is None:
        return [pattern]
    out: list[str] = []
    for choice in match.group(1).split(","):
        out.extend(expand_braces(pattern[: match.start()] + choice + pattern[match.end() :]))
    return out


def split_read(spec: str) -> tuple[str, int | None]:
    """`/proc/[0-9]*/numa_maps#head=64` -> (`/proc/[0-9]*/numa_maps`, 64); whole reads give None.

    Raises ValueError for a `#head=` option that is not a line count from 1 to 999999.
    """
    at = spec.rfind(HEAD_OPTION)
    if at < 0:
        return spec, None
    match = _HEAD.fullmatch(spec[at:])
    if match is None:
        raise ValueError(f"read pattern {spec!r}: '#head=' takes a line count from 1 to 999999")
    return spec[:at], int(match.group(1))


def normalise_reads(reads: Iterable[str]) -> list[str]:
    """The base set plus `reads`, braces expanded, checked, without duplicates, in order.

    Where one pattern is asked for whole and in part (`#head=N`), only the whole read stays;
    where it is asked for in several parts, the longest.
    """
    seen: dict[str, None] = {}
    for raw in (*BASE_READS, *reads):
        for pattern in expand_braces(raw):
            seen[_check_pattern(pattern)] = None
    wanted: dict[str, int | None] = {}  # path -> line count, None for a whole read
    for spec in seen:
        path, lines = split_read(spec)
        before = wanted.get(path, lines)
        if path in wanted and (before is None or lines is None):
            wanted[path] = None
        else:
            wanted[path] = max(before or 0, lines or 0) or None
    return [path if n is None else f"{path}{HEAD_OPTION}{n}" for path, n in wanted.items()]


def split_named_tree(pattern: str) -> tuple[str, str] | None:
    """`/sys/fs/cgroup/**/memory.max` -> (`/sys/fs/cgroup`, `memory.max`); else None.

    Such a pattern names every file called NAME (a shell glob of one path component) in DIR
    or any directory below it, and nothing else of the tree.
    """
    top, marker, name = pattern.rpartition("/**/")
    if not marker or "/" in name:
        return None
    return top, name


def _check_pattern(spec: str) -> str:
    pattern, lines = split_read(spec)
    if lines is not None and (
        pattern.endswith("/**") or pattern in PSEUDO_READS or split_named_tree(pattern)
    ):
        raise ValueError(f"read pattern {spec!r}: '#head=' applies to files and globs only")
    _check_path(pattern)
    return spec


def _check_path(pattern: str) -> str:
    try:
        quote(pattern)
    except QuotingError as exc:
        raise ValueError(f"read pattern {pattern!r}: {exc}") from exc
    if not pattern.startswith("/"):
        raise ValueError(f"read pattern {pattern!r} is not an absolute path")
    named = split_named_tree(pattern)
    if named is not None:
        return _check_named_tree(pattern, *named)
    body = pattern[:-3] if pattern.endswith("/**") else pattern
    if posixpath.normpath(body) != body or body == "/":
        raise ValueError(f"read pattern {pattern!r} is not a normal path")
    if "**" in body:
        raise ValueError(
            f"read pattern {pattern!r}: '**' is only allowed as a final '/**' or in DIR/**/NAME"
        )
    if body.startswith(META_DIR + "/") and pattern not in PSEUDO_READS:
        raise ValueError(f"read pattern {pattern!r}: unknown .memcheck entry")
    if body == "/dev" or body.startswith("/dev/"):
        raise ValueError(f"read pattern {pattern!r}: device files are never read")
    if is_glob(body):
        quote_glob(body)  # raises on what the shell and Snapshot.glob would disagree about
    return pattern


def _check_named_tree(pattern: str, top: str, name: str) -> str:
    if is_glob(top) or "**" in top:
        raise ValueError(f"read pattern {pattern!r}: DIR in DIR/**/NAME must be a plain path")
    if posixpath.normpath(top) != top or top == "/" or not top:
        raise ValueError(f"read pattern {pattern!r} is not a normal path")
    if name in ("", ".", "..") or "**" in name:
        raise ValueError(f"read pattern {pattern!r}: NAME must be one file name or glob")
    if top.startswith(META_DIR + "/") or top == META_DIR:
        raise ValueError(f"read pattern {pattern!r}: unknown .memcheck entry")
    if top == "/dev" or top.startswith("/dev/"):
        raise ValueError(f"read pattern {pattern!r}: device files are never read")
    try:
        quote_glob(name)  # raises on what the shell and Snapshot.glob would disagree about
    except QuotingError as exc:
        raise ValueError(f"read pattern {pattern!r}: {exc}") from exc
    return pattern


# The script with a stand-in nonce, built once per run rather than once per host (building
# it quotes every path and glob, which costs more than parsing a small host's output).
_STAND_IN = ("MemcheckStandInNonceFirstHalfQzx", "MemcheckStandInNonceOtherHalfQzx")


@functools.lru_cache(maxsize=32)
def _script_template(
    reads: tuple[str, ...], sample_interval: float, timeout: int | None, prefix: str
) -> str:
    return _build_script(reads, "".join(_STAND_IN), sample_interval, timeout, prefix)


def build_script(
    reads: Iterable[str],
    nonce: str,
    sample_interval: float = 1.0,
    timeout: int | None = None,
    prefix: str = "",
) -> str:
    """One POSIX sh script that prints, framed, every file `reads` (plus the base set) names.

    See `_build_script`; this one reuses the text of an earlier call with the same reads
    and settings, with the nonce put in.
    """
    if not _NONCE.fullmatch(nonce):
        raise ValueError("nonce must be 16 to 128 ASCII letters and digits")
    wanted = tuple(reads)
    template = _script_template(wanted, float(sample_interval), timeout, prefix)
    if all(template.count(half) == 1 for half in _STAND_IN):
        half = len(nonce) // 2
        return template.replace(_STAND_IN[0], nonce[:half]).replace(_STAND_IN[1], nonce[half:])
    # A read that happens to hold a stand-in half: build this one from scratch.
    return _build_script(wanted, nonce, sample_interval, timeout, prefix)


def _build_script(
    reads: Iterable[str],
    nonce: str,
    sample_interval: float = 1.0,
    timeout: int | None = None,
    prefix: str = "",
) -> str:
    """One POSIX sh script that prints, framed, every file `reads` (plus the base set) names.

    `reads` holds exact paths, shell globs (`/proc/[0-9]*/comm`), trees (`/etc/sysctl.d/**`),
    named trees (`/sys/fs/cgroup/**/memory.max`; braces expand first, so
    `/sys/fs/cgroup/**/memory.{max,high}` is two patterns walked once) and the pseudo paths `/.memcheck/kernel.log` and `/.memcheck/vmstat.after`.
    With `timeout`, the script is wrapped so that the host's `timeout` (when it has a
    working one) kills it after that many seconds. `prefix` is put before every path read
    from the file system and removed from the recorded paths: it lets tests run the
    script over a directory tree; it is never used against a host.
    """
    if not _NONCE.fullmatch(nonce):
        raise ValueError("nonce must be 16 to 128 ASCII letters and digits")
    if prefix and (not prefix.startswith("/") or prefix.endswith("/") or "\n" in prefix):
        raise ValueError(
            "prefix must be an absolute directory path without a final '/' or a newline"
        )
    patterns = normalise_reads(reads)
    sample = VMSTAT_AFTER in patterns
    if sample and "/proc/vmstat" not in patterns:
        patterns.append("/proc/vmstat")  # the first sample
    half = len(nonce) // 2
    lines = [
        "LC_ALL=C; export LC_ALL",
        # GNU tar reads options from TAR_OPTIONS; none of the host's may apply to us.
        "unset TAR_OPTIONS; TAR=; if command -v tar >/dev/null 2>&1; then TAR=1; fi",
        "HEAD=; if command -v head >/dev/null 2>&1; then HEAD=1; fi; NL='\n'",
        # H: the line count of a partial read (empty: read whole files); L: the merged-/usr
        # links recorded so far. Neither is inherited.
        f"a={quote(nonce[:half])}; b={quote(nonce[half:])}; P={quote(prefix)}; H=; L=",
        *_FUNCTIONS,
        _never_read_function(),
        # The plan (every pattern this run reads) travels in the first record, so output cut
        # short anywhere after it still says what is missing.
        "m begin; printf '%s\\n' " + " ".join(quote(w) for w in (FORMAT_VERSION, *patterns)),
    ]
    lines.append("d date \"$(date -u '+%Y-%m-%dT%H:%M:%SZ' 2>&1)\"")

    first = ["/proc/uptime", "/proc/vmstat"] if sample else ["/proc/uptime"]
    ordered = [*first, *(p for p in patterns if p not in first and p not in PSEUDO_READS)]
    # Named-tree patterns sharing a DIR share one walk (memory.{max,high,...} under one
    # cgroup tree): a directory is listed once however many names are wanted in it.
    named: dict[str, list[str]] = {}
    for pattern in ordered:
        found = split_named_tree(pattern)
        if found is not None:
            named.setdefault(found[0], []).append(pattern)
    if len(first) > 1:
        # The first samples through one head when both are regular files (one process less).
        words = [f'"$P"{quote(p)}' for p in first]
        regular = " && ".join(f"[ -f {w} ] && [ ! -h {w} ]" for w in words)
        lines.append(f'if [ -n "$HEAD" ] && {regular}; then hd {" ".join(words)}; else')
        lines += [f"  d read {quote(p)}; one {w}; m done" for p, w in zip(first, words)]
        lines.append("fi")
        lines += [f"d read {quote(p)}; m done" for p in first]
    else:
        lines += [f"d read {quote(first[0])}", f'one "$P"{quote(first[0])}', "m done"]
    if sample:
        lines.append("u; T0=$U")  # when the first sample was taken
    lists = _Lists([p for p in ordered if _batchable(p)])
    # The patterns that queued files in each list: they are marked done once it was read.
    waiting: dict[str, list[str]] = {}
    for pattern in ordered:
        if pattern in first:
            continue
        found = split_named_tree(pattern)
        if found is None:
            body, batch = _merged_usr_lines(pattern, ordered, lists) or _read_lines(pattern, lists)
            group = [pattern]
        elif named[found[0]][0] == pattern:
            group = named[found[0]]
            batch = lists.head(group, None)
            body = _named_tree_lines(found[0], group, lists.variable(batch), lists.skips(group))
        else:
            continue
        lines += [f"d read {quote(group[0])}", *body]
        if batch is None:
            lines.append("m done")
        else:
            waiting.setdefault(batch, []).extend(group)
    # Kernel files first (what matters most arrives first when a host's time limit cuts the
    # output short), partial reads before whole ones (where a path is also read whole, the
    # whole read comes later and is the one kept), tar last.
    batches = {*waiting, *lists.variables}
    for batch in sorted(batches, key=lambda name: (name == TAR_LIST, lists.limit(name) is None)):
        lines += lists.flush_lines(batch)
        done = waiting.get(batch, [])
        lines += [line for p in done for line in (f"d read {quote(p)}", "m done")]
    if KERNEL_LOG in patterns:
        lines += [f"d read {quote(KERNEL_LOG)}", "klog", "m done"]
    if sample:
        lines += [
            f"d read {quote(VMSTAT_AFTER)}",
            # A host without a swap device cannot swap a page in or out: the second sample
            # would only say 0, and waiting for it costs a fleet the interval on every host.
            'n=; if [ -r "$P"/proc/swaps ] && while IFS= read -r l; do n=${n}x; done'
            ' 2>/dev/null <"$P"/proc/swaps && [ "$n" = x ]; then',
            f"  d path {quote(VMSTAT_AFTER)}; d skip {quote(NO_SWAP_DEVICE)}",
            "else",
            *("  " + line for line in _sleep_lines(sample_interval)),
            f'  d path {quote(UPTIME_AFTER)}; m file; c "$P"{quote("/proc/uptime")}',
            f'  d path {quote(VMSTAT_AFTER)}; m file; c "$P"{quote("/proc/vmstat")}',
            "fi",
            "m done",
        ]
    lines.append("m end")
    script = "\n".join(lines) + "\n"
    if timeout is None:
        return script
    return wrap_with_timeout(script, timeout)


# What runs a script sent on standard input: the shell reads it whole, then runs it. The
# script never appears in a command line on the host (`/proc/<pid>/cmdline` of the shells
# that run it, which the script itself reads on every host: ~28 KB each for the database
# profile); commands it starts find their standard input at its end.
_FROM_STDIN = 'eval "$(cat)"'


def stdin_command(seconds: int | None) -> str:
    """The command for a script sent on standard input (see `_FROM_STDIN`), run under the
    host's `timeout` as `wrap_with_timeout` does when `seconds` is given."""
    if seconds is None:
        return "sh -c " + quote(_FROM_STDIN)
    return wrap_with_timeout(_FROM_STDIN, seconds)


def wrap_with_timeout(script: str, seconds: int) -> str:
    """`sh -c` the script under the host's `timeout` when it has one that works, else plain.

    The probe `timeout 5 sh -c :` weeds out old busybox builds that only accept `-t SECS`.
    """
    limit = quote(str(max(1, int(seconds))))
    wrapper = (
        "T=$(command -v timeout 2>/dev/null); "
        'if [ -n "$T" ] && "$T" 5 sh -c : >/dev/null 2>&1 </dev/null; '
        f'then exec "$T" {limit} sh -c "$1" sh; '
        'else exec sh -c "$1" sh; fi'
    )
    return " ".join(["sh", "-c", quote(wrapper), "sh", quote(script, lines=True)])


MERGED_USR = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def _merged_usr_lines(
    pattern: str, plan: list[str], lists: _Lists
) -> tuple[list[str], str | None] | None:
    """`/lib/X/**` where /lib links to usr/lib and `/usr/lib/X/**` is read too: the link only.

    On a merged-/usr system (Debian 12, RHEL 9, Fedora, Arch) both trees are one, and the
    snapshot resolves /lib/X through the recorded link; reading it twice costs as much as
    all other files together. Where /lib is a real folder the tree is read as usual.
    """
    top = pattern[:-3]
    if not pattern.endswith("/**") or is_glob(top):
        return None
    link = "/" + top.split("/")[1]
    twin = "/usr" + top + "/**"
    if link not in MERGED_USR or twin not in plan or plan.index(twin) > plan.index(pattern):
        return None
    here, there = f'"$P"{quote(top)}', f'"$P"{quote("/usr" + top)}'
    body, batch = _read_lines(pattern, lists)
    return [
        f'if [ -h "$P"{quote(link)} ] && [ -d {here} ] && [ {here} -ef {there} ] 2>/dev/null; '
        # Recorded once however many trees below it are read.
        f'then case "$L" in *"|"{quote(link)}"|"*) ;; *) one "$P"{quote(link)}; '
        f'L="$L|"{quote(link)}"|";; esac; else',
        *(f"  {line}" for line in body),
        "fi",
    ], batch


def _batchable(pattern: str) -> bool:
    """An exact path under /proc or /sys, read whole, with the others through one `head`."""
    if is_glob(pattern) or pattern.endswith("/**") or HEAD_OPTION in pattern:
        return False
    if not pattern.startswith(("/proc/", "/sys/")):
        return False
    return not any(fnmatch.fnmatchcase(pattern, glob) for glob, _ in NEVER_READ)


# The files a loop accepted wait, one per line, in list variables: the K lists for one `head`
# of whole files, K<N> for `head -n N`, Z for one `tar`. Each list is read once, after every
# pattern has queued its files: a host then starts one head per line count and one tar, not
# one per pattern (about a millisecond each, and some forty of them per host before). Names
# holding a newline never join a list.
#
# Appending to a shell variable copies it, so a list kept in one variable costs time
# quadratic in its length: a host with 2,000 processes queues 16,000 files, and one variable
# took 6 s there. Each pattern therefore has a variable of its own, filled a chunk at a time
# (the chunk C, 64 files, counted in j); the read joins the variables.
TAR_LIST = "Z"
CHUNK = 64


def _component_meets(x: str, y: str) -> bool:
    """Whether two path components (literal or shell glob) may name the same entry."""
    if not is_glob(x) and not is_glob(y):
        return x == y
    if not is_glob(y):
        return fnmatch.fnmatchcase(y, x)
    if not is_glob(x):
        return fnmatch.fnmatchcase(x, y)
    return True


def may_overlap(a: str, b: str) -> bool:
    """Whether two read patterns (exact, glob or named tree) may match one path.

    Errs towards yes: it is used to keep a path out of one `head` twice (head would print its
    header twice, and `_HeadBatch` trusts no header it sees twice).
    """
    tree_a, tree_b = split_named_tree(a), split_named_tree(b)
    if tree_a is None and tree_b is None:
        pa, pb = a.split("/"), b.split("/")
        return len(pa) == len(pb) and all(map(_component_meets, pa, pb))
    if tree_a is not None and tree_b is not None:
        da, db = tree_a[0].split("/"), tree_b[0].split("/")
        shared = min(len(da), len(db))
        return all(map(_component_meets, da[:shared], db[:shared])) and _component_meets(
            tree_a[1], tree_b[1]
        )
    top, name = tree_a or tree_b or ("", "")
    parts, path = top.split("/"), (b if tree_a else a).split("/")
    return (
        len(path) > len(parts)
        and all(map(_component_meets, parts, path))
        and _component_meets(name, path[-1])
    )


@dataclass
class _Lists:
    """The lists of one script: which patterns queue files in each, in which variables.

    Exact kernel paths (whole reads) share list K and are left out of every glob or walk
    that may match them. Globs and walks join the first list of their line count that none
    of its patterns may overlap (K, K64, then K_2, K64_2, ...): with the catalogue that is
    one list per line count.
    """

    exact: list[str]
    members: dict[str, list[str]] = field(default_factory=dict)
    limits: dict[str, int | None] = field(default_factory=dict)
    variables: dict[str, list[str]] = field(default_factory=dict)

    def head(self, patterns: list[str], lines: int | None) -> str:
        base = "K" if lines is None else f"K{lines}"
        n = 1
        while True:
            name = base if n == 1 else f"{base}_{n}"
            taken = self.members.setdefault(name, [])
            if not any(may_overlap(p, q) for p in patterns for q in taken):
                taken.extend(patterns)
                self.limits[name] = lines
                return name
            n += 1

    def variable(self, batch: str, shared: bool = False) -> str:
        """A new variable for one pattern's files in list `batch` (`shared`: the one that
        exact paths, a file each, have in common)."""
        names = self.variables.setdefault(batch, [])
        name = f"{batch}_0" if shared else f"{batch}_{len(names) + 1}"
        if name not in names:
            names.append(name)
        return name

    def limit(self, name: str) -> int | None:
        return self.limits.get(name)

    def skips(self, patterns: list[str]) -> list[str]:
        """The exact kernel paths a glob or walk must leave alone (their own read has them)."""
        return [e for e in self.exact if any(may_overlap(e, p) for p in patterns)]

    def flush_lines(self, batch: str) -> list[str]:
        """Read what list `batch` holds: one tar, or one head (one file alone read alone).

        The list becomes the positional parameters, split on newlines only, unglobbed.
        """
        names = self.variables.get(batch, [])
        if not names:
            return []
        joined = " ".join(f"${name}" for name in names)
        cleared = " ".join(f"{name}=" for name in names)
        split = f"set -f; o=$IFS; IFS=$NL; set -- {joined}; IFS=$o; set +f; {cleared}"
        if batch == TAR_LIST:
            return [split, 'if [ "$#" -gt 0 ]; then tt "$@"; fi']
        limit = self.limit(batch)
        return [
            split,
            *([f"H={limit}"] if limit else []),
            # POSIX head frames files only when it is given more than one.
            'if [ "$#" -gt 1 ]; then hd "$@"; elif [ "$#" -eq 1 ]; then one "$1" g; fi',
            *(["H="] if limit else []),
        ]


def _skip_arm(paths: list[str]) -> str:
    """A case arm that does nothing for the given paths (empty when there are none)."""
    if not paths:
        return ""
    return " " + "|".join(f'"$P"{quote(path)}' for path in paths) + ") ;;"


def _append(variable: str, word: str) -> str:
    """Shell text appending WORD (a quoted path) and a newline to VARIABLE: one file."""
    return f'{variable}="${variable}"{word}"$NL"'


def _queue(variable: str, word: str) -> str:
    """Shell text queueing WORD (`"$g"`, ...) for VARIABLE in a loop: into the chunk, and
    the chunk into the variable once full; `_drain` moves the rest after the loop."""
    full = "x" * CHUNK
    return f'C="$C"{word}"$NL"; j=x$j; case $j in {full}) {variable}="${variable}$C"; C=; j=;; esac'


def _drain(variable: str) -> str:
    return f'{variable}="${variable}$C"; C=; j='


def _sleep_lines(interval: float) -> list[str]:
    """Wait until `interval` has passed since the first sample, not `interval` more.

    Reading everything else took time already; a fleet pays the interval on every host, so
    only what is left of it is slept. Times come from /proc/uptime (centiseconds, read with
    shell built-ins); where it cannot be read, the whole interval is slept.
    """
    if interval <= 0:
        return []
    want = max(1, math.ceil(interval * 100))
    return [
        f"u; r={want}",
        'if [ -n "$T0" ] && [ -n "$U" ]; then r="$((r - U + T0))"; fi',
        'if [ "$r" -gt 0 ]; then',
        '  f="$((r % 100))"; if [ "$f" -lt 10 ]; then f="0$f"; fi',
        # POSIX sleep takes whole seconds; GNU and busybox take fractions. Round up where not.
        '  sleep "$((r / 100)).$f" 2>/dev/null || sleep "$((r / 100 + 1))"',
        "fi",
    ]


def tar_eligible(top: str) -> bool:
    """Whether a tree can be read with one `tar`: on disk, where sizes are real.

    tar copies as many bytes as stat(2) reports, which for /proc (0) and /sys (4096) files
    is not their content; those trees are walked file by file.
    """
    return not any(top == root or top.startswith(root + "/") for root in ("/proc", "/sys"))


def _literal_parent(pattern: str) -> str:
    """The folder a glob lists: its path up to the first component with a glob character
    (`/etc/cron.d/*` -> `/etc/cron.d`, `/proc/[0-9]*/comm` -> `/proc`)."""
    kept = []
    for part in pattern.split("/")[1:]:
        if is_glob(part):
            break
        kept.append(part)
    return "/" + "/".join(kept)


def _read_lines(spec: str, lists: _Lists) -> tuple[list[str], str | None]:
    """The shell text reading one pattern, and the list it queues files in (None: none).

    Kernel files (/proc, /sys) that are regular join a head list; on disk, regular files and
    whole trees join the tar list. Links, missing files, odd names and anything else are read
    at once, one by one, as are all files on a host without head or tar.
    """
    pattern, lines = split_read(spec)
    here = f'"$P"{quote(pattern)}'
    if pattern.endswith("/**"):
        top = pattern[:-3]
        if not is_glob(top) and tar_eligible(top):
            where = f'"$P"{quote(top)}'
            body = [
                f'if [ -n "$TAR" ] && [ -d {where} ] && [ ! -h {where} ]; '
                f"then {_append(lists.variable(TAR_LIST, shared=True), quote(top[1:]))}; "
                f"else top {where}; fi"
            ]
            return body, TAR_LIST
        if is_glob(top):
            return [
                f'for t in "$P"{quote_glob(top)}; do',
                '  if [ -h "$t" ]; then one "$t" t; elif [ -d "$t" ]; then walk "$t"; fi',
                "done",
            ], None
        return [f'top "$P"{quote(top)}'], None
    if is_glob(pattern):
        if tar_eligible(pattern) and lines is None:
            batch, tool, odd, skip = TAR_LIST, "TAR", '*"$NL"*', ""
            word = '"${g#"$P"/}"'
        else:
            batch, tool = lists.head([pattern], lines), "HEAD"
            odd, word = f'{_never_read_patterns()}|*"$NL"*', '"$g"'
            skip = _skip_arm(lists.skips([pattern]))
        variable = lists.variable(batch)
        parent = _literal_parent(pattern)
        guard = [f'gd "$P"{quote(parent)}'] if parent not in ("/", "/proc") else []
        body = [
            *guard,
            f'for g in "$P"{quote_glob(pattern)}; do',
            f'  case $g in {odd}) one "$g" g;;{skip}',
            f'  *) if [ -n "${tool}" ] && [ -f "$g" ] && [ ! -h "$g" ]; then {_queue(variable, word)}',
            '     elif [ -e "$g" ] || [ -h "$g" ]; then one "$g" g; fi;;',
            "  esac",
            "done",
            _drain(variable),
        ]
        if lines is not None:  # odd matches read inline take the same first lines
            body = [f"H={quote(str(lines))}", *body, "H="]
        return body, batch
    if lines is not None:
        return [f"H={quote(str(lines))}", f"one {here}", "H="], None
    if _batchable(pattern):
        batch, tool, word = lists.head([], None), "HEAD", here
    elif tar_eligible(pattern):
        batch, tool, word = TAR_LIST, "TAR", quote(pattern[1:])
    else:
        return [f"one {here}"], None
    variable = lists.variable(batch, shared=True)
    # A link to a regular file (/etc/os-release, /etc/localtime, /proc/mounts) is read by
    # the batches too, not by readlink and cat: head reads the bytes it leads to, tar
    # records the link itself, and the parser puts the two together (`_combine`). The
    # `lhead` record says so first: cut short before tar, the path is not collected,
    # never mistaken for a plain file.
    heads = lists.variable(lists.head([], None), shared=True)
    tars = lists.variable(TAR_LIST, shared=True)
    link = (
        f'elif [ -n "$HEAD" ] && [ -n "$TAR" ] && [ -h {here} ] && [ -f {here} ]; '
        f"then d path {quote(pattern)}; m lhead; "
        f"{_append(heads, here)}; {_append(tars, quote(pattern[1:]))}; "
    )
    return [
        f'if [ -n "${tool}" ] && [ -f {here} ] && [ ! -h {here} ]; '
        f"then {_append(variable, word)}; {link}else one {here}; fi"
    ], TAR_LIST  # marked done once both have been read (tar comes last)


def _named_tree_lines(top: str, patterns: list[str], variable: str, skips: list[str]) -> list[str]:
    """One walk of `top` queueing in `variable` (of a head list) the files named a NAME.

    The caller frames the walk with the first pattern's `read` record and marks them all
    done once the list is read, so output cut short before leaves all of them not
    collected.
    """
    wanted = [quote_glob(p.rpartition("/**/")[2]) for p in patterns]
    names = "|".join(wanted)
    never = _never_read_patterns()
    queue = _queue(variable, '"$1"')
    if any(is_glob(p.rpartition("/**/")[2]) for p in patterns):
        candidates = '"$1"/* "$1"/.[!.]* "$1"/..?*'  # every entry; fm picks by name
    else:
        candidates = " ".join(f'"$1"/{name}' for name in wanted)
    return [
        # fm PATH: when its base name is one of the wanted names, a regular file joins the
        # head list; anything else is recorded now.
        f'fm() {{ case "${{1##*/}}" in {names}) case $1 in {never}|*"$NL"*) one "$1" t;;'
        f'{_skip_arm(skips)} *) if [ -n "$HEAD" ] && [ -f "$1" ] && [ ! -h "$1" ]; '
        f'then {queue}; else one "$1" t; fi;; esac;; esac; }}',
        # Links are handed over as they are (never followed), folders never.
        f"fw() {{ for w in {candidates}; do "
        'if [ -h "$w" ] || { [ -e "$w" ] && [ ! -d "$w" ]; }; then fm "$w"; fi; done; }',
        f'ftop "$P"{quote(top)}',
        _drain(variable),
    ]


# Per-process text files read with shell built-ins instead of `cat`: a database host has
# thousands of them and a fork costs about a millisecond. They hold no NUL bytes and fail, if
# at all, when opened (not part-way), so `read` loses nothing; `cmdline` (NUL-separated) and
# everything else still go through `cat`.
BUILTIN_READ = (
    "*/proc/[0-9]*/status",
    "*/proc/[0-9]*/comm",
    "*/proc/[0-9]*/oom_score_adj",
    "*/proc/[0-9]*/oom_adj",
    "*/proc/[0-9]*/cgroup",
    "*/proc/[0-9]*/smaps_rollup",
    "*/proc/[0-9]*/numa_maps",
)


def _never_read_patterns() -> str:
    return "|".join(quote_glob(glob) for glob, _ in NEVER_READ)


def _never_read_function() -> str:
    arms = " ".join(f"{quote_glob(glob)}) d skip {quote(why)};;" for glob, why in NEVER_READ)
    text_arm = "|".join(quote_glob(glob) for glob in BUILTIN_READ)
    return f'rf() {{ case $1 in {arms} {text_arm}) m file; tc "$1";; *) m file; c "$1";; esac; }}'


# The shell functions every script defines. Every command word in them is listed in
# commands.py (tests/collect/test_read_only.py reads this text and traces it running).
_FUNCTIONS: tuple[str, ...] = (
    # m TAG: a separator line; d TAG DATA: a record with data.
    'm() { printf \'\\n:MEMCHECK:%s%s:%s\\n\' "$a" "$b" "$1"; }',
    'd() { m "$1"; printf \'%s\' "$2"; }',
    # c PATH: the file's bytes to stdout (its first $H lines when H is set), the reader's
    # complaint (if any) as an error record. The reader runs straight from this shell (one
    # fork, which bash's command substitution would double on hosts with many cgroup
    # files); only when it fails is it asked again, output thrown away, for the reason.
    "c() {",
    '  if [ -n "$H" ]; then head -n "$H" -- "$1" 2>/dev/null'
    ' || { r=$(head -n "$H" -- "$1" 2>&1 >/dev/null); d error "${r:-read failed}"; }',
    '  else cat -- "$1" 2>/dev/null'
    ' || { r=$(cat -- "$1" 2>&1 >/dev/null); d error "${r:-read failed}"; }; fi',
    "}",
    # tc PATH: like c, for small text files, with shell built-ins only (no fork). When the
    # file cannot be opened, c reads it again to record the reason.
    "tc() {",
    '  if [ -r "$1" ]; then',
    # The line count is kept as a string of x's: ${#n} is its length (no arithmetic).
    "    n=; l=",
    "    if while IFS= read -r l; do printf '%s\\n' \"$l\"; l=; n=${n}x;"
    ' if [ -n "$H" ] && [ "${#n}" -ge "$H" ]; then break; fi; done 2>/dev/null <"$1"; then',
    '      [ -z "$l" ] || printf \'%s\' "$l"; return 0',
    "    fi",
    "  fi",
    '  c "$1"',
    "}",
    # hd FILE...: kernel files through one `head` (their first $H lines when H is set),
    # which puts the POSIX header "\\n==> FILE <==\\n" before each; the list comes first so
    # that the controller knows which headers are real (`_HeadBatch`). What head could not
    # read follows.
    "hd() {",
    '  m list; printf \'%s\\n\' "$P" "$@"',
    "  m head",
    '  { r=$(head -n "${H:-2147483647}" -- "$@" 2>&1 >&3 3>&-); } 3>&1',
    '  if [ -n "$r" ]; then d error "$r"; fi',
    "}",
    # tt REL...: trees or files (relative to "$P/") as one tar stream; tar's complaints
    # (what it could not open) follow as an error record. tar never follows links in a tree.
    "tt() {",
    "  m tar",
    '  { r=$(tar -cf - -C "$P/" -- "$@" 2>&1 >&3 3>&-); } 3>&1',
    '  if [ -z "$r" ]; then return 0; fi',
    # GNU tar leaves out a folder it may not open: record it as the folder it is.
    "  printf '%s\\n' \"$r\" | while IFS= read -r x; do",
    '    case "$x" in "tar: "*": Cannot open: "*)',
    '      x="${x#tar: }"; x="${x%: Cannot open: *}"',
    '      if [ -d "$P/$x" ] && [ ! -h "$P/$x" ]; then d path "/$x"; m dir; fi;;',
    "    esac",
    "  done",
    '  d error "$r"',
    "}",
    # u: /proc/uptime in centiseconds into U (empty when it cannot be read), no process.
    "u() {",
    "  U=; s=; c=",
    '  IFS=" ." read -r s c x 2>/dev/null <"$P"/proc/uptime || return 0',
    '  case "$s:$c" in *[!0-9:]*|:*|*:|*:?|*:???*) return 0;; esac',
    '  U="$((s * 100 + 1$c - 100))"',
    "}",
    # one PATH [g|t]: record one path. g = from a glob (vanished = gone), t = inside a tree
    # (links are recorded, never followed; vanished = gone).
    "one() {",
    '  d path "${1#"$P"}"',
    '  if [ -h "$1" ]; then',
    '    m link; { r=$(readlink -- "$1" 2>&1 >&3 3>&-); } 3>&1 || d error "${r:-readlink failed}"',
    '    if [ "$2" = t ]; then :; elif [ -d "$1" ]; then m tdir;'
    ' elif [ -f "$1" ]; then m target; c "$1"; fi',
    '  elif [ -d "$1" ]; then m dir',
    '  elif [ -f "$1" ]; then rf "$1"',
    '  elif [ -e "$1" ]; then m special',
    '  elif [ -n "$2" ]; then m gone',
    '  elif [ -d "${1%/*}" ] && [ -x "${1%/*}" ]; then m missing',
    # The nearest folder that exists: searchable, so the path is missing (no process
    # started); else let cat say why (permission denied, ...).
    '  else q="${1%/*}"; while [ -n "$q" ] && [ ! -e "$q" ]; do q="${q%/*}"; done',
    '    if [ -z "$q" ] || { [ -d "$q" ] && [ -x "$q" ]; }; then m missing; else m file; c "$1"; fi',
    "  fi",
    "}",
    # walk DIR: the directory and everything below it; links are recorded, not followed.
    "walk() {",
    '  d path "${1#"$P"}"; m dir',
    '  if [ -r "$1" ] && [ -x "$1" ]; then :; else d error \'Permission denied\'; return 0; fi',
    '  for w in "$1"/* "$1"/.[!.]* "$1"/..?*; do',
    '    if [ -h "$w" ]; then one "$w" t; elif [ -d "$w" ]; then walk "$w";'
    ' elif [ -e "$w" ]; then one "$w" t; fi',
    "  done",
    "}",
    # top DIR: a tree named literally; a link to a directory is walked as the directory.
    'top() { if [ -d "$1" ]; then walk "$1"; else one "$1"; fi; }',
    # fwalk DIR: every entry below DIR goes to `fm` (defined per walk), which records the
    # wanted names; directories are descended into, links never followed. Only a directory
    # that cannot be listed is recorded for itself.
    # fw DIR (also defined per walk) hands `fm` the entries of DIR that may be wanted: with
    # literal names only those names, so a cgroup folder of 60 files costs a few tests, not
    # 60; the subdirectories come from the shell's own `*/` match.
    # gd DIR: before a glob in DIR, record DIR as a folder that could not be listed when it
    # cannot be (the shell's glob would silently match nothing, which reads as "no files").
    "gd() {",
    '  if [ -d "$1" ] && [ ! -h "$1" ] && { [ ! -r "$1" ] || [ ! -x "$1" ]; }; then',
    '    d path "${1#"$P"}"; m dir; d error \'Permission denied\'',
    "  fi",
    "}",
    "fm() { :; }",
    "fw() { :; }",
    "fwalk() {",
    '  if [ -r "$1" ] && [ -x "$1" ]; then :; else'
    ' d path "${1#"$P"}"; m dir; d error \'Permission denied\'; return 0; fi',
    '  fw "$1"',
    '  for w in "$1"/*/ "$1"/.[!.]*/ "$1"/..?*/; do',
    '    w=${w%/}; if [ -h "$w" ]; then :; elif [ -d "$w" ]; then fwalk "$w"; fi',
    "  done",
    "}",
    # ftop DIR: walk DIR when it is a directory (a link to one included); record it as
    # missing when it does not exist; anything else holds no wanted file.
    "ftop() {",
    '  if [ -d "$1" ]; then fwalk "$1"; elif [ -e "$1" ] || [ -h "$1" ]; then :; else one "$1"; fi',
    "}",
    # klog: the kernel log from dmesg, else from the journal; every attempt is recorded.
    "klog() {",
    f"  d path {quote(KERNEL_LOG)}",
    f"  d cmd {quote(KERNEL_LOG_COMMANDS[0])}; m file",
    '  { r=$(dmesg 2>&1 >&3 3>&-); } 3>&1 && { [ -z "$r" ] || d warn "$r"; return 0; }',
    '  d error "${r:-dmesg failed}"',
    f"  d cmd {quote(KERNEL_LOG_COMMANDS[1])}; m file",
    "  { r=$(journalctl -k --no-pager -o short-monotonic 2>&1 >&3 3>&-); } 3>&1"
    ' && { [ -z "$r" ] || d warn "$r"; return 0; }',
    '  d error "${r:-journalctl failed}"',
    "}",
)


# -- parsing ----------------------------------------------------------------------------------


@dataclass
class _Entry:
    path: str
    kind: str = ""
    data: bytes = b""
    error: bytes | None = None
    target: str | None = None
    link_error: bytes | None = None
    follow: bytes | None = None
    follow_dir: bool = False
    follow_error: bytes | None = None
    reason: str = ""
    attempts: list[list[bytes | None]] = field(default_factory=list)
    warnings: list[bytes] = field(default_factory=list)
    last: str = ""


def _records(stdout: bytes, nonce: str) -> Iterator[tuple[str, bytes, bool]]:
    """(tag, data, complete) per record; the last one may be cut short."""
    chunks = stdout.split(separator(nonce))
    for i, chunk in enumerate(chunks[1:], start=1):
        tag, newline, data = chunk.partition(b"\n")
        complete = i < len(chunks) - 1
        if not newline:
            # Cut inside the separator line itself: nothing usable.
            return
        yield tag.decode("ascii", errors="replace"), data, complete


def read_reason(text: bytes | None, fallback: str = "read failed") -> str:
    """A short reason from a command's complaint (`cat: /x: Permission denied`)."""
    message = (text or b"").decode("utf-8", errors="replace").strip()
    lowered = message.lower()
    if "no such file" in lowered:
        return MISSING
    if "permission denied" in lowered:
        return "permission denied"
    if "operation not permitted" in lowered:
        return "operation not permitted"
    if not message:
        return fallback
    last = message.splitlines()[-1]
    return last.rsplit(": ", 1)[-1].strip() or fallback


def parse_output(stdout: bytes, nonce: str, source: str, version: str) -> Snapshot:
    """Turn the script's framed output into a `Snapshot`.

    Output cut short (a dropped connection, the host's time limit) keeps every record that
    arrived whole; the path being read when it stopped, and every requested pattern not yet
    finished, are recorded in `info.errors` as not collected. Output with no frame at all
    raises `CollectError`: there is nothing to keep. Secrets in command lines, environments
    and files of commands are masked (`memcheck.secrets.mask_snapshot_files`), and the command
    lines of the processes running this script are replaced by a stand-in.
    """
    entries: dict[str, _Entry] = {}
    plan: list[str] = []
    done: set[str] = set()
    started = ended = False
    date = ""
    pattern: str | None = None
    current: _Entry | None = None
    tar_entries: dict[str, _Entry] | None = None
    batch: _HeadBatch | None = None
    for tag, data, complete in _records(stdout, nonce):
        if batch is not None and tag not in ("head", "error"):
            _combine(entries, batch.entries())
            batch = None
        if tag == "begin":
            if not complete:
                break
            started = True
            plan = data.decode("ascii", errors="replace").splitlines()[1:]
        elif tag == "end":
            ended = True
            break
        elif tag == "date":
            date = data.decode("ascii", errors="replace").strip()
        elif tag == "read":
            pattern = data.decode("ascii", errors="replace")
        elif tag == "done":
            if pattern is not None:
                done.add(pattern)
            pattern = current = tar_entries = None
        elif tag == "list":
            current = None
            batch = _HeadBatch(data)
        elif tag == "head" and batch is not None:
            batch.data, batch.complete = data, complete
        elif tag == "error" and batch is not None and batch.data is not None:
            batch.stderr = data
        elif tag == "tar":
            current = None
            tar_entries = tar_members(data)
            _combine(entries, tar_entries)
        elif tag == "error" and tar_entries is not None:
            for path, reason in tar_errors(data):
                entry = tar_entries.get(path) or entries.setdefault(path, _Entry(path, "file"))
                entry.error = reason.encode()
            tar_entries = None
        elif tag == "path":
            if not complete:
                current = None  # the entry before it ended whole
                break
            current = _Entry(data.decode("utf-8", errors="surrogateescape"))
            entries[current.path] = current
        elif current is not None:
            _apply(current, tag, data)
    if batch is not None:
        _combine(entries, batch.entries())
    if not started:
        raise CollectError(source, "no memcheck output (is sh on the host a POSIX shell?)")
    if not plan and not ended:
        raise CollectError(source, "the output ended before any file was read")

    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    dirs: set[str] = set()
    errors: dict[str, str] = {}
    follows: list[_Entry] = []
    if not ended and current is not None:
        # The entry being written when the output stopped may lack bytes or its error.
        entries.pop(current.path, None)
        errors[current.path] = TRUNCATED
    for entry in entries.values():
        _settle(entry, files, links, dirs, errors, follows)
    probe = Snapshot(HostInfo("", "", "", ""), files, links, dirs)
    for entry in follows:
        try:
            real = probe.resolve(entry.path)
        except Exception:  # a loop of links: Snapshot.read reports it itself
            continue
        if entry.follow_dir:
            dirs.add(real)
        elif entry.follow is not None and real not in files:
            files[real] = entry.follow
    if not ended:
        for wanted in plan:
            path = wanted.partition(HEAD_OPTION)[0]
            if wanted not in done and path not in files and path not in errors:
                errors[path] = TRUNCATED
    # Before anything is built from them: no command line, environment or file of commands
    # goes further than this with a secret in clear, nor with memcheck's own script in it.
    mask_snapshot_files(files)

    info = HostInfo(
        hostname=_hostname(files, source),
        collected_at=date if _DATE.fullmatch(date) else _now(),
        memcheck_version=version,
        source=source,
        sample_interval_seconds=_interval(files),
        errors=errors,
    )
    return Snapshot(info, files, links, dirs)


def _combine(entries: dict[str, _Entry], arrived: dict[str, _Entry]) -> None:
    """Add what one batch read. For a path announced as a link read by the batches
    (`lhead`, see `_read_lines`), head's bytes wait in that entry as the link's target until
    tar's record of the link itself arrives; the two are then one entry."""
    for path, entry in arrived.items():
        before = entries.get(path)
        if before is not None and before.kind == "lhead":
            if entry.kind == "file":
                if entry.error is not None:
                    before.follow_error = entry.reason.encode() or entry.error
                else:
                    before.follow = entry.data
                continue
            if entry.kind == "link":
                entry.follow, entry.follow_error = before.follow, before.follow_error
        entries[path] = entry


AMBIGUOUS = "not collected: its bytes could not be told apart from the next file's"


class _HeadBatch:
    """Files read with one `head` (see `hd` in the script), split back at their headers.

    POSIX head writes "==> FILE <==\\n" before the first file and "\\n==> FILE <==\\n"
    before each other. A file's own bytes could hold such a line, so a boundary is trusted
    only where the header of a listed file occurs exactly once and head did not complain
    about that file; a file whose start or end is not trusted is not collected (never
    misattributed). Files head could not open have no header and are errors.
    """

    def __init__(self, listing: bytes) -> None:
        lines = listing.split(b"\n")
        self.prefix = lines[0].decode("utf-8", errors="surrogateescape")
        self.paths = [line.decode("utf-8", errors="surrogateescape") for line in lines[1:] if line]
        self.data: bytes | None = None
        self.complete = True
        self.stderr: bytes | None = None

    def entries(self) -> dict[str, _Entry]:
        data = self.data or b""
        complaints = (self.stderr or b"").decode("utf-8", errors="surrogateescape")
        header = {
            p: ("\n==> " + p + " <==\n").encode("utf-8", "surrogateescape") for p in self.paths
        }
        said = {p: _mentions(complaints, p) for p in self.paths}
        # GNU head quotes a name holding shell characters in its complaints ('a'\''b'): such
        # lines match no listed path as written. They come in list order, so the files
        # without a header and without a complaint of their own take them in turn.
        matched = {line for line in said.values() if line is not None}
        spare = [line for line in complaints.splitlines() if line.strip() and line not in matched]
        for path in self.paths:
            if said[path] is None and spare and not _has_header(data, path):
                said[path] = spare.pop(0)
        everywhere = _header_spots(data, header)
        found: dict[str, list[int]] = {}
        for path in self.paths:
            # head writes no header for a file it could not open: any is the bytes of
            # another file, not a boundary.
            found[path] = [] if _open_failure(said[path]) else everywhere.get(path, [])
        starts = sorted(i for spots in found.values() for i in spots)
        # A boundary is trusted where a listed file's header occurs once, and head either
        # said nothing about that file or said it failed while reading it (after the header).
        trusted = {
            path: spots[0]
            for path, spots in found.items()
            if len(spots) == 1 and (said[path] is None or _read_failure(said[path]))
        }
        at_trusted = set(trusted.values())
        out: dict[str, _Entry] = {}
        last = -2
        for path in self.paths:
            host_path = path[len(self.prefix) :] if self.prefix else path
            complaint = said[path]
            if not found[path]:
                # No header: head could not open it (or the output stopped before it). A
                # file that vanished since the glob matched it is gone, as in a walk.
                if complaint is not None and "No such file" in complaint:
                    continue
                if complaint is not None:
                    out[host_path] = _Entry(host_path, "file", error=complaint.encode())
                elif not self.complete:
                    out[host_path] = _Entry(host_path)
                continue
            if path not in trusted or trusted[path] < last:
                out[host_path] = _unusable(host_path, complaint)
                continue
            begin = last = trusted[path]
            if complaint is not None:
                out[host_path] = _Entry(host_path, "file", error=complaint.encode())
                continue
            following = bisect.bisect_right(starts, begin)
            later = following < len(starts)
            end = starts[following] if later else len(data)
            if later and end not in at_trusted:
                out[host_path] = _unusable(host_path, None)
            elif not later and not self.complete:
                out[host_path] = _Entry(host_path)  # cut short: not collected
            else:
                out[host_path] = _Entry(host_path, "file", data[begin + len(header[path]) : end])
        return out


def _has_header(data: bytes, path: str) -> bool:
    mark = ("==> " + path + " <==\n").encode("utf-8", "surrogateescape")
    return data.startswith(mark) or b"\n" + mark in data


def _open_failure(complaint: str | None) -> bool:
    # GNU: "head: cannot open 'F' for reading: ..."; some busybox builds: "can't open 'F'".
    return complaint is not None and ("cannot open" in complaint or "can't open" in complaint)


def _read_failure(complaint: str | None) -> bool:
    # GNU: "head: error reading 'F': ..." (the header was written before the read failed).
    return complaint is not None and "error reading" in complaint


def _unusable(path: str, complaint: str | None) -> _Entry:
    """An error entry: head's complaint when it made one, else the ambiguity."""
    if complaint is not None:
        return _Entry(path, "file", error=complaint.encode())
    return _Entry(path, "file", error=b"", reason=AMBIGUOUS)


def _header_spots(data: bytes, header: dict[str, bytes]) -> dict[str, list[int]]:
    """Where each listed path's header `\\n==> PATH <==\\n` occurs in `data`, in order.

    One pass over the data, whatever the number of paths (a host with thousands of
    processes lists tens of thousands). A listed path holds no newline, so a header is
    exactly a whole line `==> PATH <==`; the one at the very start has no newline before
    it and is at -1.
    """
    by_line = {mark[1:-1]: path for path, mark in header.items()}
    spots: dict[str, list[int]] = {}
    if data.startswith(b"==> "):
        end = data.find(b"\n")
        path = by_line.get(data[:end]) if end >= 0 else None
        if path is not None:
            spots.setdefault(path, []).append(-1)
    at = data.find(b"\n==> ")
    while at >= 0:
        end = data.find(b"\n", at + 1)
        if end < 0:
            break
        path = by_line.get(data[at + 1 : end])
        if path is not None:
            spots.setdefault(path, []).append(at)
        at = data.find(b"\n==> ", at + 1)
    return spots


def _mentions(complaints: str, path: str) -> str | None:
    """head's complaint about `path` (GNU quotes the name, busybox does not), if any."""
    if path not in complaints:
        return None
    for line in complaints.splitlines():
        if path in line:
            return line
    return None


def tar_members(data: bytes) -> dict[str, _Entry]:
    """The entries of a tree read with `tar` (see `tt` in the script), by host path.

    Members are taken up to the first damage: a stream cut short by a time limit keeps
    every member that arrived whole, and the member being read when it stopped is not
    collected. Reads the ustar, GNU (long names) and pax forms that GNU tar and busybox
    write; a small reader of our own, because `tarfile` costs several times more per member.
    """
    out: dict[str, _Entry] = {}
    contents: dict[str, bytes] = {}
    long_name: bytes | None = None
    long_link: bytes | None = None
    pax: dict[bytes, bytes] = {}
    at = 0
    while at + 512 <= len(data):
        block = data[at : at + 512]
        if block == _ZERO_BLOCK:
            break
        if not _checksum_ok(block):
            break
        size = _tar_number(block[124:136])
        kind = block[156:157]
        body_at = at + 512
        body_end = body_at + size
        at = body_at + (size + 511) // 512 * 512
        if size < 0:
            break
        if kind in (b"L", b"K", b"x", b"g"):
            if body_end > len(data):
                break
            body = data[body_at:body_end]
            if kind == b"L":
                long_name = body.rstrip(b"\0")
            elif kind == b"K":
                long_link = body.rstrip(b"\0")
            elif kind == b"x":
                pax = _pax_records(body)
            continue
        name = long_name if long_name is not None else _tar_name(block)
        link = long_link if long_link is not None else block[157:257].split(b"\0", 1)[0]
        name = pax.get(b"path", name)
        link = pax.get(b"linkpath", link)
        if b"size" in pax:
            size = int(pax[b"size"])
            body_end = body_at + size
            at = body_at + (size + 511) // 512 * 512
        long_name = long_link = None
        pax = {}
        path = posixpath.normpath("/" + name.decode("utf-8", "surrogateescape"))
        if kind in (b"0", b"\0", b"7"):
            if body_end > len(data):
                out[path] = _Entry(path)  # cut short: settles as not collected
                break
            contents[path] = data[body_at:body_end]
            out[path] = _Entry(path, "file", contents[path])
        elif kind == b"5":
            out[path] = _Entry(path, "dir")
        elif kind == b"2":
            out[path] = _Entry(path, "link", target=link.decode("utf-8", "surrogateescape"))
        elif kind == b"1":
            # A hard link to a member already sent: the same bytes. A member named twice (a
            # file read on its own and in its tree) comes back as a link to itself: the
            # first one says it all.
            source = posixpath.normpath("/" + link.decode("utf-8", "surrogateescape"))
            if source == path and path in out:
                continue
            out[path] = _Entry(path, "file", contents.get(source, b""))
        else:
            out[path] = _Entry(path, "special")
    return out


_ZERO_BLOCK = bytes(512)


def _checksum_ok(block: bytes) -> bool:
    try:
        stored = int(block[148:156].split(b"\0", 1)[0].strip() or b"-1", 8)
    except ValueError:
        return False
    return stored == sum(block[:148]) + 8 * 32 + sum(block[156:])


def _tar_number(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:  # base-256 (GNU, for sizes of 8 GiB and more)
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    try:
        return int(text, 8) if text else 0
    except ValueError:
        return -1


def _tar_name(block: bytes) -> bytes:
    name = block[0:100].split(b"\0", 1)[0]
    if block[257:263] == b"ustar\0":  # POSIX ustar: a prefix holds the leading folders
        prefix = block[345:500].split(b"\0", 1)[0]
        if prefix:
            return prefix + b"/" + name
    return name


def _pax_records(body: bytes) -> dict[bytes, bytes]:
    records: dict[bytes, bytes] = {}
    at = 0
    while at < len(body):
        space = body.find(b" ", at)
        if space < 0:
            break
        try:
            length = int(body[at:space])
        except ValueError:
            break
        record = body[space + 1 : at + length - 1]
        key, _, value = record.partition(b"=")
        records[key] = value
        at += length
    return records


# GNU tar: "tar: etc/x: Cannot open: Permission denied"; busybox: "tar: etc/x: Permission
# denied" or "tar: can't open 'etc/x': Permission denied".
_TAR_ERROR = re.compile(
    r"^tar: (?:can't open ')?(?P<path>.+?)'?: "
    r"(?:(?:Cannot \w+|Read error[^:]*|Warning[^:]*): )?(?P<reason>[^:]+)$"
)
# Not errors: content that changed while read is kept, and a file that vanished between the
# glob and tar is gone, as in the file-by-file walk.
_TAR_NOISE = (
    "file changed as we read it",
    "socket ignored",
    "previous errors",
    "No such file or directory",
)


def tar_errors(data: bytes) -> list[tuple[str, str]]:
    """(host path, reason) for each file or directory tar said it could not read."""
    out = []
    for line in data.decode("utf-8", errors="surrogateescape").splitlines():
        if any(noise in line for noise in _TAR_NOISE):
            continue
        match = _TAR_ERROR.match(line)
        if match and not match.group("path").startswith("/"):
            path = posixpath.normpath("/" + match.group("path"))
            out.append((path, match.group("reason").strip()))
    return out


def _apply(entry: _Entry, tag: str, data: bytes) -> None:
    if tag == "cmd":
        entry.attempts.append([data, None, None])
        entry.kind = "log"
    elif tag == "file":
        if entry.attempts:
            entry.attempts[-1][1] = data
        else:
            entry.kind, entry.data = "file", data
    elif tag == "link":
        raw = data[:-1] if data.endswith(b"\n") else data
        entry.kind, entry.target = "link", raw.decode("utf-8", errors="surrogateescape")
    elif tag == "target":
        entry.follow = data
    elif tag == "tdir":
        entry.follow_dir = True
    elif tag in ("dir", "missing", "gone", "special", "lhead"):
        entry.kind = tag
    elif tag == "skip":
        entry.kind, entry.reason = "skip", data.decode("utf-8", errors="replace")
    elif tag == "warn":
        entry.warnings.append(data)
    elif tag == "error":
        if entry.attempts:
            entry.attempts[-1][2] = data
        elif entry.kind == "link" and entry.last == "target":
            entry.follow, entry.follow_error = None, data
        elif entry.kind == "link":
            entry.link_error = data
        else:
            entry.error = data
    entry.last = tag


def _settle(
    entry: _Entry,
    files: dict[str, bytes],
    links: dict[str, str],
    dirs: set[str],
    errors: dict[str, str],
    follows: list[_Entry],
) -> None:
    path = entry.path
    if entry.kind == "file":
        if entry.error is None:
            files[path] = entry.data
        elif entry.reason:
            errors[path] = entry.reason
        else:
            errors[path] = read_reason(entry.error)
    elif entry.kind == "link":
        if entry.link_error is not None or entry.target is None:
            errors[path] = read_reason(entry.link_error, "readlink failed")
            return
        links[path] = entry.target
        if entry.follow_error is not None:
            errors[path] = read_reason(entry.follow_error)
        elif entry.follow is not None or entry.follow_dir:
            follows.append(entry)
    elif entry.kind == "dir":
        dirs.add(path)
        if entry.error is not None:
            errors[path] = read_reason(entry.error) + " (cannot list the directory)"
    elif entry.kind == "missing":
        errors[path] = MISSING
    elif entry.kind == "special":
        errors[path] = "not a regular file (not read)"
    elif entry.kind == "skip":
        errors[path] = entry.reason or "not read"
    elif entry.kind == "log":
        _settle_log(entry, files, errors)
    elif entry.kind == "gone":
        return
    elif entry.kind == "lhead" and entry.error is not None:
        errors[path] = read_reason(entry.error)  # tar could not record the link
    else:
        errors[path] = TRUNCATED


def _settle_log(entry: _Entry, files: dict[str, bytes], errors: dict[str, str]) -> None:
    lines: list[str] = []
    used: str | None = None
    failures: list[str] = []
    # journalctl exits 0 when it could open no journal at all (not in the journal's group,
    # or no journal kept): that is no kernel log, not an empty one.
    no_journal = [
        " ".join(w.decode("utf-8", errors="replace").split())
        for w in entry.warnings
        if b"No journal files were" in w or b"insufficient permissions" in w
    ]
    for command, output, error in entry.attempts:
        name = (command or b"").decode("ascii", errors="replace")
        if error is None and no_journal and name.startswith("journalctl"):
            error = "; ".join(no_journal).encode()
        if error is None and output is not None and used is None:
            used = name
            files[entry.path] = output
        elif error is not None:
            text = (error or b"").decode("utf-8", errors="replace").strip() or "failed"
            text = " ".join(text.split())
            failures.append(f"{name.split()[0]}: {text}")
            lines.append(f"failed: {name}: {text}")
    head = f"source: {used}" if used else "source: none"
    notes = [
        "warning: " + " ".join(w.decode("utf-8", errors="replace").split())
        for w in entry.warnings
        if used is not None
    ]
    files[KERNEL_LOG_SOURCE] = ("\n".join([head, *lines, *notes]) + "\n").encode()
    if used is None:
        errors[entry.path] = "; ".join(failures) or "kernel log not read"


def _hostname(files: dict[str, bytes], source: str) -> str:
    for path in ("/proc/sys/kernel/hostname", "/etc/hostname"):
        raw = files.get(path, b"").decode("utf-8", errors="replace").strip()
        if raw:
            return raw.splitlines()[0].strip()
    rest = source.split("://", 1)[-1]
    return rest.rsplit("@", 1)[-1].split("/", 1)[0].split(":", 1)[0] or source or "unknown"


def _uptime(raw: bytes | None) -> float | None:
    try:
        return float((raw or b"").split()[0])
    except (IndexError, ValueError):
        return None


def _interval(files: dict[str, bytes]) -> float | None:
    before = _uptime(files.get("/proc/uptime"))
    after = _uptime(files.get(UPTIME_AFTER))
    if before is None or after is None or VMSTAT_AFTER not in files:
        return None
    return round(after - before, 3)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
