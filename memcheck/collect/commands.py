"""Every command memcheck may run on a host, with the exact forms used and why each is read-only.

This list is the contract behind "memcheck never writes to a host" (SPEC section 3). The
collection script (`memcheck.collect.script`) may invoke nothing that is not named here;
tests/collect/ proves that by tracing every `execve` of the script and by reading the script's
command words, and proves the script read-only by tracing its file system calls.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HostCommand:
    """A command the collection script runs on a host."""

    name: str
    builtin: bool
    usage: tuple[str, ...]
    why_read_only: str


def _external(name: str, usage: tuple[str, ...], why: str) -> HostCommand:
    return HostCommand(name, False, usage, why)


def _builtin(name: str, usage: tuple[str, ...], why: str) -> HostCommand:
    return HostCommand(name, True, usage, why)


COMMANDS: dict[str, HostCommand] = {
    c.name: c
    for c in (
        # -- programs (looked up in the host's PATH) -------------------------------------
        _external(
            "sh",
            ("sh -c SCRIPT sh", "sh -c :"),
            "Interprets the collection script, which is itself tested read-only; `sh -c :` "
            "does nothing and only probes that `timeout` works.",
        ),
        _external(
            "cat",
            ("cat -- PATH",),
            "Opens one regular file for reading (O_RDONLY) and copies it to standard output. "
            "Only called after `test -f` showed a regular file, so it never opens a FIFO, a "
            "device or a socket.",
        ),
        _external(
            "head",
            ("head -n LINES -- PATH", "head -n LINES -- FILE..."),
            "Opens each file for reading (O_RDONLY) and copies its first LINES lines to "
            "standard output: for reads that ask for the start of a long file only "
            "(`PATTERN#head=N`, e.g. /proc/<pid>/numa_maps), and, with several files (LINES "
            "2147483647 for whole files), to read kernel files in one process, each after a "
            "'==> FILE <==' header (POSIX). Only given regular files (`test -f`), never a "
            "FIFO or a device.",
        ),
        _external(
            "readlink",
            ("readlink -- PATH",),
            "Reads the target of a symbolic link (readlink(2)); follows nothing, writes nothing.",
        ),
        _external(
            "tar",
            ("tar -cf - -C DIR -- RELATIVE_TREE",),
            "Creates an archive of one directory tree on standard output (-f -) and only "
            "reads the files: without -h it records symbolic links instead of following "
            "them, and it stores FIFOs and devices as entries without opening them. The "
            "options that would change the host (--remove-files, --atime-preserve, "
            "--listed-incremental) are never used, and TAR_OPTIONS is unset first so the "
            "host's environment cannot add them.",
        ),
        _external(
            "dmesg",
            ("dmesg",),
            "Without options it only reads the kernel ring buffer (SYSLOG_ACTION_READ_ALL, "
            "which does not consume it). The options that clear the buffer or change the "
            "console level (-c, -C, -D, -E, -n) are never used.",
        ),
        _external(
            "journalctl",
            ("journalctl -k --no-pager -o short-monotonic",),
            "Reads the kernel messages of the current boot from the journal files. The options "
            "that modify the journal (--rotate, --vacuum-*, --flush, --sync, --relinquish-var, "
            "--setup-keys) are never used; --no-pager keeps it from starting a pager.",
        ),
        _external(
            "date",
            ("date -u +%Y-%m-%dT%H:%M:%SZ",),
            "Prints the host's clock in UTC (the snapshot's collected_at); never `date -s`.",
        ),
        _external(
            "sleep",
            ("sleep SECONDS",),
            "Waits between the two /proc/vmstat samples; touches nothing.",
        ),
        _external(
            "timeout",
            ("timeout SECONDS sh -c SCRIPT sh", "timeout 5 sh -c :"),
            "Runs the script with a time limit and kills it when the limit passes (SPEC "
            "section 1: the per-host limit is enforced on the host too). Used only where the "
            "host has it and it accepts `timeout SECONDS CMD` (old busybox wants `-t`).",
        ),
        _external(
            "sudo",
            ("sudo /bin/sh -c COMMAND", "sudo -u USER /bin/sh -c COMMAND"),
            "Added by testinfra only when the user asks for --sudo; it runs the same "
            "read-only script with more privilege (to read a restricted kernel log or other "
            "users' /proc/<pid>).",
        ),
        # -- shell builtins (no program is executed) -------------------------------------
        _builtin("printf", ("printf FORMAT ARGS",), "Writes frame markers to standard output."),
        _builtin(
            "command",
            ("command -v NAME",),
            "Looks a program up in PATH (does it exist on this host?).",
        ),
        _builtin(
            "test",
            ("test -h|-d|-f|-e|-r|-x|-n PATH", "[ ... ]"),
            "stat(2)/lstat(2)/access(2) on a path: file type, existence, permission.",
        ),
        _builtin("[", ("[ -h PATH ]",), "The same as `test`: only stat(2) and access(2)."),
        _builtin("export", ("export LC_ALL",), "Sets C locale for the script's own commands."),
        _builtin(
            "unset", ("unset TAR_OPTIONS",), "Removes a variable from the script's own environment."
        ),
        _builtin("while", ("while ...; do ...; done",), "A loop of the shell itself."),
        _builtin(
            "set",
            ("set --", 'set -- "$@" PATH', "set -f; set -- $LIST; set +f"),
            "Sets the script's positional parameters (globbing off while a list is split).",
        ),
        _builtin("exec", ("exec sh -c SCRIPT sh",), "Replaces the wrapper shell; no file."),
        _builtin("return", ("return 0",), "Leaves a shell function; no system call."),
        _builtin(":", (":",), "The null command: does nothing at all."),
        _builtin(
            "read",
            ("read -r LINE < PATH",),
            "Reads small per-process text files line by line from an already opened file "
            "(read(2) only), so thousands of them cost no fork.",
        ),
        _builtin("break", ("break",), "Leaves the line loop after the first N lines."),
    )
}
"""Every command the collection script may run, by the word that invokes it."""

EXTERNAL_COMMANDS: frozenset[str] = frozenset(n for n, c in COMMANDS.items() if not c.builtin)
BUILTIN_COMMANDS: frozenset[str] = frozenset(n for n, c in COMMANDS.items() if c.builtin)

NEVER_READ: tuple[tuple[str, str], ...] = (
    ("*/proc/kmsg", "not read: reading /proc/kmsg consumes kernel messages"),
    ("*/trace_pipe", "not read: reading a trace pipe consumes trace events"),
    ("*/trace_pipe_raw", "not read: reading a trace pipe consumes trace events"),
)
"""Regular files whose reading changes state on the host; the script records them as errors.

Each entry is a shell `case` pattern (matched against the full path) and the recorded reason.
"""
