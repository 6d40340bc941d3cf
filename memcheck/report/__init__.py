"""Reports of a run: results.json, junit.xml, report.html and the console summary."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from memcheck.report.console import render_console
from memcheck.report.html import render_html, write_html
from memcheck.report.json_report import PathLike, load_results, merge_runs, write_json
from memcheck.report.junit import build_junit, write_junit
from memcheck.report.paths import DEFAULT_NAMES, check_report_paths, report_paths
from memcheck.results import RunResult

__all__ = [
    "DEFAULT_NAMES",
    "build_junit",
    "check_report_paths",
    "load_results",
    "merge_runs",
    "render_console",
    "render_html",
    "report_paths",
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
    One report that cannot be written (OSError) does not keep the others from being written;
    the first such error is raised once all were tried.
    """
    paths = report_paths(report_dir, junit=junit, html=html, json=json)
    written: dict[str, Path] = {}
    problem: OSError | None = None
    # The JSON form serves results.json and report.html: made once (it is not changed).
    data = run.to_json() if "json" in paths or "html" in paths else None
    writers: dict[str, Callable[[Path], Path]] = {
        "json": lambda path: write_json(run, path, data),
        "junit": lambda path: write_junit(run, path),
        "html": lambda path: write_html(run, path, data),
    }
    for kind, write in writers.items():
        if kind not in paths:
            continue
        try:
            written[kind] = write(paths[kind])
        except OSError as exc:
            problem = problem or exc
    if problem is not None:
        raise problem
    return written
