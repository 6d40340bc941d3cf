"""Reports of a run: results.json, junit.xml, report.html and the console summary."""

from __future__ import annotations

from pathlib import Path

from memcheck.report.console import render_console
from memcheck.report.html import render_html, write_html
from memcheck.report.json_report import PathLike, load_results, merge_runs, write_json
from memcheck.report.junit import build_junit, write_junit
from memcheck.results import RunResult

DEFAULT_NAMES = {"json": "results.json", "junit": "junit.xml", "html": "report.html"}

__all__ = [
    "DEFAULT_NAMES",
    "build_junit",
    "load_results",
    "merge_runs",
    "render_console",
    "render_html",
    "write_html",
    "write_json",
    "write_junit",
    "write_reports",
]


def write_reports(
    run: RunResult,
    report_dir: PathLike | None = None,
    junit: PathLike | None = None,
    html: PathLike | None = None,
    json: PathLike | None = None,
) -> dict[str, Path]:
    """Write the reports and return {"json"|"junit"|"html": path} for those written.

    `report_dir` gives every report its default name there (results.json, junit.xml,
    report.html); `junit`, `html` and `json` override single paths, and alone write only that
    report. JSON is written first, so the other two always have their machine form beside them.
    """
    paths: dict[str, Path] = {}
    if report_dir is not None:
        base = Path(report_dir)
        paths = {kind: base / name for kind, name in DEFAULT_NAMES.items()}
    for kind, override in (("json", json), ("junit", junit), ("html", html)):
        if override is not None:
            paths[kind] = Path(override)
    written: dict[str, Path] = {}
    # The JSON form serves results.json and report.html: made once (it is not changed).
    data = run.to_json() if "json" in paths or "html" in paths else None
    if "json" in paths:
        written["json"] = write_json(run, paths["json"], data)
    if "junit" in paths:
        written["junit"] = write_junit(run, paths["junit"])
    if "html" in paths:
        written["html"] = write_html(run, paths["html"], data)
    return written
