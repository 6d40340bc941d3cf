"""Profiles and waiver files from a user (or an attacker who can write one): the loaders end
in a loaded result or a one-line ConfigError naming the file, within the per-input bound,
and what loads is within every param's documented range."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memcheck.errors import ConfigError
from memcheck.model import SEVERITIES, Param
from memcheck.profile import EffectiveProfile, builtin_profile_names, load_profiles
from memcheck.registry import builtin_checks
from memcheck.waivers import Waiver, load_waivers
from tests.fuzz.bounds import call_bounded

CHECKS = builtin_checks()
CHECK_IDS = sorted(CHECKS)
BUILTINS = builtin_profile_names()
WAIVER_KEYS = ["check", "hosts", "reason", "approved_by", "expires"]


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    # One folder for every example (a function-scoped tmp_path is not reset between them).
    with tempfile.TemporaryDirectory(prefix="memcheck-fuzz-config-") as name:
        yield Path(name)


# --- writing TOML and YAML by hand, so that invalid values (nan, 2099-02-30) get through ----


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (int, date)):
        return str(value) if isinstance(value, int) else value.isoformat()
    if isinstance(value, Bare):
        return value.text
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return quoted(str(value))


def quoted(text: str) -> str:
    """A double-quoted string both TOML and YAML read back as `text` (both take \\U escapes;
    raw control characters, which both refuse, are escaped)."""
    return (
        '"'
        + "".join(c if c.isprintable() and c not in '"\\' else f"\\U{ord(c):08x}" for c in text)
        + '"'
    )


def toml_document(tables: dict[str, dict[str, Any]]) -> str:
    lines: list[str] = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{quoted(k)} = {toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


class Bare:
    """Text written as it is, unquoted: `2099-02-30` is a date to TOML and YAML, not a string."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Bare({self.text!r})"


def yaml_value(value: Any) -> str:
    if isinstance(value, Bare):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, (int, date)):
        return str(value) if isinstance(value, int) else value.isoformat()
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    return quoted(str(value))


# --- values ------------------------------------------------------------------------------

# One time in ten (hypothesis favours the ends of an integer range; a pick from a list it
# does not, and it shrinks towards the first item: the usual case).
rarely = st.sampled_from([False] * 9 + [True])
mostly = st.sampled_from([True] * 3 + [False])

EDGE_INTS = [0, 1, -1, 2**31 - 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]
EDGE_FLOATS = [0.0, -0.0, 1e-300, 1e300, float("nan"), float("inf"), float("-inf")]
DATE_TEXTS = ["2099-02-30", "2099-13-01", "2099-02-28 25:00:00", "2099-01-01", "0000-01-01"]

scalars = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from(EDGE_INTS),
    st.floats(),
    st.sampled_from(EDGE_FLOATS),
    st.text(max_size=12),
    st.booleans(),
    st.dates(),
    st.sampled_from(DATE_TEXTS).map(Bare),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=6)


def near(param: Param) -> st.SearchStrategy[Any]:
    """A value close to what `param` takes: its range, its edges and just past them."""
    if param.kind in ("int", "list[int]"):
        low = int(param.low) if param.low is not None else -100
        high = int(param.high) if param.high is not None else low + 1000
        ints = st.one_of(st.integers(low, high), st.sampled_from([low - 1, high + 1, *EDGE_INTS]))
        return st.lists(ints, max_size=4) if param.kind == "list[int]" else ints
    if param.kind == "float":
        bottom = param.low if param.low is not None else -1e6
        top = param.high if param.high is not None else 1e12
        return st.one_of(
            st.floats(bottom, top),
            st.integers(int(bottom), int(top)),
            st.sampled_from([bottom - 0.5, top + 0.5, *EDGE_FLOATS]),
        )
    if param.choices:
        return st.lists(st.sampled_from([*param.choices, "bogus"]), max_size=4)
    if param.kind == "list[str]":
        return st.lists(st.text(max_size=10), max_size=4)
    if param.kind == "bool":
        return st.booleans()
    return st.text(max_size=10)


# --- profiles ------------------------------------------------------------------------------


@st.composite
def near_valid_profile(draw: st.DrawFn) -> str:
    tables: dict[str, dict[str, Any]] = {}
    if draw(st.booleans()):
        names = st.sampled_from([*BUILTINS, *(["nope", "./p.toml", ""] if draw(rarely) else [])])
        profile: dict[str, Any] = {"extends": draw(st.lists(names, max_size=3))}
        if draw(st.booleans()):
            profile["fail_on"] = draw(st.sampled_from([*SEVERITIES, "none"]))
        if draw(rarely):
            profile[draw(st.text(max_size=8))] = draw(values)
        tables["profile"] = profile
    if draw(st.booleans()):
        patterns = st.sampled_from([*CHECK_IDS, "thp_*", "*", "zz*", "nope"])
        tables["checks"] = {"include": draw(st.lists(patterns, max_size=4))}
    for check_id in draw(st.lists(st.sampled_from(CHECK_IDS), max_size=4, unique=True)):
        declared = CHECKS[check_id].meta.params
        table: dict[str, Any] = {}
        keys = [*declared, "nope"] if draw(rarely) else list(declared) or ["nope"]
        for name in draw(st.lists(st.sampled_from(keys), max_size=4)):
            if name in declared and draw(mostly):
                table[name] = draw(near(declared[name]))
            else:
                table[name] = draw(values)
        tables[f"params.{check_id}"] = table
    if draw(st.booleans()):
        severities = st.sampled_from([*SEVERITIES, "urgent"])
        picked = draw(st.lists(st.sampled_from([*CHECK_IDS, "nope"]), max_size=3))
        tables["severity"] = {c: draw(severities) for c in picked}
    if draw(rarely):
        tables[draw(st.sampled_from(["extra", "params", "authority"]))] = {"x": draw(values)}
    return toml_document(tables)


TOML_ALPHABET = st.sampled_from(list("[]{}=\"'.,#\n =-+_:TZ0123456789aefilnst\\"))
raw_toml = st.one_of(
    st.text(TOML_ALPHABET, max_size=120),
    st.text(max_size=60),
    st.integers(1, 3000).map(lambda n: "a = " + "[" * n),
)


def load_profile(folder: Path, text: str) -> EffectiveProfile | None:
    path = folder / "p.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        return call_bounded(lambda: load_profiles([str(path)], CHECKS))
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 2000, message
        assert message.startswith(str(path)), message
        return None


def assert_within_ranges(profile: EffectiveProfile) -> None:
    for check_id, params in profile.known_params.items():
        declared = CHECKS[check_id].meta.params
        for name, value in params.items():
            assert declared[name].accepts(value), (check_id, name, value)
            assert declared[name].range_problem(value) is None, (check_id, name, value)
            upper = declared[name].at_most
            if upper is not None:
                low, high = value, params[upper]
                assert isinstance(low, (int, float)) and isinstance(high, (int, float))
                assert low <= high, (check_id, name, low, upper, high)


@given(near_valid_profile())
def test_near_valid_profiles_load_within_range_or_fail_in_one_line(folder: Path, text: str) -> None:
    profile = load_profile(folder, text)
    if profile is not None:
        assert_within_ranges(profile)


@given(raw_toml)
def test_any_text_as_a_profile(folder: Path, text: str) -> None:
    profile = load_profile(folder, text)
    if profile is not None:
        assert_within_ranges(profile)


# --- waivers ------------------------------------------------------------------------------

text_values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "\t \n", "*", "thp_*"]),
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=4), max_size=2),
)
expiry_values = st.one_of(
    st.dates(),
    st.sampled_from(DATE_TEXTS).map(Bare),
    st.sampled_from(DATE_TEXTS),
    st.text(max_size=12),
    st.integers(),
)


@st.composite
def waiver_entries(draw: st.DrawFn) -> list[dict[str, Any]]:
    entries = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(mostly):  # complete, so that the checks after the first are reached
            keys = [k for k in WAIVER_KEYS if k != "hosts" or draw(st.booleans())]
        else:
            keys = draw(st.lists(st.sampled_from([*WAIVER_KEYS, "colour"]), unique=True))
        entry: dict[str, Any] = {}
        for key in keys:
            if key == "expires":
                entry[key] = draw(st.dates() if draw(mostly) else expiry_values)
            elif draw(mostly):
                entry[key] = draw(st.text(min_size=1, max_size=12))
            else:
                entry[key] = draw(text_values)
        entries.append(entry)
    return entries


def toml_waivers(entries: list[dict[str, Any]]) -> str:
    blocks = []
    for entry in entries:
        values = {k: v for k, v in entry.items() if v is not None}  # TOML has no null
        blocks.append(
            "[[waiver]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in values.items())
        )
    return "".join(blocks)


def yaml_waivers(entries: list[dict[str, Any]]) -> str:
    lines = []
    for entry in entries:
        items = list(entry.items()) or [("check", None)]
        for i, (key, value) in enumerate(items):
            lines.append(f"{'- ' if i == 0 else '  '}{key}: {yaml_value(value)}")
    return "\n".join(lines) + "\n"


YAML_ALPHABET = st.sampled_from(list("-:[]{}&*!|>'\"#%@\n ,?<=.~0123456789abcxy\t"))
raw_yaml = st.one_of(
    st.text(YAML_ALPHABET, max_size=120),
    st.text(max_size=60),
    st.integers(1, 3000).map(lambda n: "- " * n + "x"),
    st.integers(1, 3000).map(lambda n: "[" * n),
    st.sampled_from(["- &a [*a]\n", "a: &a {b: *a}\n", "x: &a\n  <<: *a\n", "!!binary x\n"]),
)


def load_waiver_file(folder: Path, name: str, text: str) -> list[Waiver] | None:
    path = folder / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        waivers = call_bounded(lambda: load_waivers(path))
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 2000, message
        assert message.startswith(str(path)), message
        return None
    for waiver in waivers:
        for text_field in (waiver.check, waiver.hosts, waiver.reason, waiver.approved_by):
            assert isinstance(text_field, str) and text_field.strip(), waiver
        assert isinstance(waiver.expires, date)
    return waivers


@given(waiver_entries())
def test_near_valid_toml_waivers(folder: Path, entries: list[dict[str, Any]]) -> None:
    load_waiver_file(folder, "w.toml", toml_waivers(entries))


@given(waiver_entries())
def test_near_valid_yaml_waivers(folder: Path, entries: list[dict[str, Any]]) -> None:
    load_waiver_file(folder, "w.yaml", yaml_waivers(entries))


@given(st.one_of(raw_toml, raw_yaml), st.sampled_from(["w.toml", "w.yaml"]))
def test_any_text_as_a_waiver_file(folder: Path, text: str, name: str) -> None:
    load_waiver_file(folder, name, text)


def test_the_writers_make_files_the_loaders_accept(folder: Path) -> None:
    """The generators reach past parsing: a well-formed entry written either way loads."""
    entry = {"check": "thp_*", "reason": "r", "approved_by": "a", "expires": date(2099, 1, 2)}
    for name, text in (("w.toml", toml_waivers([entry])), ("w.yaml", yaml_waivers([entry]))):
        loaded = load_waiver_file(folder, name, text)
        assert loaded is not None and loaded[0].expires == date(2099, 1, 2), name
    tables: dict[str, dict[str, Any]] = {
        "profile": {"extends": ["default"]},
        "params.swappiness": {"min": 2, "max": 3},
    }
    profile = load_profile(folder, toml_document(tables))
    assert profile is not None and profile.known_params["swappiness"] == {"min": 2, "max": 3}
