"""Make text that came from a host safe to show in XML, HTML and on a terminal.

Every character that XML 1.0 cannot hold, that a terminal would act on (C0/C1 controls, so
ESC and CSI sequences), or that silently reorders text (bidirectional overrides) is replaced by
a visible escape such as ``\\x1b`` or ``\\u202e``, so nothing is ever dropped without trace.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Plane non-characters U+nFFFE and U+nFFFF for planes 1..16; XML 1.0 cannot hold those of
# plane 0 and junit-xml strips the rest, so all are escaped.
_PLANE_NONCHARS = "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}-{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17)
)
_OTHER_UNSAFE = (
    "\x7f-\x9f"  # DEL and C1 controls
    "\ud800-\udfff"  # lone surrogates, e.g. undecodable bytes kept by surrogateescape
    "\ufdd0-\ufdef\ufffe\uffff"  # non-characters
    "\u202a-\u202e\u2066-\u2069"  # bidirectional embeddings, overrides and isolates
    + _PLANE_NONCHARS
)
_ESCAPED = re.compile("[\x00-\x1f" + _OTHER_UNSAFE + "]")  # C0 controls too
# The same without tab and newline, for the usual `keep`, and both for ASCII text, where
# a small class is searched about ten times faster. Most text has no match at all.
_ESCAPED_BUT_TAB_NL = re.compile("[\x00-\x08\x0b-\x1f" + _OTHER_UNSAFE + "]")
_ASCII_ESCAPED = re.compile("[\x00-\x1f\x7f]")
_ASCII_ESCAPED_BUT_TAB_NL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def escape_char(char: str) -> str:
    """The visible form of one character: \\x1b, \\u202e or \\U0001fffe."""
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _escape_match(match: re.Match[str]) -> str:
    return escape_char(match.group(0))


def visible(text: str, keep: str = "\t\n") -> str:
    """`text` with every unsafe character escaped, except those in `keep`."""
    if keep == "\t\n" or keep == "":
        if text.isascii():
            pattern = _ASCII_ESCAPED_BUT_TAB_NL if keep else _ASCII_ESCAPED
        else:
            pattern = _ESCAPED_BUT_TAB_NL if keep else _ESCAPED
        return pattern.sub(_escape_match, text) if pattern.search(text) else text

    def replace(match: re.Match[str]) -> str:
        char = match.group(0)
        return char if char in keep else escape_char(char)

    return _ESCAPED.sub(replace, text)


def one_line(text: str) -> str:
    """`text` made visible for a single line: newlines and tabs escaped as well."""
    return visible(text, keep="")


def deep_visible(value: Any, keep: str = "\t\n") -> Any:
    """A copy of a JSON value with `visible` applied to every string, keys included."""
    if isinstance(value, str):
        return visible(value, keep)
    if isinstance(value, list):
        return [deep_visible(v, keep) for v in value]
    if isinstance(value, dict):
        return {visible(str(k), keep): deep_visible(v, keep) for k, v in value.items()}
    return value


def show_value(value: Any) -> str:
    """An observed/expected value as a user reads it: strings bare, the rest as JSON."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
