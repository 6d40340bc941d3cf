"""Hostile inputs found by a hunt after issue 12 landed, each through the real command or a
public loader: terminal escapes from hosts, snapshots that cannot be written as folders,
tarballs of a snapshot folder named like a host folder, sysctl values the kernel never shows."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from memcheck import cli
from memcheck.collect import CollectError
from memcheck.snapshot import HostInfo, Snapshot

HOSTS = Path(__file__).parent / "hosts"
GOOD = HOSTS / "stock-debian-12-redis"
ESC = "\x1b"


def memcheck(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memcheck", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def _fake_collection(
    monkeypatch: pytest.MonkeyPatch, outcomes: list[Snapshot | CollectError]
) -> None:
    """`memcheck collect` against hosts whose collection gives `outcomes` (one per target)."""

    def collect_many(urls: Iterable[str], *args: Any, **kwargs: Any) -> list[Any]:
        on_result = kwargs.get("on_result")
        results = []
        for index, (url, got) in enumerate(zip(list(urls), outcomes)):
            if on_result is not None:
                on_result(index, got)
            results.append((url, got))
        return results

    monkeypatch.setattr("memcheck.collect.collect_many", collect_many)


# -- the console of `memcheck collect` never passes a host's escapes to the terminal ------


def test_collect_console_escapes_what_the_host_controls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    evil_name = f"/etc/systemd/system/{ESC}]0;owned{chr(7)}{ESC}[2J.service"
    big = Snapshot(
        HostInfo("h", "", "", "ssh://a"),
        {evil_name: b"x" * ((4 << 20) + 1), "/proc/meminfo": b"MemTotal: 1 kB\n"},
    )
    big.info.errors[f"/etc/{ESC}[31mred"] = "cannot read"
    failed = CollectError("ssh://b", f"banner {ESC}[2J{ESC}]0;title{chr(7)} refused")
    _fake_collection(monkeypatch, [big, failed])
    code = cli.main(["collect", "--hosts", "ssh://a,ssh://b", "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 3
    assert "note:" in out and "\\x1b" in out  # the note is shown, its escape made visible
    assert "\\x1b[2J" in err
    assert ESC not in out and ESC not in err
    assert chr(7) not in out and chr(7) not in err


def test_report_command_escapes_report_paths(tmp_path: Path) -> None:
    results = tmp_path / "first" / "results.json"
    done = memcheck("run", "--root", str(GOOD), "--report-dir", str(results.parent))
    assert results.exists(), done.stderr
    html = f"r{ESC}[31m.html"
    done = memcheck("report", str(results), "--html", html, "--report-dir", "rep", cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    assert (tmp_path / html).is_file()
    assert ESC not in done.stdout and "\\x1b[31m.html" in done.stdout


# -- a snapshot folder named like a host folder, tarred whole, is still that snapshot --------


@pytest.mark.parametrize("top", ["proc", "etc", "boot"])
def test_a_tarred_snapshot_folder_named_like_a_host_folder(tmp_path: Path, top: str) -> None:
    scenario = HOSTS / "recent-oom-kill"
    folder = tmp_path / top
    shutil.copytree(scenario, folder, symlinks=True)
    archive = tmp_path / f"{top}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=top)
    from_tar = Snapshot.load(archive)
    from_folder = Snapshot.load(folder)
    assert from_tar.info.hostname == from_folder.info.hostname != f"{top}.tar.gz"
    assert from_tar.files == from_folder.files
    assert from_tar.links == from_folder.links


def test_a_tarball_of_a_bare_proc_folder_keeps_its_top(tmp_path: Path) -> None:
    # Without .memcheck/ below it, a lone top folder named `proc` is the host's /proc.
    archive = tmp_path / "p.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"MemTotal: 1 kB\n"
        info = tarfile.TarInfo("proc/meminfo")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert "/proc/meminfo" in Snapshot.load(archive).files


# -- host numbers no kernel writes are never a pass ----------------------------------------


def _outcomes(results: Path) -> dict[str, dict[str, Any]]:
    run = json.loads(results.read_text())
    (host,) = run["hosts"]
    return {r["check"]: r for r in host["results"]}


def _run_on(tmp_path: Path, scenario: Path, changes: dict[str, bytes], *profiles: str) -> Path:
    root = tmp_path / "host"
    shutil.copytree(scenario, root, symlinks=True)
    for rel, data in changes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    reports = tmp_path / "reports"
    args = ["run", "--root", str(root), "--report-dir", str(reports)]
    for profile in profiles:
        args += ["--profile", profile]
    done = memcheck(*args)
    assert done.returncode in (0, 1, 3), done.stderr
    assert "Traceback" not in done.stderr
    return reports / "results.json"


@pytest.mark.parametrize(
    "value",
    [b"-100\n", b"18446744073709551617\n", "\u0663\u0660\n".encode(), b"1_00\n", b"+5\n"],
    ids=["negative", "over-64-bit", "arabic-indic-digits", "underscore", "plus"],
)
def test_vfs_cache_pressure_never_passes_a_value_no_kernel_shows(
    tmp_path: Path, value: bytes
) -> None:
    results = _run_on(tmp_path, GOOD, {"proc/sys/vm/vfs_cache_pressure": value})
    result = _outcomes(results)["vfs_cache_pressure"]
    assert result["outcome"] == "error", result


@pytest.mark.parametrize(
    "value", [b"18446744073709551617\n", "\u0663\u0660\u0660\u0660\u0660\u0660\u0660\n".encode()]
)
def test_max_map_count_never_passes_a_value_no_kernel_shows(tmp_path: Path, value: bytes) -> None:
    scenario = HOSTS / "tuned-cassandra-rocky-9"
    results = _run_on(tmp_path, scenario, {"proc/sys/vm/max_map_count": value}, "cassandra")
    result = _outcomes(results)["max_map_count"]
    assert result["outcome"] == "error", result


def test_a_persisted_sysctl_in_digits_the_kernel_does_not_read_is_not_an_integer(
    tmp_path: Path,
) -> None:
    # `vm.swappiness = ١` is rejected by the kernel at boot: it keeps its default (60).
    results = _run_on(
        tmp_path,
        GOOD,
        {"etc/sysctl.d/99-zz.conf": "vm.swappiness = \u0661\n".encode()},
        "redis",
    )
    result = _outcomes(results)["sysctl_persisted"]
    assert result["outcome"] != "pass", result
    assert "not an integer" in json.dumps(result), result


# -- odd names in a snapshot cost nothing but themselves -------------------------------------


def test_process_and_node_folders_with_odd_digit_names(tmp_path: Path) -> None:
    archive = tmp_path / "odd.tar.gz"
    with tarfile.open(archive, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.add(GOOD, arcname=".", filter=lambda m: None if m.name.endswith(".json") else m)
        for pid in ("9" * 5000, "\u0663\u0663"):
            for name, data in (("status", b"Name:\tx\nVmRSS:\t100 kB\n"), ("comm", b"redis\n")):
                info = tarfile.TarInfo(f"proc/{pid}/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        for node in ("1" * 5000, "\u0663"):
            data = b"Node 3 MemTotal: 100 kB\n"
            info = tarfile.TarInfo(f"sys/devices/system/node/node{node}/meminfo")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    reports = tmp_path / "reports"
    done = memcheck(
        "run", "--root", str(archive), "--profile", "database", "--report-dir", str(reports)
    )
    assert done.returncode in (0, 1, 3), done.stderr
    run = json.loads((reports / "results.json").read_text())
    (host,) = run["hosts"]
    assert not host["unreachable"], host["results"][0]["message"]
    for result in host["results"]:
        assert "raised" not in result["message"], result
        assert "ValueError" not in result["message"], result


# -- secrets in unusual places never reach a report or the console --------------------------


def _secret_host(root: Path) -> None:
    """cron-drop-caches with secrets in a cron line, a script a cron job runs, a unit, rc.local,
    /proc/cmdline, process command lines and environments, and audit records of the kernel log."""
    shutil.copytree(HOSTS / "cron-drop-caches", root, symlinks=True)
    files = {
        "etc/cron.d/clear-cache": "MYSQL_PWD=hunter21\n"
        "0 * * * * root mysqldump -uroot -phunter22 db >/x; echo 3 > /proc/sys/vm/drop_caches\n"
        "5 * * * * root curl -u admin:hunter23 http://x/ && echo 1 > /proc/sys/vm/drop_caches\n",
        "usr/local/bin/free-memory.sh": "#!/bin/sh\nredis-cli -a hunter24 FLUSHALL\n"
        "sysctl -w vm.drop_caches=1 # token=hunter26\n"
        "echo 3 > /proc/sys/vm/drop_caches --password hunter27\n",
        "var/spool/cron/crontabs/root": "*/30 * * * * /usr/local/bin/free-memory.sh "
        "--db-password=hunter28 >/dev/null 2>&1\n",
        "etc/systemd/system/app.service": "[Service]\n"
        "ExecStart=/usr/bin/redis-server --requirepass hunter29\n"
        'ExecStartPost=/bin/sh -c "echo 3 > /proc/sys/vm/drop_caches; mysql -phunter30"\n'
        'Environment="DB_PASSWORD=hunter31"\n',
        "etc/rc.local": "#!/bin/sh\nredis-server --requirepass hunter33 &\n"
        "echo never > /sys/kernel/mm/transparent_hugepage/enabled # --password hunter32\n"
        "/usr/local/bin/thp-off.sh\n",
        "usr/local/bin/thp-off.sh": "#!/bin/sh\n"
        "echo never > /sys/kernel/mm/transparent_hugepage/defrag # --password hunter45\n",
        "proc/913/cmdline": "redis-server\0*:6379\0--requirepass\0hunter34\0",
        "proc/913/comm": "redis-server\n",
        "proc/913/status": "Name:\tredis-server\nPid:\t913\nVmRSS:\t409600 kB\n",
        "proc/913/environ": "A=1\0REDIS_PASSWORD=hunter35\0",
        "proc/914/cmdline": "java\0-Djavax.net.ssl.keyStorePassword=hunter36\0-jar\0app.jar\0"
        "--spring.datasource.password=hunter37\0mongodb://u:hunter38@h/db\0",
        "proc/914/comm": "java\n",
        "proc/914/status": "Name:\tjava\nPid:\t914\nVmRSS:\t809600 kB\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    audit = [
        "proctitle=" + b"mysql\0-phunter40\0db".hex().upper(),
        'argc=3 a0="mysql" a1="-phunter42" a2="db"',
        'argc=3 a0="sh" a1="-c" a2=' + b"mysql -phunter44 x".hex().upper(),
        'pid=1 uid=0 msg=\'cwd="/" cmd=' + b"mysql -phunter43".hex().upper() + " res=success'",
    ]
    with (root / ".memcheck" / "kernel.log").open("a") as log:
        for n, record in enumerate(audit):
            log.write(f"[853300.{n:06d}] audit: type=1309 audit(1700000000.1:{n}): {record}\n")


def test_no_secret_reaches_a_report_or_the_console(tmp_path: Path) -> None:
    root = tmp_path / "host"
    _secret_host(root)
    reports = tmp_path / "reports"
    done = memcheck(
        "run",
        "--root",
        str(root),
        *("--profile", "auto", "--profile", "database", "--profile", "redis"),
        *("--report-dir", str(reports), "-v", "--color", "never"),
    )
    assert done.returncode in (0, 1, 3), done.stderr
    # The scripts' lines are shown, masked.
    assert "free-memory.sh:3" in done.stdout and "thp-off.sh" in done.stdout
    shown = {"stdout": done.stdout, "stderr": done.stderr}
    shown.update({p.name: p.read_text() for p in reports.iterdir()})
    for where, text in shown.items():
        assert "hunter" not in text, (where, text[text.find("hunter") - 200 :][:300])


def test_a_snapshot_written_from_a_loaded_one_holds_no_audit_secret(tmp_path: Path) -> None:
    root = tmp_path / "host"
    _secret_host(root)
    out = tmp_path / "copy"
    Snapshot.load(root).write(out)
    log = (out / ".memcheck" / "kernel.log").read_bytes()
    assert b"hunter" not in log
    assert b'a1="-p***"' in log and b"drop_caches: 3" in log
    for path in out.rglob("*"):
        if path.is_file() and "/proc/" in str(path):
            assert b"hunter" not in path.read_bytes(), path


def test_a_file_that_is_no_archive_is_one_short_line(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tar.gz"
    bogus.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
    reports = tmp_path / "reports"
    done = memcheck("run", "--root", str(bogus), str(GOOD), "--report-dir", str(reports))
    assert done.returncode == 3, done.stderr
    run = json.loads((reports / "results.json").read_text())
    bad, good = run["hosts"]
    message = bad["results"][0]["message"]
    assert "neither a tar archive" in message and "\n" not in message and "method" not in message
    assert not good["unreachable"] and good["results"]
