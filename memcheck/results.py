"""The run's results in machine form: what `results.json` holds and every report renders."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from memcheck.model import JSON, SEVERITY_RANK

SCHEMA_VERSION = 1


@dataclass
class CheckResult:
    """One (host, check) verdict with everything a reader needs to act on it."""

    check: str
    title: str
    area: str
    outcome: str
    severity: str
    message: str
    observed: JSON = None
    expected: JSON = None
    evidence: list[dict[str, JSON]] = field(default_factory=list)
    rationale: str = ""
    remediation: str = ""
    references: list[str] = field(default_factory=list)
    params: dict[str, JSON] = field(default_factory=dict)
    waiver: dict[str, JSON] | None = None
    duration_seconds: float = 0.0
    # Against `--baseline` (memcheck.changes): "new", "still-failing", "fixed" or None.
    change: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class HostResult:
    """Everything about one host: identity, collection problems and its verdicts."""

    name: str
    source: str
    kernel: str | None = None
    distribution: str | None = None
    collected_at: str | None = None
    in_container: bool | None = None
    cgroup_mode: str | None = None
    unreachable: str | None = None
    collection_errors: dict[str, str] = field(default_factory=dict)
    collection_seconds: float | None = None
    # What /proc/meminfo showed, in bytes (None when it could not be read): total, available,
    # cache (Cached + Buffers), used (total - available), swap_total, swap_used.
    memory: dict[str, int | None] | None = None
    # The profiles applied to this host, in merge order (with `--profile auto`, what was
    # detected on it), where they disagree, and what detection found (None without `auto`).
    profiles: list[str] = field(default_factory=list)
    conflicts: list[dict[str, JSON]] = field(default_factory=list)
    detected: list[dict[str, JSON]] | None = None
    results: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {k: 0 for k in ("pass", "fail", "error", "skip", "waived")}
        for r in self.results:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        return counts

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostResult:
        known = {f for f in cls.__dataclass_fields__}
        host = cls(**{k: v for k, v in data.items() if k in known and k != "results"})
        host.results = [CheckResult.from_json(r) for r in data.get("results", [])]
        return host


@dataclass
class RunResult:
    """A whole run: how it was invoked, the profiles in force and every host."""

    memcheck_version: str
    started_at: str
    finished_at: str
    profiles: list[str]
    fail_on: str
    command: list[str] = field(default_factory=list)
    user: str = ""
    controller: str = ""
    profile_hashes: dict[str, str] = field(default_factory=dict)
    conflicts: list[dict[str, JSON]] = field(default_factory=list)
    waivers_expired: list[dict[str, JSON]] = field(default_factory=list)
    waivers_unused: list[dict[str, JSON]] = field(default_factory=list)
    # What changed since `--baseline` (memcheck.changes.compare); None without a baseline.
    changes: dict[str, Any] | None = None
    hosts: list[HostResult] = field(default_factory=list)
    exit_code: int = 0

    def all_results(self) -> list[tuple[HostResult, CheckResult]]:
        return [(h, r) for h in self.hosts for r in h.results]

    def summary(self) -> dict[str, int]:
        total = {k: 0 for k in ("pass", "fail", "error", "skip", "waived")}
        for host in self.hosts:
            for key, value in host.counts().items():
                total[key] = total.get(key, 0) + value
        return total

    def compute_exit_code(self) -> int:
        """SPEC section 2: 1 on a failure at or above fail_on, else 3 on any error, else 0."""
        threshold = SEVERITY_RANK.get(self.fail_on, 1)
        failures = [
            r
            for _, r in self.all_results()
            if r.outcome == "fail" and SEVERITY_RANK.get(r.severity, 1) >= threshold
        ]
        if failures:
            return 1
        if any(r.outcome == "error" for _, r in self.all_results()) or any(
            h.unreachable for h in self.hosts
        ):
            return 3
        return 0

    def to_json(self) -> dict[str, Any]:
        """The machine form (results.json's content). Its lists and dicts are the run's own,
        not copies (a deep copy was a third of the reports' time at 50 hosts): read it, or
        copy what you change."""
        data = _plain(self)
        data["hosts"] = [
            {**_plain(host), "results": [_plain(r) for r in host.results]} for host in self.hosts
        ]
        data["schema_version"] = SCHEMA_VERSION
        data["summary"] = self.summary()
        return data

    def dumps(self, data: dict[str, Any] | None = None) -> str:
        """results.json's text; `data` is `to_json()` when the caller has it already."""
        form = self.to_json() if data is None else data
        return json.dumps(form, indent=2, ensure_ascii=False, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        known = {f for f in cls.__dataclass_fields__}
        run = cls(**{k: v for k, v in data.items() if k in known and k != "hosts"})
        run.hosts = [HostResult.from_json(h) for h in data.get("hosts", [])]
        return run

    @classmethod
    def load(cls, path: str | Path) -> RunResult:
        with open(path, encoding="utf-8") as fh:
            return cls.from_json(json.load(fh))


def _plain(result: CheckResult | HostResult | RunResult) -> dict[str, Any]:
    """A result's fields as a dict, in declaration order, values as they are."""
    return {f.name: getattr(result, f.name) for f in fields(result)}
