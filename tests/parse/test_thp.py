from __future__ import annotations

import pytest

from memcheck.errors import ParseError
from memcheck.parse.kconfig import parse_kconfig
from memcheck.parse.kernel_cmdline import parse_cmdline
from memcheck.parse.thp import mthp_size_bytes, parse_flag, parse_mode

SRC = "/sys/kernel/mm/transparent_hugepage/enabled"


@pytest.mark.parametrize(
    ("text", "selected", "choices"),
    [
        ("always [madvise] never\n", "madvise", ("always", "madvise", "never")),
        ("[always] madvise never\n", "always", ("always", "madvise", "never")),
        ("always madvise [never]", "never", ("always", "madvise", "never")),
        # defrag on 4.6+: five modes
        (
            "always defer [defer+madvise] madvise never\n",
            "defer+madvise",
            ("always", "defer", "defer+madvise", "madvise", "never"),
        ),
        ("always defer defer+madvise [madvise] never", "madvise", None),
        # defrag before 4.6 and on RHEL 6/7: three modes
        ("[always] madvise never", "always", None),
        # per-size hugepages-<size>kB/enabled on 6.8+
        ("always [inherit] madvise never\n", "inherit", ("always", "inherit", "madvise", "never")),
        ("always inherit madvise [never]\n", "never", None),
        # surrounding whitespace and tabs
        ("  always\t[madvise]  never \n\n", "madvise", None),
    ],
)
def test_parse_mode(text: str, selected: str, choices: tuple[str, ...] | None) -> None:
    mode = parse_mode(text, SRC)
    assert mode.selected == selected
    assert mode.source == SRC
    if choices is not None:
        assert mode.choices == choices


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        "always madvise never",  # no bracket
        "[always] [madvise] never",  # two brackets
        "[always madvise never",  # unbalanced
        "always] madvise",
        "[] madvise",
        "always [mad vise] never",
        "[madvise",  # truncated
        "1",
        "\x00\x00",
    ],
)
def test_parse_mode_rejects(text: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_mode(text, SRC)
    assert info.value.source == SRC


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1\n", True),
        ("0\n", False),
        ("yes", True),
        ("no\n", False),
        ("[yes] no", True),
        ("yes [no]\n", False),
    ],
)
def test_parse_flag(text: str, value: bool) -> None:
    assert parse_flag(text, "khugepaged/defrag") is value


@pytest.mark.parametrize("text", ["", "2", "maybe", "[1] [0]", "-1"])
def test_parse_flag_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_flag(text, "khugepaged/defrag")


@pytest.mark.parametrize(
    ("directory", "size"),
    [
        ("/sys/kernel/mm/transparent_hugepage/hugepages-2048kB", 2 * 1024 * 1024),
        ("/sys/kernel/mm/transparent_hugepage/hugepages-64kB/", 64 * 1024),
        ("hugepages-1048576kB", 1024 * 1024 * 1024),
    ],
)
def test_mthp_size(directory: str, size: int) -> None:
    assert mthp_size_bytes(directory, "x") == size


@pytest.mark.parametrize("directory", ["hugepages-2MB", "hugepages-kB", "/sys/kernel/mm"])
def test_mthp_size_rejects(directory: str) -> None:
    with pytest.raises(ParseError):
        mthp_size_bytes(directory, "x")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("BOOT_IMAGE=/vmlinuz-6.8.0 root=UUID=ab ro quiet splash\n", None),
        ("BOOT_IMAGE=/vmlinuz ro transparent_hugepage=never\n", "never"),
        # the last occurrence wins, as the kernel applies both in order
        ("transparent_hugepage=always quiet transparent_hugepage=madvise", "madvise"),
        ('console=ttyS0 acpi_osi="Windows 2009" transparent_hugepage=never', "never"),
        # after `--` the words belong to init
        ("ro -- transparent_hugepage=never", None),
        ("", None),
        ("transparent_hugepage", None),  # bare flag
        ('x="unterminated transparent_hugepage=never', None),  # quote runs to the end
    ],
)
def test_kernel_cmdline(text: str, value: str | None) -> None:
    assert parse_cmdline(text).get("transparent_hugepage") == value


def test_kernel_cmdline_quoted_value_and_flags() -> None:
    cmdline = parse_cmdline('a="b c" quiet d=')
    assert cmdline.get("a") == "b c"
    assert cmdline.has("quiet") and cmdline.get("quiet") is None
    assert cmdline.get("d") == ""


KCONFIG = """#
# Automatically generated file; DO NOT EDIT.
# Linux/x86 6.8.0 Kernel Configuration
#
CONFIG_CC_VERSION_TEXT="gcc (Ubuntu 13.2.0) 13.2.0"
CONFIG_TRANSPARENT_HUGEPAGE=y
# CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS is not set
CONFIG_TRANSPARENT_HUGEPAGE_MADVISE=y
# CONFIG_TRANSPARENT_HUGEPAGE_NEVER is not set
CONFIG_NR_CPUS=8192
CONFIG_ZSWAP=m
"""


def test_kconfig() -> None:
    options = parse_kconfig(KCONFIG, "/boot/config-6.8.0")
    assert options["CONFIG_TRANSPARENT_HUGEPAGE_MADVISE"] == "y"
    assert options["CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS"] == "n"
    assert options["CONFIG_CC_VERSION_TEXT"] == "gcc (Ubuntu 13.2.0) 13.2.0"
    assert options["CONFIG_NR_CPUS"] == "8192"
    assert options["CONFIG_ZSWAP"] == "m"


@pytest.mark.parametrize("text", ["", "  \n", "CONFIG_X=y\nthis is not kconfig\n", "CONFIG_=y"])
def test_kconfig_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_kconfig(text, "/boot/config-x")
