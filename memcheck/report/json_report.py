"""results.json: write a run in machine form, and load (and merge) runs saved anywhere."""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar, Union

from memcheck.errors import ConfigError
from memcheck.model import SEVERITY_RANK
from memcheck.results import SCHEMA_VERSION, RunResult

PathLike = Union[str, "os.PathLike[str]"]
T = TypeVar("T")

# Fields a results file must carry; the rest have defaults in RunResult.
_REQUIRED_RUN = ("memcheck_version", "started_at", "finished_at", "profiles", "fail_on")
_REQUIRED_HOST = ("name", "source")
_REQUIRED_CHECK = ("check", "title", "area", "outcome", "severity", "message")


def write_atomically(path: PathLike, data: bytes) -> Path:
    """Write `data` to `path` through a temporary file, so a reader never sees half a report."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def dumps_json(run: RunResult) -> bytes:
    """The UTF-8 bytes of results.json.

    Text from hosts may hold lone surrogates (bytes that were not UTF-8); they are written as
    JSON escapes (\\udcff), which any JSON reader turns back into the same string.
    """
    return run.dumps().encode("utf-8", "backslashreplace")


def write_json(run: RunResult, path: PathLike) -> Path:
    """Write `run` as results.json at `path` and return the path."""
    return write_atomically(path, dumps_json(run))


def _check_shape(data: Any, where: str) -> None:
    """Raise ConfigError naming the first field missing or of the wrong kind."""
    if not isinstance(data, dict):
        raise ConfigError(where, None, "expected a JSON object at the top level")
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ConfigError(
            where,
            "schema_version",
            f"{version!r} is newer than this memcheck reads ({SCHEMA_VERSION})",
        )
    for key in _REQUIRED_RUN:
        if key not in data:
            raise ConfigError(where, key, "missing")
    if not isinstance(data["profiles"], list):
        raise ConfigError(where, "profiles", "expected a list of profile names")
    hosts = data.get("hosts", [])
    if not isinstance(hosts, list):
        raise ConfigError(where, "hosts", "expected a list")
    for i, host in enumerate(hosts):
        if not isinstance(host, dict):
            raise ConfigError(where, f"hosts[{i}]", "expected an object")
        for key in _REQUIRED_HOST:
            if key not in host:
                raise ConfigError(where, f"hosts[{i}].{key}", "missing")
        results = host.get("results", [])
        if not isinstance(results, list):
            raise ConfigError(where, f"hosts[{i}].results", "expected a list")
        for j, result in enumerate(results):
            if not isinstance(result, dict):
                raise ConfigError(where, f"hosts[{i}].results[{j}]", "expected an object")
            for key in _REQUIRED_CHECK:
                if key not in result:
                    raise ConfigError(where, f"hosts[{i}].results[{j}].{key}", "missing")


def read_json(path: PathLike) -> RunResult:
    """One results.json, as written by `write_json`; ConfigError names the file and the problem."""
    where = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise ConfigError(where, None, f"cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(where, None, f"not a results.json file: {exc}") from exc
    _check_shape(data, where)
    try:
        return RunResult.from_json(data)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(where, None, f"not a results.json file: {exc}") from exc


def parse_instant(stamp: str) -> datetime | None:
    """An ISO-8601 time as an aware datetime (naive ones are taken as UTC), or None."""
    text = stamp.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _extreme(stamps: Iterable[str], pick: Callable[..., datetime]) -> str:
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
    )
    merged.exit_code = merged.compute_exit_code()
    return merged


def load_results(paths: PathLike | Iterable[PathLike]) -> RunResult:
    """Read one or more results.json files and merge them into one run (see `merge_runs`)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    runs = [read_json(p) for p in paths]
    if not runs:
        raise ConfigError("results", None, "no results.json file given")
    return merge_runs(runs)
