"""Report files replace only regular files: anything else at a report's path is refused in
one line (exit 2), before the run starts where possible and again when the file is written."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from memcheck.cli import main
from memcheck.errors import ConfigError
from memcheck.report import check_report_paths, report_paths, write_reports
from memcheck.report.paths import NotRegularFile, write_atomically
from tests.integration.cli import run_memcheck
from tests.report.sample_runs import sample_run

HOST = Path(__file__).parent / "hosts" / "stock-debian-12-redis"
SUITE = Path(__file__).parents[1] / "memcheck" / "suite" / "test_memcheck.py"


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _results(tmp_path: Path) -> Path:
    written = write_reports(sample_run(), json=tmp_path / "in" / "results.json")
    return written["json"]


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("memcheck: error: ")
    return lines[0]


@pytest.mark.parametrize("kind", ["fifo", "symlink", "directory", "socket", "device"])
def test_a_target_that_is_not_a_regular_file_is_left_alone(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "results.json"
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    if kind == "fifo":
        _fifo(target)
    elif kind == "symlink":
        target.symlink_to(victim)
    elif kind == "directory":
        target.mkdir()
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(target))
        server.close()
    else:
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        # A private copy of /dev/null: the very case of `--json /dev/null` run as root.
        os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    before = os.lstat(target)
    with pytest.raises(NotRegularFile) as caught:
        write_atomically(target, b"{}\n")
    assert "not a regular file" in str(caught.value)
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert victim.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "victim"]


def test_a_regular_file_is_replaced_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    target.chmod(0o600)
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_one_refused_report_does_not_cost_the_others(tmp_path: Path) -> None:
    _fifo(tmp_path / "junit.xml")
    with pytest.raises(NotRegularFile):
        write_reports(sample_run(), report_dir=tmp_path)
    assert (tmp_path / "results.json").is_file() and (tmp_path / "report.html").is_file()
    assert stat.S_ISFIFO(os.lstat(tmp_path / "junit.xml").st_mode)


def test_report_folder_rules(tmp_path: Path) -> None:
    """A folder or a link to one is used; a file, a dangling link or a link to a file is not."""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "linked").symlink_to(real)
    written = write_reports(sample_run(), report_dir=tmp_path / "linked")
    assert (real / "results.json").is_file() and written["json"].parent.name == "linked"
    (tmp_path / "file").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "to-file").symlink_to(tmp_path / "file")
    for name in ("file", "dangling", "to-file"):
        where = tmp_path / name
        with pytest.raises(ConfigError, match="--report-dir") as caught:
            check_report_paths(report_paths(where), where)
        assert "\n" not in str(caught.value)
    assert not (tmp_path / "nowhere").exists()


def test_report_refuses_a_folder_given_as_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = _results(tmp_path)
    folder = tmp_path / "html-dir"
    folder.mkdir()
    code = main(
        ["report", str(results), "--report-dir", str(tmp_path / "r"), "--html", str(folder)]
    )
    assert code == 2
    line = _one_error_line(capsys)
    assert "--html" in line and "a directory" in line
    assert folder.is_dir() and not (tmp_path / "r").exists()  # checked before anything was written


def test_report_refuses_a_fifo_as_json_before_writing_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = _results(tmp_path)
    fifo = _fifo(tmp_path / "out.json")
    code = main(["report", str(results), "--report-dir", str(tmp_path / "r"), "--json", str(fifo)])
    assert code == 2
    assert "--json" in _one_error_line(capsys)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and not (tmp_path / "r").exists()


def test_run_refuses_a_bad_target_before_auditing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = _fifo(tmp_path / "results.json")
    code = main(["--root", str(HOST), "--report-dir", str(tmp_path / "r"), "--json", str(fifo)])
    assert code == 2
    out = capsys.readouterr()
    assert out.out == ""  # no host was judged: no summary
    lines = out.err.splitlines()
    assert len(lines) == 1 and "--json" in lines[0] and "named pipe" in lines[0]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_run_refuses_a_report_dir_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "reports").write_text("not a folder")
    code = main(["--root", str(HOST), "--report-dir", str(tmp_path / "reports")])
    assert code == 2
    line = _one_error_line(capsys)
    assert line == (
        f"memcheck: error: command line: --report-dir: cannot write reports to "
        f"{tmp_path / 'reports'}: is a regular file, not a folder"
    )
    assert (tmp_path / "reports").read_text() == "not a folder"


def test_run_writes_through_a_linked_report_dir(tmp_path: Path) -> None:
    real = tmp_path / "artefacts"
    real.mkdir()
    (tmp_path / "reports").symlink_to(real)
    proc = run_memcheck("--root", str(HOST), "--report-dir", "reports", cwd=tmp_path)
    assert proc.returncode in (0, 1, 3), proc.stderr
    assert sorted(p.name for p in real.iterdir()) == ["junit.xml", "report.html", "results.json"]
    assert (tmp_path / "reports").is_symlink()


def test_plain_pytest_refuses_a_bad_target_before_auditing(tmp_path: Path) -> None:
    """Under plain pytest the plugin checks the report targets up front as the command does:
    a target that is not a regular file is a usage error, and nothing is written."""
    fifo = _fifo(tmp_path / "junit.xml")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--memcheck-root",
            str(HOST),
            "--memcheck-report-dir",
            str(tmp_path),
            str(SUITE),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
    assert "junit.xml" in done.stderr and "Traceback" not in done.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert not (tmp_path / "results.json").exists()
