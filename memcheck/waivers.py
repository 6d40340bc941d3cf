"""Waivers (SPEC section 6): accepted, justified, expiring exceptions to failures.

A waiver never hides a finding: a matching failure is reported as `waived` with the waiver's
reason, approver and expiry. Expired waivers are ignored and listed; so are unused ones.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from memcheck.errors import ConfigError
from memcheck.model import JSON
from memcheck.profile import config_error, parse_toml, read_config_bytes, shown
from memcheck.results import CheckResult, RunResult

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


def _yaml_loader() -> Any:
    """A safe YAML loader whose impossible timestamps (2099-02-30) stay text, so that the
    entry holding one is named, rather than PyYAML's ValueError ending the whole file."""
    import yaml

    base: Any = yaml.SafeLoader
    # libyaml refuses nesting deeper than 1,000 levels since 0.2.5 (and is ~5 times faster);
    # the pure-Python loader recurses, which ends in a RecursionError that is caught below.
    if getattr(yaml, "__with_libyaml__", False):
        from yaml import _yaml  # type: ignore[attr-defined,unused-ignore]

        if tuple(_yaml.get_version()) >= (0, 2, 5):
            base = yaml.CSafeLoader

    class WaiverLoader(base):  # type: ignore[misc]
        pass

    def timestamp(loader: Any, node: Any) -> Any:
        try:
            return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
        except (ValueError, OverflowError):
            return loader.construct_scalar(node)

    WaiverLoader.add_constructor("tag:yaml.org,2002:timestamp", timestamp)
    return WaiverLoader


def _load_document(path: Path, where: str) -> Any:
    data = read_config_bytes(path, where)
    if path.suffix.lower() not in (".yaml", ".yml"):
        try:
            return parse_toml(data, where)
        except ConfigError as exc:
            raise _bad_toml_date(data, where) or exc from None
    try:
        import yaml
    except ImportError:
        raise config_error(where, None, "YAML waivers need PyYAML; use TOML") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise config_error(where, None, f"not UTF-8 text ({exc.reason})") from None
    try:
        return yaml.load(text, Loader=_yaml_loader())
    except RecursionError:
        raise config_error(where, None, "not valid YAML: nested too deeply") from None
    except MemoryError:
        raise config_error(where, None, "not valid YAML: too large to load") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # ValueError: an integer of over 4,300 digits; TypeError: an unhashable merge key.
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        problem = "; ".join(lines[:2])[:200] or type(exc).__name__
        raise config_error(where, None, f"not valid YAML: {problem}") from None


_TOML_BAD_DATE = re.compile(r"Invalid date or datetime \(at line (\d+), column \d+\)")
_WAIVER_HEADER = re.compile(r"\s*\[\[\s*waiver\s*\]\]")
_KEY = re.compile(r"\s*([A-Za-z0-9_-]+)\s*=\s*(\S{1,40})")


def _bad_toml_date(data: bytes, where: str) -> ConfigError | None:
    """tomllib refuses an impossible date for the whole file; name the [[waiver]] holding it
    when the file is laid out one key a line (otherwise the line number has to do)."""
    try:
        parse_toml(data, where)
    except ConfigError as exc:
        match = _TOML_BAD_DATE.search(exc.problem)
        if match is None:
            return None
        lines = data.decode("utf-8").splitlines()
        number = int(match.group(1))
        if not 1 <= number <= len(lines):
            return None
        index = sum(1 for line in lines[: number - 1] if _WAIVER_HEADER.match(line)) - 1
        key = _KEY.match(lines[number - 1])
        if index < 0 or key is None:
            return None
        value = key.group(2)
        return config_error(
            where, f"waiver[{index}].{key.group(1)}", f"{value} is not a real date (line {number})"
        )
    return None


_ISO_DAY = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*")


def _date(value: object, where: str, key: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            if _ISO_DAY.fullmatch(value):
                raise config_error(where, key, f"{value.strip()} is not a real date") from None
    raise config_error(where, key, f"expected a date like 2027-01-31, got {shown(value)}")


def _key_text(key: object) -> str:
    """A key as an error names it: YAML keys may be numbers, or long or unprintable text."""
    if isinstance(key, str) and len(key) <= 60 and key.isprintable():
        return key
    return shown(key)


def _text(entry: dict[Any, Any], name: str, where: str, key: str) -> str:
    """A required or given text field: a string with something other than blanks in it."""
    value = entry[name]
    if not isinstance(value, str):
        raise config_error(where, f"{key}.{name}", f"expected a string, got {shown(value)}")
    if not value.strip():
        raise config_error(where, f"{key}.{name}", "must not be blank")
    return value.strip()


def load_waivers(path: str | Path) -> list[Waiver]:
    """Read and validate a waiver file; `ConfigError` names the file and the entry."""
    file = Path(path)
    where = str(path)
    if not file.is_file():
        problem = "not a regular file; refused" if file.exists() else "no such waiver file"
        raise config_error(where, None, problem)
    doc = _load_document(file, where)
    entries = doc.get("waiver") if isinstance(doc, dict) else doc
    if isinstance(doc, dict):
        unknown = set(doc) - {"waiver"}
        if unknown:
            first = _key_text(sorted(unknown, key=repr)[0])
            raise config_error(where, first, "unknown key (expected [[waiver]])")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise config_error(where, "waiver", "expected a list of [[waiver]] entries")
    waivers = []
    for index, entry in enumerate(entries):
        key = f"waiver[{index}]"
        if not isinstance(entry, dict):
            raise config_error(where, key, "expected a table with check, reason, expires")
        unknown = set(entry) - _KEYS
        if unknown:
            name = _key_text(sorted(unknown, key=repr)[0])
            raise config_error(
                where, f"{key}.{name}", f"unknown key (known: {', '.join(sorted(_KEYS))})"
            )
        for required in ("check", "reason", "approved_by", "expires"):
            if required not in entry or entry[required] is None:
                raise config_error(where, f"{key}.{required}", "is required")
        texts = {
            name: _text(entry, name, where, key)
            for name in ("check", "reason", "approved_by", "hosts")
            if name in entry
        }
        waivers.append(
            Waiver(
                index=index,
                check=texts["check"],
                hosts=texts.get("hosts", "*"),
                reason=texts["reason"],
                approved_by=texts["approved_by"],
                expires=_date(entry["expires"], where, f"{key}.expires"),
                source=where,
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
