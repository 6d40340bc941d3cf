"""/proc/uptime parsing."""

from __future__ import annotations

import pytest

from memcheck.errors import ParseError
from memcheck.parse.uptime import Uptime, parse_uptime


@pytest.mark.parametrize(
    "text, expected",
    [
        ("350735.47 234388.90\n", Uptime(350735.47, 234388.90)),
        ("0.01 0.00\n", Uptime(0.01, 0.0)),
        ("90000.00 1404000.12", Uptime(90000.0, 1404000.12)),  # idle sums every CPU
        ("12.5\n", Uptime(12.5, None)),  # some container runtimes print only the uptime
        ("  86400.00   1.00  \r\n", Uptime(86400.0, 1.0)),
    ],
)
def test_uptime(text: str, expected: Uptime):
    assert parse_uptime(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "\n", "abc def", "1.0 2.0 3.0", "-5.0 1.0", "nan 1.0", "inf 0", "1.0 x", "1,5 2,5",
     "<html>"],
)  # fmt: skip
def test_malformed_uptime(text: str):
    with pytest.raises(ParseError) as info:
        parse_uptime(text)
    assert info.value.source == "/proc/uptime"
