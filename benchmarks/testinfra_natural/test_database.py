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
