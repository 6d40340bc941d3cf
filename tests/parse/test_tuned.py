from __future__ import annotations

import pytest

from memcheck.errors import ParseError
from memcheck.parse.tmpfiles import parse_tmpfiles
from memcheck.parse.tuned import parse_active_profile, parse_tuned_conf

THROUGHPUT = """#
# tuned configuration
#

[main]
summary=Broadly applicable tuning that provides excellent performance across a variety of common server workloads

[cpu]
governor=performance
energy_perf_bias=performance

[vm]
transparent_hugepages=always

[sysctl]
kernel.sched_min_granularity_ns = 10000000
vm.dirty_ratio = 40
"""
CUSTOM = """[main]
summary=No THP for MongoDB
include=throughput-performance, virtual-guest

[vm]
transparent_hugepages = never
transparent_hugepage.defrag = "never"

[bootloader]
cmdline_thp=transparent_hugepage=never
"""


def test_tuned_vm_section() -> None:
    conf = parse_tuned_conf(THROUGHPUT, "/usr/lib/tuned/throughput-performance/tuned.conf")
    option = conf.get("vm", "transparent_hugepages")
    assert option is not None and option.value == "always" and option.line == 13
    assert conf.includes == ()
    assert conf.plugin_sections("vm") == ["vm"]


def test_tuned_include_and_quotes() -> None:
    conf = parse_tuned_conf(CUSTOM, "/etc/tuned/no-thp/tuned.conf")
    assert conf.includes == ("throughput-performance", "virtual-guest")
    defrag = conf.get("vm", "transparent_hugepage.defrag")
    assert defrag is not None and defrag.value == "never"
    assert conf.plugin_sections("bootloader") == ["bootloader"]


def test_tuned_typed_section() -> None:
    conf = parse_tuned_conf("[my_vm]\ntype=vm\ntransparent_hugepage=madvise\n", "t.conf")
    assert conf.plugin_sections("vm") == ["my_vm"]
    option = conf.get("my_vm", "transparent_hugepage")
    assert option is not None and option.value == "madvise"


@pytest.mark.parametrize(
    "text", ["transparent_hugepages=never\n", "[vm]\nnot an option\n", "[vm]\n=x\n"]
)
def test_tuned_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_tuned_conf(text, "t.conf")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("virtual-guest\n", ("virtual-guest",)),
        ("throughput-performance mssql\n", ("throughput-performance", "mssql")),
        ("", ()),
        ("\n", ()),
    ],
)
def test_active_profile(text: str, names: tuple[str, ...]) -> None:
    assert parse_active_profile(text) == names


TMPFILES = """# Disable THP
w /sys/kernel/mm/transparent_hugepage/enabled - - - - never
w+ "/sys/kernel/mm/transparent_hugepage/defrag" - - - - defer+madvise
d /run/foo 0755 root root -
L /tmp/x - - - - /tmp/y z
"""


def test_tmpfiles() -> None:
    lines = parse_tmpfiles(TMPFILES, "/etc/tmpfiles.d/thp.conf")
    assert [(entry.type, entry.path, entry.argument) for entry in lines] == [
        ("w", "/sys/kernel/mm/transparent_hugepage/enabled", "never"),
        ("w+", "/sys/kernel/mm/transparent_hugepage/defrag", "defer+madvise"),
        ("d", "/run/foo", None),
        ("L", "/tmp/x", "/tmp/y z"),
    ]
    assert lines[0].line == 2


@pytest.mark.parametrize("text", ["w\n", "  x  \n"])
def test_tmpfiles_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_tmpfiles(text, "t.conf")
