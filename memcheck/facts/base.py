"""Per-host access to the snapshot that every fact mixin builds on."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Callable, TypeVar

from memcheck.errors import ParseError, Unavailable
from memcheck.model import ParamValue
from memcheck.results import RunResult
from memcheck.snapshot import Snapshot

T = TypeVar("T")


def cached(method: Callable[[Any], T]) -> Callable[[Any], T]:
    """Cache a zero-argument fact per Facts instance, including the exception it raised.

    Caching the exception means a malformed file is parsed once and every check that needs it
    gets the same `ParseError` or `Unavailable`.
    """
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self: Any) -> T:
        cache: dict[str, Any] = self._cache
        if name not in cache:
            try:
                cache[name] = (True, method(self))
            except (ParseError, Unavailable) as exc:
                cache[name] = (False, exc)
        ok, value = cache[name]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    return wrapper


class FactsBase:
    """Raw-ish accessors. Checks use the typed accessors of the mixins, not these."""

    def __init__(
        self,
        snapshot: Snapshot,
        selection: Mapping[str, Mapping[str, ParamValue]] | None = None,
        baseline: RunResult | None = None,
    ) -> None:
        self.snapshot = snapshot
        # The checks selected for this run and their effective params: a check such as
        # sysctl_persisted judges the boot values against what the other selected checks ask.
        self.selection: Mapping[str, Mapping[str, ParamValue]] = selection or {}
        # A previous run's results (`--baseline`), for checks that compare runs over time.
        self.baseline = baseline
        self._cache: dict[str, Any] = {}

    @property
    def hostname(self) -> str:
        return self.snapshot.info.hostname

    def text(self, path: str) -> str:
        """The file's text (invalid UTF-8 replaced); raises `Unavailable`."""
        return self.snapshot.read_text(path)

    def optional_text(self, path: str) -> str | None:
        """The file's text, or None when it does not exist. Other read errors still raise."""
        try:
            return self.snapshot.read_text(path)
        except Unavailable as exc:
            if exc.missing:
                return None
            raise

    def exists(self, path: str) -> bool:
        return self.snapshot.exists(path)

    def glob(self, pattern: str) -> list[str]:
        return self.snapshot.glob(pattern)

    def sysctl_path(self, key: str) -> str:
        """`vm.swappiness` -> `/proc/sys/vm/swappiness`."""
        return "/proc/sys/" + key.replace(".", "/")

    def sysctl_raw(self, key: str) -> str:
        """The runtime value of a sysctl as text, stripped; raises `Unavailable`."""
        return self.text(self.sysctl_path(key)).strip()

    def sysctl_int(self, key: str) -> int:
        """The runtime value of an integer sysctl; `ParseError` when it is not one."""
        raw = self.sysctl_raw(key)
        try:
            return int(raw.split()[0])
        except (ValueError, IndexError):
            raise ParseError(
                self.sysctl_path(key), f"expected an integer, got {raw[:40]!r}"
            ) from None

    @property
    def kernel_release(self) -> str | None:
        value = self.optional_text("/proc/sys/kernel/osrelease")
        return value.strip() if value else None

    @property
    def kernel_version(self) -> tuple[int, int] | None:
        """(major, minor) of the running kernel, when `/proc/sys/kernel/osrelease` says."""
        release = self.kernel_release
        if not release:
            return None
        parts = release.split(".")
        try:
            return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)
        except (ValueError, IndexError):
            return None
