"""`memcheck report`'s reader and the report writers under any input.

The reader gets JSON documents shaped like results.json (the schema's shape, random values)
with random mutations (a value replaced, a key dropped or added, the text cut, NaN written
in): it ends in rendered reports or a one-line ConfigError naming the file (exit 2), within
the per-input bound. The writers get any HostResult and CheckResult values hypothesis can
build (absurd dates, NaN, huge numbers and strings, control characters, lone surrogates,
deep nesting, wrong types) and never raise, write strict JSON and well-formed XML, and keep
the other host of the run whole.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcheck.cli import main
from memcheck.model import OUTCOMES, SEVERITIES
from memcheck.report import build_junit, render_console, render_html
from memcheck.report.json_report import dumps_json
from memcheck.results import CheckResult, HostResult, RunResult
from tests.fuzz.bounds import call_bounded

NAMES = ("results.json", "junit.xml", "report.html")


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    # One folder for every example (a function-scoped tmp_path is not reset between them).
    with tempfile.TemporaryDirectory(prefix="memcheck-fuzz-report-") as name:
        yield Path(name)


# -- values -----------------------------------------------------------------------------------
# Any code point, lone surrogates and controls included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=30)
SMALL_TEXT = st.text(max_size=12)
NUMBERS = st.one_of(
    st.integers(),
    st.floats(),  # NaN and the infinities included
    st.sampled_from([2**64, 1e308, 400, 5000]).map(
        lambda n: (-(10**n) if n == 5000 else 10**n) if type(n) is int and n < 10**4 else n
    ),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, ANY_TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(ANY_TEXT, inner, max_size=4)
    ),
    max_leaves=8,
)


@st.composite
def stamps(draw: st.DrawFn) -> str:
    """ISO times from year 1 to 9999 at any offset of -14:00..+14:00, or any text."""
    if draw(st.booleans()):
        return draw(ANY_TEXT)
    moment = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
    offset = timedelta(minutes=draw(st.integers(-14 * 60, 14 * 60)))
    return moment.replace(tzinfo=timezone(offset)).isoformat()


def deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


DEEP = st.integers(0, 3000).map(deep)
# Made, not drawn: drawing 100,000 characters one by one makes most examples overrun.
BIG = st.sampled_from(["Z", "\x1b", "\udcff", "é"]).map(lambda c: c * 100_000)
FREE = st.one_of(JSON_VALUES, DEEP, BIG)


# -- documents shaped like results.json ------------------------------------------------------
EVIDENCE = st.fixed_dictionaries(
    {"text": SMALL_TEXT},
    optional={"source": SMALL_TEXT, "line": st.integers(0, 99), "pid": NUMBERS},
)
CHECK_DOC = st.fixed_dictionaries(
    {
        "check": SMALL_TEXT,
        "title": SMALL_TEXT,
        "area": SMALL_TEXT,
        "outcome": st.sampled_from(OUTCOMES),
        "severity": st.sampled_from(SEVERITIES),
        "message": SMALL_TEXT,
    },
    optional={
        "observed": JSON_VALUES,
        "expected": JSON_VALUES,
        "evidence": st.lists(EVIDENCE, max_size=3),
        "rationale": SMALL_TEXT,
        "remediation": SMALL_TEXT,
        "references": st.lists(SMALL_TEXT, max_size=2),
        "params": st.dictionaries(SMALL_TEXT, JSON_VALUES, max_size=3),
        "waiver": st.none() | st.fixed_dictionaries({"reason": SMALL_TEXT}),
        "duration_seconds": st.floats(0, 10),
        "change": st.sampled_from(["new", "still-failing", "fixed", None]),
    },
)
HOST_DOC = st.fixed_dictionaries(
    {"name": SMALL_TEXT, "source": SMALL_TEXT},
    optional={
        "kernel": st.none() | SMALL_TEXT,
        "collected_at": st.none() | stamps(),
        "in_container": st.none() | st.booleans(),
        "unreachable": st.none() | SMALL_TEXT,
        "collection_errors": st.dictionaries(
            SMALL_TEXT, st.sampled_from(["Permission denied", "no such file"]), max_size=3
        ),
        "collection_seconds": st.none() | st.floats(0, 100),
        "memory": st.none()
        | st.dictionaries(st.sampled_from(["total_bytes", "available_bytes"]), st.integers()),
        "profiles": st.lists(SMALL_TEXT, max_size=2),
        "detected": st.none()
        | st.lists(
            st.fixed_dictionaries(
                {"workload": SMALL_TEXT, "profile": SMALL_TEXT, "evidence": st.lists(EVIDENCE)}
            ),
            max_size=2,
        ),
        "results": st.lists(CHECK_DOC, max_size=3),
        "notes": st.lists(SMALL_TEXT, max_size=2),
        "partial": st.booleans(),
        "unreadable_files": st.integers(0, 10),
    },
)
FINDING = st.fixed_dictionaries({"host": SMALL_TEXT, "check": SMALL_TEXT})
CHANGES_DOC = st.fixed_dictionaries(
    {
        "baseline": st.fixed_dictionaries({"path": st.none() | SMALL_TEXT}),
        "new": st.lists(FINDING, max_size=2),
        "fixed": st.lists(FINDING, max_size=2),
        "still_failing": st.lists(FINDING, max_size=2),
        "new_oom_kills": st.lists(
            st.fixed_dictionaries({"host": SMALL_TEXT, "pid": NUMBERS, "name": SMALL_TEXT}),
            max_size=2,
        ),
    }
)
RUN_DOC = st.fixed_dictionaries(
    {
        "memcheck_version": SMALL_TEXT,
        "started_at": stamps(),
        "finished_at": stamps(),
        "profiles": st.lists(SMALL_TEXT, max_size=2),
        "fail_on": st.sampled_from(SEVERITIES),
        "hosts": st.lists(HOST_DOC, max_size=3),
    },
    optional={
        "schema_version": st.just(1),
        "command": st.lists(SMALL_TEXT, max_size=3),
        "conflicts": st.lists(st.dictionaries(SMALL_TEXT, JSON_VALUES, max_size=3), max_size=2),
        "waivers_expired": st.lists(st.fixed_dictionaries({"check": SMALL_TEXT}), max_size=2),
        "changes": st.none() | CHANGES_DOC,
        "exit_code": st.integers(0, 3),
    },
)


def _containers(doc: Any) -> list[Any]:
    """Every list and object in `doc`, the document itself first (iteratively)."""
    found, todo = [], [doc]
    while todo:
        node = todo.pop()
        if isinstance(node, (list, dict)):
            found.append(node)
            todo.extend(node.values() if isinstance(node, dict) else node)
    return found


def mutate(doc: Any, data: st.DataObject) -> None:
    """One random change somewhere in `doc`: a value replaced, a key dropped or added."""
    target = data.draw(st.sampled_from(_containers(doc)))
    action = data.draw(st.sampled_from(["replace", "drop", "add"]))
    if isinstance(target, dict):
        keys = sorted(target)
        if action == "add" or not keys:
            target[data.draw(SMALL_TEXT)] = data.draw(FREE)
            return
        key = data.draw(st.sampled_from(keys))
        if action == "drop":
            del target[key]
        else:
            target[key] = data.draw(FREE)
    elif isinstance(target, list):
        if action == "add" or not target:
            target.append(data.draw(FREE))
            return
        index = data.draw(st.integers(0, len(target) - 1))
        if action == "drop":
            del target[index]
        else:
            target[index] = data.draw(FREE)


def _text_of(doc: Any, data: st.DataObject) -> bytes:
    try:
        text = json.dumps(doc, allow_nan=True)  # NaN and Infinity get through, as a file may
    except (ValueError, RecursionError):
        text = "{}"
    form = data.draw(st.sampled_from(["whole", "whole", "whole", "cut", "bytes"]))
    raw = text.encode("utf-8", "surrogatepass")
    if form == "cut":
        return raw[: data.draw(st.integers(0, len(raw)))]
    if form == "bytes":
        return data.draw(st.binary(max_size=40)) + raw
    return raw


def _report(path: Path, out: Path) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["report", str(path), "--report-dir", str(out)])
    return code, stdout.getvalue(), stderr.getvalue()


@given(doc=RUN_DOC, data=st.data())
def test_report_reader_ends_in_reports_or_one_line(folder: Path, doc: Any, data: Any) -> None:
    for _ in range(data.draw(st.integers(0, 3))):
        mutate(doc, data)
    path = folder / "results.json"
    path.write_bytes(_text_of(doc, data))
    out = folder / "out"
    for name in NAMES:
        (out / name).unlink(missing_ok=True)
    code, _stdout, stderr = call_bounded(lambda: _report(path, out))
    if code == 2:
        lines = stderr.splitlines()
        assert len(lines) == 1, stderr
        assert lines[0].startswith(f"memcheck: error: {path}: "), lines[0]
        return
    assert code in (0, 1, 3), (code, stderr)
    assert stderr == ""
    written = json.loads(
        (out / "results.json").read_text(encoding="utf-8"), parse_constant=_no_constant
    )
    assert written["exit_code"] == code
    ET.fromstring((out / "junit.xml").read_bytes())
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def _no_constant(name: str) -> None:
    raise AssertionError(f"bare {name} written")


# -- writers ----------------------------------------------------------------------------------
def _wrong(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value of the right type, sometimes any value at all."""
    return st.one_of(strategy, strategy, strategy, FREE)


CHECKS = st.builds(
    CheckResult,
    check=_wrong(ANY_TEXT),
    title=_wrong(ANY_TEXT),
    area=_wrong(ANY_TEXT),
    outcome=_wrong(st.sampled_from(OUTCOMES)),
    severity=_wrong(st.sampled_from(SEVERITIES)),
    message=_wrong(ANY_TEXT),
    observed=FREE,
    expected=FREE,
    evidence=_wrong(st.lists(st.dictionaries(ANY_TEXT, FREE, max_size=4), max_size=4)),
    rationale=_wrong(ANY_TEXT),
    remediation=_wrong(ANY_TEXT),
    references=_wrong(st.lists(ANY_TEXT, max_size=2)),
    params=_wrong(st.dictionaries(ANY_TEXT, FREE, max_size=3)),
    waiver=_wrong(st.none() | st.dictionaries(ANY_TEXT, FREE, max_size=3)),
    duration_seconds=_wrong(NUMBERS),
    change=_wrong(st.sampled_from(["new", "still-failing", "fixed", None])),
)
HOSTS = st.builds(
    HostResult,
    name=_wrong(ANY_TEXT),
    source=_wrong(ANY_TEXT),
    kernel=_wrong(st.none() | ANY_TEXT),
    distribution=_wrong(st.none() | ANY_TEXT),
    collected_at=_wrong(st.none() | stamps()),
    in_container=_wrong(st.none() | st.booleans()),
    cgroup_mode=_wrong(st.none() | ANY_TEXT),
    unreachable=_wrong(st.none() | ANY_TEXT),
    collection_errors=_wrong(st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3)),
    collection_seconds=_wrong(st.none() | NUMBERS),
    memory=_wrong(st.none() | st.dictionaries(ANY_TEXT, st.none() | NUMBERS, max_size=3)),
    profiles=_wrong(st.lists(ANY_TEXT, max_size=2)),
    conflicts=_wrong(st.lists(st.dictionaries(ANY_TEXT, FREE, max_size=3), max_size=2)),
    detected=_wrong(st.none() | st.lists(st.dictionaries(ANY_TEXT, FREE, max_size=3))),
    results=st.lists(CHECKS, max_size=3),
    notes=_wrong(st.lists(ANY_TEXT, max_size=2)),
)
ANCHOR = "anchor-host-keeps-its-details"


def _anchor() -> HostResult:
    return HostResult(
        name=ANCHOR,
        source="test://anchor",
        results=[
            CheckResult(
                check="swappiness",
                title="t",
                area="sysctl",
                outcome="fail",
                severity="high",
                message="anchor-message",
            )
        ],
    )


def _render_all(run: RunResult) -> dict[str, str]:
    return {
        "console": render_console(run, color=True, verbose=True),
        "junit": build_junit(run).decode("utf-8"),
        "html": render_html(run),
        "json": dumps_json(run).decode("utf-8"),
    }


# Each example renders four reports under tracemalloc: fewer of them than the profile's
# count keeps this file within the CI fuzz run's time (the `long` profile still runs 8,000).
@settings(max_examples=max(1, settings.default.max_examples * 2 // 5))
@given(host=HOSTS, started=stamps(), first=st.booleans())
def test_writers_never_raise_and_keep_the_other_host(
    host: HostResult, started: str, first: bool
) -> None:
    hosts = [host, _anchor()] if first else [_anchor(), host]
    run = RunResult("0", started, started, ["default"], "low", hosts=hosts)
    run.exit_code = run.compute_exit_code()
    texts = call_bounded(lambda: _render_all(run))
    data = json.loads(texts["json"], parse_constant=_no_constant)
    ET.fromstring(texts["junit"].encode("utf-8"))
    for kind, text in texts.items():
        assert ANCHOR in text, kind
        assert "anchor-message" in text or kind == "console", kind
    names = [h["name"] for h in data["hosts"]]
    assert ANCHOR in names and len(names) == 2
