from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from

CHECK = builtin_checks()["oom_protected_services"]
DEFAULT: dict[str, ParamValue] = {"services": ["sshd"], "max": -900}
USR = "/usr/lib/systemd/system"


def proc(
    pid: int, comm: str, ppid: int, adj: int | None, cgroup: str | None = None, uid: int = 0
) -> dict[str, str]:
    files = {
        f"/proc/{pid}/comm": comm + "\n",
        f"/proc/{pid}/status": f"Name:\t{comm}\nState:\tS (sleeping)\nPid:\t{pid}\nPPid:\t{ppid}\n"
        f"Uid:\t{uid}\t{uid}\t{uid}\t{uid}\nVmRSS:\t    8000 kB\n",
        f"/proc/{pid}/cmdline": f"/usr/sbin/{comm}\0-D\0",
    }
    if adj is not None:
        files[f"/proc/{pid}/oom_score_adj"] = f"{adj}\n"
    if cgroup is not None:
        files[f"/proc/{pid}/cgroup"] = f"0::{cgroup}\n"
    return files


def run(
    files: Mapping[str, str],
    params: Mapping[str, ParamValue] = DEFAULT,
    errors: Mapping[str, str] | None = None,
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), params)


SSHD_UNIT = (
    "[Unit]\nDescription=OpenSSH server daemon\n[Service]\nExecStart=/usr/sbin/sshd -D $OPTIONS\n"
)
INIT = proc(1, "systemd", 0, 0, "/init.scope")


def test_listener_protected_by_the_daemon_itself() -> None:
    files = {
        **INIT,
        **proc(812, "sshd", 1, -1000, "/system.slice/sshd.service"),
        f"{USR}/sshd.service": SSHD_UNIT,
    }
    result = run(files)
    assert result.outcome == "pass", result.message
    assert result.observed == -1000 and result.expected == "<= -900"
    text = "\n".join(str(e["text"]) for e in result.evidence)
    assert "sshd.service does not set OOMScoreAdjust=" in text
    assert "OpenSSH writes -1000 itself" in text
    assert any(e.get("persisted") is False for e in result.evidence)


def test_unit_sets_oom_score_adjust_in_dropin() -> None:
    files = {
        **INIT,
        **proc(700, "sshd", 1, -1000, "/system.slice/ssh.service"),
        "/lib/systemd/system/ssh.service": SSHD_UNIT,
        "/etc/systemd/system/ssh.service.d/oom.conf": "# protect ssh\n[Service]\nOOMScoreAdjust=-1000\n",
    }
    result = run(files)
    assert result.outcome == "pass"
    persisted = next(e for e in result.evidence if e.get("persisted") is True)
    assert persisted["source"] == "/etc/systemd/system/ssh.service.d/oom.conf"
    assert persisted["line"] == 3
    assert "ssh.service sets OOMScoreAdjust=-1000" in str(persisted["text"])


def test_listener_not_protected_fails() -> None:
    files = {
        **INIT,
        **proc(812, "sshd", 1, 0, "/system.slice/sshd.service"),
        f"{USR}/sshd.service": SSHD_UNIT,
    }
    result = run(files)
    assert result.outcome == "fail"
    assert "sshd pid 812 has 0" in result.message
    assert result.observed == 0


@pytest.mark.parametrize("child_comm", ["sshd", "sshd-session"])
def test_per_connection_children_are_not_judged(child_comm: str) -> None:
    files = {
        **INIT,
        **proc(812, "sshd", 1, -1000, "/system.slice/sshd.service"),
        # pre-auth child still in the unit, and a logged-in session moved to its scope
        **proc(4001, child_comm, 812, 0, "/system.slice/sshd.service"),
        **proc(4002, child_comm, 4001, 0, "/user.slice/user-1000.slice/session-3.scope"),
        f"{USR}/sshd.service": SSHD_UNIT,
    }
    result = run(files)
    assert result.outcome == "pass", result.message
    text = "\n".join(str(e["text"]) for e in result.evidence)
    assert (
        "sshd: not judged: 1 child processes (per-connection sessions or workers); "
        "1 same-named processes outside sshd.service" in text
    )
    assert [e.get("pid") for e in result.evidence if "pid" in e] == [812]


def test_without_systemd_comm_and_parent_decide() -> None:
    files = {
        **proc(1, "init", 0, 0),
        **proc(300, "sshd", 1, -1000),
        **proc(301, "sshd-session", 300, 0),
    }
    result = run(files)
    assert result.outcome == "pass"
    assert "no systemd unit found" in "\n".join(str(e["text"]) for e in result.evidence)


def test_not_running_skips() -> None:
    result = run({**INIT, **proc(500, "cron", 1, 0)})
    assert result.outcome == "skip"
    assert "not running: sshd" in result.message


def test_some_running_some_absent() -> None:
    files = {
        **INIT,
        **proc(812, "sshd", 1, -1000, "/system.slice/sshd.service"),
        **proc(900, "kubelet", 1, -999, "/system.slice/kubelet.service"),
    }
    result = run(files, {"services": ["sshd", "kubelet", "containerd"], "max": -900})
    assert result.outcome == "pass"
    assert "not running: containerd" in result.message
    assert result.observed == -999


def test_postgres_backends_not_judged_postmaster_is() -> None:
    cg = "/system.slice/system-postgresql.slice/postgresql@16-main.service"
    files = {
        **INIT,
        **proc(1000, "postgres", 1, -1000, cg),
        **proc(1001, "postgres", 1000, 0, cg),
        **proc(1002, "postgres", 1000, 0, cg),
    }
    result = run(files, {"services": ["postgres"], "max": -900})
    assert result.outcome == "pass"
    assert "2 child processes" in "\n".join(str(e["text"]) for e in result.evidence)


def test_matched_by_unit_when_comm_differs() -> None:
    files = {
        **INIT,
        **proc(650, "containerd", 1, -999, "/system.slice/containerd.service"),
        **proc(651, "containerd-shim", 1, -998, "/system.slice/containerd.service"),
    }
    result = run(files, {"services": ["containerd"], "max": -900})
    assert result.outcome == "pass"
    assert sorted(str(e["pid"]) for e in result.evidence if "pid" in e) == ["650", "651"]


def test_hostile_comm_is_just_a_name() -> None:
    files = {
        **INIT,
        **proc(66, "<script>alert(1)</script>", 1, 500),
        **proc(812, "sshd", 1, -1000, "/system.slice/sshd.service"),
    }
    assert run(files).outcome == "pass"
    result = run(files, {"services": ["<script>alert(1)</script>"], "max": -900})
    assert result.outcome == "fail"
    assert "<script>alert(1)</script> pid 66 has 500" in result.message


def test_unreadable_oom_score_adj_errors_with_fix() -> None:
    files = {**INIT, **proc(812, "sshd", 1, None, "/system.slice/sshd.service")}
    result = run(files, errors={"/proc/812/oom_score_adj": "permission denied"})
    assert result.outcome == "error"
    assert "/proc/812/oom_score_adj (permission denied)" in result.message
    assert "--sudo" in result.message


def test_legacy_oom_adj_on_old_kernels() -> None:
    files = {**INIT, **proc(812, "sshd", 1, None), "/proc/812/oom_adj": "-17\n"}
    result = run(files)
    assert result.outcome == "pass"
    assert result.observed == -1000


def test_kernel_thread_named_like_a_service_is_ignored() -> None:
    files = {
        **INIT,
        "/proc/2/comm": "sshd\n",
        "/proc/2/status": "Name:\tsshd\nPid:\t2\nPPid:\t0\n",
        "/proc/2/cmdline": "",
        "/proc/2/oom_score_adj": "0\n",
    }
    assert run(files).outcome == "skip"


def test_malformed_unit_is_reported_not_fatal() -> None:
    files = {
        **INIT,
        **proc(812, "sshd", 1, -1000, "/system.slice/sshd.service"),
        f"{USR}/sshd.service": "OOMScoreAdjust=-1000\n",
    }
    result = run(files)
    assert result.outcome == "pass"
    assert "cannot read unit sshd.service" in "\n".join(str(e["text"]) for e in result.evidence)
