"""The database profile's checks written the natural testinfra way, for the fleet benchmark.

One `host.sysctl()`, `host.file()` or `host.run()` call per value, as a testinfra user
would write them; run with testinfra's defaults for each transport:

    pytest benchmarks/testinfra_natural --hosts=ssh://db1,ssh://db2 [--ssh-config F] [-n 8]

The thresholds follow memcheck's `database` profile; the verdicts themselves do not matter
to the benchmark (it measures time and commands), but each test is a real check.
"""

from __future__ import annotations

import re

import pytest

CRON_DIRS = ("/etc/cron.d", "/etc/cron.daily", "/etc/cron.hourly", "/etc/cron.weekly")
SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/lib/sysctl.d")
THP = "/sys/kernel/mm/transparent_hugepage"


def selected(text: str) -> str:
    match = re.search(r"\[(\w+)\]", text)
    return match.group(1) if match else text.strip()


def test_swappiness(host):
    assert 1 <= host.sysctl("vm.swappiness") <= 10


def test_vfs_cache_pressure(host):
    assert host.sysctl("vm.vfs_cache_pressure") <= 50


def test_min_free_kbytes(host):
    assert host.sysctl("vm.min_free_kbytes") >= 1024


def test_panic_on_oom(host):
    assert host.sysctl("vm.panic_on_oom") == 0


def test_zone_reclaim_mode(host):
    assert host.sysctl("vm.zone_reclaim_mode") == 0


def test_thp_enabled(host):
    assert selected(host.file(f"{THP}/enabled").content_string) in ("never", "madvise")


def test_thp_defrag(host):
    assert selected(host.file(f"{THP}/defrag").content_string) in ("never", "madvise")


def test_memory_available(host):
    meminfo = host.file("/proc/meminfo").content_string
    values = dict(re.findall(r"^(\w+):\s+(\d+)", meminfo, re.M))
    assert int(values["MemAvailable"]) >= 0.10 * int(values["MemTotal"])


def test_oom_kills(host):
    log = host.run("dmesg")
    if log.rc != 0:
        log = host.run("journalctl -k --no-pager")
    assert "Killed process" not in log.stdout


def test_oom_protected_services(host):
    for process in host.process.filter(comm="sshd"):
        adj = host.file(f"/proc/{process.pid}/oom_score_adj").content_string
        assert int(adj) <= -900


def test_drop_caches_scheduled(host):
    texts = []
    if host.file("/etc/crontab").exists:
        texts.append(host.file("/etc/crontab").content_string)
    for directory in CRON_DIRS:
        if host.file(directory).is_directory:
            for name in host.file(directory).listdir():
                texts.append(host.file(f"{directory}/{name}").content_string)
    assert not any("drop_caches" in text for text in texts)


def test_sysctl_persisted(host):
    files = ["/etc/sysctl.conf"]
    for directory in SYSCTL_DIRS:
        if host.file(directory).is_directory:
            files += [f"{directory}/{n}" for n in host.file(directory).listdir()]
    settings = {}
    for path in files:
        if host.file(path).is_file:
            for line in host.file(path).content_string.splitlines():
                key, eq, value = line.partition("=")
                if eq and not line.lstrip().startswith(("#", ";")):
                    settings[key.strip()] = value.strip()
    for key in ("vm.swappiness", "vm.vfs_cache_pressure", "vm.min_free_kbytes"):
        assert key in settings


@pytest.mark.parametrize("unit", ["disable-thp.service", "tuned.service"])
def test_thp_persisted(host, unit):
    cmdline = host.file("/proc/cmdline").content_string
    if "transparent_hugepage=" in cmdline:
        return
    assert host.service(unit).is_enabled


DATABASES = ("postgres", "mysqld", "mariadbd", "mongod", "redis-server")


def test_process_memory_growth(host):
    # RSS of every process now; a real suite would compare with a stored earlier sample.
    rss = host.check_output("ps -eo rss=")
    assert all(int(value) < 64 * 1024 * 1024 for value in rss.split())


def test_psi_memory(host):
    pressure = host.file("/proc/pressure/memory")
    if pressure.exists:
        avg10 = float(re.search(r"some avg10=([\d.]+)", pressure.content_string).group(1))
        assert avg10 < 10


def test_swap_activity(host):
    before = host.file("/proc/vmstat").content_string
    host.run("sleep 1")
    after = host.file("/proc/vmstat").content_string

    def swapped(text):
        values = dict(re.findall(r"^(pswpin|pswpout) (\d+)", text, re.M))
        return sum(int(v) for v in values.values())

    assert swapped(after) - swapped(before) < 1000


def test_swap_configured(host):
    swaps = host.file("/proc/swaps").content_string
    assert len(swaps.splitlines()) > 1


def test_cgroup_memory_headroom(host):
    for unit in ("postgresql.service", "mysql.service", "redis-server.service"):
        limit = host.file(f"/sys/fs/cgroup/system.slice/{unit}/memory.max")
        usage = host.file(f"/sys/fs/cgroup/system.slice/{unit}/memory.current")
        if limit.exists and usage.exists and limit.content_string.strip() != "max":
            assert int(usage.content_string) < 0.9 * int(limit.content_string)


def test_cgroup_oom_events(host):
    events = host.file("/sys/fs/cgroup/memory.events")
    if events.exists:
        assert " 0" in events.content_string.split("oom_kill", 1)[-1].splitlines()[0]


def test_compaction_stalls(host):
    vmstat = host.file("/proc/vmstat").content_string
    stalls = re.search(r"^compact_stall (\d+)", vmstat, re.M)
    assert stalls is None or int(stalls.group(1)) < 1000


def test_numa_balance(host):
    nodes = host.file("/sys/devices/system/node/online").content_string.strip()
    if nodes not in ("0", ""):
        assert host.sysctl("kernel.numa_balancing") == 0


def test_numa_policy(host):
    nodes = host.file("/sys/devices/system/node/online").content_string.strip()
    if nodes in ("0", ""):
        return
    for name in DATABASES:
        for process in host.process.filter(comm=name):
            maps = host.file(f"/proc/{process.pid}/numa_maps").content_string
            assert "interleave" in maps.splitlines()[0]
