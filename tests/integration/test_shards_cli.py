"""Fleet options of the command without a network: snapshots at scale, shards and merging."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli import run_memcheck

HOSTS = Path(__file__).resolve().parents[1] / "hosts"
TREES = sorted(str(p) for p in HOSTS.iterdir() if p.is_dir())


def results(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def verdicts(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {h["source"]: {r["check"]: r["outcome"] for r in h["results"]} for h in data["hosts"]}


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any]]:
    out = tmp_path_factory.mktemp("whole") / "whole.json"
    # `--root DIR/*`: a shell glob gives --root many snapshots at once.
    proc = run_memcheck("--profile", "database", "--root", *TREES, "--json", str(out))
    assert "Traceback" not in proc.stderr
    return proc.returncode, results(out)


def test_many_snapshots_in_one_run(whole: tuple[int, dict[str, Any]]) -> None:
    code, data = whole
    assert len(data["hosts"]) == len(TREES)
    assert code == data["exit_code"]


def test_shards_split_the_fleet_and_one_merge_reports_it_whole(
    whole: tuple[int, dict[str, Any]], tmp_path: Path
) -> None:
    code, data = whole
    parts = []
    for k in (1, 2, 3):
        part = tmp_path / f"shard{k}.json"
        run_memcheck(
            "--profile",
            "database",
            "--root",
            *TREES,
            "--shard",
            f"{k}/3",
            "--json",
            str(part),
            "--report-dir",
            str(tmp_path / f"r{k}"),
        )
        parts.append(part)
    sizes = [len(results(p)["hosts"]) for p in parts]
    assert sum(sizes) == len(TREES) and max(sizes) - min(sizes) <= 1
    merged_dir = tmp_path / "merged"
    proc = run_memcheck("report", *map(str, parts), "--report-dir", str(merged_dir))
    assert proc.returncode == code, proc.stderr
    merged = results(merged_dir / "results.json")
    assert verdicts(merged) == verdicts(data)
    assert (merged_dir / "junit.xml").stat().st_size > 0
    assert (merged_dir / "report.html").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hosts", "db1", "--limit", "web*"], "--limit selects hosts of an --inventory"),
        (["--shard", "3/2"], "--shard"),
        (["--inventory", "/nonexistent/inventory.ini"], "/nonexistent/inventory.ini"),
        (["--connection", "telnet"], "--connection"),
    ],
)
def test_bad_fleet_options_are_one_line_usage_errors(args: list[str], message: str) -> None:
    proc = run_memcheck("--profile", "default", *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(importlib.util.find_spec("ansible") is not None, reason="Ansible is here")
def test_ansible_urls_without_ansible_say_how_to_get_it() -> None:
    proc = run_memcheck("--hosts", "ansible://webservers")
    assert proc.returncode == 2
    assert "pip install 'memcheck[ansible]'" in proc.stderr


def test_an_inventory_limit_that_matches_nothing_is_a_usage_error(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    db:\n      hosts:\n        db1:\n")
    proc = run_memcheck("--inventory", str(inventory), "--limit", "web")
    assert proc.returncode == 2
    assert "matches no host" in proc.stderr


def test_collecting_several_hosts_into_one_tarball_is_refused(tmp_path: Path) -> None:
    proc = run_memcheck("collect", "--hosts", "a,b", "--out", str(tmp_path / "x.tar.gz"))
    assert proc.returncode == 2
    assert "several hosts need a folder" in proc.stderr
