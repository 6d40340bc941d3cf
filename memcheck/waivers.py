"""Waivers (SPEC section 6): accepted, justified, expiring exceptions to failures.

A waiver never hides a finding: a matching failure is reported as `waived` with the waiver's
reason, approver and expiry. Expired waivers are ignored and listed; so are unused ones.
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from memcheck.errors import ConfigError
from memcheck.model import JSON
from memcheck.results import CheckResult, RunResult

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11
    import tomli as tomllib

_KEYS = {"check", "hosts", "reason", "approved_by", "expires"}


@dataclass(frozen=True)
class Waiver:
    """One entry of a waiver file."""

    index: int
    check: str
    hosts: str
    reason: str
    approved_by: str
    expires: date
    source: str

    @property
    def label(self) -> str:
        return f"{self.source}: waiver[{self.index}]"

    def matches(self, check: str, host: str) -> bool:
        return fnmatch.fnmatchcase(check, self.check) and fnmatch.fnmatchcase(host, self.hosts)

    def to_json(self) -> dict[str, JSON]:
        return {
            "check": self.check,
            "hosts": self.hosts,
            "reason": self.reason,
            "approved_by": self.approved_by,
            "expires": self.expires.isoformat(),
            "source": f"{self.source}#{self.index}",
        }


def _load_document(path: Path) -> Any:
    text = path.read_bytes()
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ConfigError(str(path), None, "YAML waivers need PyYAML; use TOML") from None
        try:
            return yaml.safe_load(text.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(str(path), None, f"not valid YAML: {exc}".splitlines()[0]) from None
    try:
        return tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), None, f"not valid TOML: {exc}") from None


def _date(value: object, where: str, key: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(where, key, f"expected a date like 2027-01-31, got {value!r}")


def load_waivers(path: str | Path) -> list[Waiver]:
    """Read and validate a waiver file; `ConfigError` names the file and the entry."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(str(path), None, "no such waiver file")
    doc = _load_document(file)
    entries = doc.get("waiver") if isinstance(doc, dict) else doc
    if isinstance(doc, dict):
        unknown = set(doc) - {"waiver"}
        if unknown:
            raise ConfigError(str(path), sorted(unknown)[0], "unknown key (expected [[waiver]])")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise ConfigError(str(path), "waiver", "expected a list of [[waiver]] entries")
    waivers = []
    for index, entry in enumerate(entries):
        key = f"waiver[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(str(path), key, "expected a table with check, reason, expires")
        unknown = set(entry) - _KEYS
        if unknown:
            name = sorted(unknown)[0]
            raise ConfigError(
                str(path), f"{key}.{name}", f"unknown key (known: {', '.join(sorted(_KEYS))})"
            )
        for required in ("check", "reason", "approved_by", "expires"):
            if required not in entry or entry[required] in ("", None):
                raise ConfigError(str(path), f"{key}.{required}", "is required")
        for text_key in ("check", "reason", "approved_by", "hosts"):
            if text_key in entry and not isinstance(entry[text_key], str):
                raise ConfigError(str(path), f"{key}.{text_key}", "expected a string")
        waivers.append(
            Waiver(
                index=index,
                check=entry["check"],
                hosts=entry.get("hosts", "*") or "*",
                reason=entry["reason"].strip(),
                approved_by=entry["approved_by"].strip(),
                expires=_date(entry["expires"], str(path), f"{key}.expires"),
                source=str(path),
            )
        )
    return waivers


class WaiverSet:
    """Waivers in force for one run: applies them result by result and remembers use."""

    def __init__(self, waivers: list[Waiver], today: date | None = None) -> None:
        self.today = today or date.today()
        self.active = [w for w in waivers if w.expires >= self.today]
        self.expired = [w for w in waivers if w.expires < self.today]
        self.used: set[int] = set()

    def apply(self, host: str, result: CheckResult) -> None:
        """Turn a matching failure into `waived`; note an expired waiver on the failure."""
        if result.outcome != "fail":
            return
        match = next((w for w in self.active if w.matches(result.check, host)), None)
        if match is not None:
            self.used.add(match.index)
            result.outcome = "waived"
            result.waiver = {**match.to_json(), "status": "active"}
            return
        stale = next((w for w in self.expired if w.matches(result.check, host)), None)
        if stale is not None:
            result.waiver = {**stale.to_json(), "status": "expired"}

    def record(self, run: RunResult) -> None:
        """List expired and unused waivers on the run."""
        run.waivers_expired = [w.to_json() for w in self.expired]
        run.waivers_unused = [w.to_json() for w in self.active if w.index not in self.used]


def apply_waivers(run: RunResult, waivers: list[Waiver], today: date | None = None) -> None:
    """Apply waivers to a finished run (used by `memcheck report` and tests)."""
    waiver_set = WaiverSet(waivers, today)
    for host in run.hosts:
        for result in host.results:
            waiver_set.apply(host.name, result)
    waiver_set.record(run)
    run.exit_code = run.compute_exit_code()
