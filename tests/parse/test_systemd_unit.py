from __future__ import annotations

import pytest

from memcheck.errors import ParseError
from memcheck.parse.systemd_unit import parse_unit

DISABLE_THP = """[Unit]
Description=Disable Transparent Huge Pages (THP)
DefaultDependencies=no
After=sysinit.target local-fs.target
Before=mongod.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo never | tee /sys/kernel/mm/transparent_hugepage/enabled > /dev/null'

[Install]
WantedBy=basic.target
"""


def test_real_unit() -> None:
    unit = parse_unit(DISABLE_THP, "/etc/systemd/system/disable-thp.service")
    keys = [(a.section, a.key, a.line) for a in unit.assignments]
    assert ("Service", "ExecStart", 9) in keys
    assert ("Install", "WantedBy", 12) in keys
    exec_start = next(a for a in unit.assignments if a.key == "ExecStart")
    assert exec_start.value.startswith("/bin/sh -c 'echo never")
    assert exec_start.source == "/etc/systemd/system/disable-thp.service"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a trailing backslash joins lines with a space; the assignment keeps its first line
        (
            "[Service]\nExecStart=/bin/sh -c \\\n  'echo never > /x'\n",
            [("ExecStart", "/bin/sh -c  'echo never > /x'", 2)],
        ),
        # comment lines inside a continuation are skipped (systemd.syntax(7))
        (
            "[Service]\nExecStart=/bin/a \\\n# note\n; note\n  --flag\n",
            [("ExecStart", "/bin/a  --flag", 2)],
        ),
        (
            "# comment\n; also a comment\n[Service]\n  OOMScoreAdjust = -1000  \n",
            [("OOMScoreAdjust", "-1000", 4)],
        ),
        # an empty assignment is kept; Unit.assignments() applies it as a reset
        (
            "[Service]\nExecStartPre=/bin/a\nExecStartPre=\n",
            [("ExecStartPre", "/bin/a", 2), ("ExecStartPre", "", 3)],
        ),
        ("[Service]\nEnvironment=A=1 B=2\n", [("Environment", "A=1 B=2", 2)]),
        # a continuation at end of file is still an assignment
        ("[Service]\nExecStart=/bin/a \\", [("ExecStart", "/bin/a", 2)]),
        ("", []),
    ],
)
def test_assignments(text: str, expected: list[tuple[str, str, int]]) -> None:
    unit = parse_unit(text, "u.service")
    assert [(a.key, a.value, a.line) for a in unit.assignments] == expected


@pytest.mark.parametrize(
    "text",
    [
        "ExecStart=/bin/true\n",  # before any section
        "[Service]\nthis line has no equals sign\n",
        "[Service]\n=value\n",
        "[Service\nType=oneshot\n",  # unbalanced section header
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_unit(text, "bad.service")
    assert info.value.source == "bad.service"
