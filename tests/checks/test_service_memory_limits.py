from __future__ import annotations

from collections.abc import Mapping

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.cgroups import CG, MIB, V1, v1_cgroup, v1_host, v2_cgroup, v2_host
from tests.snapshots import facts_from

CHECK = builtin_checks()["service_memory_limits"]
USR = "/usr/lib/systemd/system"
NGINX_UNIT = "[Unit]\nDescription=nginx\n[Service]\nExecStart=/usr/sbin/nginx\n"
SET_PROPERTY = (
    '# This is a drop-in unit file extension, created via "systemctl set-property"\n'
    "# or an equivalent operation. Do not edit.\n[Service]\n"
)


def run(
    files: Mapping[str, str],
    services: list[str],
    errors: Mapping[str, str] | None = None,
) -> CheckResult:
    params: dict[str, ParamValue] = {"services": services}
    return evaluate(CHECK, facts_from(files, errors=errors), params)


def proc(pid: int, comm: str, ppid: int, cgroup: str) -> dict[str, str]:
    return {
        f"/proc/{pid}/comm": comm + "\n",
        f"/proc/{pid}/status": f"Name:\t{comm}\nPid:\t{pid}\nPPid:\t{ppid}\nVmRSS:\t 9000 kB\n",
        f"/proc/{pid}/cmdline": f"/usr/sbin/{comm}\0",
        f"/proc/{pid}/cgroup": cgroup,
    }


def nginx_v2(max_: str, high: str) -> dict[str, str]:
    unit = "/system.slice/nginx.service"
    return {
        **v2_host(),
        **v2_cgroup(unit, 300 * MIB, max_=max_, high=high),
        **proc(1, "systemd", 0, "0::/init.scope\n"),
        **proc(700, "nginx", 1, f"0::{unit}\n"),
        **proc(701, "nginx", 700, f"0::{unit}\n"),
        f"{USR}/nginx.service": NGINX_UNIT,
    }


def test_empty_list_skips() -> None:
    result = run(v2_host(), [])
    assert result.outcome == "skip"
    assert "no services listed" in result.message


def test_limit_with_high_below_max_passes_and_names_where_it_is_persisted() -> None:
    files = {
        **nginx_v2(str(2048 * MIB), str(1800 * MIB)),
        "/etc/systemd/system.control/nginx.service.d/50-MemoryMax.conf": SET_PROPERTY
        + "MemoryMax=2G\n",
        "/etc/systemd/system.control/nginx.service.d/50-MemoryHigh.conf": SET_PROPERTY
        + "MemoryHigh=1800M\n",
    }
    result = run(files, ["nginx"])
    assert result.outcome == "pass", result.message
    assert result.observed == "nginx: limit 2147483648, memory.high 1887436800"
    assert result.expected == "memory.max set, memory.high below it"
    persisted = next(e for e in result.evidence if e.get("setting") == "MemoryMax")
    assert persisted["value"] == "2G" and persisted["line"] == 4
    assert "systemctl set-property (persistent)" in str(persisted["text"])


def test_unlimited_service_fails() -> None:
    result = run(nginx_v2("max", "max"), ["nginx.service"])
    assert result.outcome == "fail"
    assert result.severity == "medium"
    assert result.message == "nginx.service: no memory limit (memory.max is max)"
    assert result.observed == "nginx.service: limit max, memory.high max"
    assert any("sets no MemoryMax=" in str(e["text"]) for e in result.evidence)


def test_high_not_below_max_fails() -> None:
    result = run(nginx_v2(str(1024 * MIB), "max"), ["nginx"])
    assert result.outcome == "fail"
    assert "memory.high (max) is not below memory.max (1073741824)" in result.message
    equal = run(nginx_v2(str(1024 * MIB), str(1024 * MIB)), ["nginx"])
    assert equal.outcome == "fail"


def test_limit_written_to_the_cgroup_only_is_lost_at_restart() -> None:
    result = run(nginx_v2(str(2048 * MIB), str(1800 * MIB)), ["nginx"])
    assert result.outcome == "pass"
    note = next(e for e in result.evidence if "sets no MemoryMax=" in str(e["text"]))
    assert "lost when the service restarts" in str(note["text"])


def test_runtime_only_set_property_is_flagged() -> None:
    files = {
        **nginx_v2(str(2048 * MIB), str(1800 * MIB)),
        "/run/systemd/system.control/nginx.service.d/50-MemoryMax.conf": SET_PROPERTY
        + "MemoryMax=2G\n",
    }
    result = run(files, ["nginx"])
    setting = next(e for e in result.evidence if e.get("setting") == "MemoryMax")
    assert "--runtime (lost at reboot)" in str(setting["text"])


def test_unit_infinity_is_shown_as_no_limit() -> None:
    files = {
        **nginx_v2("max", "max"),
        "/etc/systemd/system/nginx.service.d/limits.conf": "[Service]\nMemoryMax=infinity\n",
    }
    result = run(files, ["nginx"])
    assert result.outcome == "fail"
    setting = next(e for e in result.evidence if e.get("setting") == "MemoryMax")
    assert "MemoryMax=infinity (no limit)" in str(setting["text"])


def test_not_running_services_are_skipped_and_named() -> None:
    result = run(nginx_v2(str(2048 * MIB), str(1800 * MIB)), ["nginx", "postgres"])
    assert result.outcome == "pass"
    assert result.message.endswith("; not running: postgres")
    none = run(v2_host(), ["postgres", "redis-server"])
    assert none.outcome == "skip"
    assert none.message == "not running: postgres, redis-server"


def test_running_service_found_by_its_cgroup_without_processes() -> None:
    files = {
        **v2_host(),
        **v2_cgroup("/system.slice/app.service", 10 * MIB, max_="max", high="max"),
    }
    result = run(files, ["app"])
    assert result.outcome == "fail"
    assert "app: no memory limit" in result.message


def test_v1_service_with_memory_limit_from_old_systemd_passes() -> None:
    unit = "/system.slice/mysqld.service"
    files = {
        **v1_host(release="3.10.0-1160.el7.x86_64"),
        **v1_cgroup(unit, 700 * MIB, limit=str(2 << 30)),
        **proc(1, "systemd", 0, "1:name=systemd:/init.scope\n"),
        **proc(900, "mysqld", 1, f"11:memory:{unit}\n1:name=systemd:{unit}\n"),
        f"{USR}/mysqld.service": "[Service]\nExecStart=/usr/sbin/mysqld\nMemoryLimit=2G\n",
    }
    result = run(files, ["mysqld"])
    assert result.outcome == "pass", result.message
    assert result.expected == "a memory limit"
    setting = next(e for e in result.evidence if e.get("setting") == "MemoryLimit")
    assert setting["value"] == "2G"


def test_v1_service_without_its_own_memory_cgroup_fails() -> None:
    files = {
        **v1_host(),
        **proc(1, "systemd", 0, "1:name=systemd:/init.scope\n"),
        **proc(
            950,
            "redis-server",
            1,
            "11:memory:/system.slice\n1:name=systemd:/system.slice/redis-server.service\n",
        ),
    }
    result = run(files, ["redis-server"])
    assert result.outcome == "fail"
    assert "none of its own" in result.message


def test_v1_unlimited_service_fails() -> None:
    unit = "/system.slice/mysqld.service"
    files = {
        **v1_host(),
        **v1_cgroup(unit, 700 * MIB),
        **proc(900, "mysqld", 1, f"11:memory:{unit}\n1:name=systemd:{unit}\n"),
    }
    result = run(files, ["mysqld"])
    assert result.outcome == "fail"
    assert "memory.limit_in_bytes is 9223372036854771712" in result.message
    assert V1 + unit + "/memory.limit_in_bytes" in {e.get("source") for e in result.evidence}


def test_unreadable_limit_is_an_error() -> None:
    files = nginx_v2(str(2048 * MIB), str(1800 * MIB))
    path = CG + "/system.slice/nginx.service/memory.max"
    del files[path]
    result = run(files, ["nginx"], errors={path: "permission denied"})
    assert result.outcome == "error"
    assert "nginx: permission denied" in result.message


def test_host_without_a_memory_controller_skips() -> None:
    files = {
        "/proc/mounts": "proc /proc proc rw 0 0\n/dev/sda1 / ext3 rw 0 0\n",
        **proc(1, "init", 0, ""),
        **proc(812, "sshd", 1, ""),
    }
    result = run(files, ["sshd"])
    assert result.outcome == "skip"
    assert "no cgroup file system is mounted" in result.message


def test_unknown_memory_cgroup_of_a_running_service_is_an_error() -> None:
    files = {
        **v1_host(),
        **proc(1, "systemd", 0, "1:name=systemd:/init.scope\n"),
        **proc(812, "sshd", 1, "1:name=systemd:/system.slice/sshd.service\n"),
    }
    result = run(files, ["sshd"])
    assert result.outcome == "error"
    assert "its memory cgroup is unknown (/proc/812/cgroup names none" in result.message
