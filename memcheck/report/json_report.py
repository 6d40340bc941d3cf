"""results.json: write a run in machine form, and load (and merge) runs saved anywhere."""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

from memcheck.errors import ConfigError
from memcheck.files import read_regular_file
from memcheck.model import OUTCOMES, SEVERITIES, SEVERITY_RANK
from memcheck.report.guard import render_guarded
from memcheck.report.paths import PathLike, write_atomically
from memcheck.results import SCHEMA_VERSION, RunResult

__all__ = ["PathLike", "dumps_json", "load_results", "merge_runs", "read_json", "write_json"]
__all__ += ["parse_instant", "write_atomically"]
T = TypeVar("T")

# The largest results file `memcheck report` reads. results.json for a thousand hosts is
# well under 100 MiB (every value in it is bounded, see memcheck.results); reading one costs
# several times its size in memory.
MAX_RESULTS_BYTES = 256 * 1024 * 1024

# What each field of a results file must hold (the renderers rely on it); "?" allows null.
_RUN_FIELDS = {
    "memcheck_version": "str",
    "started_at": "str",
    "finished_at": "str",
    "profiles": "list[str]",
    "fail_on": "severity",
    "command": "list[str]",
    "user": "str",
    "controller": "str",
    "profile_hashes": "dict[str]",
    "conflicts": "list[dict]",
    "waivers_expired": "list[dict]",
    "waivers_unused": "list[dict]",
    "changes": "dict?",
    "hosts": "list[dict]",
    "exit_code": "int",
    "partial": "bool",
    "unreadable_files": "count",
    "summary": "dict",
}
_HOST_FIELDS = {
    "name": "str",
    "source": "str",
    "kernel": "str?",
    "distribution": "str?",
    "collected_at": "str?",
    "in_container": "bool?",
    "cgroup_mode": "str?",
    "unreachable": "str?",
    "collection_errors": "dict[str]",
    "collection_seconds": "num?",
    "memory": "dict[int?]?",
    "profiles": "list[str]",
    "conflicts": "list[dict]",
    "detected": "list[dict]?",
    "results": "list[dict]",
    "notes": "list[str]",
    "partial": "bool",
    "unreadable_files": "count",
}
_CHECK_FIELDS = {
    "check": "str",
    "title": "str",
    "area": "str",
    "outcome": "outcome",
    "severity": "severity",
    "message": "str",
    "evidence": "list[dict]",
    "rationale": "str",
    "remediation": "str",
    "references": "list[str]",
    "params": "dict",
    "waiver": "dict?",
    "duration_seconds": "num",
    "change": "change?",
}
_CHANGES_FIELDS = {
    "baseline": "dict",
    "new": "list[dict]",
    "fixed": "list[dict]",
    "still_failing": "list[dict]",
    "new_oom_kills": "list[dict]",
    "hosts_not_in_baseline": "list[str]",
    "hosts_only_in_baseline": "list[str]",
}
_BASELINE_FIELDS = {"path": "str?", "started_at": "str?", "finished_at": "str?"}
# Fields that must be present; the rest have defaults in the dataclasses.
_REQUIRED_RUN = ("memcheck_version", "started_at", "finished_at", "profiles", "fail_on")
_REQUIRED_HOST = ("name", "source")
_REQUIRED_CHECK = ("check", "title", "area", "outcome", "severity", "message")
_CHANGES = ("new", "still-failing", "fixed")
_KIND_NAMES = {
    "str": "a string",
    "int": "an integer",
    "count": "a whole number of 0 or more",
    "num": "a number",
    "bool": "true or false",
    "dict": "an object",
    "dict[str]": "an object of strings",
    "dict[int?]": "an object of integers or nulls",
    "list[str]": "a list of strings",
    "list[dict]": "a list of objects",
    "severity": f"one of {', '.join(SEVERITIES)}",
    "outcome": f"one of {', '.join(OUTCOMES)}",
    "change": f"one of {', '.join(_CHANGES)}",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_kind(value: Any, kind: str) -> bool:
    if kind.endswith("?"):
        return value is None or _is_kind(value, kind[:-1])
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return _is_int(value)
    if kind == "count":
        return _is_int(value) and value >= 0
    if kind == "num":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "dict":
        return isinstance(value, dict)
    if kind == "dict[str]":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if kind == "dict[int?]":
        return isinstance(value, dict) and all(v is None or _is_int(v) for v in value.values())
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "list[dict]":
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    if kind == "severity":
        return value in SEVERITIES
    if kind == "change":
        return value in _CHANGES
    return value in OUTCOMES


def _shown(value: Any) -> str:
    """A short, one-line view of a value for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=True, allow_nan=True)[:60]
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text


def _check_fields(
    data: dict[str, Any], kinds: dict[str, str], required: tuple[str, ...], where: str, at: str
) -> None:
    for key in required:
        if key not in data:
            raise ConfigError(where, f"{at}{key}", "missing")
    for key, kind in kinds.items():
        if key in data and not _is_kind(data[key], kind):
            name = _KIND_NAMES[kind.rstrip("?")] + (" or null" if kind.endswith("?") else "")
            raise ConfigError(where, f"{at}{key}", f"expected {name}, got {_shown(data[key])}")


def dumps_json(run: RunResult, data: dict[str, Any] | None = None) -> bytes:
    """The UTF-8 bytes of results.json.

    Text from hosts may hold lone surrogates (bytes that were not UTF-8); they are written as
    JSON escapes (\\udcff), which any JSON reader turns back into the same string.
    """
    if data is not None:
        try:
            _check_shape(data, "results.json")
            return run.dumps(data).encode("utf-8", "backslashreplace")
        except Exception:  # the guard finds the host, from the run itself
            pass

    def render(result: RunResult) -> bytes:
        # What is written must read back: a host whose values have a shape `memcheck report`
        # refuses is written as a stub instead, not left to cost the whole file later.
        form = result.to_json()
        _check_shape(form, "results.json")
        return result.dumps(form).encode("utf-8", "backslashreplace")

    return render_guarded(run, render, "results.json")


def write_json(run: RunResult, path: PathLike, data: dict[str, Any] | None = None) -> Path:
    """Write `run` as results.json at `path` and return the path (`data`: its `to_json()`)."""
    return write_atomically(path, dumps_json(run, data))


def _check_shape(data: Any, where: str) -> None:
    """Raise ConfigError naming the first field missing or of the wrong kind."""
    if not isinstance(data, dict):
        raise ConfigError(where, None, "expected a JSON object at the top level")
    version = data.get("schema_version", SCHEMA_VERSION)
    if not _is_int(version) or version < 1:
        raise ConfigError(
            where, "schema_version", f"expected a version number, got {_shown(version)}"
        )
    if version > SCHEMA_VERSION:
        raise ConfigError(
            where,
            "schema_version",
            f"{version} is newer than this memcheck reads ({SCHEMA_VERSION})",
        )
    _check_fields(data, _RUN_FIELDS, _REQUIRED_RUN, where, "")
    changes = data.get("changes")
    if isinstance(changes, dict):
        _check_fields(changes, _CHANGES_FIELDS, (), where, "changes.")
        if "baseline" in changes:
            _check_fields(changes["baseline"], _BASELINE_FIELDS, (), where, "changes.baseline.")
    for i, host in enumerate(data.get("hosts", [])):
        _check_fields(host, _HOST_FIELDS, _REQUIRED_HOST, where, f"hosts[{i}].")
        for j, result in enumerate(host.get("results", [])):
            at = f"hosts[{i}].results[{j}]."
            _check_fields(result, _CHECK_FIELDS, _REQUIRED_CHECK, where, at)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:40]} is too large a number")
    return number


def read_json(path: PathLike) -> RunResult:
    """One results.json, as written by `write_json`; ConfigError names the file and the problem
    (and the key, where there is one) for anything else: a file that is not regular or is
    over MAX_RESULTS_BYTES, text that is not UTF-8 or not JSON (NaN and Infinity included),
    nesting deeper than the JSON reader allows, or a field of the wrong shape."""
    where = os.fspath(path)
    raw = read_regular_file(path, where, MAX_RESULTS_BYTES)
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_not_json, parse_float=_finite)
    except RecursionError as exc:
        raise ConfigError(where, None, "not a results.json file: nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and the hooks' refusals
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(where, None, f"not a results.json file: {problem[:200]}") from exc
    _check_shape(data, where)
    try:
        return RunResult.from_json(data)
    except (TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise ConfigError(where, None, f"not a results.json file: {exc}") from exc


def parse_instant(stamp: str) -> datetime | None:
    """An ISO-8601 time as a UTC datetime (naive ones are taken as UTC), or None."""
    text = stamp.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
        # In UTC, so that every later sum or comparison stays in range: 0001-01-01 at
        # +14:00 is before year 1 in UTC, and is taken as no usable time.
        if moment.tzinfo is None:
            return moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


def _extreme(stamps: Sequence[str], pick: Callable[..., datetime]) -> str:
    """The earliest or latest of `stamps` (by `pick`=min/max); unparseable ones are ignored."""
    known = [(m, s) for s in stamps if s for m in [parse_instant(s)] if m is not None]
    if not known:
        return next((s for s in stamps if s), "")
    best = pick(m for m, _ in known)
    return next(s for m, s in known if m == best)


def _unique(items: Iterable[T]) -> list[T]:
    """Items in first-seen order without repeats (compared by their JSON form)."""
    seen: set[str] = set()
    out: list[T] = []
    for item in items:
        key = json.dumps(item, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _joined(values: Iterable[str]) -> str:
    return ", ".join(v for v in _unique(values) if v)


def merge_runs(runs: Sequence[RunResult]) -> RunResult:
    """One run holding every host of `runs`.

    Hosts are concatenated in order; profiles, conflicts and waiver notes are united; the run
    starts at the earliest start and ends at the latest finish; the strictest `fail_on` applies
    and the exit code is computed afresh from the merged hosts.
    """
    if not runs:
        raise ValueError("merge_runs needs at least one run")
    first = runs[0]
    hashes: dict[str, str] = {}
    for run in runs:
        for name, digest in run.profile_hashes.items():
            hashes.setdefault(name, digest)
    merged = RunResult(
        memcheck_version=_joined(r.memcheck_version for r in runs),
        started_at=_extreme([r.started_at for r in runs], min),
        finished_at=_extreme([r.finished_at for r in runs], max),
        profiles=_unique(p for r in runs for p in r.profiles),
        fail_on=min((r.fail_on for r in runs), key=lambda s: SEVERITY_RANK.get(s, 1)),
        command=list(first.command),
        user=_joined(r.user for r in runs),
        controller=_joined(r.controller for r in runs),
        profile_hashes=hashes,
        conflicts=_unique(c for r in runs for c in copy.deepcopy(r.conflicts)),
        waivers_expired=_unique(w for r in runs for w in copy.deepcopy(r.waivers_expired)),
        waivers_unused=_unique(w for r in runs for w in copy.deepcopy(r.waivers_unused)),
        hosts=[copy.deepcopy(h) for r in runs for h in r.hosts],
        changes=_merge_changes(runs),
    )
    merged.exit_code = merged.compute_exit_code()
    return merged


def _merge_changes(runs: Sequence[RunResult]) -> dict[str, Any] | None:
    """The runs' `changes` lists joined (the baseline of the first run that has one)."""
    found = [copy.deepcopy(r.changes) for r in runs if r.changes is not None]
    if not found:
        return None
    merged = found[0]
    for other in found[1:]:
        for key, value in other.items():
            if isinstance(value, list):
                merged.setdefault(key, [])
                merged[key] += value
    return merged


def load_results(paths: PathLike | Iterable[PathLike]) -> RunResult:
    """Read one or more results.json files and merge them into one run (see `merge_runs`)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    runs = [read_json(p) for p in paths]
    if not runs:
        raise ConfigError("results", None, "no results.json file given")
    return merge_runs(runs)
