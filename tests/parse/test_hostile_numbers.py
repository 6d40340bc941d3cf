"""Numbers no kernel prints, at every place a parser reads one: each is a `ParseError` (or,
where the parser documents it, text kept as text), never a `ValueError` or a silent number.

The digits: `²` (`"²".isdigit()` is true, `int("²")` fails), `٣` (Arabic-Indic: `int()`
reads it as 3), `1_0` (`int()` reads 10), and numbers longer than Python's 4,300-digit limit
for `int()` (a `ValueError`) or than any kernel counter.
"""

from __future__ import annotations

from typing import Callable

import pytest

from memcheck.errors import ParseError
from memcheck.parse import (
    cgroup,
    crontab,
    meminfo,
    mounts,
    numa,
    proc_pid,
    psi,
    smaps,
    swaps,
    thp,
    uptime,
    vmstat,
)
from memcheck.parse.values import (
    MAX_DIGITS,
    clip,
    is_digits,
    parse_float,
    parse_int,
    quote,
    to_float,
    to_hex,
    to_int,
)

HUGE = "9" * 5000  # over Python's int() limit of 4,300 digits
LONG = "1" * (MAX_DIGITS + 1)  # within int()'s limit, longer than any kernel counter
BAD_NUMBERS = ("²", "1²", "٣", "1_0", HUGE, LONG, "+5", "0x10")

SWAPS = "Filename Type Size Used Priority\n"
STATUS = "Name:\tbash\nPid:\t42\nPPid:\t1\nUid:\t0\t0\t0\t0\nVmRSS:\t{}\tkB\n"


def _sites() -> list[tuple[str, Callable[[str], object]]]:
    """(where, call with the bad number put in that place)."""
    return [
        ("psi total", lambda n: psi.parse_pressure(f"some avg10=0.00 total={n}\n")),
        ("psi avg10", lambda n: psi.parse_pressure(f"some avg10={n} total=0\n")),
        ("node list first", lambda n: numa.parse_node_list(f"{n}-3")),
        ("node list last", lambda n: numa.parse_node_list(f"0-{n}")),
        ("node meminfo node", lambda n: numa.parse_node_meminfo(f"Node {n} MemTotal: 1 kB\n")),
        ("node meminfo value", lambda n: numa.parse_node_meminfo(f"Node 0 MemTotal: {n} kB\n")),
        ("numastat value", lambda n: numa.parse_numastat(f"numa_hit {n}\nnuma_miss 0\n")),
        ("numa_maps N<node>", lambda n: numa.parse_numa_maps(f"7f00 default N{n}=1\n")),
        ("numa_maps N0=", lambda n: numa.parse_numa_maps(f"7f00 default N0={n}\n")),
        ("numa_maps anon=", lambda n: numa.parse_numa_maps(f"7f00 default anon={n}\n")),
        ("numa_maps address", lambda n: numa.parse_numa_maps(f"{n} default anon=1\n")),
        ("cgroup memory.max", lambda n: cgroup.parse_limit(n, "memory.max")),
        ("cgroup memory.current", lambda n: cgroup.parse_bytes(n, "memory.current")),
        ("cgroup memory.stat", lambda n: cgroup.parse_memory_stat(f"anon {n}\n", "memory.stat")),
        ("cgroup memory.events", lambda n: cgroup.parse_memory_events(f"oom {n}\n", "events")),
        ("vmstat", lambda n: vmstat.parse_vmstat(f"nr_free_pages {n}\n")),
        ("thp size dir", lambda n: thp.mthp_size_bytes(f"hugepages-{n}kB", "x")),
        ("meminfo", lambda n: meminfo.parse_meminfo(f"MemTotal: {n} kB\n")),
        ("status VmRSS", lambda n: proc_pid.parse_status(STATUS.format(n))),
        ("status Pid", lambda n: proc_pid.parse_status(f"Name:\tx\nPid:\t{n}\n")),
        ("oom_score_adj", lambda n: proc_pid.parse_oom_score_adj(n)),
        ("oom_adj", lambda n: proc_pid.parse_oom_adj(n)),
        ("/proc/<pid>/cgroup id", lambda n: proc_pid.parse_cgroup(f"{n}::/x\n")),
        ("smaps_rollup", lambda n: smaps.parse_smaps_rollup(f"Rss: {n} kB\n")),
        ("swaps size", lambda n: swaps.parse_swaps(SWAPS + f"/dev/a partition {n} 0 -2\n")),
        ("swaps priority", lambda n: swaps.parse_swaps(SWAPS + f"/dev/a partition 1 0 {n}\n")),
        ("uptime", lambda n: uptime.parse_uptime(f"{n} 1.0\n")),
        ("anacrontab period", lambda n: crontab.parse_anacrontab(f"{n} 5 job run-parts x\n")),
    ]


SITES = _sites()


@pytest.mark.parametrize("number", BAD_NUMBERS, ids=lambda n: repr(n[:12]))
@pytest.mark.parametrize(("where", "call"), SITES, ids=[where for where, _ in SITES])
def test_a_number_no_kernel_prints_is_a_parse_error(
    where: str, call: Callable[[str], object], number: str
) -> None:
    if where == "numa_maps N<node>" and number not in (HUGE, LONG):
        # `N²=1` is no node's count: kept as an unknown key, never read as a node
        (mapping,) = numa.parse_numa_maps(f"7f00 default N{number}=1\n").mappings
        assert mapping.pages_per_node == {} and mapping.counts == {f"N{number}": 1}
        return
    with pytest.raises(ParseError) as info:
        call(number)
    # The message quotes at most a bounded excerpt of the number.
    assert len(str(info.value)) < 400


@pytest.mark.parametrize(("where", "call"), SITES, ids=[where for where, _ in SITES])
def test_the_same_places_read_a_plain_number(where: str, call: Callable[[str], object]) -> None:
    """The table above fails for the right reason: the same text with `1` parses."""
    if where in ("node meminfo node", "node meminfo value"):
        # one line alone lacks MemFree: the number itself was accepted
        with pytest.raises(ParseError, match="MemFree"):
            call("1")
        return
    if where in ("cgroup memory.events",):
        assert cgroup.parse_memory_events("oom 1\n", "events").oom == 1
        return
    call("1")


@pytest.mark.parametrize(
    "line",
    [
        "a\\999 /x ext4 rw 0 0",  # not octal: kept as it is
        "a\\²²² /x ext4 rw 0 0",
        "a\\12 /x ext4 rw 0 0",  # too short for an escape
        "a\\ /x ext4 rw 0 0",
    ],
)
def test_mounts_keeps_a_backslash_that_starts_no_octal_escape(line: str) -> None:
    (mount,) = mounts.parse_mounts(line + "\n")
    assert mount.device == line.split()[0]
    assert mount.mountpoint == "/x"


def test_mounts_unescapes_the_kernels_octal_escapes() -> None:
    (mount,) = mounts.parse_mounts("/dev/sda1 /mnt/a\\040b\\011c\\134 ext4 rw 0 0\n")
    assert mount.mountpoint == "/mnt/a b\tc\\"


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("42", 42), ("18446744073709551615", 2**64 - 1), ("9" * MAX_DIGITS, None)],
)
def test_to_int_reads_ascii_digits_up_to_the_length_bound(text: str, value: int | None) -> None:
    expected = int(text) if value is None else value
    assert to_int(text) == expected


@pytest.mark.parametrize("text", (*BAD_NUMBERS, " 5", "", "-5", "5-", "--5", "5.0", "1e3", "٣٣"))
def test_to_int_refuses_anything_else(text: str) -> None:
    assert to_int(text) is None
    assert not is_digits(text)


def test_to_int_signed() -> None:
    assert to_int("-5", signed=True) == -5
    assert to_int("-", signed=True) is None
    assert to_int("--5", signed=True) is None
    assert to_int("-" + HUGE, signed=True) is None


@pytest.mark.parametrize(
    ("text", "value"), [("7f3a", 0x7F3A), ("0x10", 16), ("FFFF", 0xFFFF), ("g1", None), ("", None)]
)
def test_to_hex(text: str, value: int | None) -> None:
    assert to_hex(text) == value
    assert to_hex("f" * (MAX_DIGITS + 1)) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.00", 0.0), ("12345.67", 12345.67), ("-1.5", -1.5), ("3", 3.0), (".5", 0.5), ("5.", 5.0)],
)
def test_to_float_reads_fixed_point(text: str, value: float) -> None:
    assert to_float(text) == value


@pytest.mark.parametrize(
    "text",
    ["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "1e3", "1_0.0", "٣.٣", "²", "", ".", "-",
     "1" * 400],
)  # fmt: skip
def test_to_float_refuses_non_finite_and_non_ascii(text: str) -> None:
    assert to_float(text) is None


def test_parse_int_and_parse_float_raise_parse_errors_with_a_bounded_quote() -> None:
    assert parse_int("12", "src", "x") == 12
    assert parse_int("-12", "src", "x", signed=True) == -12
    assert parse_float("1.5", "src", "x") == 1.5
    with pytest.raises(ParseError, match="x: expected a non-negative integer") as info:
        parse_int(HUGE, "src", "x")
    assert info.value.source == "src" and "5000 characters" in info.value.problem
    with pytest.raises(ParseError, match="expected a finite decimal number"):
        parse_float("nan", "src", "x")


def test_quote_and_clip_bound_host_text() -> None:
    assert quote("abc") == "'abc'"
    long = "x" * 1000
    assert quote(long) == repr("x" * 80) + "... (1000 characters)"
    assert quote(long, 10) == repr("x" * 10) + "... (1000 characters)"
    assert clip("abc") == "abc"
    assert clip(long, 5) == "xxxxx..."
