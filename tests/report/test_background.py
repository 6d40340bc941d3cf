"""Reports written by a forked child while pytest runs its items (memcheck.report.background).

The child is forked only when the process has no other thread; a test worker may have some
left by other tests, so the scenarios that must fork run in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from memcheck.report import write_reports
from memcheck.report.background import BackgroundReports
from memcheck.results import RunResult

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import json, os, sys
from pathlib import Path
from memcheck.report import write_reports
from memcheck.report.background import BackgroundReports
from tests.report.sample_runs import sample_run
run, top, parent = sample_run(), Path(sys.argv[1]), os.getpid()
"""


def fresh(code: str, tmp_path: Path) -> dict[str, object]:
    """Run PRELUDE + code in a new interpreter; it prints one JSON object."""
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code), str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_the_child_writes_the_same_reports_as_this_process(run: RunResult, tmp_path: Path) -> None:
    result = fresh(
        """
        pids = []
        def write(result):
            pids.append(os.getpid())  # in the child: the parent's list never sees it
            return write_reports(result, report_dir=top / "child")
        background = BackgroundReports(run, write)
        forked = background.forked
        outcome = background.outcome()
        again = background.outcome() is outcome  # asked twice, waited once
        print(json.dumps({"forked": forked and again,
                          "written": outcome.written, "error": str(outcome.error or ""),
                          "pids": pids, "same": os.getpid() == parent}))
        """,
        tmp_path,
    )
    assert result["forked"] and result["same"]
    assert result["error"] == ""
    assert result["pids"] == []  # written in another process
    written = result["written"]
    assert isinstance(written, dict) and set(written) == {"json", "junit", "html"}
    here = write_reports(run, report_dir=tmp_path / "here")
    for kind, path in here.items():
        # The same sample run, written by the child and by this process.
        assert Path(written[kind]).read_bytes() == path.read_bytes(), kind


def test_the_fork_is_used_when_the_process_has_one_thread(tmp_path: Path) -> None:
    result = fresh(
        """
        background = BackgroundReports(run, lambda r: write_reports(r, report_dir=top))
        forked = background.forked
        background.outcome()
        print(json.dumps({"forked": forked}))
        """,
        tmp_path,
    )
    assert result == {"forked": True}


def test_an_unwritable_report_dir_comes_back_as_the_error(tmp_path: Path) -> None:
    (tmp_path / "reports").write_text("a file where the folder should be\n")
    result = fresh(
        """
        background = BackgroundReports(
            run, lambda r: write_reports(r, report_dir=top / "reports"))
        forked = background.forked
        outcome = background.outcome()
        error = outcome.error
        print(json.dumps({"forked": forked, "written": outcome.written,
                          "strerror": error and error.strerror,
                          "filename": error and str(error.filename)}))
        """,
        tmp_path,
    )
    assert result["forked"] is True
    assert result["written"] == {}
    assert result["strerror"]  # "Not a directory" or "File exists"
    assert str(tmp_path / "reports") in str(result["filename"])


def test_a_child_that_dies_silently_leaves_the_writing_to_this_process(tmp_path: Path) -> None:
    result = fresh(
        """
        def write(result):
            if os.getpid() != parent:
                os._exit(9)  # killed before it could say anything
            return write_reports(result, report_dir=top)
        background = BackgroundReports(run, write)
        forked = background.forked
        outcome = background.outcome()
        print(json.dumps({"forked": forked, "written": outcome.written,
                          "error": str(outcome.error or "")}))
        """,
        tmp_path,
    )
    assert result["forked"] is True and result["error"] == ""
    written = result["written"]
    assert isinstance(written, dict)
    assert Path(written["junit"]).read_bytes().startswith(b"<?xml")


def test_with_another_thread_alive_nothing_is_forked(run: RunResult, tmp_path: Path) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        background = BackgroundReports(run, lambda r: write_reports(r, report_dir=tmp_path))
        assert not background.forked
        assert Path(background.outcome().written["json"]).exists()
    finally:
        stop.set()
        other.join()
