"""Parser for systemd-tmpfiles configuration, `tmpfiles.d/*.conf` (see tmpfiles.d(5)).

Each line is `Type Path Mode User Group Age Argument`; `-` leaves a field at its default and
the argument runs to the end of the line. Type `w` writes the argument to an existing file at
boot (systemd-tmpfiles-setup.service), which is how some hosts set THP modes in /sys.
"""

from __future__ import annotations

from dataclasses import dataclass

from memcheck.errors import ParseError
from memcheck.parse.kernel_cmdline import split_words
from memcheck.parse.values import quote


@dataclass(frozen=True)
class TmpfilesLine:
    type: str
    path: str
    argument: str | None
    source: str
    line: int


def parse_tmpfiles(text: str, source: str) -> tuple[TmpfilesLine, ...]:
    """Every configuration line; `ParseError` on a line with a type but no path."""
    entries: list[TmpfilesLine] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head = split_words(line)
        if len(head) < 2:
            raise ParseError(
                source, f"line {number}: expected 'Type Path ...', got {quote(raw, 60)}"
            )
        argument: str | None = None
        if len(head) >= 7:
            # the argument is the raw rest after six fields (it may hold spaces)
            rest = line
            for _ in range(6):
                rest = rest.lstrip()
                rest = rest[_field_end(rest) :]
            argument = rest.strip() or None
        entries.append(TmpfilesLine(head[0], head[1], argument, source, number))
    return tuple(entries)


def _field_end(text: str) -> int:
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch.isspace() and not quoted:
            return i
    return len(text)
