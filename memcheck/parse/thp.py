"""Parsers for the transparent hugepage (THP) controls under /sys/kernel/mm/transparent_hugepage.

See https://docs.kernel.org/admin-guide/mm/transhuge.html. `enabled` and `defrag` list every
mode the kernel knows with the selected one in brackets (`always [madvise] never`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memcheck.errors import ParseError
from memcheck.parse.values import quote, to_int

# Mode words as the kernel prints them. `enabled` has three modes; `defrag` three on kernels
# before 4.6 and on RHEL 6/7 (`always madvise never`), five after (`always defer defer+madvise
# madvise never`); per-size `hugepages-<size>kB/enabled` (6.8+) adds `inherit`. Unknown words
# are accepted so that a future mode does not break parsing.
_WORD = re.compile(r"^\[?[a-z][a-z+_-]*\]?$")


@dataclass(frozen=True)
class ThpMode:
    """One bracketed control: the selected mode and every mode offered."""

    selected: str
    choices: tuple[str, ...]
    source: str


def parse_mode(text: str, source: str) -> ThpMode:
    """Parse `enabled`, `defrag` or `hugepages-<size>kB/enabled`: exactly one bracketed word."""
    words = text.split()
    if not words:
        raise ParseError(source, "empty; expected modes such as 'always [madvise] never'")
    selected: list[str] = []
    choices: list[str] = []
    for word in words:
        if not _WORD.match(word) or word.count("[") != word.count("]"):
            raise ParseError(source, f"unexpected word {quote(word, 40)} in {quote(text.strip())}")
        if word.startswith("["):
            if not word.endswith("]"):
                raise ParseError(source, f"unbalanced bracket in {text.strip()[:80]!r}")
            word = word[1:-1]
            selected.append(word)
        choices.append(word)
    if len(selected) != 1:
        raise ParseError(
            source,
            f"expected exactly one [bracketed] mode, found {len(selected)} in {text.strip()[:80]!r}",
        )
    return ThpMode(selected[0], tuple(choices), source)


def parse_flag(text: str, source: str) -> bool:
    """Parse `khugepaged/defrag`: `0`/`1` (RHEL 7+ and upstream), `yes`/`no` or
    `[yes] no` (RHEL 6's redhat_transparent_hugepage)."""
    value = text.strip()
    if value.startswith("[") or " " in value:
        value = parse_mode(value, source).selected
    if value in ("1", "yes"):
        return True
    if value in ("0", "no"):
        return False
    raise ParseError(source, f"expected 0/1 or yes/no, got {text.strip()[:40]!r}")


_SIZE_DIR = re.compile(r"hugepages-([0-9]+)kB$", re.ASCII)


def mthp_size_bytes(directory: str, source: str) -> int:
    """`hugepages-2048kB` -> 2097152 (the per-size directories of kernels 6.8+)."""
    match = _SIZE_DIR.search(directory.rstrip("/"))
    size_kb = to_int(match.group(1)) if match else None
    if size_kb is None:
        raise ParseError(source, f"expected a hugepages-<size>kB directory, got {quote(directory)}")
    return size_kb * 1024
