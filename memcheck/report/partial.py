"""The words every report uses for a partial run: what could not be read, where, and the fix.

A host's data is partial when files were refused for lack of privilege or its kernel log
could not be read (memcheck.results.HostResult.partial); the run is partial when any host is.
"""

from __future__ import annotations

from memcheck.results import KERNEL_LOG, HostResult, RunResult

FIX = "run memcheck as root or with --sudo to read them"
# Hosts named in the run's line; beyond that, a count (each host's own report names it).
_NAMED_HOSTS = 3


def _what(files: int, kernel_log: bool) -> str:
    parts = []
    if files:
        parts.append(f"{files} file{'' if files == 1 else 's'}")
    if kernel_log:
        parts.append("the kernel log")
    return " and ".join(parts) or "some files"


def _counts(hosts: list[HostResult]) -> tuple[int, bool]:
    """(files other than the kernel log, whether any kernel log) over `hosts`."""
    files, kernel_log = 0, False
    for host in hosts:
        has_log = isinstance(host.collection_errors, dict) and KERNEL_LOG in host.collection_errors
        kernel_log = kernel_log or has_log
        files += max(host.unreadable_files - (1 if has_log else 0), 0)
    return files, kernel_log


def host_partial_text(host: HostResult) -> str:
    """`partial: 168 files and the kernel log could not be read; run memcheck as root …`,
    or "" when the host's data is complete."""
    if not host.partial:
        return ""
    files, kernel_log = _counts([host])
    return f"partial: {_what(files, kernel_log)} could not be read; {FIX}"


def partial_line(run: RunResult) -> str:
    """One line for the whole run, or "" when no host's data is partial."""
    hosts = [h for h in run.hosts if h.partial]
    if not hosts:
        return ""
    files, kernel_log = _counts(hosts)
    if len(hosts) <= _NAMED_HOSTS:
        where = ", ".join(str(h.name) for h in hosts)
    else:
        where = f"{len(hosts)} hosts"
    return (
        f"partial run: {_what(files, kernel_log)} could not be read on {where} "
        f"(no permission, or restricted), so verdicts that need them are incomplete; {FIX}"
    )
