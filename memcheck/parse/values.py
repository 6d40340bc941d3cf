"""Numbers and quotes in host files: the rules every parser shares.

The kernel prints numbers in ASCII decimal (hexadecimal for addresses), without signs other
than `-`, separators or exponents. Python's own conversions accept far more: `int()` takes
other scripts' digits (`"٣"`), underscores (`"1_000"`) and surrounding spaces, refuses more than
4,300 digits with a `ValueError`, and `"²".isdigit()` is true while `int("²")` fails; `float()`
takes `nan`, `inf` and `1e999`. Parsers read numbers through `parse_int` and `parse_float` (or
`to_int`, `to_hex` and `to_float`, which return None so that a parser can word its own error), and quote
host text in their errors through `quote`, so that a 16 MB line does not become a 16 MB message.
"""

from __future__ import annotations

import math
import re

from memcheck.errors import ParseError

MAX_DIGITS = 64
"""Longest number (sign and point included) a parser converts: a 64-bit counter has 20 digits,
so anything longer is not a kernel's number, and converting it could cost time."""

QUOTE_LIMIT = 80
"""Characters of host text quoted in an error message."""

_DECIMAL = re.compile(r"-?[0-9]+", re.ASCII)
_UNSIGNED = re.compile(r"[0-9]+", re.ASCII)
_HEX = re.compile(r"(?:0[xX])?[0-9a-fA-F]+", re.ASCII)
# Fixed-point as the kernel prints it (`12345.67`), plus the forms a hand-written tree may use
# (`12`, `12.`, `.5`); no exponent, so no overflow to infinity.
_FIXED = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def is_digits(text: str) -> bool:
    """True for a non-empty run of ASCII digits 0-9 (unlike `str.isdigit`, which is also true
    for `²` and `٣`), at most `MAX_DIGITS` long."""
    return len(text) <= MAX_DIGITS and _UNSIGNED.fullmatch(text) is not None


def to_int(text: str, *, signed: bool = False) -> int | None:
    """`text` as an integer, or None unless it is ASCII digits (after a `-` when `signed`) of
    at most `MAX_DIGITS` characters."""
    if len(text) > MAX_DIGITS:
        return None
    pattern = _DECIMAL if signed else _UNSIGNED
    return int(text) if pattern.fullmatch(text) else None


def to_hex(text: str) -> int | None:
    """`text` as a hexadecimal integer (`7f3a`, `0x7f3a`), or None; at most `MAX_DIGITS` long."""
    if len(text) > MAX_DIGITS or not _HEX.fullmatch(text):
        return None
    return int(text, 16)


def to_float(text: str) -> float | None:
    """`text` as a finite float, or None unless it is fixed-point ASCII (`-12.5`, `3`) of at
    most `MAX_DIGITS` characters: never nan or infinity."""
    if len(text) > MAX_DIGITS or not _FIXED.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_int(text: str, source: str, what: str, *, signed: bool = False) -> int:
    """`to_int`, raising `ParseError(source, "<what>: expected ..., got '<text>'")` instead of
    returning None."""
    value = to_int(text, signed=signed)
    if value is None:
        kind = "an integer" if signed else "a non-negative integer"
        raise ParseError(source, f"{what}: expected {kind}, got {quote(text)}")
    return value


def parse_float(text: str, source: str, what: str) -> float:
    """`to_float`, raising `ParseError` instead of returning None."""
    value = to_float(text)
    if value is None:
        raise ParseError(source, f"{what}: expected a finite decimal number, got {quote(text)}")
    return value


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`repr(text)` for an error message, cut after `limit` characters with the length said."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text` unquoted (a key or a name in a message), cut after `limit` characters."""
    return text if len(text) <= limit else text[:limit] + "..."
