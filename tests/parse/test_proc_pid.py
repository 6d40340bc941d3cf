"""`/proc/<pid>/` parsers: status, oom_score_adj, oom_adj, cgroup, cmdline."""

from __future__ import annotations

import pytest

from memcheck.errors import ParseError
from memcheck.parse.proc_pid import (
    CgroupEntry,
    oom_adj_to_score_adj,
    parse_cgroup,
    parse_cmdline,
    parse_oom_adj,
    parse_oom_score_adj,
    parse_status,
    unit_of,
)

KB = 1024

KTHREADD_6X = """\
Name:\tkthreadd
Umask:\t0000
State:\tS (sleeping)
Tgid:\t2
Ngid:\t0
Pid:\t2
PPid:\t0
TracerPid:\t0
Uid:\t0\t0\t0\t0
Gid:\t0\t0\t0\t0
FDSize:\t64
Groups:\t\x20
NSpid:\t2
NSpgid:\t0
NSsid:\t0
Kthread:\t1
Threads:\t1
SigQ:\t0/127402
SigPnd:\t0000000000000000
ShdPnd:\t0000000000000000
SigBlk:\t0000000000000000
SigIgn:\tffffffffffffffff
SigCgt:\t0000000000000000
CapInh:\t0000000000000000
CapPrm:\t000001ffffffffff
CapEff:\t000001ffffffffff
CapBnd:\t000001ffffffffff
CapAmb:\t0000000000000000
NoNewPrivs:\t0
Seccomp:\t0
Seccomp_filters:\t0
Speculation_Store_Bypass:\tthread vulnerable
SpeculationIndirectBranch:\tconditional enabled
Cpus_allowed:\tffff
Cpus_allowed_list:\t0-15
Mems_allowed:\t00000000,00000001
Mems_allowed_list:\t0
voluntary_ctxt_switches:\t1234
nonvoluntary_ctxt_switches:\t12
"""

KWORKER_3_10 = """\
Name:\tkworker/0:1H
State:\tS (sleeping)
Tgid:\t421
Ngid:\t0
Pid:\t421
PPid:\t2
TracerPid:\t0
Uid:\t0\t0\t0\t0
Gid:\t0\t0\t0\t0
FDSize:\t64
Groups:\t
Threads:\t1
SigQ:\t0/63379
Cpus_allowed_list:\t0
Mems_allowed_list:\t0
"""

SSHD_RHEL7_3_10 = """\
Name:\tsshd
State:\tS (sleeping)
Tgid:\t1123
Ngid:\t0
Pid:\t1123
PPid:\t1
TracerPid:\t0
Uid:\t0\t0\t0\t0
Gid:\t0\t0\t0\t0
FDSize:\t64
Groups:\t
VmPeak:\t  112864 kB
VmSize:\t  112860 kB
VmLck:\t       0 kB
VmPin:\t       0 kB
VmHWM:\t    4324 kB
VmRSS:\t    4324 kB
VmData:\t    1048 kB
VmStk:\t     132 kB
VmExe:\t     812 kB
VmLib:\t    9276 kB
VmPTE:\t     244 kB
VmSwap:\t       0 kB
Threads:\t1
SigQ:\t0/63379
Cpus_allowed:\tf
Cpus_allowed_list:\t0-3
Mems_allowed:\t00000000,00000001
Mems_allowed_list:\t0
voluntary_ctxt_switches:\t100
nonvoluntary_ctxt_switches:\t3
"""

POSTGRES_6X = """\
Name:\tpostgres
Umask:\t0077
State:\tS (sleeping)
Tgid:\t2201
Ngid:\t0
Pid:\t2201
PPid:\t1
TracerPid:\t0
Uid:\t26\t26\t26\t26
Gid:\t26\t26\t26\t26
FDSize:\t64
Groups:\t26
NSpid:\t2201
NSpgid:\t2201
NSsid:\t2201
Kthread:\t0
VmPeak:\t 4425036 kB
VmSize:\t 4424908 kB
VmLck:\t       0 kB
VmPin:\t       0 kB
VmHWM:\t  262144 kB
VmRSS:\t  196608 kB
RssAnon:\t   16384 kB
RssFile:\t   20480 kB
RssShmem:\t  159744 kB
VmData:\t    8960 kB
VmStk:\t     132 kB
VmExe:\t    9688 kB
VmLib:\t   14332 kB
VmPTE:\t     520 kB
VmSwap:\t    2048 kB
HugetlbPages:\t       0 kB
CoreDumping:\t0
THP_enabled:\t1
untag_mask:\t0xffffffffffffffff
Threads:\t1
Mems_allowed_list:\t0-1
"""


@pytest.mark.parametrize(
    ("text", "name", "pid", "ppid", "uid", "rss", "swap", "data", "size", "mems"),
    [
        (KTHREADD_6X, "kthreadd", 2, 0, 0, None, None, None, None, "0"),
        (KWORKER_3_10, "kworker/0:1H", 421, 2, 0, None, None, None, None, "0"),
        (SSHD_RHEL7_3_10, "sshd", 1123, 1, 0, 4324 * KB, 0, 1048 * KB, 112860 * KB, "0"),
        (
            POSTGRES_6X,
            "postgres",
            2201,
            1,
            26,
            196608 * KB,
            2048 * KB,
            8960 * KB,
            4424908 * KB,
            "0-1",
        ),
    ],
)
def test_status_real_files(
    text: str,
    name: str,
    pid: int,
    ppid: int,
    uid: int,
    rss: int | None,
    swap: int | None,
    data: int | None,
    size: int | None,
    mems: str,
) -> None:
    status = parse_status(text, "/proc/x/status")
    assert (status.name, status.pid, status.ppid, status.uid) == (name, pid, ppid, uid)
    assert (status.vm_rss_bytes, status.vm_swap_bytes) == (rss, swap)
    assert (status.vm_data_bytes, status.vm_size_bytes) == (data, size)
    assert status.mems_allowed_list == mems
    assert status.state is not None and status.state.startswith("S")


@pytest.mark.parametrize(
    "name",
    [
        "Web Content",  # Firefox: spaces
        "tmux: server",  # a colon and a space
        "<script>alert(",  # markup (comm holds 15 bytes)
        "(sd-pam)",  # parentheses
        "name with end ",  # trailing space kept
        "a\\nb",  # the kernel escapes a newline in comm as backslash-n
        "kworker/u16:2-events_unbound",  # workqueue suffix on 4.19+
    ],
)
def test_status_names_are_kept_verbatim(name: str) -> None:
    status = parse_status(f"Name:\t{name}\nUmask:\t0022\nPid:\t77\nPPid:\t1\n", "s")
    assert status.name == name


def test_status_first_name_wins_and_unknown_keys_are_ignored() -> None:
    status = parse_status("Name:\tfirst\nPid:\t5\nName:\tsecond\nNewKernelField:\tx y z\n", "s")
    assert status.name == "first"


def test_status_torn_last_line_is_tolerated() -> None:
    status = parse_status(SSHD_RHEL7_3_10[: SSHD_RHEL7_3_10.index("VmSwap") + 4], "s")
    assert status.vm_rss_bytes == 4324 * KB
    assert status.vm_swap_bytes is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "expected Name: and Pid:"),
        ("Name:\tx\n", "expected Name: and Pid:"),
        ("Pid:\t1\n", "expected Name: and Pid:"),
        ("Name:\tx\nPid:\tone\n", "Pid: expected an integer"),
        ("Name:\tx\nPid:\t1\nPPid:\t\n", "PPid: expected an integer"),
        ("Name:\tx\nPid:\t1\nVmRSS:\t 12 MB\n", "VmRSS: unknown unit"),
        ("Name:\tx\nPid:\t1\nVmRSS:\t lots kB\n", "VmRSS: expected '<n> kB'"),
        ("\x00\x00garbage", "expected Name: and Pid:"),
    ],
)
def test_status_malformed(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_status(text, "/proc/9/status")
    assert caught.value.source == "/proc/9/status"
    assert fragment in caught.value.problem


@pytest.mark.parametrize(
    ("text", "value"),
    [("0\n", 0), ("-1000\n", -1000), ("1000", 1000), (" -900 \n", -900), ("300\n", 300)],
)
def test_oom_score_adj(text: str, value: int) -> None:
    assert parse_oom_score_adj(text) == value


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "expected an integer"),
        ("abc\n", "expected an integer"),
        ("1001\n", "outside"),
        ("-1001", "outside"),
    ],
)
def test_oom_score_adj_malformed(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_oom_score_adj(text, "/proc/3/oom_score_adj")
    assert fragment in caught.value.problem


@pytest.mark.parametrize(("text", "value"), [("-17\n", -17), ("15", 15), ("0\n", 0)])
def test_oom_adj(text: str, value: int) -> None:
    assert parse_oom_adj(text) == value


@pytest.mark.parametrize("text", ["16\n", "-18\n", "x\n", ""])
def test_oom_adj_malformed(text: str) -> None:
    with pytest.raises(ParseError):
        parse_oom_adj(text)


@pytest.mark.parametrize(
    # fs/proc/base.c oom_adj_write(): 15 is the maximum, else value * 1000 / 17 truncated
    ("legacy", "score"),
    [(-17, -1000), (-16, -941), (-1, -58), (0, 0), (1, 58), (14, 823), (15, 1000)],
)
def test_oom_adj_to_score_adj_matches_the_kernel(legacy: int, score: int) -> None:
    assert oom_adj_to_score_adj(legacy) == score


CGROUP_V2 = "0::/system.slice/sshd.service\n"
CGROUP_V1_RHEL7 = """\
11:memory:/system.slice/postgresql.service
10:cpuset:/
9:devices:/system.slice/postgresql.service
8:pids:/
7:blkio:/system.slice/postgresql.service
6:freezer:/
5:net_prio,net_cls:/
4:perf_event:/
3:hugetlb:/
2:cpuacct,cpu:/system.slice/postgresql.service
1:name=systemd:/system.slice/postgresql.service
"""
CGROUP_HYBRID = """\
12:memory:/user.slice
1:name=systemd:/user.slice/user-1000.slice/session-3.scope
0::/user.slice/user-1000.slice/session-3.scope
"""


@pytest.mark.parametrize(
    ("text", "count", "unit"),
    [
        (CGROUP_V2, 1, "sshd.service"),
        (CGROUP_V1_RHEL7, 11, "postgresql.service"),
        (CGROUP_HYBRID, 3, "session-3.scope"),
        ("0::/\n", 1, None),
        (
            "0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-ab12.scope\n",
            1,
            "cri-containerd-ab12.scope",
        ),
        ("", 0, None),
    ],
)
def test_cgroup(text: str, count: int, unit: str | None) -> None:
    entries = parse_cgroup(text)
    assert len(entries) == count
    assert unit_of(entries) == unit


def test_cgroup_fields() -> None:
    first = parse_cgroup(CGROUP_V1_RHEL7)[9]
    assert first == CgroupEntry(2, ("cpuacct", "cpu"), "/system.slice/postgresql.service")
    # a path may itself hold colons
    assert parse_cgroup("0::/a:b/c.service\n")[0].path == "/a:b/c.service"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("garbage\n", "line 1: expected 'id:controllers:path'"),
        ("x:memory:/\n", "line 1: hierarchy id"),
    ],
)
def test_cgroup_malformed(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_cgroup(text, "/proc/4/cgroup")
    assert fragment in caught.value.problem


@pytest.mark.parametrize(
    ("data", "args"),
    [
        (b"", ()),  # kernel thread
        (b"/usr/sbin/sshd\x00-D\x00", ("/usr/sbin/sshd", "-D")),
        (
            b"postgres: checkpointer   \x00\x00\x00",
            ("postgres: checkpointer   ",),
        ),  # rewritten title
        (b"/bin/x\x00arg with space\x00\xff\xfe", ("/bin/x", "arg with space", "\ufffd\ufffd")),
    ],
)
def test_cmdline(data: bytes, args: tuple[str, ...]) -> None:
    assert parse_cmdline(data) == args


def test_status_lines_end_at_newline_only() -> None:
    # Older kernels leave a carriage return in a name as it is: it ends no line, so a name
    # cannot pass for another field.
    status = parse_status("Name:\tx\rPid:\t5\nUmask:\t0022\nPid:\t77\nPPid:\t1\n", "s")
    assert status.name == "x\rPid:\t5"
    assert status.pid == 77


def test_cgroup_texts_shared_by_processes_parse_alike_and_errors_name_their_file() -> None:
    text = "12:memory:/system.slice/db.service\n0::/system.slice/db.service\n"
    first, second = parse_cgroup(text, "/proc/1/cgroup"), parse_cgroup(text, "/proc/2/cgroup")
    assert first == second and unit_of(first) == "db.service"
    for source in ("/proc/3/cgroup", "/proc/4/cgroup"):
        with pytest.raises(ParseError) as caught:
            parse_cgroup("x:memory:/\n", source)
        assert caught.value.source == source  # not the first file's name, cached
