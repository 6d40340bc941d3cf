from __future__ import annotations

import json
from pathlib import Path

from memcheck.report import write_reports
from memcheck.results import RunResult


def test_report_dir_gets_all_three(run: RunResult, tmp_path: Path) -> None:
    written = write_reports(run, report_dir=tmp_path / "reports")
    assert written == {
        "json": tmp_path / "reports" / "results.json",
        "junit": tmp_path / "reports" / "junit.xml",
        "html": tmp_path / "reports" / "report.html",
    }
    assert json.loads(written["json"].read_text(encoding="utf-8"))["exit_code"] == 1
    assert written["junit"].read_bytes().startswith(b"<?xml")
    assert written["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [
        "junit.xml",
        "report.html",
        "results.json",
    ]  # no temporary files left behind


def test_single_paths_override_and_stand_alone(run: RunResult, tmp_path: Path) -> None:
    written = write_reports(run, report_dir=tmp_path, junit=tmp_path / "ci" / "TEST-memcheck.xml")
    assert written["junit"] == tmp_path / "ci" / "TEST-memcheck.xml"
    assert written["junit"].exists() and not (tmp_path / "junit.xml").exists()
    only = write_reports(run, html=tmp_path / "only.html")
    assert list(only) == ["html"]


def test_nothing_asked_nothing_written(run: RunResult) -> None:
    assert write_reports(run) == {}
