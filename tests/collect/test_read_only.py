"""The read-only proof: the script for a full read set, traced, opens nothing for writing,
changes nothing on the file system, and runs only the commands listed in commands.py."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from memcheck.collect import build_script, parse_output
from memcheck.collect.commands import BUILTIN_COMMANDS, COMMANDS, EXTERNAL_COMMANDS
from memcheck.collect.script import KERNEL_LOG_SOURCE
from memcheck.registry import builtin_checks
from memcheck.snapshot import KERNEL_LOG, VMSTAT_AFTER
from tests.collect.shells import NONCE, SHELLS, as_nobody, need, shell_argv

# What a run of every catalogued check reads, and more: trees, globs over every process,
# write-only sysctls, and /proc/kmsg, which must never be opened.
FULL_READS = (
    "/proc/meminfo",
    "/proc/vmstat",
    "/proc/swaps",
    "/proc/pressure/memory",
    "/proc/sys/vm/*",
    "/proc/kmsg",
    "/sys/kernel/mm/transparent_hugepage/**",
    "/sys/kernel/mm/redhat_transparent_hugepage/enabled",
    "/sys/devices/system/node/node*/meminfo",
    "/proc/[0-9]*/comm",
    "/proc/[0-9]*/status",
    "/proc/[0-9]*/oom_score_adj",
    "/proc/[0-9]*/cgroup",
    "/proc/[0-9]*/cmdline",
    "/proc/[0-9]*/smaps_rollup",
    "/sys/fs/cgroup/memory.*",
    "/sys/fs/cgroup/*/memory.*",
    "/sys/fs/cgroup/system.slice/*/memory.max",
    "/sys/fs/cgroup/**/memory.{max,high,current,stat,events,events.local,pressure}",
    "/sys/fs/cgroup/**/memory.{limit_in_bytes,usage_in_bytes,oom_control,failcnt}",
    "/sys/fs/cgroup/**/cgroup.procs",
    "/etc/sysctl.conf",
    "/etc/sysctl.d/**",
    "/run/sysctl.d/**",
    "/usr/local/lib/sysctl.d/**",
    "/usr/lib/sysctl.d/**",
    "/lib/sysctl.d/**",
    "/etc/systemd/system/**",
    "/run/systemd/system/**",
    "/usr/lib/systemd/system/**",
    "/etc/crontab",
    "/etc/cron.d/*",
    "/etc/cron.{hourly,daily,weekly,monthly}/*",
    "/etc/anacrontab",
    "/var/spool/cron/**",
    "/etc/default/grub",
    "/boot/config-*",
    "/etc/tuned/**",
    "/etc/rc.local",
    "/etc/localtime",
    "/.dockerenv",
    "/run/**",
    KERNEL_LOG,
    VMSTAT_AFTER,
)

# /dev/null takes the script's discarded output; shells open their controlling terminal
# read-write to set up job control (never a file on disk, and never written to here).
OPENABLE = ("/dev/null", "/dev/tty")
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND", "O_TMPFILE")
CHANGES = frozenset(
    """unlink unlinkat rename renameat renameat2 mkdir mkdirat rmdir chmod fchmod fchmodat
    fchmodat2 chown fchown lchown fchownat truncate ftruncate mknod mknodat symlink symlinkat
    link linkat utime utimes utimensat futimesat setxattr lsetxattr fsetxattr removexattr
    lremovexattr fremovexattr mount umount2 pivot_root chroot swapon swapoff memfd_create
    fallocate creat acct quotactl""".split()
)
SYSLOG_READS = ("SYSLOG_ACTION_READ_ALL", "SYSLOG_ACTION_SIZE_BUFFER", "SYSLOG_ACTION_SIZE_UNREAD")
CALL = re.compile(r"^(\d+)\s+(?:<\.\.\. )?([a-z0-9_]+)(?:\(| resumed>)(.*)$")


def all_reads() -> list[str]:
    reads = list(FULL_READS)
    for check in builtin_checks().values():
        reads.extend(check.meta.reads)
    return reads


@dataclass
class Traced:
    calls: list[tuple[str, str]]
    stdout: bytes


def trace(argv: list[str], prefix: list[str] | None = None) -> Traced:
    strace = need("strace")
    log = f"/tmp/memcheck-strace-{os.getpid()}-{len(argv)}.log"
    command = [
        *(prefix or []),
        strace,
        "-f",
        "-qq",
        "-s",
        "4096",
        "-e",
        "trace=%file,%desc,write,mmap,syslog",
        "-o",
        log,
        *argv,
    ]
    try:
        proc = subprocess.run(command, capture_output=True, check=False, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        with open(log, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    finally:
        if os.path.exists(log):
            os.unlink(log)
    calls = []
    for line in lines:
        match = CALL.match(line)
        if match:
            calls.append((match.group(2), match.group(3)))
    assert calls, "strace recorded nothing"
    return Traced(calls, proc.stdout)


def first_string(args: str) -> str:
    match = re.search(r'"((?:[^"\\]|\\.)*)"', args)
    return match.group(1) if match else ""


def violations(traced: Traced) -> list[str]:
    bad = []
    for name, args in traced.calls:
        if name in ("open", "openat", "openat2"):
            path = first_string(args)
            flags = args.split('"', 2)[-1] if '"' in args else args
            if any(flag in flags for flag in WRITE_FLAGS) and path not in OPENABLE:
                bad.append(f"{name}({args})")
            if path.endswith("/proc/kmsg"):
                bad.append(f"opened /proc/kmsg: {name}({args})")
        elif name in CHANGES:
            bad.append(f"{name}({args})")
        elif name == "mmap" and "MAP_SHARED" in args and "PROT_WRITE" in args:
            bad.append(f"{name}({args})")
        elif name == "syslog":
            action = re.search(r"SYSLOG_ACTION_[A-Z_]+", args)
            if action is None or action.group(0) not in SYSLOG_READS:
                bad.append(f"{name}({args})")
    return bad


def executed(traced: Traced) -> set[str]:
    # A failed attempt along PATH has the same base name; a `<... execve resumed>` line has
    # no path at all (its call line does).
    return {
        os.path.basename(first_string(args))
        for name, args in traced.calls
        if name in ("execve", "execveat") and first_string(args)
    }


def test_the_tracer_does_catch_writes(tmp_path: object) -> None:
    # The proof is only as good as its detector: a script that writes must be caught.
    target = os.path.join(str(tmp_path), "written")
    quoted = shlex.quote(target)
    script = f"printf x > {quoted}; rm -- {quoted}; mkdir {quoted}"
    bad = violations(trace(["sh", "-c", script]))
    assert any(target in line and "O_CREAT" in line for line in bad)
    assert any(line.startswith(("unlink", "unlinkat")) for line in bad)
    assert any(line.startswith(("mkdir", "mkdirat")) for line in bad)
    assert "rm" not in EXTERNAL_COMMANDS


@pytest.fixture(scope="module")
def full_run() -> Iterator[Traced]:
    command = build_script(all_reads(), NONCE, sample_interval=0.2, timeout=120)
    yield trace(["sh", "-c", command])


def test_no_file_is_opened_for_writing_or_changed(full_run: Traced) -> None:
    assert violations(full_run) == []
    opened = [first_string(a) for n, a in full_run.calls if n in ("open", "openat")]
    assert "/proc/meminfo" in opened  # the trace did see the reads
    # tar opens a tree relative to its -C folder (etc/sysctl.d from /), then its files.
    assert any(p.lstrip("/").startswith("etc/sysctl.d") for p in opened)


def test_the_traced_run_was_a_complete_collection(full_run: Traced) -> None:
    snap = parse_output(full_run.stdout, NONCE, "local", "t")
    assert not any(why.startswith("not collected") for why in snap.errors.values())
    assert snap.files["/proc/meminfo"].startswith(b"MemTotal:")
    assert KERNEL_LOG_SOURCE in snap.files
    assert snap.errors["/proc/kmsg"].startswith("not read")


def test_every_program_executed_is_listed(full_run: Traced) -> None:
    ran = executed(full_run)
    # `sleep` runs only when reading took less than the vmstat interval: not under strace.
    assert {"sh", "cat", "date"} <= ran
    assert ran <= EXTERNAL_COMMANDS, ran - EXTERNAL_COMMANDS


def test_unprivileged_run_is_read_only_too() -> None:
    # As nobody the kernel log is restricted, so the journalctl fallback runs as well.
    prefix = as_nobody()
    command = build_script(all_reads(), NONCE, sample_interval=0, timeout=120)
    traced = trace(["sh", "-c", command], prefix)
    assert violations(traced) == []
    assert executed(traced) <= EXTERNAL_COMMANDS
    snap = parse_output(traced.stdout, NONCE, "local", "t")
    assert snap.files[KERNEL_LOG_SOURCE]
    assert any(why == "permission denied" for why in snap.errors.values())


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_each_shell_runs_only_listed_programs(shell: str) -> None:
    script = build_script(
        ["/etc/sysctl.d/**", "/proc/[0-9]*/comm", KERNEL_LOG, VMSTAT_AFTER], NONCE, 0
    )
    traced = trace([*shell_argv(shell), "-c", script, "sh"])
    assert violations(traced) == []
    ran = executed(traced) - {os.path.basename(shell_argv(shell)[0])}
    assert ran <= EXTERNAL_COMMANDS, ran - EXTERNAL_COMMANDS


# -- the script's text ----------------------------------------------------------------------

KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
OPERATOR_CHARS = set("();<>|&")


def substitutions(word: str) -> list[str]:
    """The texts of `$(...)` inside a word (which the shell runs as commands).

    `$((...))` is arithmetic, not a command: it is skipped.
    """
    found = []
    start = word.find("$(")
    while start >= 0:
        depth, j = 0, start + 1
        while j < len(word):
            depth += {"(": 1, ")": -1}.get(word[j], 0)
            if depth == 0:
                break
            j += 1
        if not word.startswith("$((", start):
            found.append(word[start + 2 : j])
        start = word.find("$(", j)
    return found


def command_words(script: str) -> tuple[set[str], set[str]]:
    """(words in command position, names of functions the script defines).

    A small reader of the shell grammar the script uses: separators and keywords start a
    command, redirections and their targets are skipped, `for`/`case` headers and case
    patterns are not commands.
    """
    lexer = shlex.shlex(script.replace("\n", " ; "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)
    words: set[str] = set()
    functions: set[str] = set()
    position = True
    skip_until: set[str] = set()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        i += 1
        for inner in substitutions(token):
            inner_words, inner_functions = command_words(inner)
            words |= inner_words
            functions |= inner_functions
        if skip_until:
            if token in skip_until:
                # After `case WORD in`, the first pattern follows.
                skip_until = {")", "esac"} if skip_until == {"in"} else set()
                position = token != "esac"
            continue
        if token and set(token) <= OPERATOR_CHARS:
            if "<" in token or ">" in token:
                i += 1  # the redirection's target
            elif token == ";;":
                skip_until = {")", "esac"}  # the next case pattern
            else:
                position = True
            continue
        if token.isdigit() and following[:1] in ("<", ">"):
            continue  # an fd number before a redirection
        if token == "for":
            skip_until = {"do"}
            continue
        if token == "case":
            skip_until = {"in"}
            continue
        if not position:
            continue
        if token in KEYWORDS or ASSIGNMENT.match(token):
            continue
        if following == "()":
            functions.add(token)
            continue
        words.add(token)
        position = token == "exec"  # exec's argument is the command it runs
    return words, functions


@pytest.mark.parametrize("timeout", [None, 30])
def test_every_command_word_in_the_script_is_listed(timeout: int | None) -> None:
    command = build_script(all_reads(), NONCE, timeout=timeout)
    scripts = [command]
    if timeout is not None:
        # The wrapper carries the script as an argument: check both layers.
        scripts = [w for w in shlex.split(command) if len(w) > 20]
        assert len(scripts) == 2
    found: set[str] = set()
    for script in scripts:
        words, functions = command_words(script)
        found |= words - functions
    # `$T` is the path `command -v timeout` printed: the listed timeout.
    if timeout is not None:
        assert "$T" in found
        found.discard("$T")
    assert found <= set(COMMANDS), found - set(COMMANDS)
    expected = {"printf", "cat", "readlink", "dmesg", "journalctl", "date", "sleep", "["}
    assert expected | ({"command", "exec"} if timeout else set()) <= found


def test_command_list_says_why_each_is_read_only() -> None:
    for name, command in COMMANDS.items():
        assert command.name == name
        assert len(command.why_read_only) > 20, name
        assert command.usage, name
    assert EXTERNAL_COMMANDS.isdisjoint(BUILTIN_COMMANDS)
