"""Host notes (a host key accepted unverified) reach every report, and merge with the hosts."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import lxml.html
from lxml import etree

from memcheck.collect.transport import ACCEPTED_NOTE
from memcheck.report.console import render_console
from memcheck.report.html import render_html
from memcheck.report.json_report import load_results, write_json
from memcheck.report.junit import build_junit
from memcheck.results import HostResult, RunResult
from memcheck.snapshot import HostInfo
from tests.report.sample_runs import SCRIPT, result
from tests.report.test_json_report import schema


def run_with_note(note: str = ACCEPTED_NOTE, name: str = "lab1") -> RunResult:
    host = HostResult(
        name=name,
        source=f"ssh://{name}",
        notes=[note],
        results=[result("swappiness", "pass", message="vm.swappiness is 1")],
    )
    run = RunResult("1.0", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", ["default"], "low")
    run.hosts = [host]
    run.exit_code = run.compute_exit_code()
    return run


def test_console_names_the_host_and_the_note() -> None:
    text = render_console(run_with_note())
    assert f"NOTE lab1: {ACCEPTED_NOTE}" in text


def test_junit_carries_the_note_as_a_property_and_in_system_out() -> None:
    root = etree.fromstring(build_junit(run_with_note()))
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["notes"] == ACCEPTED_NOTE
    assert ACCEPTED_NOTE in "".join(root.find("testsuite").find("system-out").itertext())


def test_html_shows_the_note_as_text_never_markup() -> None:
    html = render_html(run_with_note(note=SCRIPT))
    doc = lxml.html.fromstring(html)
    notes = [p.text_content() for p in doc.find_class("note")]
    assert notes == [f"Note: {SCRIPT}"]
    assert SCRIPT not in html  # escaped


def test_json_is_schema_valid_and_notes_survive_a_merge(tmp_path: Path) -> None:
    write_json(run_with_note(name="a"), tmp_path / "a.json")
    write_json(run_with_note(name="b", note="another note"), tmp_path / "b.json")
    data = json.loads((tmp_path / "a.json").read_text())
    jsonschema.Draft202012Validator(schema()).validate(data)
    merged = load_results([tmp_path / "a.json", tmp_path / "b.json"])
    assert [(h.name, h.notes) for h in merged.hosts] == [
        ("a", [ACCEPTED_NOTE]),
        ("b", ["another note"]),
    ]


def test_snapshots_keep_their_notes() -> None:
    info = HostInfo("h", "2026-01-01T00:00:00Z", "1.0", "ssh://h", notes=[ACCEPTED_NOTE])
    again = HostInfo.from_json(info.to_json(), "host.json")
    assert again.notes == [ACCEPTED_NOTE]
    assert "notes" not in HostInfo("h", "", "", "").to_json()  # absent when there is none
