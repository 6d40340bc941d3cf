"""Kernel log parsing: prefixes of every kind, time placement, OOM kills by era, drop_caches."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from memcheck.parse.kernel_log import (
    KernelLog,
    OomKill,
    month_number,
    parse_drop_caches,
    parse_kernel_log,
    parse_oom_kills,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "kernel_logs"
COLLECTED = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
UPTIME = 90000.0
BOOT = COLLECTED - timedelta(seconds=UPTIME)  # 2026-11-19T11:00:00Z


def kb(n: int) -> int:
    return n * 1024


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)  # type: ignore[misc]


def parse(text: str, collected: datetime | None = COLLECTED, uptime: float | None = UPTIME,
          tz: Any = None) -> KernelLog:  # fmt: skip
    return parse_kernel_log(text, collected, uptime, local_tz=tz)


def kills_in(text: str, **kwargs: Any) -> list[OomKill]:
    return parse_oom_kills(parse(text, **kwargs))


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Real-world logs, one per kernel generation and distribution
# --------------------------------------------------------------------------------------------

K8S_V1 = (
    "/kubepods/burstable/pod8c3e5a4b-1f2d-4e6a-9b7c-0d1e2f3a4b5c/"
    "0f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a"
)
K8S_V2 = (
    "/kubepods.slice/kubepods-pod5f0e8a3c_7b61_4d2a_9c1e_2f3a4b5c6d7e.slice/"
    "cri-containerd-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b.scope"
)
DOCKER = "/docker/4d1c8e2b9f0a7c6e5d4b3a29180716253443526170819a8b7c6d5e4f3a2b1c0d"

LOGS = [
    pytest.param(
        "linux2.4.log",
        [dict(pid=1234, name="mysqld", time=None, total_vm_bytes=None, anon_rss_bytes=None,
              constraint="global", context="Out of Memory", lines=(3,))],
        id="linux-2.4",
    ),
    pytest.param(
        "rhel5_2.6.18.log",
        [dict(pid=3456, name="httpd", trigger_name="httpd", gfp_mask="0x201d2", order=0,
              trigger_oom_score_adj=None, anon_rss_bytes=None, line=14, lines=(1, 14)),
         dict(pid=3470, name="httpd", line=17, lines=(16, 17))],
        id="rhel5-2.6.18-no-sizes",
    ),
    pytest.param(
        "ubuntu1004_2.6.32_child.log",
        [dict(pid=2001, name="apache2", selected_pid=2000, selected_name="apache2",
              score=223461, trigger_pid=2012, anon_rss_bytes=None,
              time=None),  # stamped later than the uptime given: another boot
         dict(pid=2005, name="apache2", selected_pid=2000, total_vm_bytes=kb(312456),
              anon_rss_bytes=kb(201024), file_rss_bytes=kb(880), shmem_rss_bytes=None)],
        id="ubuntu10.04-2.6.32-child-killed-vsz",
    ),
    pytest.param(
        "rhel6_2.6.32_no_timestamps.log",
        [dict(pid=20101, name="java", uid=500, total_vm_bytes=kb(16468140),
              anon_rss_bytes=kb(7852000), file_rss_bytes=kb(488), shmem_rss_bytes=None,
              oom_score_adj=300, trigger_name="java", trigger_pid=20158, gfp_mask="0x201da",
              trigger_oom_score_adj=0, constraint="global", selected_pid=None, score=946,
              time=None, line=34, lines=(1, 33, 34))],
        id="rhel6-2.6.32-uid-before-name",
    ),
    pytest.param(
        "rhel7_3.10_dmesg.log",
        [dict(pid=4519, name="java", uid=1000, total_vm_bytes=kb(17528404),
              anon_rss_bytes=kb(7356044), file_rss_bytes=0, shmem_rss_bytes=0,
              oom_score_adj=0, trigger_pid=4519, constraint="global", memcg=None,
              time=utc(2026, 11, 19, 12, 0, 0, 123701), line=31),
         dict(pid=6112, name="httpd", uid=48, anon_rss_bytes=kb(519584), constraint="memcg",
              memcg="/system.slice/httpd.service", task_memcg="/system.slice/httpd.service",
              context="Memory cgroup out of memory", trigger_pid=6112, line=44)],
        id="rhel7.9-3.10-uid-after-name-memcg-v1",
    ),
    pytest.param(
        "ubuntu1404_3.13_kern.log",
        [dict(pid=2345, name="mysqld", uid=106, total_vm_bytes=kb(1311240),
              anon_rss_bytes=kb(840932), shmem_rss_bytes=None, trigger_name="apache2",
              trigger_pid=30120, time=utc(2026, 3, 19, 3, 22, 15), line=14)],
        id="ubuntu14.04-3.13-kern.log",
    ),
    pytest.param(
        "ubuntu1604_4.4_journal_short.log",
        [dict(pid=4012, name="php-fpm7.0", selected_pid=4000, selected_name="php-fpm7.0",
              oom_score_adj=100, uid=33, trigger_pid=4077, gfp_mask="0x24201ca",
              time=utc(2026, 11, 20, 9, 14, 2), line=15)],
        id="ubuntu16.04-4.4-journal-short-child",
    ),
    pytest.param(
        "sles12_4.12_rsyslog_iso.log",
        [dict(pid=4990, name="hdbindexserver", total_vm_bytes=kb(360493644),
              anon_rss_bytes=kb(240049380), uid=1001, oom_score_adj=0, trigger_pid=5012,
              time=utc(2026, 11, 20, 6, 45, 12, 501290))],
        id="sles12-4.12-rsyslog-iso-inner-stamp",
    ),
    pytest.param(
        "ubuntu1804_4.15_dmesg_T_docker.log",
        [dict(pid=9876, name="node", uid=1000, anon_rss_bytes=kb(258012), constraint="memcg",
              memcg=DOCKER, task_memcg=DOCKER, gfp_mask="0x14000c0(GFP_KERNEL)",
              trigger_pid=9901, time=utc(2026, 11, 20, 6, 30, 11))],
        id="ubuntu18.04-4.15-dmesg-T-docker",
    ),
    pytest.param(
        "amazonlinux2_4.14_eks_journal_iso_precise.log",
        [dict(pid=23456, name="python3", uid=1000, oom_score_adj=1000, constraint="memcg",
              memcg="/kubepods/besteffort/pod3d2c1b0a-9f8e-7d6c-5b4a-3f2e1d0c9b8a",
              task_memcg="/kubepods/besteffort/pod3d2c1b0a-9f8e-7d6c-5b4a-3f2e1d0c9b8a/"
              "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
              trigger_pid=23456, trigger_oom_score_adj=1000, anon_rss_bytes=kb(1040044),
              score=1993, time=utc(2026, 11, 20, 8, 5, 31, 402610), lines=(2, 5, 11, 12))],
        id="amazonlinux2-4.14-eks-pod-limit-not-container",
    ),
    pytest.param(
        "debian11_5.10_dmesg_T_de.log",
        [dict(pid=811, name="mariadbd", uid=106, anon_rss_bytes=kb(3840048),
              task_memcg="/system.slice/mariadb.service", trigger_pid=811,
              time=utc(2026, 11, 20, 4, 12, 9))],
        id="debian11-5.10-dmesg-T-german",
    ),
    pytest.param(
        "rhel8_4.18_messages.log",
        [dict(pid=73001, name="postgres", uid=26, oom_score_adj=0, shmem_rss_bytes=kb(24420),
              pgtables_bytes=kb(8132), constraint="global",
              task_memcg="/system.slice/postgresql-15.service", trigger_pid=73310,
              time=utc(2026, 11, 20, 2, 13, 44), line=11)],
        id="rhel8-4.18-var-log-messages",
    ),
    pytest.param(
        "debian10_4.19_journal_iso.log",
        [dict(pid=812, name="java", uid=112, anon_rss_bytes=kb(6040932), constraint="global",
              task_memcg="/system.slice/elasticsearch.service", memcg=None, score=870,
              gfp_mask="0x6200ca(GFP_HIGHUSER_MOVABLE)", time=utc(2026, 11, 20, 4, 10))],
        id="debian10-4.19-journal-short-iso",
    ),
    pytest.param(
        "sles15_5.3_journal_monotonic.log",
        [dict(pid=3003, name="redis-server", uid=477, anon_rss_bytes=kb(7901234),
              time=BOOT + timedelta(seconds=43200.0004))],
        id="sles15-5.3-journal-short-monotonic",
    ),
    pytest.param(
        "ubuntu2004_5.4_k8s_cgroupv1_dmesg.log",
        [dict(pid=31337, name="java", uid=1001, oom_score_adj=969, constraint="memcg",
              memcg=K8S_V1, task_memcg=K8S_V1, trigger_pid=31400, trigger_oom_score_adj=969,
              anon_rss_bytes=kb(2078128), file_rss_bytes=kb(1916), pgtables_bytes=kb(4080),
              context="Memory cgroup out of memory")],
        id="ubuntu20.04-5.4-kubernetes-cgroup-v1",
    ),
    pytest.param(
        "rhel9_5.14_dmesg_x.log",
        [dict(pid=2222, name="sshd", uid=0, oom_score_adj=0, trigger_name="stress-ng",
              trigger_pid=99123, trigger_oom_score_adj=1000,
              task_memcg="/system.slice/sshd.service",
              time=BOOT + timedelta(seconds=85000.0004))],
        id="rhel9-5.14-dmesg-x-user-lines-ignored",
    ),
    pytest.param(
        "ubuntu2204_5.15_cgroupv2_journal_precise.log",
        [dict(pid=88150, name="envoy", uid=101, oom_score_adj=-997, constraint="memcg",
              memcg=K8S_V2, task_memcg=K8S_V2, trigger_pid=88211,
              time=utc(2026, 11, 20, 10, 41, 7, 118399), line=23)],
        id="ubuntu22.04-5.15-kubernetes-cgroup-v2-short-precise",
    ),
    pytest.param(
        "cgroupv2_oom_group.log",
        [dict(pid=7001, name="gunicorn", memcg="/system.slice/webapp.service",
              constraint="memcg", anon_rss_bytes=kb(1000004)),
         dict(pid=7000, name="gunicorn", memcg="/system.slice/webapp.service",
              constraint="memcg", trigger_pid=7001, anon_rss_bytes=kb(20004))],
        id="debian12-6.1-memory.oom.group",
    ),
    pytest.param(
        "amazonlinux2023_6.1_rsyslog_iso.log",
        [dict(pid=2380, name="dockerd", oom_score_adj=-500, trigger_oom_score_adj=-500,
              task_memcg="/system.slice/docker.service", time=utc(2026, 11, 20, 5, 30, 0, 200500))],
        id="amazonlinux2023-6.1-rsyslog-iso",
    ),
    pytest.param(
        "ubuntu2404_6.8_desktop_odd_names.log",
        [dict(pid=16001, name="Web Content", oom_score_adj=167, uid=1000, trigger_name="tmux: server",
              trigger_pid=4141, task_memcg="/user.slice/user-1000.slice/user@1000.service/"
              "app.slice/app-firefox.scope"),
         dict(pid=15925, name="(resolved)", uid=993, trigger_name="Xorg", trigger_pid=None),
         dict(pid=4141, name="tmux: server", trigger_name="kworker/u16:3"),
         dict(pid=777, name="a) b (c)", trigger_name=None, anon_rss_bytes=kb(10))],
        id="ubuntu24.04-6.8-names-with-spaces-and-parentheses",
    ),
    pytest.param(
        "busybox_syslog_no_host.log",
        [dict(pid=88, name="nginx", uid=101, time=utc(2026, 11, 20, 11, 0, 1))],
        id="busybox-syslog-without-host",
    ),
    pytest.param("no_killable_panic.log", [], id="no-killable-processes-panic"),
    pytest.param("truncated_dump.log", [], id="dump-cut-mid-table"),
]  # fmt: skip


@pytest.mark.parametrize("filename, expected", LOGS)
def test_every_victim_is_found_with_its_details(filename: str, expected: list[dict[str, Any]]):
    kills = kills_in(read(filename))
    assert [(k.pid, k.name) for k in kills] == [(e["pid"], e["name"]) for e in expected]
    for kill, want in zip(kills, expected):
        for key, value in want.items():
            assert getattr(kill, key) == value, f"{filename}: kill {kill.pid}: {key}"


@pytest.mark.parametrize("filename", [p.values[0] for p in LOGS])
def test_kill_lines_are_the_raw_kernel_text(filename: str):
    text = read(filename)
    lines = text.split("\n")
    for kill in kills_in(text):
        assert kill.raw in lines[kill.line - 1]
        assert "Killed process" in kill.raw
        assert kill.line in kill.lines


def test_every_log_in_the_data_folder_is_in_the_table():
    listed = {p.values[0] for p in LOGS}
    assert {p.name for p in DATA.glob("*.log")} == listed


# --------------------------------------------------------------------------------------------
# Kill line variants, one line each
# --------------------------------------------------------------------------------------------

KILL_LINES = [
    pytest.param("Out of Memory: Killed process 1234 (mysqld).", 1234, "mysqld", {},
                 id="2.4"),
    pytest.param("Out of memory: Killed process 99 (httpd).", 99, "httpd", {}, id="2.6.18"),
    pytest.param("Killed process 5 (cc1)", 5, "cc1", {}, id="2.6.25-bare"),
    pytest.param(
        "Killed process 20101, UID 500, (java) total-vm:16468140kB, anon-rss:7852000kB, "
        "file-rss:488kB", 20101, "java",
        dict(uid=500, total_vm_bytes=kb(16468140), anon_rss_bytes=kb(7852000),
             file_rss_bytes=kb(488), shmem_rss_bytes=None), id="rhel6",
    ),
    pytest.param(
        "Killed process 4519 (java), UID 1000, total-vm:17528404kB, anon-rss:7356044kB, "
        "file-rss:0kB, shmem-rss:12kB", 4519, "java",
        dict(uid=1000, anon_rss_bytes=kb(7356044), shmem_rss_bytes=kb(12)), id="rhel7.9",
    ),
    pytest.param(
        "Killed process 2345 (mysqld) total-vm:1311240kB, anon-rss:840932kB, file-rss:0kB",
        2345, "mysqld", dict(uid=None, total_vm_bytes=kb(1311240), shmem_rss_bytes=None),
        id="3.x",
    ),
    pytest.param(
        "Killed process 9876 (node) total-vm:1240884kB, anon-rss:258012kB, file-rss:2032kB, "
        "shmem-rss:0kB", 9876, "node", dict(file_rss_bytes=kb(2032), shmem_rss_bytes=0),
        id="4.x-shmem",
    ),
    pytest.param(
        "Out of memory: Killed process 812 (java) total-vm:8841728kB, anon-rss:6040932kB, "
        "file-rss:0kB, shmem-rss:0kB, UID:112 pgtables:12632kB oom_score_adj:-900",
        812, "java", dict(uid=112, oom_score_adj=-900, pgtables_bytes=kb(12632),
                          constraint="global", context="Out of memory"), id="5.x-global",
    ),
    pytest.param(
        "Memory cgroup out of memory: Killed process 1 (x) total-vm:4kB, anon-rss:4kB, "
        "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:1000",
        1, "x", dict(constraint="memcg", oom_score_adj=1000), id="5.x-memcg",
    ),
    pytest.param(
        "Out of memory (oom_kill_allocating_task): Killed process 31 (dd) total-vm:4kB, "
        "anon-rss:4kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0",
        31, "dd", dict(context="Out of memory (oom_kill_allocating_task)", constraint="global"),
        id="5.x-allocating-task",
    ),
    pytest.param("Killed process 15925 ((resolved)) total-vm:4kB, anon-rss:4kB, file-rss:0kB",
                 15925, "(resolved)", {}, id="name-in-parentheses"),
    pytest.param("Killed process 15925 ((resolved)).", 15925, "(resolved)", {},
                 id="name-in-parentheses-old"),
    pytest.param("Killed process 7 (tmux: server), UID 0, total-vm:4kB, anon-rss:4kB, "
                 "file-rss:0kB, shmem-rss:0kB", 7, "tmux: server", dict(uid=0),
                 id="name-with-colon"),
    pytest.param("Killed process 8 (<script>alert(1)</script>) total-vm:4kB, anon-rss:4kB, "
                 "file-rss:0kB", 8, "<script>alert(1)</script>", {}, id="hostile-name-kept"),
    pytest.param("Killed process 1234 (java) total-vm:12", 1234, "java",
                 dict(total_vm_bytes=None, anon_rss_bytes=None), id="sizes-cut-off"),
]  # fmt: skip


@pytest.mark.parametrize("line, pid, name, fields", KILL_LINES)
def test_kill_line_variants(line: str, pid: int, name: str, fields: dict[str, Any]):
    for prefixed in (line, f"[  100.000001] {line}", f"Nov 20 11:00:00 h kernel: {line}"):
        kills = kills_in(prefixed)
        assert [(k.pid, k.name) for k in kills] == [(pid, name)], prefixed
        for key, value in fields.items():
            assert getattr(kills[0], key) == value, key


NOT_KILLS = [
    pytest.param("Out of memory: Kill process 4519 (java) score 874 or sacrifice child",
                 id="selection-only"),
    pytest.param("Memory cgroup out of memory: Kill process 1 (x) score 1000 or sacrifice child",
                 id="memcg-selection-only"),
    pytest.param("Out of memory: kill process 2000 (apache2) score 223461 or a child",
                 id="2.6.32-selection-only"),
    pytest.param("Kill process 1235 (java) sharing same memory", id="sharing-same-memory"),
    pytest.param("oom_reaper: reaped process 812 (java), now anon-rss:0kB, file-rss:0kB",
                 id="oom-reaper"),
    pytest.param("java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
                 id="invoked-only"),
    pytest.param("Out of memory and no killable processes...", id="no-killable"),
    pytest.param("Memory cgroup out of memory: OOM victim 7 (x) is already exiting. Skip killing "
                 "the task", id="already-exiting"),
    pytest.param("Killed process 1234 (ja", id="cut-in-name"),
    pytest.param("Killed process  (java)", id="no-pid"),
    pytest.param("xKilled process 1 (a) total-vm:1kB", id="glued"),
    pytest.param("Nov 20 11:00:00 h systemd[1]: foo.service: A process of this unit has been "
                 "killed by the OOM killer.", id="systemd-unit-notice"),
    pytest.param("Nov 20 11:00:00 h systemd-oomd[611]: Killed /user.slice/user-1000.slice/"
                 "session-2.scope due to memory pressure", id="systemd-oomd"),
    pytest.param("Nov 20 11:00:00 h earlyoom[700]: sending SIGKILL to process 1234 \"java\"",
                 id="earlyoom"),
    pytest.param("Nov 20 11:00:00 h myscript[9]: Killed process 1 (a) total-vm:1kB",
                 id="other-program-same-words"),
    pytest.param("user  :warn  : [ 1.0] Killed process 1 (a) total-vm:1kB", id="dmesg-x-user"),
    pytest.param("Nov 20 11:00:00 h postgres[1123]: server process (PID 73001) was terminated "
                 "by signal 9: Killed", id="postgres-notice"),
]  # fmt: skip


@pytest.mark.parametrize("text", NOT_KILLS)
def test_no_kill_is_invented(text: str):
    assert kills_in(text) == []


def test_rhel6_selection_and_kill_are_one_event():
    text = (
        "Out of memory: Kill process 20101 (java) score 946 or sacrifice child\n"
        "Killed process 20101, UID 500, (java) total-vm:16468140kB, anon-rss:7852000kB, "
        "file-rss:488kB\n"
    )
    kills = kills_in(text)
    assert len(kills) == 1
    assert kills[0].selected_pid is None  # the selected process is the killed one
    assert kills[0].score == 946
    assert kills[0].lines == (1, 2)


def test_kill_without_its_dump_start_takes_nothing_from_an_earlier_dump():
    text = (
        "[ 1.0] a invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n"
        "[ 1.1] Task in /x killed as a result of limit of /x\n"
        "[ 1.2] Killed process 10 (a) total-vm:4kB, anon-rss:4kB, file-rss:0kB\n"
        "[ 9.0] Killed process 11 (b) total-vm:4kB, anon-rss:4kB, file-rss:0kB\n"
    )
    first, second = kills_in(text)
    assert (first.trigger_name, first.memcg, first.constraint) == ("a", "/x", "memcg")
    assert (second.trigger_name, second.memcg, second.constraint) == (None, None, None)


def test_oom_score_adj_on_the_kill_line_wins_over_the_task_table():
    text = (
        "[ 1.0] a invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n"
        "[ 1.1] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name\n"
        "[ 1.2] [     10]     0    10      100       10    40960        0           500 a\n"
        "[ 1.3] Out of memory: Killed process 10 (a) total-vm:400kB, anon-rss:40kB, "
        "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:-17\n"
    )
    assert kills_in(text)[0].oom_score_adj == -17


def test_task_table_row_found_by_tgid_when_a_thread_was_killed():
    text = (
        "a invoked oom-killer: gfp_mask=0x201da, order=0, oom_score_adj=0\n"
        "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name\n"
        "[ 4000]    27  4001   100000    90000     200        0          -100 mysqld\n"
        "Killed process 4001 (mysqld) total-vm:400000kB, anon-rss:360000kB, file-rss:0kB\n"
    )
    kill = kills_in(text)[0]
    assert (kill.uid, kill.oom_score_adj) == (27, -100)


def test_many_kills_in_one_log_are_all_counted():
    line = "[{t}.0] Out of memory: Killed process {p} (w{p}) total-vm:4kB, anon-rss:4kB, \
file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0"
    text = "\n".join(line.format(t=100 + i, p=1000 + i) for i in range(300))
    kills = kills_in(text)
    assert [k.pid for k in kills] == list(range(1000, 1300))
    assert kills[-1].time == BOOT + timedelta(seconds=399)


def test_interleaved_lines_do_not_break_a_dump():
    text = (
        "Nov 20 11:00:00 h kernel: java invoked oom-killer: gfp_mask=0x201da, order=0, "
        "oom_score_adj=0\n"
        "Nov 20 11:00:00 h CRON[1]: (root) CMD (true)\n"
        "Nov 20 11:00:00 h kernel: Task in /system.slice/j.service killed as a result of limit "
        "of /system.slice/j.service\n"
        "Nov 20 11:00:00 h sshd[5]: Connection closed\n"
        "\n"
        "Nov 20 11:00:00 h kernel: Memory cgroup out of memory: Kill process 9 (java) score 999 "
        "or sacrifice child\n"
        "Nov 20 11:00:00 h kernel: Killed process 9 (java) total-vm:8kB, anon-rss:4kB, "
        "file-rss:0kB\n"
    )
    (kill,) = kills_in(text)
    assert (kill.trigger_name, kill.memcg, kill.line) == ("java", "/system.slice/j.service", 7)


# --------------------------------------------------------------------------------------------
# Prefix formats and time placement
# --------------------------------------------------------------------------------------------

MSG = "Out of memory: Killed process 1 (a)."
PREFIXES = [
    pytest.param(f"[   12.345678] {MSG}", BOOT + timedelta(seconds=12.345678), "dmesg", None,
                 id="dmesg"),
    pytest.param(f"[   12.345678][ T1234] {MSG}", BOOT + timedelta(seconds=12.345678), "dmesg",
                 None, id="dmesg-printk-caller"),
    pytest.param(f"<3>[   12.345678] {MSG}", BOOT + timedelta(seconds=12.345678), "dmesg", None,
                 id="dmesg-raw-priority"),
    pytest.param(f"[Thu Nov 19 12:00:00 2026] {MSG}", utc(2026, 11, 19, 12), "dmesg-T", None,
                 id="dmesg-T-en"),
    pytest.param(f"[Thu Nov  5 12:00:00 2026] {MSG}", utc(2026, 11, 5, 12), "dmesg-T", None,
                 id="dmesg-T-one-digit-day"),
    pytest.param(f"[Do Dez  3 08:15:00 2026] {MSG}", utc(2026, 12, 3, 8, 15), "dmesg-T", None,
                 id="dmesg-T-de"),
    pytest.param(f"[Di Mär 17 08:15:00 2026] {MSG}", utc(2026, 3, 17, 8, 15), "dmesg-T", None,
                 id="dmesg-T-de-umlaut"),
    pytest.param(f"[jeu. déc.  3 08:15:00 2026] {MSG}", utc(2026, 12, 3, 8, 15), "dmesg-T",
                 None, id="dmesg-T-fr"),
    pytest.param(f"[mer. févr. 11 08:15:00 2026] {MSG}", utc(2026, 2, 11, 8, 15), "dmesg-T",
                 None, id="dmesg-T-fr-fevrier"),
    pytest.param(f"[jue dic  3 08:15:00 2026] {MSG}", utc(2026, 12, 3, 8, 15), "dmesg-T", None,
                 id="dmesg-T-es"),
    pytest.param(f"[mar ago  4 08:15:00 2026] {MSG}", utc(2026, 8, 4, 8, 15), "dmesg-T", None,
                 id="dmesg-T-es-tuesday-is-not-march"),
    pytest.param(f"[木 12月  3 08:15:00 2026] {MSG}", utc(2026, 12, 3, 8, 15), "dmesg-T", None,
                 id="dmesg-T-ja"),
    pytest.param(f"[Чт дек  3 08:15:00 2026] {MSG}", None, "dmesg-T", None,
                 id="dmesg-T-unknown-locale"),
    pytest.param(f"[Thu Feb 30 12:00:00 2026] {MSG}", None, "dmesg-T", None,
                 id="dmesg-T-impossible-date"),
    pytest.param(f"kern  :err   : [   12.345678] {MSG}", BOOT + timedelta(seconds=12.345678),
                 "dmesg-x", None, id="dmesg-x"),
    pytest.param(f"kern  :err   : [Thu Nov 19 12:00:00 2026] {MSG}", utc(2026, 11, 19, 12),
                 "dmesg-x", None, id="dmesg-x-T"),
    pytest.param(f"kern  :err   : {MSG}", None, "dmesg-x", None, id="dmesg-x-no-time"),
    pytest.param(f"2026-11-19T13:00:00,123456+01:00 {MSG}", utc(2026, 11, 19, 12, 0, 0, 123456),
                 "dmesg-iso", None, id="dmesg-time-format-iso"),
    pytest.param(f"[  +0.000123] {MSG}", None, "dmesg-H", None, id="dmesg-H-delta"),
    pytest.param(f"[Nov19 12:00] {MSG}", None, "dmesg-H", None, id="dmesg-H-minute"),
    pytest.param(f"Nov 19 12:00:00 db1 kernel: {MSG}", utc(2026, 11, 19, 12), "syslog", "db1",
                 id="journal-short"),
    pytest.param(f"Nov  9 12:00:00 db1 kernel: {MSG}", utc(2026, 11, 9, 12), "syslog", "db1",
                 id="syslog-one-digit-day"),
    pytest.param(f"Nov 19 12:00:00.250000 db1 kernel: {MSG}", utc(2026, 11, 19, 12, 0, 0, 250000),
                 "syslog", "db1", id="journal-short-precise"),
    pytest.param(f"Nov 19 12:00:00 kernel: {MSG}", utc(2026, 11, 19, 12), "syslog", None,
                 id="syslog-without-host"),
    pytest.param(f"Nov 19 12:00:00 db1.example.com kernel: [ 7.5] {MSG}", utc(2026, 11, 19, 12),
                 "syslog", "db1.example.com", id="syslog-klogd-inner-stamp"),
    pytest.param(f"Mär 19 03:22:15 db1 kernel: {MSG}", utc(2026, 3, 19, 3, 22, 15), "syslog",
                 "db1", id="journal-short-de"),
    pytest.param(f"2026-11-19T12:00:00+0000 db1 kernel: {MSG}", utc(2026, 11, 19, 12), "iso",
                 "db1", id="journal-short-iso"),
    pytest.param(f"2026-11-19T13:00:00.5+01:00 db1 kernel: {MSG}",
                 utc(2026, 11, 19, 12, 0, 0, 500000), "iso", "db1", id="rsyslog-rfc3339"),
    pytest.param(f"2026-11-19T12:00:00.000001Z db1 kernel: [ 5.0] {MSG}",
                 utc(2026, 11, 19, 12, 0, 0, 1), "iso", "db1", id="rsyslog-rfc3339-zulu"),
    pytest.param(f"Thu 2026-11-19 12:00:00 UTC db1 kernel: {MSG}", utc(2026, 11, 19, 12),
                 "journal-full", "db1", id="journal-short-full"),
    pytest.param(f"Thu 2026-11-19 15:00:00 +03 db1 kernel: {MSG}", utc(2026, 11, 19, 12),
                 "journal-full", "db1", id="journal-short-full-numeric-zone"),
    pytest.param(f"Thu 2026-11-19 12:00:00 CET db1 kernel: {MSG}", utc(2026, 11, 19, 12),
                 "journal-full", "db1", id="journal-short-full-named-zone"),
    pytest.param(f"[   12.345678] db1 kernel: {MSG}", BOOT + timedelta(seconds=12.345678),
                 "journal-monotonic", "db1", id="journal-short-monotonic"),
    pytest.param(MSG, None, "none", None, id="no-prefix"),
]  # fmt: skip


@pytest.mark.parametrize("line, when, fmt, host", PREFIXES)
def test_prefix_formats(line: str, when: datetime | None, fmt: str, host: str | None):
    log = parse(line)
    (record,) = log.records
    assert record.message == MSG
    assert record.time == when
    assert record.format == fmt
    assert record.host == host
    assert record.is_kernel
    assert [k.pid for k in parse_oom_kills(log)] == [1]


def test_inner_dmesg_stamp_of_klogd_lines_is_kept_as_monotonic():
    (record,) = parse("Nov 19 12:00:00 db1 kernel: [ 7.5] hello").records
    assert (record.message, record.monotonic, record.time) == ("hello", 7.5, utc(2026, 11, 19, 12))


@pytest.mark.parametrize(
    "token, month",
    [("Jan", 1), ("déc.", 12), ("Dez", 12), ("Mrz", 3), ("mars", 3), ("août", 8), ("ago", 8),
     ("MAY", 5), ("Oktober", 10), ("diciembre", 12), ("juil.", 7), ("12月", 12), ("3월", 3),
     ("Tue", None), ("дек", None), ("13月", None), ("", None)],
)  # fmt: skip
def test_month_names_in_several_locales(token: str, month: int | None):
    assert month_number(token) == month


def test_local_wall_clock_is_read_in_the_host_time_zone():
    berlin = ZoneInfo("Europe/Berlin")
    log = parse("Nov 19 13:00:00 h kernel: x\n[Thu Nov 19 13:00:00 2026] y", tz=berlin)
    assert [r.time for r in log.records] == [utc(2026, 11, 19, 12)] * 2
    assert not log.local_time_assumed_utc
    assert parse("Nov 19 13:00:00 h kernel: x").local_time_assumed_utc


def test_zone_aware_and_monotonic_stamps_do_not_assume_utc():
    log = parse("2026-11-19T12:00:00+00:00 h kernel: x\n[ 5.0] y")
    assert not log.local_time_assumed_utc


def test_year_less_dates_from_last_year():
    log = parse("Dec 31 23:59:00 h kernel: x\nJan  1 00:05:00 h kernel: y",
                collected=utc(2027, 1, 1, 0, 10))  # fmt: skip
    assert [r.time for r in log.records] == [utc(2026, 12, 31, 23, 59), utc(2027, 1, 1, 0, 5)]


def test_year_less_date_a_little_ahead_of_collection_stays_this_year():
    # A host clock a few hours ahead (or a zone east of UTC read as UTC).
    (record,) = parse("Nov 20 15:00:00 h kernel: x").records
    assert record.time == utc(2026, 11, 20, 15)


def test_year_less_february_29_takes_the_last_leap_year():
    (record,) = parse("Feb 29 10:00:00 h kernel: x", collected=utc(2026, 3, 1)).records
    assert record.time == utc(2024, 2, 29, 10)


def test_without_collection_time_only_dated_stamps_are_placed():
    log = parse("[ 5.0] a\nNov 19 12:00:00 h kernel: b\n[Thu Nov 19 12:00:00 2026] c\n"
                "2026-11-19T12:00:00Z h kernel: d", collected=None)  # fmt: skip
    assert [r.time for r in log.records] == [
        None,
        None,
        utc(2026, 11, 19, 12),
        utc(2026, 11, 19, 12),
    ]
    assert log.boot_time is None


def test_without_uptime_monotonic_stamps_are_not_placed():
    log = parse("[ 5.0] a", uptime=None)
    assert log.records[0].time is None and log.records[0].monotonic == 5.0


def test_naive_collection_time_is_utc():
    log = parse("[ 5.0] a", collected=datetime(2026, 11, 20, 12, 0))
    assert log.records[0].time == BOOT + timedelta(seconds=5)


def test_stamp_beyond_uptime_is_not_this_boot():
    log = parse("[ 95000.0] a", uptime=UPTIME)
    assert log.records[0].time is None


def test_only_the_last_boot_of_a_monotonic_log_is_placed():
    text = "[ 50.0] old boot\n[ 60.0] still old\n[ 0.0] Linux version\n[ 10.0] new boot"
    log = parse(text)
    assert [r.time for r in log.records] == [
        None, None, BOOT, BOOT + timedelta(seconds=10),
    ]  # fmt: skip
    assert [r.boot for r in log.records] == [0, 0, 1, 1]


def test_journal_reboot_marker_ends_a_boot():
    text = "[ 5.0] h kernel: a\n-- Reboot --\n[ 9.0] h kernel: b\n-- Boot 1a2b3c --\n[ 20.0] h kernel: c"
    log = parse(text)
    assert [r.time for r in log.records] == [None, None, BOOT + timedelta(seconds=20)]


def test_journal_monotonic_other_programs_are_not_kernel():
    text = "[ 1.0] h kernel: a\n[ 2.0] h systemd[1]: Started x.\n[ 3.0] usb 1-1: new device"
    log = parse(text)
    assert [(r.ident, r.is_kernel) for r in log.records] == [
        ("kernel", True), ("systemd", False), (None, True),
    ]  # fmt: skip


def test_continuation_lines_belong_to_the_record_before():
    text = (
        "Nov 19 12:00:00 h kernel: Mem-Info:\n"
        "                           active_file:1 inactive_file:2\n"
        "Nov 19 12:00:01 h sudo: pam_unix(sudo:session): session opened\n"
        "    continued sudo text\n"
    )
    log = parse(text)
    assert [(r.line, r.is_kernel, r.continuation) for r in log.records] == [
        (1, True, False), (2, True, True), (3, False, False), (4, False, True),
    ]  # fmt: skip
    assert log.records[1].time == utc(2026, 11, 19, 12)


def test_blank_lines_and_journal_headers_are_skipped_and_line_numbers_kept():
    text = "-- Logs begin at Mon 2026-11-16 00:00:00 UTC. --\n\n\n[ 1.0] a\r\n\n[ 2.0] b\n-- No entries --\n"
    log = parse(text)
    assert [(r.line, r.message) for r in log.records] == [(4, "a"), (6, "b")]


def test_unicode_line_separators_do_not_shift_line_numbers():
    log = parse("[ 1.0] a\u2028b\x0bc\x1cd\n[ 2.0] e")
    assert [(r.line, r.message) for r in log.records] == [(1, "a\u2028b\x0bc\x1cd"), (2, "e")]


def test_earliest_time_ignores_other_programs():
    log = parse("Nov 18 00:00:00 h cron[1]: x\nNov 19 00:00:00 h kernel: y\n[ 5.0] z")
    assert log.earliest_time == utc(2026, 11, 19)
    assert parse("").earliest_time is None


def test_crlf_log_gives_the_same_kills():
    text = read("rhel7_3.10_dmesg.log")
    lf = [(k.pid, k.line, k.time) for k in kills_in(text)]
    crlf = [(k.pid, k.line, k.time) for k in kills_in(text.replace("\n", "\r\n"))]
    assert lf == crlf and len(lf) == 2


# --------------------------------------------------------------------------------------------
# Hostile, empty and garbage input never raises
# --------------------------------------------------------------------------------------------

GARBAGE = [
    pytest.param("", id="empty"),
    pytest.param("\n\n   \n\t\n", id="blank"),
    pytest.param(bytes(range(256)).decode("latin-1") * 20, id="all-bytes"),
    pytest.param((bytes(range(256)) * 20).decode("utf-8", errors="replace"), id="invalid-utf8"),
    pytest.param("\x00" * 5000, id="nul"),
    pytest.param("<script>alert(1)</script>\n\x1b[31mred\x1b[0m\n" * 50, id="html-ansi"),
    pytest.param("[" * 10000 + "]" * 10000, id="brackets"),
    pytest.param("Killed process 1 (" + "(" * 50000, id="open-parens"),
    pytest.param("Killed process 1 (" + ")" * 3000 + " x", id="close-parens"),
    pytest.param("Killed process 1 (" + ")" * 200000, id="huge-line"),
    pytest.param("Kill process 1 (" + ") score 1" * 400, id="selection-parens"),
    pytest.param("x (1): drop_caches: " * 1000, id="drop-caches-repeated"),
    pytest.param("oom-kill:" + "oom_memcg=,task_memcg=," * 100, id="oom-kill-junk"),
    pytest.param("a invoked oom-killer: gfp_mask=0xZZ, order=x\n[ pid ] uid tgid total_vm\n"
                 "[ 1] \nKilled process 99999999999999999999 (x).", id="broken-dump"),
    pytest.param("[99999999999.999999999] x\n[Sun Dec 31 25:61:61 9999] y\n"
                 "9999-99-99T99:99:99+99:99 h kernel: z\nFeb 31 24:00:00 h kernel: w",
                 id="impossible-stamps"),
    pytest.param("9999-12-31T23:59:59-05:00 h kernel: x\n0001-01-01T00:00:00+05:00 h kernel: y\n"
                 "[Fri Dec 31 23:59:59 9999] z\nDec 31 23:59:59 h kernel: w", id="edge-of-time"),
]  # fmt: skip


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_never_raises(text: str):
    for collected, uptime in ((COLLECTED, UPTIME), (None, None)):
        log = parse(text, collected=collected, uptime=uptime)
        kills = parse_oom_kills(log)
        parse_drop_caches(log)
        assert all(isinstance(k.pid, int) for k in kills)


@pytest.mark.parametrize(
    "collected",
    [datetime(1, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31, tzinfo=timezone.utc)],
)
def test_collection_time_at_the_edge_of_time_never_raises(collected: datetime):
    log = parse("[ 5.0] a\nDec 31 23:59:59 h kernel: b\n[Fri Dec 31 23:59:59 9999] c",
                collected=collected, tz=ZoneInfo("Pacific/Kiritimati"))  # fmt: skip
    assert len(log.records) == 3


def test_a_kill_with_a_huge_pid_is_kept_verbatim():
    (kill,) = kills_in("Killed process 99999999999999999999 (x).")
    assert kill.pid == 99999999999999999999


def test_random_bytes_never_raise():
    rng = random.Random(20261120)
    pieces = ["[ 1.0] ", "Killed process ", "(", ")", " total-vm:", "kB", ", UID ", "\n",
              "Nov 19 12:00:00 h kernel: ", "invoked oom-killer:", "oom-kill:", "[  pid  ]",
              " drop_caches: ", " (12): ", "kern  :err   : ", "-- Reboot --", "\x00", "é"]  # fmt: skip
    for _ in range(300):
        text = "".join(rng.choice(pieces) + chr(rng.randrange(1, 0x3000)) for _ in range(60))
        log = parse(text)
        parse_oom_kills(log)
        parse_drop_caches(log)


# --------------------------------------------------------------------------------------------
# drop_caches
# --------------------------------------------------------------------------------------------

DROPS = [
    pytest.param("[ 100.0] sh (12345): drop_caches: 3", ("sh", 12345, 3, 1),
                 BOOT + timedelta(seconds=100), id="dmesg"),
    pytest.param("Nov 20 03:00:01 h kernel: bash (999): drop_caches: 1", ("bash", 999, 1, 1),
                 utc(2026, 11, 20, 3, 0, 1), id="journal"),
    pytest.param("[ 1.0] my cleanup (job) (4242): drop_caches: 2",
                 ("my cleanup (job)", 4242, 2, 1), BOOT + timedelta(seconds=1),
                 id="comm-with-spaces-and-parens"),
    pytest.param("\n\n(sd-cron) (77): drop_caches: 3", ("(sd-cron)", 77, 3, 3), None,
                 id="no-prefix"),
]  # fmt: skip


@pytest.mark.parametrize("text, fields, when", DROPS)
def test_drop_caches_writes(text: str, fields: tuple[str, int, int, int], when: datetime | None):
    (event,) = parse_drop_caches(parse(text))
    assert (event.comm, event.pid, event.value, event.line) == fields
    assert event.time == when


@pytest.mark.parametrize(
    "text",
    ["Nov 20 03:00:01 h cron[1]: sh (1): drop_caches: 3", "sh (abc): drop_caches: 3",
     "drop_caches: 3", "sh (1): drop_caches: three", "sh (1): drop_caches: 3 extra",
     "daemon:info  : [ 1.0] sh (1): drop_caches: 3"],
)  # fmt: skip
def test_not_drop_caches_writes(text: str):
    assert parse_drop_caches(parse(text)) == []


def test_several_drop_caches_writes_in_order():
    text = "[ 1.0] sh (1): drop_caches: 3\n[ 2.0] x\n[ 3.0] python3 (2): drop_caches: 1"
    assert [(e.pid, e.line) for e in parse_drop_caches(parse(text))] == [(1, 1), (2, 3)]
