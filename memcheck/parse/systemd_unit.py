"""Parser for systemd unit files and drop-ins (see systemd.unit(5) and systemd.syntax(7)).

Sections hold `Key=Value` assignments; `#` and `;` start comments; a trailing backslash joins
the next line; an empty assignment (`ExecStart=`) resets a list-valued setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memcheck.errors import ParseError
from memcheck.parse.values import quote


@dataclass(frozen=True)
class Assignment:
    section: str
    key: str
    value: str
    source: str
    line: int


@dataclass(frozen=True)
class UnitFile:
    """All assignments of one file, in order."""

    source: str
    assignments: tuple[Assignment, ...] = field(default_factory=tuple)


def parse_unit(text: str, source: str) -> UnitFile:
    """Parse one unit file or drop-in. Raises `ParseError` on lines that are not assignments."""
    section = ""
    out: list[Assignment] = []
    # Continued lines are joined once the continuation ends: `+=` on a string may copy it
    # every time, which costs a long continuation its length squared.
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending:
            if not line or line[0] in "#;":
                continue
            start = number
        elif line[:1] in "#;":
            continue  # comment lines inside a continuation are skipped
        if line.endswith("\\"):
            pending.append(line[:-1] + " ")
            continue
        line = "".join(pending) + line
        pending = []
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ParseError(
                source, f"line {start}: expected Key=Value or [Section], got {quote(raw, 60)}"
            )
        if not section:
            raise ParseError(source, f"line {start}: assignment before any [Section]")
        out.append(Assignment(section, key.strip(), value.strip(), source, start))
    if pending:
        line = "".join(pending).strip()
        key, sep, value = line.partition("=")
        if sep and section:
            out.append(Assignment(section, key.strip(), value.strip(), source, start))
    return UnitFile(source, tuple(out))
