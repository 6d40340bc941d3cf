"""Pressure files: upstream, early out-of-tree and future formats; malformed and truncated."""

from __future__ import annotations

import pytest

from memcheck.errors import ParseError
from memcheck.parse.psi import parse_pressure

# Linux 4.20+ /proc/pressure/memory (here Ubuntu 22.04, 5.15, a host under pressure).
UBUNTU2204 = (
    "some avg10=12.37 avg60=8.02 avg300=3.11 total=912345678\n"
    "full avg10=0.83 avg60=0.40 avg300=0.12 total=45678901\n"
)
# An idle RHEL 9 host (5.14).
RHEL9_IDLE = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
# The early out-of-tree patches printed averages only, no cumulative total.
EARLY = "some avg10=1.50 avg60=0.75 avg300=0.20\nfull avg10=0.10 avg60=0.05 avg300=0.01\n"
# /proc/pressure/cpu before 5.13 had no full line; the parser takes any pressure file.
CPU_512 = "some avg10=4.00 avg60=2.00 avg300=1.00 total=123\n"
# A kernel adding a key, a line of a kind this parser does not know, CRLF line ends.
FUTURE = (
    "some avg10=2.00 avg60=1.00 avg300=0.50 avg1200=0.25 total=99\r\n"
    "trigger some 150000 1000000\r\n"
    "full avg10=0.50 avg60=0.25 avg300=0.10 total=9\r\n"
)


@pytest.mark.parametrize(
    ("text", "some10", "some60", "full10", "total"),
    [
        (UBUNTU2204, 12.37, 8.02, 0.83, 912345678),
        (RHEL9_IDLE, 0.0, 0.0, 0.0, 0),
        (EARLY, 1.5, 0.75, 0.1, None),
        (CPU_512, 4.0, 2.0, None, 123),
        (FUTURE, 2.0, 1.0, 0.5, 99),
        # avg300 cut off mid-token at the end of the output: avg10 and avg60 still stand.
        ("some avg10=3.00 avg60=2.00 avg3", 3.0, 2.0, None, None),
    ],
)
def test_variants(
    text: str, some10: float, some60: float, full10: float | None, total: int | None
) -> None:
    pressure = parse_pressure(text, "/proc/pressure/memory")
    assert pressure.some.avg10 == some10
    assert pressure.some.avg60 == some60
    assert (pressure.full.avg10 if pressure.full else None) == full10
    assert pressure.some.total_us == total


def test_unknown_keys_are_kept() -> None:
    pressure = parse_pressure(FUTURE)
    assert pressure.some.extra == {"avg1200": "0.25"}
    assert pressure.some.avg300 == 0.5


def test_source_is_the_cgroup_file() -> None:
    path = "/sys/fs/cgroup/system.slice/mysqld.service/memory.pressure"
    assert parse_pressure(UBUNTU2204, path).source == path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("  \n\n", "empty"),
        ("full avg10=1.00 avg60=0.00 avg300=0.00 total=1\n", "no 'some' line"),
        ("some avg10=abc avg60=0.00 avg300=0.00 total=0\n", "expected a percentage"),
        ("some avg10=100.01 avg60=0.00 avg300=0.00 total=0\n", "0..100"),
        ("some avg10=-1.00 avg60=0.00 avg300=0.00 total=0\n", "0..100"),
        ("some avg10=nan avg60=0.00 avg300=0.00 total=0\n", "0..100"),
        ("some avg10= avg60=0.00\n", "no value"),
        ("some avg10=0.00 total=1.5\n", "microseconds"),
        ("some avg10=0.00 total=-3\n", "microseconds"),
        ("some\n", "no avg10"),
        ("some av", "no avg10"),
        ("some 0.00 0.00 0.00\n", "no avg10"),
        ("some avg10=0.00\nsome avg10=1.00\n", "second 'some'"),
        ("some avg10=1.00 avg60=0.00\nfull avg10=x\n", "line 2"),
    ],
)
def test_malformed(text: str, problem: str) -> None:
    with pytest.raises(ParseError, match=problem) as info:
        parse_pressure(text, "/proc/pressure/memory")
    assert info.value.source == "/proc/pressure/memory"
