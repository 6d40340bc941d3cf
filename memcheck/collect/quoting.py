"""The single place where shell text is built from data: quoting of words and of globs.

Every path, pattern and argument that ends up in the collection script passes through
`quote`, `quote_glob` or `join`; nothing is pasted into shell text any other way.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

# Inside a bracket expression we let through only characters that mean the same thing to
# every POSIX shell and to `Snapshot.glob`; `^` for negation is a bash-ism (use `!`).
_BRACKET = re.compile(r"\[!?[A-Za-z0-9_.:+\-]+\]")
_GLOB_TOKEN = re.compile(r"\*|\?|\[[^\]]*\]")


class QuotingError(ValueError):
    """A word that cannot be put into the script safely."""


def check_word(word: str, lines: bool = False) -> str:
    """Refuse what no quoting makes safe or portable: NUL, non-ASCII, control characters.

    Non-ASCII would also make testinfra probe the host's encoding with extra commands, and
    the collector promises one command per host. `lines` lets newlines through (a script).
    """
    allowed = "\t\n" if lines else "\t"
    for ch in word:
        code = ord(ch)
        if code == 0:
            raise QuotingError(f"NUL byte in {word!r}")
        if code > 0x7E or (code < 0x20 and ch not in allowed):
            raise QuotingError(f"only printable ASCII can be sent to a host: {word!r}")
    return word


def quote(word: str, lines: bool = False) -> str:
    """One shell word, safe to paste anywhere a word goes (shlex.quote after `check_word`).

    `lines=True` is for a whole script passed as one argument (`sh -c SCRIPT`).
    """
    return shlex.quote(check_word(word, lines))


def join(words: Iterable[str]) -> str:
    """A command line of quoted words."""
    return " ".join(quote(w) for w in words)


def is_glob(pattern: str) -> bool:
    """Whether a path holds shell glob characters (`*`, `?`, `[`)."""
    return any(ch in pattern for ch in "*?[")


def quote_glob(pattern: str) -> str:
    """A path pattern as shell text: literal parts quoted, `*`, `?`, `[...]` left to the shell.

    `/proc/[0-9]*/comm` becomes `'/proc/'[0-9]*'/comm'`. Bracket expressions are limited to
    letters, digits and `_.:+-` (optionally negated with `!`) so nothing in them can mean
    anything else to the shell.
    """
    check_word(pattern)
    if "**" in pattern:
        raise QuotingError(f"'**' is only allowed as a final '/**': {pattern!r}")
    out: list[str] = []
    pos = 0
    for match in _GLOB_TOKEN.finditer(pattern):
        literal = pattern[pos : match.start()]
        if literal:
            out.append(shlex.quote(literal))
        token = match.group(0)
        if token.startswith("[") and not _BRACKET.fullmatch(token):
            raise QuotingError(f"unsupported bracket expression {token!r} in {pattern!r}")
        out.append(token)
        pos = match.end()
    rest = pattern[pos:]
    if "[" in rest:
        raise QuotingError(f"unbalanced bracket in {pattern!r}")
    if rest:
        out.append(shlex.quote(rest))
    return "".join(out) if out else "''"
