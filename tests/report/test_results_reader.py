"""`memcheck report FILE`: anything that is not a results file ends in one line naming the
file (and the key, where there is one) and exit 2, never a traceback or a hang."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any, Callable

import pytest

from memcheck.cli import main
from memcheck.errors import ConfigError
from memcheck.report import write_reports
from memcheck.report.json_report import MAX_RESULTS_BYTES, read_json
from tests.report.sample_runs import sample_run


def good_form() -> dict[str, Any]:
    form: dict[str, Any] = json.loads(json.dumps(sample_run().to_json()))
    form["changes"] = {
        "baseline": {"path": "old.json", "started_at": "x", "finished_at": "y"},
        "new": [{"host": "db1", "check": "swappiness"}],
        "fixed": [],
        "still_failing": [],
        "new_oom_kills": [{"host": "db1", "pid": 1, "name": "x"}],
        "hosts_not_in_baseline": [],
        "hosts_only_in_baseline": ["old"],
    }
    return form


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(form: dict[str, Any]) -> None:
        node: Any = form
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value

    return change


def _drop(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def change(form: dict[str, Any]) -> None:
        node: Any = form
        for step in path[:-1]:
            node = node[step]
        del node[path[-1]]

    return change


# (what is changed, the key the error names)
SHAPES = [
    (_set(["changes"], [1, 2]), "changes"),
    (_set(["changes"], "new"), "changes"),
    (_set(["changes", "new"], "x"), "changes.new"),
    (_set(["changes", "new"], [1]), "changes.new"),
    (_set(["changes", "new_oom_kills"], {"a": 1}), "changes.new_oom_kills"),
    (_set(["changes", "baseline"], []), "changes.baseline"),
    (_set(["changes", "baseline", "started_at"], 5), "changes.baseline.started_at"),
    (_set(["changes", "hosts_only_in_baseline"], [None]), "changes.hosts_only_in_baseline"),
    (_drop(["fail_on"]), "fail_on"),
    (_set(["fail_on"], "sometimes"), "fail_on"),
    (_set(["schema_version"], True), "schema_version"),
    (_set(["schema_version"], 99), "schema_version"),
    (_set(["exit_code"], "1"), "exit_code"),
    (_set(["hosts"], {"a": 1}), "hosts"),
    (_set(["hosts"], [1]), "hosts"),
    (_set(["partial"], "yes"), "partial"),
    (_drop(["hosts", 0, "name"]), "hosts[0].name"),
    (_set(["hosts", 0, "memory"], {"total_bytes": "lots"}), "hosts[0].memory"),
    (_set(["hosts", 0, "memory"], [1]), "hosts[0].memory"),
    (_set(["hosts", 0, "unreadable_files"], -1), "hosts[0].unreadable_files"),
    (_set(["hosts", 0, "collection_errors"], {"/x": 1}), "hosts[0].collection_errors"),
    (_set(["hosts", 0, "results"], [[]]), "hosts[0].results"),
    (_set(["hosts", 0, "results", 0, "evidence"], "line"), "hosts[0].results[0].evidence"),
    (_set(["hosts", 0, "results", 0, "change"], "worse"), "hosts[0].results[0].change"),
    (_set(["hosts", 0, "results", 0, "duration_seconds"], "1"), "duration_seconds"),
    (_drop(["hosts", 0, "results", 0, "outcome"]), "hosts[0].results[0].outcome"),
]


def _one_line_exit_2(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    out = path.parent / "out"
    code = main(["report", str(path), "--report-dir", str(out), *extra])
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"memcheck: error: {path}: "), lines[0]
    assert not out.exists()
    return lines[0]


@pytest.mark.parametrize(("change", "key"), SHAPES)
def test_wrong_shapes_name_the_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, key: str
) -> None:
    form = good_form()
    change(form)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(form))
    line = _one_line_exit_2(path, capsys)
    assert key in line


def test_the_good_form_itself_renders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(good_form()))
    assert main(["report", str(path), "--report-dir", str(tmp_path / "out")]) == 1
    assert "json:" in capsys.readouterr().out
    assert (tmp_path / "out" / "report.html").is_file()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"a": NaN}', "NaN"),
        ('{"a": Infinity}', "Infinity"),
        ('{"a": -Infinity}', "Infinity"),
        ('{"a": 1e999}', "too large"),
        ('{"a": ' + "9" * 5000 + "}", "not a results.json"),
        ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
        ('{"a": [' * 50_000, "not a results.json"),
        ("", "not a results.json"),
        ("[]", "top level"),
        ("null", "top level"),
    ],
)
def test_text_that_is_not_a_results_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    path = tmp_path / "results.json"
    path.write_text(text)
    assert problem in _one_line_exit_2(path, capsys)


def test_bytes_that_are_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(b'{"memcheck_version": "\xff"}')
    assert "utf-8" in _one_line_exit_2(path, capsys)


def test_a_huge_file_is_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "results.json"
    with open(path, "wb") as fh:  # sparse: costs no disk
        fh.truncate(MAX_RESULTS_BYTES + 1)
    assert "larger than 256 MiB" in _one_line_exit_2(path, capsys)


def test_files_that_are_not_regular(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # opened, a FIFO without a writer would wait for ever
    assert "a FIFO" in _one_line_exit_2(fifo, capsys)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    assert "a folder" in _one_line_exit_2(folder, capsys)
    sock = tmp_path / "sock.json"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock))
    try:
        assert "socket" in _one_line_exit_2(sock, capsys)
    finally:
        server.close()
    assert "No such file" in _one_line_exit_2(tmp_path / "absent.json", capsys)


def test_dev_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "/dev/zero", "--report-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and err == [
        "memcheck: error: /dev/zero: not a regular file: a character device"
    ]


def test_a_link_to_a_results_file_is_read(tmp_path: Path) -> None:
    real = write_reports(sample_run(), json=tmp_path / "real.json")["json"]
    (tmp_path / "link.json").symlink_to(real)
    assert len(read_json(tmp_path / "link.json").hosts) == 4


def test_deeply_nested_values_inside_a_good_file_are_cut(tmp_path: Path) -> None:
    form = good_form()
    deep: Any = 1
    for _ in range(900):  # within what the JSON reader takes, beyond every bound
        deep = {"d": deep}
    form["hosts"][0]["results"][0]["observed"] = deep
    form["conflicts"].append({"check": "x", "param": "y", "values": [deep], "winner": "z"})
    form["changes"]["new"][0]["observed"] = deep
    path = tmp_path / "results.json"
    path.write_text(json.dumps(form))
    written = write_reports(read_json(path), report_dir=tmp_path / "out")
    assert "nested too deep" in written["json"].read_text()


def test_config_error_is_the_only_exception(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text('{"hosts": 5}')
    with pytest.raises(ConfigError):
        read_json(path)
