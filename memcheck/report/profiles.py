"""Which profiles applied to each host, where they disagree, and what `auto` detected.

Shared by the console, JUnit and HTML renderers. Results written before hosts carried their
own profiles (or merged from such files) fall back on the run's profiles and conflicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from memcheck.detect import describe
from memcheck.report.safe_text import show_value
from memcheck.results import HostResult, RunResult


def host_profiles(run: RunResult, host: HostResult) -> list[str]:
    """The profiles applied to `host`, in merge order."""
    return list(host.profiles) if host.profiles else list(run.profiles)


def host_conflicts(run: RunResult, host: HostResult) -> list[dict[str, Any]]:
    """Where the profiles applied to `host` disagree."""
    if host.profiles:
        return [dict(c) for c in host.conflicts]
    return [dict(c) for c in run.conflicts]


def describe_conflict(conflict: Mapping[str, Any]) -> str:
    """`overcommit_memory.allowed: redis [1], postgres [2]; postgres wins`."""
    where = f"{conflict.get('check', '?')}.{conflict.get('param', '?')}"
    values = conflict.get("values")
    shown: list[str] = []
    for item in values if isinstance(values, list) else []:
        if isinstance(item, Mapping) and "profile" in item:
            shown.append(f"{item['profile']} {show_value(item.get('value'))}")
        else:
            shown.append(show_value(item))
    text = f"{where}: {', '.join(shown) or show_value(values)}"
    if conflict.get("winner"):
        text += f"; {conflict['winner']} wins"
    return text


def conflict_groups(run: RunResult) -> list[tuple[list[HostResult], list[dict[str, Any]]]]:
    """Hosts that share the same conflicts, each group once, in host order."""
    groups: list[tuple[list[HostResult], list[dict[str, Any]]]] = []
    for host in run.hosts:
        conflicts = host_conflicts(run, host)
        if not conflicts:
            continue
        for members, shared in groups:
            if shared == conflicts:
                members.append(host)
                break
        else:
            groups.append(([host], conflicts))
    return groups


def detected_line(host: HostResult) -> str:
    """What `auto` found on `host`, on one line ("" when `auto` was not used)."""
    return describe(host.detected)


def detected_notes(host: HostResult) -> list[str]:
    """Notes detection attached to its findings (an unknown MongoDB version, ...)."""
    return [
        str(item["note"])
        for item in host.detected or []
        if isinstance(item, Mapping) and item.get("note")
    ]


def detected_evidence(host: HostResult) -> list[str]:
    """The process lines that showed each workload."""
    lines: list[str] = []
    for item in host.detected or []:
        evidence = item.get("evidence") if isinstance(item, Mapping) else None
        for entry in evidence if isinstance(evidence, Sequence) else []:
            if isinstance(entry, Mapping):
                lines.append(f"{item.get('workload', '?')}: {entry.get('text', '')}")
    return lines
