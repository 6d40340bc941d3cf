"""Loads TOML profiles (built-in or a user's file) into the checks, params and severities to use."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import reprlib
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from memcheck.errors import ConfigError
from memcheck.files import read_regular_file
from memcheck.model import SEVERITIES, Param, ParamValue, Severity
from memcheck.registry import Check

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

BUILTIN_PACKAGE = "memcheck.profiles"
DEFAULT_PROFILE = "default"
DEFAULT_FAIL_ON: Severity = "low"
AUTO = "auto"
"""The `--profile` word that stands for the profiles detected on each host (memcheck.detect)."""

_TABLES = ("authority", "checks", "params", "profile", "severity")
_PROFILE_KEYS = ("description", "extends", "fail_on", "name")
_CHECKS_KEYS = ("exclude", "include")

MAX_CONFIG_BYTES = 4 * 1024 * 1024
"""The largest profile or waiver file read: real ones are a few KB; a larger one is a mistake
(or /dev/zero behind a link) and is refused rather than read."""
MAX_EXTENDS_DEPTH = 32
"""How deep an `extends` chain may go (the built-in profiles use two levels)."""
MAX_EXTENDS = 64
"""How many profiles one file may extend directly."""

_SHOWN = reprlib.Repr()
_SHOWN.maxstring = 60
_SHOWN.maxother = 60
_SHOWN.maxlist = 8
_SHOWN.maxdict = 4
_SHOWN.maxlevel = 1


def shown(value: object) -> str:
    """`repr(value)` cut short, so a message about a 4 MB string or a deep array stays a line."""
    return _SHOWN.repr(value)


def printable(text: str, limit: int = 1000) -> str:
    """`text` as one line: control characters escaped (a TOML key may hold a newline), cut
    to `limit` characters."""
    if len(text) <= limit and text.isprintable():
        return text
    cut = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text[:limit])
    return cut + ("..." if len(text) > limit else "")


def config_error(where: str, key: str | None, problem: str) -> ConfigError:
    """A ConfigError whose printed line stays one line whatever the file, key or value."""
    return ConfigError(printable(where), printable(key, 200) if key else key, printable(problem))


def read_config_bytes(path: str | os.PathLike[str], where: str) -> bytes:
    """The bytes of a configuration file (a profile, waivers), or ConfigError naming `where`:
    only a regular file, at most MAX_CONFIG_BYTES (memcheck.files)."""
    return read_regular_file(path, printable(where), MAX_CONFIG_BYTES)


def parse_toml(data: bytes, where: str) -> dict[str, Any]:
    """A TOML document, or ConfigError: tomllib raises more than TOMLDecodeError on hostile
    text (RecursionError on deep nesting, ValueError on an integer of over 4,300 digits)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise config_error(where, None, f"not UTF-8 text ({exc.reason})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise config_error(where, None, f"invalid TOML: {_first_line(exc)}") from None
    except RecursionError:
        raise config_error(where, None, "invalid TOML: nested too deeply") from None
    except MemoryError:
        raise config_error(where, None, "invalid TOML: too large to parse") from None
    except ValueError as exc:  # int() of a literal over sys.get_int_max_str_digits()
        raise config_error(where, None, f"invalid TOML: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).splitlines()
    return lines[0][:200] if lines else type(exc).__name__


@dataclass(frozen=True)
class ProfileSource:
    """One profile file that was applied: its name, where it is, and the sha256 of its bytes."""

    name: str
    path: str
    sha256: str
    builtin: bool


@dataclass(frozen=True)
class ProfileInfo:
    """A built-in profile as `memcheck list-profiles` shows it."""

    name: str
    extends: list[str]
    description: str
    path: str


@dataclass(frozen=True)
class EffectiveProfile:
    """What one or more `--profile` specs amount to once merged.

    `params`, `severity` and `authority` cover the selected checks. `conflicts` lists every
    param of a selected check that two of the given specs set to different values, each in a
    file of its own (the later spec wins); a value one spec inherits from a file that another spec overrides is a
    refinement, not a conflict, since it gives the same result in either order.
    """

    names: list[str]
    chain: list[ProfileSource]
    description: str
    selected: list[str]
    params: dict[str, dict[str, ParamValue]]
    severity: dict[str, Severity]
    fail_on: Severity = DEFAULT_FAIL_ON
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    # Check id -> the authority the profile follows for it ("Redis admin guide, https://...").
    authority: dict[str, str] = field(default_factory=dict)
    # Params and severities of every check known at load time, so that --checks may name a
    # check the profile does not select and still get the profile's values for it.
    known_params: dict[str, dict[str, ParamValue]] = field(
        default_factory=dict, repr=False, compare=False
    )
    known_severity: dict[str, Severity] = field(default_factory=dict, repr=False, compare=False)
    known_authority: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    # Conflicts on every check, selected or not (narrowing picks those of the checks it runs).
    all_conflicts: list[dict[str, Any]] = field(default_factory=list, repr=False, compare=False)

    def narrow(self, only: list[str] | None, skip: list[str] | None) -> EffectiveProfile:
        """Apply --checks (run exactly these; ids or globs) and --skip-checks (drop these)."""
        selected = list(self.selected)
        if only:
            picked = _expand(only, self.known_params, "--checks", None)
            selected = [c for c in selected if c in picked]
            selected += [c for c in picked if c not in selected]
        if skip:
            dropped = set(_expand(skip, self.known_params, "--skip-checks", None))
            selected = [c for c in selected if c not in dropped]
        return replace(
            self,
            selected=selected,
            conflicts=[c for c in self.all_conflicts if c["check"] in selected],
            params={c: dict(self.known_params[c]) for c in selected},
            severity={c: self.known_severity[c] for c in selected},
            authority={c: self.known_authority[c] for c in selected if c in self.known_authority},
        )

    def with_fail_on(self, fail_on: str) -> EffectiveProfile:
        """Apply --fail-on, which overrides every profile's `fail_on`."""
        return replace(self, fail_on=_severity(fail_on, "--fail-on", None))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (for results.json and reports)."""
        return {
            "names": list(self.names),
            "chain": [
                {"name": s.name, "path": s.path, "sha256": s.sha256, "builtin": s.builtin}
                for s in self.chain
            ],
            "description": self.description,
            "selected": list(self.selected),
            "params": {c: dict(p) for c, p in self.params.items()},
            "severity": dict(self.severity),
            "fail_on": self.fail_on,
            "conflicts": list(self.conflicts),
            "authority": dict(self.authority),
        }


# --- locating profile files -------------------------------------------------------------------


@dataclass(frozen=True)
class _Located:
    """A profile file found but not yet read. `key` identifies it for cycle detection."""

    name: str
    display: str
    key: str
    builtin: bool
    file: Any  # pathlib.Path or importlib.resources Traversable
    base: Path | None  # folder that relative `extends` paths start from (user files)


def _is_path(spec: str) -> bool:
    return "/" in spec or spec.endswith(".toml")


def _builtin_root() -> Any:
    return resources.files(BUILTIN_PACKAGE)


def builtin_profile_names() -> list[str]:
    """Names of the shipped profiles, sorted."""
    root = _builtin_root()
    return sorted(
        entry.name[: -len(".toml")]
        for entry in root.iterdir()
        if entry.name.endswith(".toml") and entry.is_file()
    )


def _locate(spec: str, base: Path | None, where: str, key: str | None) -> _Located:
    if _is_path(spec):
        path = Path(spec)
        try:
            path = path.expanduser()
        except RuntimeError:  # ~user of no known user: taken literally, then not found
            pass
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            problem = "not a regular file; refused" if path.exists() else "no such profile file"
            if key is None:
                raise config_error(str(path), None, problem)
            raise config_error(where, key, f"{problem}: {path}")
        resolved = path.resolve()
        stem = path.name[: -len(".toml")] if path.name.endswith(".toml") else path.name
        return _Located(stem, str(path), str(resolved), False, path, resolved.parent)
    names = builtin_profile_names()
    if spec not in names:
        available = ", ".join(names) or "none"
        problem = f"no built-in profile {spec!r} (available: {available})"
        if key is None:
            problem += "; a path to a file must contain '/' or end in .toml"
        raise config_error(where, key, problem)
    return _Located(
        spec,
        f"profiles/{spec}.toml",
        f"builtin:{spec}",
        True,
        _builtin_root().joinpath(f"{spec}.toml"),
        None,
    )


def _read(located: _Located) -> tuple[dict[str, Any], str]:
    if located.builtin:
        try:
            data: bytes = located.file.read_bytes()
        except OSError as exc:
            raise config_error(
                located.display, None, f"cannot read: {exc.strerror or exc}"
            ) from exc
    else:
        data = read_config_bytes(located.file, located.display)
    return parse_toml(data, located.display), hashlib.sha256(data).hexdigest()


# --- validating one file ----------------------------------------------------------------------


@dataclass
class _Parsed:
    """One profile file, checked against the known checks."""

    source: ProfileSource
    name: str
    extends: list[str]
    description: str | None
    fail_on: Severity | None
    include: list[str] | None
    exclude: list[str]
    params: dict[str, dict[str, ParamValue]]
    severity: dict[str, Severity]
    authority: dict[str, str]
    base: Path | None
    key: str


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _table(doc: Mapping[str, Any], name: str, where: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise config_error(where, name, f"expected a table [{name}], got {_type_name(value)}")
    return value


def _strings(value: object, where: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise config_error(where, key, f"expected a list of strings, got {_type_name(value)}")
    return list(value)


def _severity(value: object, where: str, key: str | None) -> Severity:
    if value not in SEVERITIES:
        got = shown(value) if isinstance(value, str) else _type_name(value)
        raise config_error(where, key, f"expected one of {', '.join(SEVERITIES)}, got {got}")
    return value


def _unknown_keys(
    table: Mapping[str, Any], allowed: Iterable[str], where: str, prefix: str
) -> None:
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            raise config_error(
                where, f"{prefix}{key}", f"unknown key (expected: {', '.join(allowed)})"
            )


def _expand(
    patterns: list[str], checks: Mapping[str, object], where: str, key: str | None
) -> list[str]:
    """Check ids named by ids or fnmatch globs, in the order given (globs sorted by id)."""
    found: list[str] = []
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            matched = sorted(c for c in checks if fnmatch.fnmatchcase(c, pattern))
            if not matched:
                raise config_error(where, key, f"glob {pattern!r} matches no known check")
        elif pattern in checks:
            matched = [pattern]
        else:
            raise config_error(where, key, f"unknown check id {pattern!r}")
        found += [c for c in matched if c not in found]
    return found


def _param_expectation(param: Param) -> str:
    text = {
        "int": "an integer",
        "float": "a number",
        "str": "a string",
        "bool": "true or false",
        "list[str]": "a list of strings",
        "list[int]": "a list of integers",
    }[param.kind]
    if param.choices:
        text += f" from {', '.join(param.choices)}"
    return text


def _parse(
    located: _Located, doc: dict[str, Any], sha256: str, checks: Mapping[str, Check]
) -> _Parsed:
    where = located.display
    for table in doc:
        if table not in _TABLES:
            raise config_error(where, table, f"unknown table (expected: {', '.join(_TABLES)})")

    profile = _table(doc, "profile", where)
    _unknown_keys(profile, _PROFILE_KEYS, where, "profile.")
    name = profile.get("name", located.name)
    if not isinstance(name, str) or not name:
        raise config_error(where, "profile.name", f"expected a string, got {_type_name(name)}")
    extends = _strings(profile.get("extends", []), where, "profile.extends")
    if len(extends) > MAX_EXTENDS:
        raise config_error(
            where, "profile.extends", f"extends {len(extends)} profiles; at most {MAX_EXTENDS}"
        )
    description = profile.get("description")
    if description is not None and not isinstance(description, str):
        raise config_error(
            where, "profile.description", f"expected a string, got {_type_name(description)}"
        )
    fail_on = profile.get("fail_on")
    if fail_on is not None:
        fail_on = _severity(fail_on, where, "profile.fail_on")

    selection = _table(doc, "checks", where)
    _unknown_keys(selection, _CHECKS_KEYS, where, "checks.")
    include = None
    if "include" in selection:
        include = _expand(
            _strings(selection["include"], where, "checks.include"),
            checks,
            where,
            "checks.include",
        )
    exclude = _expand(
        _strings(selection.get("exclude", []), where, "checks.exclude"),
        checks,
        where,
        "checks.exclude",
    )

    params: dict[str, dict[str, ParamValue]] = {}
    for check_id, values in _table(doc, "params", where).items():
        key = f"params.{check_id}"
        if check_id not in checks:
            raise config_error(where, key, "unknown check id")
        if not isinstance(values, dict):
            raise config_error(where, key, f"expected a table, got {_type_name(values)}")
        declared = checks[check_id].meta.params
        for param, value in values.items():
            if param not in declared:
                takes = ", ".join(sorted(declared)) or "nothing"
                raise config_error(
                    where, f"{key}.{param}", f"unknown param ({check_id} takes: {takes})"
                )
            if not declared[param].accepts(value):
                raise config_error(
                    where,
                    f"{key}.{param}",
                    f"expected {_param_expectation(declared[param])}, got {_type_name(value)}"
                    + f" {shown(value)}",
                )
            problem = declared[param].range_problem(value)
            if problem is not None:
                raise config_error(where, f"{key}.{param}", problem)
            # TOML integers given for a float param are kept as floats, so judges see one type.
            if declared[param].kind == "float" and isinstance(value, int):
                value = float(value)
            params.setdefault(check_id, {})[param] = value

    severity: dict[str, Severity] = {}
    for check_id, value in _table(doc, "severity", where).items():
        if check_id not in checks:
            raise config_error(where, f"severity.{check_id}", "unknown check id")
        severity[check_id] = _severity(value, where, f"severity.{check_id}")

    authority: dict[str, str] = {}
    for check_id, value in _table(doc, "authority", where).items():
        key = f"authority.{check_id}"
        if check_id not in checks:
            raise config_error(where, key, "unknown check id")
        if not isinstance(value, str) or not value.strip():
            got = "an empty string" if isinstance(value, str) else _type_name(value)
            raise config_error(
                where, key, f"expected the authority's name and address as text, got {got}"
            )
        authority[check_id] = " ".join(value.split())

    return _Parsed(
        ProfileSource(name, where, sha256, located.builtin),
        name,
        extends,
        description,
        fail_on,
        include,
        exclude,
        params,
        severity,
        authority,
        located.base,
        located.key,
    )


# --- merging ----------------------------------------------------------------------------------


class _Loader:
    """Reads and validates profile files (each once) and resolves a spec's `extends` chain."""

    def __init__(self, checks: Mapping[str, Check]) -> None:
        self.checks = checks
        self.parsed: dict[str, _Parsed] = {}
        # Each file's own chain (what `--profile FILE` alone applies), by file key.
        self.own: dict[str, list[_Parsed]] = {}

    def chain(self, spec: str) -> list[_Parsed]:
        """The files `spec` stands for, in the order they apply: parents first, each once."""
        out: list[_Parsed] = []
        self._walk(spec, None, spec, None, [], out)
        return out

    def _walk(
        self,
        spec: str,
        base: Path | None,
        where: str,
        key: str | None,
        stack: list[_Located],
        out: list[_Parsed],
    ) -> str:
        located = _locate(spec, base, where, key)
        if any(s.key == located.key for s in stack):
            cycle = " -> ".join([s.display for s in stack] + [located.display])
            raise config_error(where, key or "profile.extends", f"extends cycle: {cycle}")
        if len(stack) >= MAX_EXTENDS_DEPTH:
            path = f"{stack[0].display} -> ... -> {stack[-1].display} -> {located.display}"
            raise config_error(
                where,
                key or "profile.extends",
                f"extends chain deeper than {MAX_EXTENDS_DEPTH} profiles: {path}",
            )
        if any(p.key == located.key for p in out):
            return located.key
        parsed = self.parsed.get(located.key)
        if parsed is None:
            doc, sha256 = _read(located)
            parsed = _parse(located, doc, sha256, self.checks)
            self.parsed[located.key] = parsed
        parents: list[str] = []
        for parent in parsed.extends:
            if located.builtin and _is_path(parent):
                raise config_error(
                    located.display,
                    "profile.extends",
                    f"a built-in profile extends built-in names only, not {shown(parent)}",
                )
            parents.append(
                self._walk(
                    parent, parsed.base, located.display, "profile.extends", [*stack, located], out
                )
            )
        if located.key not in self.own:
            own: list[_Parsed] = []
            for parent_key in parents:
                own += [p for p in self.own[parent_key] if p not in own]
            own.append(parsed)
            _check_order(parsed, own, self.checks)
            self.own[located.key] = own
        out.append(parsed)
        return located.key


def _check_order(parsed: _Parsed, own: list[_Parsed], checks: Mapping[str, Check]) -> None:
    """Refuse a file whose values, over what it inherits, ask for min > max (`at_most` pairs).

    Only pairs the file itself sets a side of are its mistake; two parents that disagree are
    a combination, reported as a conflict when profiles are combined on the command line.
    """
    for check_id, values in parsed.params.items():
        declared = checks[check_id].meta.params
        for name, param in declared.items():
            upper = param.at_most
            if (
                upper is None
                or upper not in declared
                or (name not in values and upper not in values)
            ):
                continue
            merged: dict[str, tuple[ParamValue, str]] = {
                n: (p.default, "the check's default") for n, p in declared.items()
            }
            for item in own:
                for n, v in item.params.get(check_id, {}).items():
                    merged[n] = (v, item.source.path)
            (low, _), (high, _) = merged[name], merged[upper]
            if not _exceeds(low, high):
                continue
            prefix = f"params.{check_id}"
            if upper in values:
                origin = merged[name][1]
                where = "" if origin == parsed.source.path else f", from {origin}"
                problem = f"{high} is below {name} ({low}{where}): nothing could pass"
                raise config_error(parsed.source.path, f"{prefix}.{upper}", problem)
            origin = merged[upper][1]
            problem = f"{low} is above {upper} ({high}, from {origin}): nothing could pass"
            raise config_error(parsed.source.path, f"{prefix}.{name}", problem)


def _exceeds(low: object, high: object) -> bool:
    numbers = (int, float)
    if isinstance(low, bool) or isinstance(high, bool):
        return False
    return isinstance(low, numbers) and isinstance(high, numbers) and low > high


@dataclass
class _Merge:
    """The running state while profile files are applied in order."""

    selected: list[str] = field(default_factory=list)
    params: dict[str, dict[str, ParamValue]] = field(default_factory=dict)
    severity: dict[str, Severity] = field(default_factory=dict)
    authority: dict[str, str] = field(default_factory=dict)
    description: str = ""
    fail_on: Severity | None = None
    chain: list[ProfileSource] = field(default_factory=list)
    applied: set[str] = field(default_factory=set)

    def apply(self, parsed: _Parsed) -> None:
        """Merge one file, unless it was applied already (a parent shared by two specs)."""
        if parsed.key in self.applied:
            return
        self.applied.add(parsed.key)
        if parsed.include is not None:
            self.selected += [c for c in parsed.include if c not in self.selected]
        drop = set(parsed.exclude)
        self.selected = [c for c in self.selected if c not in drop]
        for check_id, values in parsed.params.items():
            self.params.setdefault(check_id, {}).update(values)
        self.severity.update(parsed.severity)
        self.authority.update(parsed.authority)
        if parsed.description is not None:
            self.description = parsed.description
        if parsed.fail_on is not None:
            self.fail_on = parsed.fail_on
        self.chain.append(parsed.source)


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def _conflicts(
    chains: list[tuple[str, list[_Parsed]]], merged: Mapping[str, Mapping[str, ParamValue]]
) -> list[dict[str, Any]]:
    """Params that two top-level specs set, each in a file of its own, to different values.

    For each spec, the value it asks for is the one its own chain ends with, and the file that
    set it. When that file also lies in another spec's chain and that spec overrides it, the
    first spec merely inherits what the second refines: the merged result is the same in
    either order, so it is not reported. What remains, when the values differ, depends on the
    order of the specs: the later one wins, and the conflict is reported.
    """
    keys: list[tuple[str, str]] = []
    for _, files in chains:
        for parsed in files:
            for check_id, values in parsed.params.items():
                keys += [(check_id, p) for p in values if (check_id, p) not in keys]
    members = [{p.key for p in files} for _, files in chains]
    conflicts: list[dict[str, Any]] = []
    for check_id, param in sorted(keys):
        setters: list[tuple[int, str, ParamValue] | None] = []
        for index, (_, files) in enumerate(chains):
            found: tuple[int, str, ParamValue] | None = None
            for parsed in files:
                if param in parsed.params.get(check_id, {}):
                    found = (index, parsed.key, parsed.params[check_id][param])
            setters.append(found)
        own = []
        for setter in setters:
            if setter is None:
                continue
            index, key, _ = setter
            refined = any(
                other is not None and other[1] != key and key in members[other[0]]
                for other in setters
            )
            if not refined:
                own.append(setter)
        if len({repr(v) for _, _, v in own}) < 2:
            continue
        asked = [{"profile": chains[i][0], "value": v} for i, _, v in own]
        final = merged.get(check_id, {}).get(param)
        winner = next((i for i, _, v in reversed(own) if _same(v, final)), own[-1][0])
        conflicts.append(
            {"check": check_id, "param": param, "values": asked, "winner": chains[winner][0]}
        )
    return conflicts


def load_profiles(specs: list[str], checks: Mapping[str, Check]) -> EffectiveProfile:
    """Merge `specs` (built-in names or paths to TOML files) in order; later specs win.

    Each file is applied once, after the profiles it extends; a file already applied (say
    `default`, extended by two of the specs) is not applied again, so it cannot undo what a
    later profile changed. Raises ConfigError naming the file and key on any mistake.
    `auto` must have been replaced by the detected profiles first (`expand_auto`).
    """
    specs = list(specs) or [DEFAULT_PROFILE]
    if AUTO in specs:
        raise config_error(
            AUTO,
            None,
            "'auto' picks profiles per host from its running processes; it applies to "
            "`memcheck run` and `memcheck collect` only",
        )
    loader = _Loader(checks)
    chains = [(spec, loader.chain(spec)) for spec in specs]
    merge = _Merge()
    for _, files in chains:
        for parsed in files:
            merge.apply(parsed)

    conflicts = _conflicts(chains, merge.params)
    known_params: dict[str, dict[str, ParamValue]] = {}
    known_severity: dict[str, Severity] = {}
    for check_id, check in checks.items():
        values = check.meta.defaults()
        values.update(merge.params.get(check_id, {}))
        known_params[check_id] = values
        known_severity[check_id] = merge.severity.get(check_id, check.meta.severity)

    return EffectiveProfile(
        names=list(specs),
        chain=list(merge.chain),
        description=merge.description,
        selected=list(merge.selected),
        params={c: dict(known_params[c]) for c in merge.selected},
        severity={c: known_severity[c] for c in merge.selected},
        fail_on=merge.fail_on or DEFAULT_FAIL_ON,
        conflicts=[c for c in conflicts if c["check"] in merge.selected],
        authority={c: merge.authority[c] for c in merge.selected if c in merge.authority},
        known_params=known_params,
        known_severity=known_severity,
        known_authority=dict(merge.authority),
        all_conflicts=conflicts,
    )


def uses_auto(specs: Iterable[str]) -> bool:
    """Whether `auto` is among the `--profile` specs."""
    return AUTO in specs


def expand_auto(specs: Iterable[str], detected: Iterable[str]) -> list[str]:
    """`specs` with each `auto` replaced by the detected profiles (`default` when none).

    A profile named both by detection and explicitly is kept once, at its first place.
    """
    found = list(detected) or [DEFAULT_PROFILE]
    out: list[str] = []
    for spec in specs:
        for name in found if spec == AUTO else [spec]:
            if name not in out:
                out.append(name)
    return out or [DEFAULT_PROFILE]


# --- built-in profiles for list-profiles and explain ------------------------------------------


def list_builtin_profiles() -> list[ProfileInfo]:
    """Every shipped profile with what it extends and its description (files are not merged)."""
    infos: list[ProfileInfo] = []
    for name in builtin_profile_names():
        located = _locate(name, None, name, None)
        doc, _ = _read(located)
        profile = _table(doc, "profile", located.display)
        _unknown_keys(profile, _PROFILE_KEYS, located.display, "profile.")
        extends = _strings(profile.get("extends", []), located.display, "profile.extends")
        description = profile.get("description", "")
        if not isinstance(description, str):
            raise config_error(located.display, "profile.description", "expected a string")
        infos.append(ProfileInfo(name, extends, description, str(located.file)))
    return infos


@dataclass(frozen=True)
class ProfileView:
    """What one built-in profile asks of one check: its effective params and the authority."""

    params: dict[str, ParamValue]
    authority: str | None


def check_per_profile(check_id: str, checks: Mapping[str, Check]) -> dict[str, ProfileView]:
    """Each built-in profile that selects `check_id`, with its params and authority for it."""
    if check_id not in checks:
        raise config_error("explain", None, f"unknown check id {check_id!r}")
    found: dict[str, ProfileView] = {}
    for name in builtin_profile_names():
        effective = load_profiles([name], checks)
        if check_id in effective.selected:
            found[name] = ProfileView(
                dict(effective.params[check_id]), effective.authority.get(check_id)
            )
    return found


def params_per_profile(
    check_id: str, checks: Mapping[str, Check]
) -> dict[str, dict[str, ParamValue]]:
    """The effective params of `check_id` under each built-in profile that selects it."""
    return {name: view.params for name, view in check_per_profile(check_id, checks).items()}
