"""postmaster_oom: the postmaster protected, its backends back at 0; skip and error cases."""

from __future__ import annotations

from collections.abc import Mapping

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from

CHECK = builtin_checks()["postmaster_oom"]


def proc(pid: int, ppid: int, comm: str, adj: int | None, args: str = "") -> dict[str, str]:
    base = f"/proc/{pid}/"
    files = {
        base + "comm": comm + "\n",
        base + "status": f"Name:\t{comm}\nPid:\t{pid}\nPPid:\t{ppid}\nVmRSS:\t 2048 kB\n",
        base + "cmdline": (args or comm).replace(" ", "\0") + "\0",
    }
    if adj is not None:
        files[base + "oom_score_adj"] = f"{adj}\n"
    return files


def cluster(postmaster: int, backends: list[int], comm: str = "postgres") -> dict[str, str]:
    files = {**proc(1, 0, "systemd", 0, "/usr/lib/systemd/systemd --system")}
    files.update(proc(812, 1, comm, postmaster, "/usr/bin/postgres -D /var/lib/pgsql/data"))
    for i, adj in enumerate(backends):
        files.update(proc(900 + i, 812, "postgres", adj, "postgres: checkpointer"))
    return files


def run(
    files: Mapping[str, str], errors: Mapping[str, str] | None = None, **params: ParamValue
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), {**CHECK.meta.defaults(), **params})


def test_rhel_unit_protected_postmaster_and_reset_backends_pass() -> None:
    result = run(cluster(-1000, [0, 0, 0]))
    assert result.outcome == "pass"
    assert result.observed == -1000
    assert "3 backends at 0 or above" in result.message
    postmaster = result.evidence[0]
    assert (postmaster["role"], postmaster["pid"]) == ("postmaster", 812)
    assert postmaster["cmdline"] == "/usr/bin/postgres -D /var/lib/pgsql/data"


def test_unprotected_postmaster_fails_high() -> None:
    result = run(cluster(0, [0, 0]))
    assert result.outcome == "fail"
    assert result.severity == "high"
    assert "pid 812 has 0" in result.message


def test_protected_backends_fail_medium() -> None:
    # OOMScoreAdjust=-1000 without PG_OOM_ADJUST_FILE: every child inherits the protection.
    result = run(cluster(-1000, [-1000, -1000, 0]))
    assert result.outcome == "fail"
    assert result.severity == "medium"
    assert "2 of 3 backends are protected too" in result.message
    assert [e["pid"] for e in result.evidence if e.get("role") == "backend"] == [900, 901]


def test_both_problems_fail_high() -> None:
    assert run(cluster(-500, [-500])).severity == "high"


def test_old_postmaster_comm_and_limit_param() -> None:
    assert run(cluster(-1000, [0], comm="postmaster")).outcome == "pass"
    assert run(cluster(-800, [0])).outcome == "fail"
    assert run(cluster(-800, [0]), max=-500).outcome == "pass"


def test_two_clusters_each_judged() -> None:
    files = cluster(-1000, [0])
    files.update(proc(2000, 1, "postgres", 0, "/usr/lib/postgresql/16/bin/postgres -D /srv/b"))
    result = run(files)
    assert result.outcome == "fail"
    assert "pid 2000" in result.message


def test_legacy_oom_adj_kernel() -> None:
    files = cluster(-1000, [0])
    del files["/proc/812/oom_score_adj"]
    files["/proc/812/oom_adj"] = "-17\n"
    assert run(files).outcome == "pass"


def test_vanished_backend_is_ignored() -> None:
    files = cluster(-1000, [0])
    files.update({"/proc/950/comm": "postgres\n"})  # exited after its comm was read
    assert run(files).outcome == "pass"


def test_not_running_skips() -> None:
    result = run(proc(1, 0, "systemd", 0))
    assert result.outcome == "skip"
    assert "not running" in result.message


def test_hidden_processes_are_an_error_not_a_skip() -> None:
    files = {**proc(1, 0, "systemd", 0), "/proc/mounts": "proc /proc proc rw,hidepid=2 0 0\n"}
    result = run(files)
    assert result.outcome == "error"
    assert "hidepid=2" in result.message


def test_unreadable_oom_score_adj_errors_with_sudo_hint() -> None:
    files = cluster(-1000, [0])
    del files["/proc/812/oom_score_adj"]
    result = run(files, {"/proc/812/oom_score_adj": "permission denied"})
    assert result.outcome == "error"
    assert "--sudo" in result.message
    assert "/proc/812/oom_score_adj (permission denied)" in result.message
