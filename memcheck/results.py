"""The run's results in machine form: what `results.json` holds and every report renders.

Everything a host sends is bounded here, once, when a result is made (or read back from a
file): a message, an observed or expected value and each evidence string keep at most
`MAX_TEXT` characters, a result keeps at most `MAX_EVIDENCE` evidence items, and any JSON
value at most `MAX_ITEMS` items per list or object and `MAX_DEPTH` levels of nesting. What is
cut says so (`… [truncated, N more characters]`). A 16 MB line in a host's /proc/meminfo,
quoted by every check that reads the file, once made hundreds of megabytes of reports.

Numbers a JSON reader cannot take are replaced as well: in free-form values (observed,
expected, evidence, params, waivers, conflicts) NaN and the infinities become the strings
"NaN", "Infinity" and "-Infinity", and an integer of more than `MAX_INT_BITS` bits a string
saying so; a non-finite duration is written as 0 (collection_seconds as null). results.json
is written with `allow_nan=False`, so it never holds a bare NaN.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from memcheck.model import JSON, SEVERITY_RANK

SCHEMA_VERSION = 1

MAX_TEXT = 2_000
# The check's own prose (rationale, remediation) is longer than any message, but a check
# directory is user code too: bounded all the same.
MAX_LONG_TEXT = 20_000
MAX_EVIDENCE = 200
MAX_ITEMS = 200
MAX_DEPTH = 16
MAX_INT_BITS = 256
# A host refusing every file under /proc would otherwise list tens of thousands.
MAX_COLLECTION_ERRORS = 1_000
# Where the collection records the kernel log (memcheck.snapshot.KERNEL_LOG); not imported,
# so that reading results never loads the snapshot code.
KERNEL_LOG = "/.memcheck/kernel.log"
_DENIED = ("permission denied", "not permitted")


def cut_text(text: str, limit: int = MAX_TEXT) -> str:
    """`text`, or its first `limit` characters and a marker saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [truncated, {len(text) - limit} more characters]"


def _number(value: float) -> JSON:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def bounded_json(
    value: Any, limit: int = MAX_TEXT, items: int | None = MAX_ITEMS, depth: int = MAX_DEPTH
) -> JSON:
    """`value` as a JSON value within the bounds above (`items=None`: no bound on counts).

    Strings are cut at `limit`, lists and objects at `items` entries (a marker entry names
    what was left out), nesting below `depth` levels is replaced by a marker, non-finite
    floats and huge integers by strings, keys made strings, and other types by their text.
    """
    kind = type(value)
    if kind is str:
        return value if len(value) <= limit else cut_text(value, limit)
    if value is None or kind is bool:
        return value  # type: ignore[no-any-return]
    if kind is int:
        if value.bit_length() <= MAX_INT_BITS:
            return value  # type: ignore[no-any-return]
        return f"(an integer of {value.bit_length()} bits, too large to show)"
    if kind is float:
        return _number(value)
    if isinstance(value, (list, tuple, Mapping)) and depth <= 0:
        return "… [nested too deep, left out]"
    if isinstance(value, (list, tuple)):
        seq = list(value)
        out: list[JSON] = [bounded_json(v, limit, items, depth - 1) for v in seq[:items]]
        if items is not None and len(seq) > items:
            marker = f"… [truncated, {len(seq) - items} more items]"
            # In a list of objects, an object too: readers of evidence call .get on each.
            out.append({"text": marker} if isinstance(seq[0], Mapping) else marker)
        return out
    if isinstance(value, Mapping):
        obj: dict[str, JSON] = {}
        for n, (key, item) in enumerate(value.items()):
            if items is not None and n >= items:
                obj["…"] = f"[truncated, {len(value) - items} more keys]"
                break
            name = key if type(key) is str else _text_of(key)
            obj[cut_text(name, limit)] = bounded_json(item, limit, items, depth - 1)
        return obj
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return bounded_json(int(value), limit, items, depth)
    if isinstance(value, float):
        return _number(float(value))
    if isinstance(value, str):
        return cut_text(str(value), limit)
    return cut_text(_text_of(value), limit)


def _text_of(value: Any) -> str:
    """Any object's text for a report; never raises (a type's own __str__ might)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    try:
        return str(value)
    except Exception:  # a broken __str__ must not cost the report
        return f"({type(value).__name__})"


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    """A text field, cut to `limit`; a value of another type becomes its JSON text (bounded
    first, so that a huge or deep value costs nothing), None the empty string."""
    if type(value) is str:
        return value if len(value) <= limit else cut_text(value, limit)
    if value is None:
        return ""
    if isinstance(value, str):
        return cut_text(str(value), limit)
    shown = json.dumps(bounded_json(value, limit, 20, 4), ensure_ascii=False)
    return cut_text(shown, limit)


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _texts(value: Any, limit: int = MAX_TEXT) -> list[str]:
    """A list-of-text field: at most MAX_ITEMS items (a lone value becomes a list of one)."""
    if value is None:
        return []
    items = list(value[:MAX_ITEMS]) if isinstance(value, (list, tuple)) else [value]
    return [_text(item, limit) for item in items]


def _object(value: Any) -> dict[str, JSON]:
    """An object field, bounded; another value is kept under "value"."""
    bounded = bounded_json(value if isinstance(value, Mapping) else {"value": value})
    assert isinstance(bounded, dict)
    return bounded


def _objects(value: Any, items: int | None = MAX_ITEMS) -> list[dict[str, JSON]]:
    """A list-of-objects field: each item an object (another value kept as its "text")."""
    if value is None:
        return []
    seq = value if isinstance(value, (list, tuple)) else [value]
    bounded = bounded_json(seq, items=items)
    assert isinstance(bounded, list)
    return [v if isinstance(v, dict) else {"text": _text(v)} for v in bounded]


def _seconds(value: Any) -> float | None:
    """A duration: a finite number of 0 or more, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) and value.bit_length() > 64:
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def bounded_evidence(evidence: Any) -> list[dict[str, JSON]]:
    """At most `MAX_EVIDENCE` items, each an object within the bounds: the first and the
    last halves are kept (the latest lines of a log are often the ones that matter) with a
    marker item between them."""
    items = list(evidence) if isinstance(evidence, (list, tuple)) else [evidence]
    if len(items) > MAX_EVIDENCE:
        half = MAX_EVIDENCE // 2
        left_out = len(items) - 2 * half
        marker = {"text": f"… [truncated, {left_out} more evidence items left out here]"}
        items = [*items[:half], marker, *items[-half:]]
    out: list[dict[str, JSON]] = []
    for item in items:
        if isinstance(item, Mapping):
            bounded = bounded_json(item)
            assert isinstance(bounded, dict)
            out.append(bounded)
        else:
            out.append({"text": cut_text(_text_of(item))})
    return out


def is_denied(reason: str) -> bool:
    """A collection error that a privileged read would not have met."""
    lowered = reason.lower()
    return any(word in lowered for word in _DENIED)


def unreadable_count(collection_errors: Mapping[str, Any]) -> int:
    """How many of a host's unreadable files make its data partial: those refused for lack
    of privilege, and the kernel log whatever kept it from being read."""
    if not isinstance(collection_errors, Mapping):
        return 0
    return sum(
        1
        for path, reason in collection_errors.items()
        if path == KERNEL_LOG or is_denied(_text_of(reason))
    )


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

    def __post_init__(self) -> None:
        self.check, self.title, self.area = _text(self.check), _text(self.title), _text(self.area)
        self.outcome, self.severity = _text(self.outcome), _text(self.severity)
        self.message = _text(self.message)
        self.observed = bounded_json(self.observed)
        self.expected = bounded_json(self.expected)
        self.evidence = bounded_evidence(self.evidence)
        self.rationale = _text(self.rationale, MAX_LONG_TEXT)
        self.remediation = _text(self.remediation, MAX_LONG_TEXT)
        self.references = _texts(self.references)
        self.params = _object(self.params)
        self.waiver = None if self.waiver is None else _object(self.waiver)
        self.duration_seconds = _seconds(self.duration_seconds) or 0.0
        self.change = _optional_text(self.change)

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
    # The data is partial: files were refused for lack of privilege, or the kernel log could
    # not be read (`unreadable_files` of them, counted before collection_errors is cut).
    # Worked out from collection_errors; a value given (a file read back) is kept when larger.
    partial: bool = False
    unreadable_files: int = 0

    def __post_init__(self) -> None:
        counted = unreadable_count(self.collection_errors)
        given = self.unreadable_files
        if type(given) is int and given > counted:
            counted = given
        self.unreadable_files = counted
        self.partial = self.partial is True or counted > 0
        self.name, self.source = _text(self.name), _text(self.source)
        self.kernel = _optional_text(self.kernel)
        self.distribution = _optional_text(self.distribution)
        self.collected_at = _optional_text(self.collected_at)
        self.cgroup_mode = _optional_text(self.cgroup_mode)
        self.unreachable = _optional_text(self.unreachable)
        if not isinstance(self.in_container, bool):
            self.in_container = None
        errors = self.collection_errors if isinstance(self.collection_errors, Mapping) else {}
        if len(errors) > MAX_COLLECTION_ERRORS and KERNEL_LOG in errors:
            # The kernel log's entry is kept whatever is cut: reports name it.
            errors = {KERNEL_LOG: errors[KERNEL_LOG], **errors}
        bounded = bounded_json(errors, items=MAX_COLLECTION_ERRORS, depth=1)
        assert isinstance(bounded, dict)
        self.collection_errors = {k: _text(v) for k, v in bounded.items()}
        self.collection_seconds = _seconds(self.collection_seconds)
        if isinstance(self.memory, Mapping):
            self.memory = {
                _text(k): (v if type(v) is int and v.bit_length() <= MAX_INT_BITS else None)
                for k, v in list(self.memory.items())[:MAX_ITEMS]
            }
        else:
            self.memory = None
        self.profiles = _texts(self.profiles)
        self.conflicts = _objects(self.conflicts)
        self.detected = None if self.detected is None else _objects(self.detected)
        self.notes = _texts(self.notes)

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

    def __post_init__(self) -> None:
        # Read back from a file, these may hold anything; a run made here holds the
        # controller's own values, and bounding them costs nothing.
        self.memcheck_version, self.user = _text(self.memcheck_version), _text(self.user)
        self.started_at, self.finished_at = _text(self.started_at), _text(self.finished_at)
        self.controller, self.fail_on = _text(self.controller), _text(self.fail_on)
        self.profiles = _texts(self.profiles, MAX_LONG_TEXT)
        self.command = _texts(self.command, MAX_LONG_TEXT)
        hashes = bounded_json(self.profile_hashes, items=None, depth=1)
        hashes = hashes if isinstance(hashes, dict) else {}
        self.profile_hashes = {k: _text(v) for k, v in hashes.items()}
        self.conflicts = _objects(self.conflicts, items=None)
        self.waivers_expired = _objects(self.waivers_expired, items=None)
        self.waivers_unused = _objects(self.waivers_unused, items=None)
        # Every finding of a fleet is listed: no bound on counts here.
        changes = self.changes
        self.changes = None
        if isinstance(changes, Mapping):
            self.changes = bounded_json(changes, items=None)  # type: ignore[assignment]
        if type(self.exit_code) is not int:
            self.exit_code = 0

    @property
    def partial(self) -> bool:
        """Some host's data is partial (see HostResult.partial)."""
        return any(h.partial for h in self.hosts)

    @property
    def unreadable_files(self) -> int:
        return sum(h.unreadable_files for h in self.hosts)

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
        data["partial"] = self.partial
        data["unreadable_files"] = self.unreadable_files
        return data

    def dumps(self, data: dict[str, Any] | None = None) -> str:
        """results.json's text; `data` is `to_json()` when the caller has it already.

        Never bare NaN or Infinity: a value changed after its result was made (so not yet
        bounded) is bounded here before the text is made again."""
        form = self.to_json() if data is None else data
        try:
            text = json.dumps(form, indent=2, ensure_ascii=False, allow_nan=False)
        except (ValueError, TypeError, RecursionError):
            safe = bounded_json(form, limit=MAX_LONG_TEXT, items=None, depth=MAX_DEPTH * 4)
            text = json.dumps(safe, indent=2, ensure_ascii=False, allow_nan=False)
        return text + "\n"

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
