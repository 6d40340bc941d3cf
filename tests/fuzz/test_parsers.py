"""Every public function of `memcheck.parse`, fed arbitrary text and near-valid lines of its
format: it returns, or raises `ParseError` where its docstring says it may (the functions
documented never to fail must not), within the per-input time and memory bound.

`TARGETS` names each function with the inputs it is fuzzed with; a public function added to
`memcheck/parse` without an entry here fails `test_every_public_parser_is_fuzzed`.

    MEMCHECK_FUZZ=long pytest tests/fuzz/test_parsers.py   # many more inputs, by hand
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memcheck.parse
from memcheck.errors import ParseError
from memcheck.parse import (
    cgroup,
    crontab,
    grub,
    kconfig,
    kernel_cmdline,
    kernel_log,
    meminfo,
    mounts,
    numa,
    os_release,
    proc_pid,
    psi,
    shell_writes,
    smaps,
    swaps,
    sysctl_d,
    systemd_unit,
    thp,
    tmpfiles,
    tuned,
    uptime,
    values,
    vmstat,
)
from tests.fuzz.bounds import call_bounded

S = st.SearchStrategy

# The ci profile's examples are shared out: a third of them to each of the 68 functions keeps
# this file near 20 s; the long profile gives each a third of its own.
EXAMPLES = max(10, settings.default.max_examples // 3)

# A ParseError quotes bounded excerpts of the input, whatever the input's size.
MESSAGE_LIMIT = 2000


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------

# What a host may send: any text, or any bytes read as memcheck reads them.
ARBITRARY: S[str] = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", errors="replace")),
)

# Numbers a kernel prints, and the ones that broke parsers: digits `int()` refuses (`²`) or
# reads (`٣`, `1_000`), more digits than `int()` converts, non-finite floats.
ODD_NUMBERS = [
    "²", "1²", "٣", "1_000", "+5", "0x10", "7f3a", "1e3", "1e999", "nan", "inf", "-inf", "",
    "00012", "18446744073709551616", "9" * 5000, "1" * 65, "-", "1.", ".5", "-0",
]  # fmt: skip
# More digits than `int()` converts (4,300), and a word as long.
HUGE = ["9" * 5000, "-" + "9" * 5000, "x" * 5000, "²" * 5000]
NUMBER: S[str] = st.one_of(
    st.sampled_from(["0", "1", "-1", "100", "0.00", "12.5", "4096"]),
    st.integers(-(2**63), 2**64).map(str),
    st.sampled_from(ODD_NUMBERS),
    st.sampled_from(ODD_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet="0123456789.-+eE_x²٣ ", max_size=8),
)
WORD: S[str] = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10),
    st.sampled_from(["", " ", ":", "=", "[", "]", "#", "\\", '"', "'", "$", "x" * 5000]),
)
SPACE: S[str] = st.sampled_from([" ", "  ", "\t", "", " \t "])
NEWLINE: S[str] = st.sampled_from(["\n", "\n", "\n", "\r\n", "\n\n", "\x0b", "\u2028"])


@st.composite
def _joined(draw: st.DrawFn, parts: tuple[S[str], ...], separator: S[str]) -> str:
    out: list[str] = []
    for index, part in enumerate(parts):
        if index:
            out.append(draw(separator))
        out.append(draw(part))
    return "".join(out)


def line(*parts: S[str] | str, separator: S[str] = SPACE) -> S[str]:
    """A line of `parts` (strategies, or fixed text) with `separator`s between them."""
    return _joined(tuple(st.just(p) if isinstance(p, str) else p for p in parts), separator)


def one(*choices: str) -> S[str]:
    """A known token, or now and then anything."""
    known = st.sampled_from(list(choices))
    return st.one_of(known, known, known, WORD)


@st.composite
def _document(draw: st.DrawFn, lines: S[str], header: S[str] | None) -> str:
    rows = draw(st.lists(st.one_of(lines, lines, lines, ARBITRARY), min_size=1, max_size=8))
    if header is not None and draw(st.booleans()):
        rows.insert(0, draw(header))
    text = ""
    for row in rows:
        text += row + draw(NEWLINE)
    mutation = draw(st.sampled_from(["none", "token", "token", "cut", "insert", "nul"]))
    if mutation == "token":
        text = draw(_odd_token(text))
    elif mutation != "none" and text:
        at = draw(st.integers(0, len(text)))
        if mutation == "cut":  # a file truncated by a size cap or a torn read
            text = text[:at]
        elif mutation == "insert":
            text = text[:at] + draw(ARBITRARY) + text[at:]
        else:
            text = text[:at] + "\x00" + text[at:]
    return text


@st.composite
def _odd_token(draw: st.DrawFn, text: str) -> str:
    """`text` with one word (or what follows the `=` or `:` in it) replaced by an odd number
    or a huge token: where the values are, whatever the format."""
    pieces = re.split(r"(\s+)", text)
    words = [i for i, piece in enumerate(pieces) if piece and not piece.isspace()]
    if not words:
        return text
    index = draw(st.sampled_from(words))
    head, separator, _ = pieces[index].rpartition("=")
    if not separator:
        head, separator, _ = pieces[index].rpartition(":")
    odd = draw(st.one_of(st.sampled_from(HUGE), st.sampled_from(ODD_NUMBERS)))
    pieces[index] = head + separator + odd
    return "".join(pieces)


def document(lines: S[str], header: S[str] | None = None) -> S[str]:
    """Lines of a format (with an optional header), possibly mutated, or arbitrary text. The
    lines come first: hypothesis starts with the first choice of a `one_of`."""
    structured = _document(lines, header)
    return st.one_of(structured, structured, structured, ARBITRARY)


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------

MEMINFO = document(
    line(
        one("MemTotal", "MemFree", "MemAvailable", "HugePages_Total", "Hugepagesize", "Mem"),
        one(":", ": ", ":\t"),
        NUMBER,
        one(" kB", "", " MB", " kB x", "kB"),
        separator=st.just(""),
    ),
    header=st.just("        total:    used:    free:  shared: buffers:  cached:"),
)
VMSTAT = document(line(one("nr_free_pages", "oom_kill", "pgscan_kswapd", "allocstall_dma"), NUMBER))
PSI = document(
    line(
        one("some", "full", "other"),
        line(one("avg10", "avg60", "avg300", "total", "x"), "=", NUMBER, separator=st.just("")),
        line(one("avg10", "avg60", "avg300", "total"), "=", NUMBER, separator=st.just("")),
        line(one("avg300", "total"), "=", NUMBER, separator=st.just("")),
    )
)
NODE_LIST = st.one_of(
    ARBITRARY,
    st.lists(st.one_of(NUMBER, line(NUMBER, "-", NUMBER, separator=st.just(""))), max_size=6).map(
        ",".join
    ),
)
NODE_MEMINFO = document(
    line(
        "Node",
        NUMBER,
        one("MemTotal:", "MemFree:", "HugePages_Total:", "X"),
        NUMBER,
        one("kB", "", "MB"),
    )
)
NUMASTAT = document(line(one("numa_hit", "numa_miss", "local_node", "Numa_Hit"), NUMBER))
POLICY = st.one_of(
    ARBITRARY,
    line(
        one(
            "default",
            "prefer",
            "bind",
            "interleave",
            "local",
            "prefer (many)",
            "weighted interleave",
            "preferred",
            "unknown",
        ),
        st.one_of(st.just(""), line("=", one("static", "relative", "balancing", "static|x"))),
        st.one_of(st.just(""), line(":", NODE_LIST)),
        separator=st.just(""),
    ),
)
NUMA_ITEM = st.one_of(
    line(
        one("N0", "N1", "N²", "anon", "dirty", "kernelpagesize_kB", "file"),
        "=",
        NUMBER,
        separator=st.just(""),
    ),
    one("heap", "stack", "huge", "stack:12", "file=/lib/x\\040y"),
)
NUMA_MAPS = document(
    line(
        st.one_of(st.integers(0, 2**64).map(lambda n: f"{n:x}"), NUMBER),
        POLICY,
        st.lists(NUMA_ITEM, max_size=4).map(" ".join),
    )
)
MOUNTS = document(
    line(
        one("/dev/sda1", "a\\999", "cgroup2", "a\\040b", "\\", "tmpfs"),
        one("/", "/sys/fs/cgroup", "/mnt/a\\040b", "/x\\1"),
        one("ext4", "cgroup", "cgroup2", "tmpfs"),
        one("rw,relatime", "ro", ""),
        NUMBER,
        NUMBER,
    )
)
CGROUP_KEYS = one(
    "anon", "file", "rss", "cache", "total_rss", "kernel", "slab", "inactive_file",
    "hierarchical_memory_limit", "low", "high", "max", "oom", "oom_kill", "oom_kill_disable",
    "under_oom",
)  # fmt: skip
FLAT_KEYED = document(line(CGROUP_KEYS, NUMBER))
SINGLE_NUMBER = st.one_of(ARBITRARY, NUMBER, line(NUMBER, NEWLINE, separator=st.just("")))
STATUS = document(
    line(
        one(
            "Name",
            "Pid",
            "PPid",
            "Uid",
            "State",
            "VmRSS",
            "VmSwap",
            "VmData",
            "VmSize",
            "Mems_allowed_list",
        ),
        ":",
        st.sampled_from(["\t", " ", ""]),
        NUMBER,
        one("", " kB", "\t0\t0\t0", " MB"),
        separator=st.just(""),
    )
)
PROC_CGROUP = document(line(NUMBER, ":", one("", "memory", "name=systemd", "cpu,cpuacct"), ":",
                            one("/", "/system.slice/x.service", "/user.slice/a.scope", "/a:b"),
                            separator=st.just("")))  # fmt: skip
SMAPS = document(
    line(one("Rss", "Pss", "Private_Dirty", "Swap", "THPeligible"), ":", NUMBER, one("kB", "")),
    header=st.just("55d0e3a00000-7ffc8b5f8000 ---p 00000000 00:00 0 [rollup]"),
)
SWAPS = document(
    line(
        one("/dev/sda2", "/swap\\040file", "/dev/zram0"),
        one("partition", "file"),
        NUMBER,
        NUMBER,
        NUMBER,
    ),
    header=st.just("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority"),
)
UPTIME = st.one_of(ARBITRARY, line(NUMBER, NUMBER), line(NUMBER))
THP_MODE = st.one_of(
    ARBITRARY,
    st.lists(
        st.one_of(
            one("always", "madvise", "never", "defer+madvise", "inherit"),
            one("[always]", "[madvise]", "[never]", "[x", "x]", "[]"),
        ),
        max_size=5,
    ).map(" ".join),
)
THP_FLAG = st.one_of(THP_MODE, one("0", "1", "yes", "no", "[yes] no", "2"))
MTHP_DIR = st.one_of(
    ARBITRARY,
    line(
        one("/sys/kernel/mm/transparent_hugepage/", ""),
        "hugepages-",
        NUMBER,
        "kB",
        one("", "/"),
        separator=st.just(""),
    ),
)
CRON_FIELD = st.one_of(one("*", "*/5", "0", "1-5", "mon", "jan", "~", "0,30"), NUMBER)
CRONTAB = document(
    st.one_of(
        line(CRON_FIELD, CRON_FIELD, CRON_FIELD, CRON_FIELD, CRON_FIELD, one("root", ""),
             one("echo 3 > /proc/sys/vm/drop_caches", "run-parts /etc/cron.daily", "a%b\\%c")),
        line(one("@reboot", "@daily", "@x", "-@hourly"), one("root", ""), WORD),
        line(one("SHELL", "PATH", "MAILTO"), "=", one('"/bin/sh"', "'x'", ""), separator=SPACE),
        line(one("#", "-"), WORD),
    )
)  # fmt: skip
ANACRONTAB = document(
    line(
        st.one_of(NUMBER, one("@monthly", "@weekly")),
        NUMBER,
        one("cron.daily", "job"),
        one("run-parts /etc/cron.daily", "nice run-parts x"),
    ),
)
GRUB_VALUE = st.lists(
    one('"', "'", "$A", "${GRUB_CMDLINE_LINUX}", "\\", "#", "quiet", "transparent_hugepage=never",
        "`x`", "$(y)", " ", "\\\n"),
    max_size=8,
).map("".join)  # fmt: skip
GRUB_DEFAULTS = document(
    line(
        one("GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT", "A", "export A", "if"),
        "=",
        GRUB_VALUE,
        separator=st.just(""),
    )
)
BLS = document(line(one("title", "version", "linux", "options", "Options", "#"), WORD))
GRUBENV = document(line(one("kernelopts", "saved_entry", "#", ""), "=", WORD,
                        separator=st.just("")))  # fmt: skip
GRUB_CFG = document(line(one("linux", "linux16", "linuxefi", "  linux", "initrd"),
                         one("/vmlinuz-5.15", ""), GRUB_VALUE))  # fmt: skip
KCONFIG = document(
    st.one_of(
        line(
            one("CONFIG_TRANSPARENT_HUGEPAGE", "CONFIG_X", "X"),
            "=",
            one("y", "m", '"a b"', ""),
            separator=st.just(""),
        ),
        line("# ", one("CONFIG_NUMA"), " is not set", separator=st.just("")),
    )
)
CMDLINE = st.one_of(
    ARBITRARY,
    st.lists(
        one("quiet", "transparent_hugepage=never", 'a="b c"', '"', "--", "x=", "\x00"), max_size=8
    ).map(" ".join),
)
OS_RELEASE = document(line(one("ID", "VERSION_ID", "PRETTY_NAME", "#"), "=",
                           one('"debian"', "'12'", '"unterminated', "x y"),
                           separator=st.just("")))  # fmt: skip
SHELL = document(
    st.lists(
        one("echo", "never", ">", ">>", "/sys/kernel/mm/transparent_hugepage/enabled", "|",
            "tee", "sysctl", "-w", "vm.drop_caches=3", "sh", "-c", "'echo 3 > /proc/sys/vm/x'",
            "sudo", "2>/dev/null", ";", "&&", '"', "'", "\\", "#", ". /etc/x.sh", "printf",
            "%s\\n", "env", "A=B", "/usr/local/bin/x.sh"),
        max_size=10,
    ).map(" ".join)
)  # fmt: skip
SYSCTL_LINE = st.one_of(
    line(
        one("vm.swappiness", "vm/dirty_ratio", "net.ipv4.conf.*.rp_filter", "-vm.x", "a b"),
        one("=", " = ", ""),
        NUMBER,
        separator=st.just(""),
    ),
    line(one("#", ";", "-"), WORD),
)
SYSCTL_FILE = document(SYSCTL_LINE)
SYSCTL_PATH = st.one_of(
    line(
        st.sampled_from([*sysctl_d.SYSCTL_DIRS, "/etc", "/tmp"]),
        "/",
        one("10-x.conf", "99-sysctl.conf", "x.txt"),
        separator=st.just(""),
    ),
    st.just(sysctl_d.SYSCTL_CONF),
    WORD,
)
SYSCTL_FILES = st.dictionaries(SYSCTL_PATH, SYSCTL_FILE, max_size=4)
SYSCTL_LINKS = st.dictionaries(
    SYSCTL_PATH, st.one_of(st.sampled_from(["/dev/null", sysctl_d.SYSCTL_CONF]), WORD), max_size=3
)
UNIT = document(
    st.one_of(
        line("[", one("Unit", "Service", "Install", ""), "]", separator=st.just("")),
        line(
            one("ExecStart", "MemoryMax", "Environment", ""),
            "=",
            WORD,
            one("", "\\"),
            separator=st.just(""),
        ),
        line(one("#", ";"), WORD),
    )
)
TMPFILES = document(
    line(
        one("w", "w+", "d", "#"),
        one("/sys/kernel/mm/transparent_hugepage/enabled", '"/a b"'),
        one("-", "0644"),
        one("-", "root"),
        one("-"),
        one("-", "10d"),
        one("never", "madvise", '"a b"', ""),
    ),
)
TUNED = document(
    st.one_of(
        line("[", one("main", "vm", "bootloader", "my_vm"), "]", separator=st.just("")),
        line(
            one("include", "type", "transparent_hugepages", "cmdline", ""),
            "=",
            one("vm", "never", '"madvise"', "throughput-performance, x"),
            separator=st.just(""),
        ),
        line(one("#", ";"), WORD),
    )
)


def _kernel_log_lines() -> list[str]:
    folder = Path(__file__).resolve().parent.parent / "data" / "kernel_logs"
    found: list[str] = []
    for path in sorted(folder.glob("*.log")):
        found += path.read_text(encoding="utf-8").splitlines()
    return found


REAL_KERNEL_LINES = _kernel_log_lines()
KERNEL_PREFIX = st.one_of(
    st.floats(0, 1e7, allow_nan=False).map(lambda f: f"[{f:12.6f}] "),
    st.sampled_from(
        ["", "<6>", "kern  :err   : ", "daemon:info  : ", "[Thu Nov 19 12:00:00 2026] ",
         "[mar dic  7 00:05:15 2026] ", "Nov 19 12:00:00 h kernel: ", "Mär 19 03:22:15 db1 kernel: ",
         "2026-11-19T12:00:00+00:00 h kernel: ", "2026-11-19T12:00:00,123456+01:00 ",
         "Thu 2026-11-19 12:00:00 CET h kernel: ", "[   12.5] h kernel: ", "[   12.5] h systemd[1]: ",
         "Nov 19 12:00:00 h cron[1]: ", "[  +0.000123] ", "-- Reboot --", "-- Boot abc --",
         "9999-12-31T23:59:59-05:00 h kernel: ", "0001-01-01T00:00:00+05:00 h kernel: ",
         "Feb 29 10:00:00 h kernel: ", "[99999999999.999999999] "]
    ),
)  # fmt: skip
KERNEL_MESSAGE = st.one_of(
    st.sampled_from(
        [
            "java invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, "
            "oom_score_adj=0",
            "CPU: 3 PID: 1234 Comm: java Not tainted",
            "Mem-Info:",
            "[  pid  ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name",
            "[   1234]     0  1234   500000   400000     3000        0             0 java",
            "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
            "oom_memcg=/a,task_memcg=/a/b,task=java,pid=1234,uid=0",
            "Task in /a/b killed as a result of limit of /a",
            "Out of memory: Kill process 1234 (java) score 905 or sacrifice child",
            "Out of memory: Killed process 1234 (java) total-vm:2000000kB, anon-rss:1600000kB, "
            "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:3000kB oom_score_adj:0",
            "Killed process 1234, UID 0, (java) total-vm:1kB",
            "Out of memory and no killable processes...",
            "Tasks in /a are going to be killed due to memory.oom.group set",
            "bash (4321): drop_caches: 3",
            "x (1): drop_caches: ",
        ]
    ),
    line(WORD, " (", NUMBER, "): drop_caches: ", NUMBER, separator=st.just("")),
    line("Killed process ", NUMBER, " (", WORD, ") total-vm:", NUMBER, "kB", separator=st.just("")),
    WORD,
)
KERNEL_LOG = document(
    st.one_of(
        st.sampled_from(REAL_KERNEL_LINES),
        line(KERNEL_PREFIX, KERNEL_MESSAGE, separator=st.just("")),
        line(KERNEL_PREFIX, KERNEL_MESSAGE, separator=st.just("")),
    )
)
ZONES = [None, timezone.utc, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("America/New_York")]
COLLECTED_AT = st.one_of(
    st.none(),
    st.datetimes(),  # naive: read as UTC
    st.datetimes(timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=14))])),
)
UPTIME_SECONDS = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 1e6)
)


# --------------------------------------------------------------------------------------------
# The targets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """How to call one public function with a drawn input, and whether it may raise."""

    inputs: S[Any]
    call: Callable[[Any], object]
    total: bool = False  # documented never to raise


def _kernel_log(args: tuple[str, Any, Any, Any]) -> kernel_log.KernelLog:
    text, collected, seconds, zone = args
    log = kernel_log.parse_kernel_log(text, collected, seconds, local_tz=zone)
    # Records are built when read: read them all, and what is computed from them.
    for record in log.records:
        assert isinstance(record.message, str)
    assert len(log.kernel_records) <= len(log.records)
    _ = (log.earliest_time, log.formats, log.records[-1:] if log.records else ())
    return log


KERNEL_ARGS = st.tuples(KERNEL_LOG, COLLECTED_AT, UPTIME_SECONDS, st.sampled_from(ZONES))


def _sysctl_config(args: tuple[dict[str, str], dict[str, str], str]) -> object:
    files, links, key = args
    config = sysctl_d.load_config(files, links)
    return config.lookup(key)


TARGETS: dict[str, Target] = {
    # cgroup
    "cgroup.parse_limit": Target(SINGLE_NUMBER, lambda t: cgroup.parse_limit(t, "memory.max")),
    "cgroup.parse_bytes": Target(SINGLE_NUMBER, lambda t: cgroup.parse_bytes(t, "m.current")),
    "cgroup.parse_memory_stat": Target(FLAT_KEYED, lambda t: cgroup.parse_memory_stat(t, "s")),
    "cgroup.parse_memory_events": Target(
        FLAT_KEYED, lambda t: cgroup.parse_memory_events(t, "memory.events")
    ),
    "cgroup.parse_oom_control": Target(FLAT_KEYED, lambda t: cgroup.parse_oom_control(t, "o")),
    "cgroup.working_set_bytes": Target(
        st.tuples(st.integers(), st.one_of(st.none(), st.integers())),
        lambda a: cgroup.working_set_bytes(*a),
        total=True,
    ),
    "cgroup.systemd_limit_is_infinite": Target(
        st.one_of(ARBITRARY, one("infinity", "18446744073709551615", " Infinity ")),
        cgroup.systemd_limit_is_infinite,
        total=True,
    ),
    # crontab
    "crontab.parse_crontab": Target(
        st.tuples(CRONTAB, st.booleans()),
        lambda a: crontab.parse_crontab(a[0], "/etc/crontab", system=a[1]),
    ),
    "crontab.parse_anacrontab": Target(ANACRONTAB, crontab.parse_anacrontab),
    # grub
    "grub.parse_grub_defaults": Target(
        GRUB_DEFAULTS, lambda t: grub.parse_grub_defaults(t, "/etc/default/grub")
    ),
    "grub.grub_cmdline": Target(
        GRUB_DEFAULTS, lambda t: grub.grub_cmdline(_defaults_or_empty(t)), total=True
    ),
    "grub.parse_bls_entry": Target(BLS, lambda t: grub.parse_bls_entry(t, "e.conf")),
    "grub.parse_grubenv": Target(GRUBENV, lambda t: grub.parse_grubenv(t, "grubenv"), True),
    "grub.expand_grubenv": Target(
        st.tuples(GRUB_VALUE, GRUBENV), lambda a: grub.expand_grubenv(a[0], _grubenv(a[1]))
    ),
    "grub.parse_grub_cfg": Target(GRUB_CFG, lambda t: grub.parse_grub_cfg(t, "grub.cfg"), True),
    # kconfig
    "kconfig.parse_kconfig": Target(KCONFIG, lambda t: kconfig.parse_kconfig(t, "config")),
    # kernel command line
    "kernel_cmdline.split_words": Target(CMDLINE, kernel_cmdline.split_words, total=True),
    "kernel_cmdline.parse_cmdline": Target(CMDLINE, kernel_cmdline.parse_cmdline, total=True),
    # kernel log
    "kernel_log.month_number": Target(
        st.one_of(WORD, one("Jan", "déc.", "12月", "3월", "13月", "Mär")),
        kernel_log.month_number,
        total=True,
    ),
    "kernel_log.parse_kernel_log": Target(KERNEL_ARGS, _kernel_log, total=True),
    "kernel_log.parse_oom_kills": Target(
        KERNEL_ARGS, lambda a: kernel_log.parse_oom_kills(_kernel_log(a)), total=True
    ),
    "kernel_log.parse_drop_caches": Target(
        KERNEL_ARGS, lambda a: kernel_log.parse_drop_caches(_kernel_log(a)), total=True
    ),
    # meminfo
    "meminfo.parse_meminfo": Target(MEMINFO, meminfo.parse_meminfo),
    # mounts
    "mounts.parse_mounts": Target(MOUNTS, mounts.parse_mounts),
    "mounts.cgroup_mode": Target(MOUNTS, lambda t: mounts.cgroup_mode(_mounts(t)), total=True),
    # numa
    "numa.parse_node_list": Target(NODE_LIST, numa.parse_node_list),
    "numa.format_node_list": Target(
        st.lists(st.integers(-5, 2**20), max_size=50), numa.format_node_list, total=True
    ),
    "numa.parse_node_meminfo": Target(
        st.tuples(NODE_MEMINFO, st.one_of(st.none(), st.integers(0, 3))),
        lambda a: numa.parse_node_meminfo(a[0], "meminfo", a[1]),
    ),
    "numa.parse_numastat": Target(NUMASTAT, numa.parse_numastat),
    "numa.parse_policy": Target(POLICY, numa.parse_policy),
    "numa.parse_numa_maps": Target(NUMA_MAPS, numa.parse_numa_maps),
    # os-release
    "os_release.parse_os_release": Target(OS_RELEASE, os_release.parse_os_release, total=True),
    # /proc/<pid>
    "proc_pid.parse_status": Target(STATUS, proc_pid.parse_status),
    "proc_pid.parse_oom_score_adj": Target(SINGLE_NUMBER, proc_pid.parse_oom_score_adj),
    "proc_pid.parse_oom_adj": Target(SINGLE_NUMBER, proc_pid.parse_oom_adj),
    "proc_pid.oom_adj_to_score_adj": Target(
        st.integers(), proc_pid.oom_adj_to_score_adj, total=True
    ),
    "proc_pid.parse_cgroup": Target(PROC_CGROUP, proc_pid.parse_cgroup),
    "proc_pid.unit_of": Target(
        PROC_CGROUP, lambda t: proc_pid.unit_of(_proc_cgroup(t)), total=True
    ),
    "proc_pid.parse_cmdline": Target(
        st.one_of(st.binary(max_size=200), st.lists(st.binary(max_size=20)).map(b"\0".join)),
        proc_pid.parse_cmdline,
        total=True,
    ),
    # pressure
    "psi.parse_pressure": Target(PSI, psi.parse_pressure),
    # shell
    "shell_writes.find_writes": Target(SHELL, shell_writes.find_writes, total=True),
    "shell_writes.invoked_scripts": Target(SHELL, shell_writes.invoked_scripts, total=True),
    "shell_writes.writes_to": Target(
        st.tuples(SHELL, st.lists(one("/proc/sys/vm/drop_caches", "relative", "/a/../b"))),
        lambda a: shell_writes.writes_to(*a),
        total=True,
    ),
    # smaps_rollup
    "smaps.parse_smaps_rollup": Target(SMAPS, smaps.parse_smaps_rollup),
    # swaps
    "swaps.unescape": Target(
        st.one_of(ARBITRARY, one("/a\\040b", "\\999", "\\0400")), swaps.unescape, total=True
    ),
    "swaps.parse_swaps": Target(SWAPS, swaps.parse_swaps),
    # sysctl.d
    "sysctl_d.normalize_key": Target(
        st.one_of(WORD, one("net/ipv4/conf/enp3s0.200/forwarding", "/vm/x/")),
        sysctl_d.normalize_key,
        total=True,
    ),
    "sysctl_d.parse_sysctl_file": Target(
        SYSCTL_FILE, lambda t: sysctl_d.parse_sysctl_file(t, "/etc/sysctl.conf"), total=True
    ),
    "sysctl_d.order_files": Target(
        st.tuples(st.lists(SYSCTL_PATH, max_size=6), SYSCTL_LINKS),
        lambda a: sysctl_d.order_files(*a),
        total=True,
    ),
    "sysctl_d.load_config": Target(
        st.tuples(SYSCTL_FILES, SYSCTL_LINKS, one("vm.swappiness", "net.ipv4.conf.eth0.rp_filter")),
        _sysctl_config,
        total=True,
    ),
    "sysctl_d.boot_values": Target(
        st.tuples(SYSCTL_FILES, SYSCTL_LINKS), lambda a: sysctl_d.boot_values(*a), total=True
    ),
    # systemd units
    "systemd_unit.parse_unit": Target(UNIT, lambda t: systemd_unit.parse_unit(t, "x.service")),
    # THP
    "thp.parse_mode": Target(THP_MODE, lambda t: thp.parse_mode(t, "enabled")),
    "thp.parse_flag": Target(THP_FLAG, lambda t: thp.parse_flag(t, "khugepaged/defrag")),
    "thp.mthp_size_bytes": Target(MTHP_DIR, lambda t: thp.mthp_size_bytes(t, "dir")),
    # tmpfiles.d
    "tmpfiles.parse_tmpfiles": Target(TMPFILES, lambda t: tmpfiles.parse_tmpfiles(t, "t.conf")),
    # TuneD
    "tuned.parse_tuned_conf": Target(TUNED, lambda t: _tuned(t)),
    "tuned.parse_active_profile": Target(ARBITRARY, tuned.parse_active_profile, total=True),
    # uptime
    "uptime.parse_uptime": Target(UPTIME, uptime.parse_uptime),
    # values: the number rules every parser shares
    "values.is_digits": Target(NUMBER, values.is_digits, total=True),
    "values.to_int": Target(
        st.tuples(NUMBER, st.booleans()), lambda a: values.to_int(a[0], signed=a[1]), total=True
    ),
    "values.to_hex": Target(NUMBER, values.to_hex, total=True),
    "values.to_float": Target(NUMBER, lambda t: _finite(values.to_float(t)), total=True),
    "values.parse_int": Target(
        st.tuples(NUMBER, st.booleans()),
        lambda a: values.parse_int(a[0], "src", "what", signed=a[1]),
    ),
    "values.parse_float": Target(NUMBER, lambda t: _finite(values.parse_float(t, "src", "what"))),
    "values.quote": Target(
        st.tuples(ARBITRARY, st.integers(0, 100)), lambda a: values.quote(*a), total=True
    ),
    "values.clip": Target(
        st.tuples(ARBITRARY, st.integers(0, 100)), lambda a: values.clip(*a), total=True
    ),
    # vmstat
    "vmstat.parse_vmstat": Target(VMSTAT, vmstat.parse_vmstat),
}


def _defaults_or_empty(text: str) -> dict[str, grub.ShellVar]:
    try:
        return grub.parse_grub_defaults(text, "/etc/default/grub")
    except ParseError:
        return {}


def _grubenv(text: str) -> dict[str, str]:
    return grub.parse_grubenv(text, "grubenv")


def _mounts(text: str) -> tuple[mounts.Mount, ...]:
    try:
        return mounts.parse_mounts(text)
    except ParseError:
        return ()


def _proc_cgroup(text: str) -> tuple[proc_pid.CgroupEntry, ...]:
    try:
        return proc_pid.parse_cgroup(text)
    except ParseError:
        return ()


def _tuned(text: str) -> tuned.TunedConf:
    conf = tuned.parse_tuned_conf(text, "tuned.conf")
    # What THP facts ask of a profile: its includes and the sections of the vm plugin.
    _ = (conf.includes, conf.plugin_sections("vm"), conf.get("main", "include"))
    return conf


def _finite(value: float | None) -> float | None:
    assert value is None or value - value == 0, f"{value} is not finite"
    return value


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


KERNEL_SAMPLE = (
    "[ 5.000000] java invoked oom-killer: gfp_mask=0x100cca, order=0, oom_score_adj=0\n"
    "[ 5.000001] CPU: 3 PID: 1234 Comm: java\n"
    "[ 5.000002] [  pid  ]   uid  tgid total_vm      rss oom_score_adj name\n"
    "[ 5.000003] [   1234]  1000  1234   500000   400000 -5 java\n"
    "[ 5.000004] Out of memory: Killed process 1234 (java) total-vm:2000kB, anon-rss:1600kB\n"
    "Nov 19 12:00:00 h kernel: bash (4321): drop_caches: 3\n"
)
# A valid input of each text format, and how to call its target with text. Besides the
# drawn inputs, every word of it (and what follows `=` or `:` in a word) is replaced in turn
# by every odd value: hypothesis, given a few dozen examples, seldom puts a 5,000-digit number
# exactly where a parser converts one.
SAMPLES: dict[str, tuple[str, Callable[[str], object]]] = {
    name: (text, call)
    for name, text, call in [
        ("cgroup.parse_limit", "1073741824\n", TARGETS["cgroup.parse_limit"].call),
        ("cgroup.parse_bytes", "1073741824\n", TARGETS["cgroup.parse_bytes"].call),
        ("cgroup.parse_memory_stat", "anon 100\nfile 200\ntotal_rss 5\n",
         TARGETS["cgroup.parse_memory_stat"].call),
        ("cgroup.parse_memory_events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
         TARGETS["cgroup.parse_memory_events"].call),
        ("cgroup.parse_oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
         TARGETS["cgroup.parse_oom_control"].call),
        ("crontab.parse_crontab", "*/5 * * * * root echo 3 > /proc/sys/vm/drop_caches\n",
         lambda t: crontab.parse_crontab(t, "/etc/crontab", system=True)),
        ("crontab.parse_anacrontab", "1 5 cron.daily run-parts /etc/cron.daily\n",
         crontab.parse_anacrontab),
        ("grub.parse_grub_defaults", 'GRUB_CMDLINE_LINUX="quiet transparent_hugepage=never"\n',
         TARGETS["grub.parse_grub_defaults"].call),
        ("grub.parse_bls_entry", "title x\nversion 5.14\noptions root=/dev/sda ro\n",
         TARGETS["grub.parse_bls_entry"].call),
        ("kconfig.parse_kconfig", "CONFIG_NUMA=y\n# CONFIG_X is not set\nCONFIG_N=64\n",
         TARGETS["kconfig.parse_kconfig"].call),
        ("kernel_log.parse_oom_kills", KERNEL_SAMPLE,
         lambda t: TARGETS["kernel_log.parse_oom_kills"].call((t, None, 90000.0, None))),
        ("meminfo.parse_meminfo", "MemTotal: 16318508 kB\nMemFree: 1000 kB\nHugePages_Total: 0\n",
         meminfo.parse_meminfo),
        ("mounts.parse_mounts", "/dev/sda1 / ext4 rw,relatime 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n",
         mounts.parse_mounts),
        ("numa.parse_node_list", "0-3,5", numa.parse_node_list),
        ("numa.parse_node_meminfo",
         "Node 0 MemTotal: 1000 kB\nNode 0 MemFree: 400 kB\nNode 0 HugePages_Total: 0\n",
         lambda t: numa.parse_node_meminfo(t, "meminfo")),
        ("numa.parse_numastat", "numa_hit 10\nnuma_miss 0\nlocal_node 5\n", numa.parse_numastat),
        ("numa.parse_policy", "interleave=static:0-3", numa.parse_policy),
        ("numa.parse_numa_maps",
         "7f3a00000000 interleave:0-1 anon=5 dirty=5 N0=3 N1=2 kernelpagesize_kB=4\n",
         numa.parse_numa_maps),
        ("proc_pid.parse_status",
         "Name:\tbash\nPid:\t42\nPPid:\t1\nUid:\t0\t0\t0\t0\nVmRSS:\t100 kB\nVmSwap:\t0 kB\n",
         proc_pid.parse_status),
        ("proc_pid.parse_oom_score_adj", "-500\n", proc_pid.parse_oom_score_adj),
        ("proc_pid.parse_oom_adj", "-17\n", proc_pid.parse_oom_adj),
        ("proc_pid.parse_cgroup", "0::/system.slice/x.service\n4:memory:/a\n",
         proc_pid.parse_cgroup),
        ("psi.parse_pressure",
         "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 "
         "avg300=0.00 total=0\n", psi.parse_pressure),
        ("smaps.parse_smaps_rollup",
         "55d0-7ffc ---p 00000000 00:00 0 [rollup]\nRss: 100 kB\nPrivate_Dirty: 10 kB\n",
         smaps.parse_smaps_rollup),
        ("swaps.parse_swaps",
         "Filename Type Size Used Priority\n/dev/sda2 partition 100 0 -2\n", swaps.parse_swaps),
        ("sysctl_d.parse_sysctl_file", "vm.swappiness = 10\n-vm.x\n",
         TARGETS["sysctl_d.parse_sysctl_file"].call),
        ("systemd_unit.parse_unit", "[Service]\nMemoryMax=1G\nExecStart=/bin/x \\\n  -a\n",
         TARGETS["systemd_unit.parse_unit"].call),
        ("thp.parse_mode", "always [madvise] never\n", TARGETS["thp.parse_mode"].call),
        ("thp.parse_flag", "1\n", TARGETS["thp.parse_flag"].call),
        ("thp.mthp_size_bytes", "hugepages-2048kB", TARGETS["thp.mthp_size_bytes"].call),
        ("tmpfiles.parse_tmpfiles",
         "w /sys/kernel/mm/transparent_hugepage/enabled - - - - never\n",
         TARGETS["tmpfiles.parse_tmpfiles"].call),
        ("tuned.parse_tuned_conf", "[main]\ninclude=throughput-performance\n[vm]\n"
         "transparent_hugepages=never\n", TARGETS["tuned.parse_tuned_conf"].call),
        ("uptime.parse_uptime", "350735.47 234388.90\n", uptime.parse_uptime),
        ("vmstat.parse_vmstat", "nr_free_pages 100\noom_kill 0\n", vmstat.parse_vmstat),
    ]
}  # fmt: skip
ODD_VALUES = [*ODD_NUMBERS, *HUGE, "a\\999", "\\", "[", "\x00"]


def _with_odd_values(text: str) -> Iterator[str]:
    pieces = re.split(r"(\s+)", text)
    for index, piece in enumerate(pieces):
        if not piece or piece.isspace():
            continue
        heads = {""}
        for mark in ("=", ":", "-"):
            head, found, _ = piece.rpartition(mark)
            if found:
                heads.add(head + found)
        for head in sorted(heads):
            for odd in ODD_VALUES:
                yield "".join([*pieces[:index], head + odd, *pieces[index + 1 :]])


def public_functions() -> set[str]:
    """`module.function` for every public function defined in a `memcheck.parse` module."""
    found: set[str] = set()
    for info in pkgutil.iter_modules(memcheck.parse.__path__):
        module = importlib.import_module(f"memcheck.parse.{info.name}")
        for name, value in vars(module).items():
            if (
                not name.startswith("_")
                and inspect.isfunction(value)
                and value.__module__ == module.__name__
            ):
                found.add(f"{info.name}.{name}")
    return found


def test_every_public_parser_is_fuzzed() -> None:
    public = public_functions()
    assert public - set(TARGETS) == set(), "public parse functions without fuzz coverage"
    assert set(TARGETS) - public == set(), "fuzz targets that are no public parse function"


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_result_or_a_parse_error(name: str) -> None:
    target = TARGETS[name]

    @settings(max_examples=EXAMPLES)
    @given(target.inputs)
    def check(value: Any) -> None:
        try:
            call_bounded(lambda: target.call(value))
        except ParseError as exc:
            if target.total:
                raise AssertionError(f"{name} is documented never to fail: {exc}") from exc
            assert len(str(exc)) <= MESSAGE_LIMIT, f"a {len(str(exc))}-character message"

    check()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_odd_values_in_every_place_of_a_valid_input(name: str) -> None:
    target = TARGETS[name]
    text, call = SAMPLES[name]
    call_bounded(lambda: call(text))  # the sample itself is valid
    for variant in _with_odd_values(text):
        try:
            call_bounded(lambda variant=variant: call(variant))  # type: ignore[misc]
        except ParseError as exc:
            if target.total:
                raise AssertionError(f"{name} is documented never to fail: {exc}") from exc
            assert len(str(exc)) <= MESSAGE_LIMIT, f"a {len(str(exc))}-character message"
