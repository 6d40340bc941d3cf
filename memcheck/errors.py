"""Exceptions that cross layers: unreadable inputs, unparseable text, bad configuration."""

from __future__ import annotations

import re


class MemcheckError(Exception):
    """Base class for memcheck's own errors."""


class Unavailable(MemcheckError):
    """A file a check needs could not be read on the host (missing, permission denied, ...)."""

    def __init__(self, path: str, reason: str) -> None:
        path, reason = clip(path), clip(reason)
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    @property
    def missing(self) -> bool:
        return self.reason == MISSING

    @property
    def denied(self) -> bool:
        return "permission denied" in self.reason.lower() or "not permitted" in self.reason.lower()


MISSING = "no such file"


# What an error may quote of a host's text: a 16 MB line must not be copied into every
# check's error and from there into every report.
QUOTE_LIMIT = 300


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


class ParseError(MemcheckError):
    """Text from a host did not have the shape its parser expects."""

    def __init__(self, source: str, problem: str) -> None:
        source, problem = clip(source), clip(problem)
        super().__init__(f"cannot parse {source}: {problem}")
        self.source = source
        self.problem = problem


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


class ConfigError(MemcheckError):
    """A profile, waiver file or option is wrong. Printed as one line; exit code 2."""

    def __init__(self, where: str, key: str | None, problem: str) -> None:
        prefix = f"{where}: {key}: " if key else f"{where}: "
        # One line whatever a path, key or value holds: control characters are escaped.
        super().__init__(_CONTROL.sub(_escape, prefix + problem))
        self.where = where
        self.key = key
        self.problem = problem
