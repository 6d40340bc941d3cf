"""Run as an unprivileged user: what needs root ends in error or skip with the reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import need


def test_unprivileged_run_degrades_honestly() -> None:
    # pytest's own tmp_path sits below a root-only folder; nobody needs one it can enter.
    tmp_path = Path(tempfile.mkdtemp(prefix="memcheck-unpriv-", dir="/tmp"))
    if os.geteuid() != 0:
        user_cmd: list[str] = []
    else:
        need(shutil.which("setpriv") is not None, "setpriv (util-linux) is needed to drop root")
        user_cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    os.chmod(tmp_path, 0o777)
    memcheck = str(Path(sys.executable).with_name("memcheck"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["HOME"] = str(tmp_path)
    proc = subprocess.run(
        [*user_cmd, memcheck, "--profile", "database", "--report-dir", str(tmp_path / "r")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode in (0, 1, 3), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    data = json.loads((tmp_path / "r" / "results.json").read_text())
    results = data["hosts"][0]["results"]
    for result in results:
        assert result["outcome"] in ("pass", "fail", "skip", "error", "waived")
        if result["outcome"] in ("error", "skip"):
            assert result["message"], result
    by_id = {r["check"]: r for r in results}
    restricted = Path("/proc/sys/kernel/dmesg_restrict").read_text().strip() == "1"
    if user_cmd and restricted:
        # The kernel log is root-only here: oom_kills must say so, never pass silently on it.
        # (A fail is right too: the /proc/vmstat counter shows kills on this machine when an
        # earlier test OOM-killed a container.)
        oom = by_id["oom_kills"]
        assert oom["outcome"] in ("pass", "fail", "error")
        assert "kernel log" in oom["message"].lower() or "oom_kill" in oom["message"]
        # drop_caches_scheduled counts the kernel log's drop_caches lines: unread, no pass.
        assert by_id["drop_caches_scheduled"]["outcome"] != "pass"
    if user_cmd:
        # Partial data is loud: one warning line before anything else, and every report
        # says the run was partial.
        first = (proc.stderr + proc.stdout).strip().splitlines()[0]
        assert "partial" in first.lower() and ("--sudo" in first or "root" in first), first
        assert data["partial"] is True and data["hosts"][0]["partial"] is True
        junit = (tmp_path / "r" / "junit.xml").read_text()
        assert 'name="partial" value="true"' in junit
        html = (tmp_path / "r" / "report.html").read_text()
        assert "partial" in html.lower()
