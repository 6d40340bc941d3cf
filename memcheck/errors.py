"""Exceptions that cross layers: unreadable inputs, unparseable text, bad configuration."""

from __future__ import annotations


class MemcheckError(Exception):
    """Base class for memcheck's own errors."""


class Unavailable(MemcheckError):
    """A file a check needs could not be read on the host (missing, permission denied, ...)."""

    def __init__(self, path: str, reason: str) -> None:
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


class ParseError(MemcheckError):
    """Text from a host did not have the shape its parser expects."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"cannot parse {source}: {problem}")
        self.source = source
        self.problem = problem


class ConfigError(MemcheckError):
    """A profile, waiver file or option is wrong. Printed as one line; exit code 2."""

    def __init__(self, where: str, key: str | None, problem: str) -> None:
        prefix = f"{where}: {key}: " if key else f"{where}: "
        super().__init__(prefix + problem)
        self.where = where
        self.key = key
        self.problem = problem
