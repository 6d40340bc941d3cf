"""The hostile inputs that issue 12 reported, each run through the real `memcheck` command:
a clear outcome or one line with exit 2, never a traceback, never a hang, the other hosts'
results intact and nothing read or written outside memcheck's bounds.

The parsers, loaders and writers have their own tests and fuzz tests; this file is the
command-line view a user (or an attacker) has.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from pathlib import Path

import pytest

from tests.integration.cli import run_memcheck

HOSTS = Path(__file__).resolve().parents[1] / "hosts"
GOOD = HOSTS / "stock-debian-12-redis"
OTHER = HOSTS / "recent-oom-kill"


def copy_of(scenario: Path, where: Path) -> Path:
    shutil.copytree(scenario, where, symlinks=True)
    return where


def one_line_config_error(proc: object, *needles: str) -> None:
    """Exit 2, one line on standard error, naming what was wrong."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)  # type: ignore[attr-defined]
    err = proc.stderr.strip()  # type: ignore[attr-defined]
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


# -- configuration: one line, exit 2 ----------------------------------------------------


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (["--timeout", "nan"], "--timeout"),
        (["--timeout", "-1"], "--timeout"),
        (["--sample-interval", "-1"], "--sample-interval"),
        (["--shard", "1/" + "9" * 5000], "--shard"),
        (["--limit", "web1"], "--limit"),
    ],
)
def test_bad_command_line_values(options: list[str], needle: str) -> None:
    one_line_config_error(run_memcheck("--root", str(GOOD), "--no-reports", *options), needle)


def test_an_inventory_that_is_a_device() -> None:
    proc = run_memcheck("--inventory", "/dev/zero", "--no-reports", timeout=30)
    one_line_config_error(proc, "/dev/zero")


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ("[params.oom_kills]\nwindow_hours = 1e8\n", "window_hours"),
        ("[params.drop_caches_scheduled]\nwindow_hours = 1e8\n", "window_hours"),
        ("[params.min_free_kbytes]\nmax_percent = inf\n", "max_percent"),
        ("[params.psi_memory]\nsome_max = nan\n", "some_max"),
        ("[params.swappiness]\nmin = 50\nmax = 1\n", "swappiness"),
    ],
)
def test_out_of_range_params(tmp_path: Path, params: str, key: str) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text(
        '[profile]\nname = "p"\nextends = ["database"]\n'
        '[checks]\ninclude = ["oom_kills", "drop_caches_scheduled", "psi_memory"]\n' + params
    )
    proc = run_memcheck("--profile", str(profile), "--root", str(GOOD), "--no-reports")
    one_line_config_error(proc, str(profile), key)


def test_an_extends_chain_1200_deep(tmp_path: Path) -> None:
    for i in range(1200):
        parent = f'extends = ["{tmp_path}/p{i + 1}.toml"]\n' if i < 1199 else ""
        (tmp_path / f"p{i}.toml").write_text(f'[profile]\nname = "p{i}"\n{parent}')
    proc = run_memcheck("--profile", str(tmp_path / "p0.toml"), "--root", str(GOOD))
    one_line_config_error(proc)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            "- check: swappiness\n  reason: kernel upgrade\n  approved_by: a\n"
            "  expires: 2099-02-30\n",
            "expires",
        ),
        (
            '[[waiver]]\ncheck = "swappiness"\nreason = "   "\napproved_by = "a"\n'
            "expires = 2099-01-01\n",
            "reason",
        ),
    ],
)
def test_bad_waivers(tmp_path: Path, text: str, needle: str) -> None:
    waivers = tmp_path / ("w.yaml" if text.startswith("-") else "w.toml")
    waivers.write_text(text)
    proc = run_memcheck("--root", str(GOOD), "--waivers", str(waivers), "--no-reports")
    one_line_config_error(proc, str(waivers), needle)


def test_a_yaml_inventory_whose_children_anchor_refers_to_itself(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all: &top\n  children:\n    again: *top\n")
    proc = run_memcheck("--inventory", str(inventory), "--no-reports", timeout=60)
    one_line_config_error(proc)


def test_a_huge_host_range_with_a_limit(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[web]\nweb[0:99999999]\n")
    started = time.monotonic()
    proc = run_memcheck(
        "collect", "--inventory", str(inventory), "--limit", "web1", "--out", str(tmp_path / "o"),
        timeout=60,
    )  # fmt: skip
    assert time.monotonic() - started < 30
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (2, 3), proc.stderr


def test_a_catastrophic_limit_regex_is_bounded(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("a" * 28 + "!\n")
    started = time.monotonic()
    proc = run_memcheck(
        "collect", "--inventory", str(inventory), "--limit", "~(a+)+$", "--out", str(tmp_path / "o"),
        timeout=60,
    )  # fmt: skip
    assert time.monotonic() - started < 20
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 2, proc.stderr


def test_inventory_names_are_never_paths(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yml"
    secret.write_text("ansible_host: SECRET-CONTENT-1234\n")
    inventory_dir = tmp_path / "inv"
    (inventory_dir / "host_vars").mkdir(parents=True)
    (inventory_dir / "hosts.ini").write_text("../secret\n")
    proc = run_memcheck(
        "--inventory", str(inventory_dir / "hosts.ini"), "--report-dir", str(tmp_path / "r"),
        "--timeout", "5",
    )  # fmt: skip
    assert "Traceback" not in proc.stderr
    written = "".join(p.read_text() for p in (tmp_path / "r").glob("*") if p.is_file())
    assert "SECRET-CONTENT-1234" not in proc.stdout + proc.stderr + written


# -- reports: only regular files are replaced -------------------------------------------


def test_json_to_dev_null_does_not_replace_it() -> None:
    proc = run_memcheck("--root", str(GOOD), "--json", "/dev/null")
    one_line_config_error(proc, "/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_report_html_into_a_folder(tmp_path: Path) -> None:
    results = tmp_path / "r"
    assert run_memcheck("--root", str(GOOD), "--report-dir", str(results)).returncode in (0, 1, 3)
    (tmp_path / "folder").mkdir()
    proc = run_memcheck("report", str(results / "results.json"), "--html", str(tmp_path / "folder"))
    one_line_config_error(proc, "folder")


def test_report_on_a_results_file_of_the_wrong_shape(tmp_path: Path) -> None:
    results = tmp_path / "r"
    run_memcheck("--root", str(GOOD), "--report-dir", str(results))
    data = json.loads((results / "results.json").read_text())
    data["changes"] = ["not", "an", "object"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    proc = run_memcheck("report", str(bad), "--report-dir", str(tmp_path / "out"))
    one_line_config_error(proc, str(bad))


# -- one bad host never costs the others -------------------------------------------------


def test_hostile_snapshots_cost_only_their_own_hosts(tmp_path: Path) -> None:
    mounts = copy_of(GOOD, tmp_path / "mounts")
    with open(mounts / "proc" / "mounts", "a") as fh:
        fh.write("a\\999 /x ext4 rw 0 0\n")
    old_clock = copy_of(GOOD, tmp_path / "clock")
    info = json.loads((old_clock / ".memcheck" / "host.json").read_text())
    info["collected_at"] = "0001-01-01T00:00:00+14:00"
    (old_clock / ".memcheck" / "host.json").write_text(json.dumps(info))
    big_line = copy_of(GOOD, tmp_path / "bigline")
    with open(big_line / "proc" / "meminfo", "a") as fh:
        fh.write("X" * (16 << 20) + "\n")
    good = copy_of(OTHER, tmp_path / "good")
    reports = tmp_path / "reports"
    started = time.monotonic()
    proc = run_memcheck(
        *(a for root in (mounts, old_clock, big_line, good) for a in ("--root", str(root))),
        "--report-dir", str(reports),
    )  # fmt: skip
    seconds = time.monotonic() - started
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == 1, proc.stderr
    data = json.loads((reports / "results.json").read_text())
    hosts = data["hosts"]
    assert len(hosts) == 4
    assert "collected_at" in hosts[1]["unreachable"]
    assert hosts[0]["unreachable"] is None and hosts[2]["unreachable"] is None
    assert any(r["outcome"] == "fail" for r in hosts[3]["results"])
    sizes = {p.name: p.stat().st_size for p in reports.iterdir()}
    # The 16 MB line is quoted nowhere in full: the reports stay small.
    assert all(size < 8 << 20 for size in sizes.values()), sizes
    assert seconds < 60
