"""Parser for a kernel build configuration, `/boot/config-<release>` (Kconfig `.config` format).

See https://docs.kernel.org/kbuild/kconfig.html. Lines are `CONFIG_X=y|m|"text"|123`;
`# CONFIG_X is not set` records an option turned off; other `#` lines are comments.
"""

from __future__ import annotations

import re

from memcheck.errors import ParseError
from memcheck.parse.values import quote

_SET = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_NOT_SET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


def parse_kconfig(text: str, source: str) -> dict[str, str]:
    """Option -> value (`y`, `m`, a number, or the unquoted string); `n` when not set."""
    if not text.strip():
        raise ParseError(source, "empty kernel configuration")
    options: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        not_set = _NOT_SET.match(line)
        if not_set:
            options[not_set.group(1)] = "n"
            continue
        if line.startswith("#"):
            continue
        match = _SET.match(line)
        if not match:
            raise ParseError(
                source, f"line {number}: expected CONFIG_X=value, got {quote(raw, 60)}"
            )
        value = match.group(2)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        options[match.group(1)] = value
    return options
