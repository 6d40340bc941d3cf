"""Per-host access to the snapshot that every fact mixin builds on."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Callable, TypeVar

from memcheck.errors import MISSING, ParseError, Unavailable
from memcheck.model import ParamValue
from memcheck.parse.values import quote, to_int
from memcheck.results import RunResult
from memcheck.snapshot import Snapshot

T = TypeVar("T")

# In the reason recorded for a folder whose entries could not be read, both by the collection
# script ("permission denied (cannot list the directory)") and by the snapshot loader.
LISTING_DENIED = "cannot list"


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


def is_denied(reason: str) -> bool:
    """Whether a recorded read error is a permission problem (root or --sudo would fix it)."""
    lowered = reason.lower()
    return "permission denied" in lowered or "not permitted" in lowered


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

    def read(self, path: str) -> bytes:
        """The file's bytes; raises `Unavailable`, also for a file that looks missing only
        because a folder above it could not be listed (it may well be there)."""
        try:
            return self.snapshot.read(path)
        except Unavailable as exc:
            if exc.missing:
                hidden = self.unlisted(path)
                if hidden is not None:
                    raise Unavailable(path, f"{hidden[1]} ({hidden[0]})") from None
            raise

    def text(self, path: str) -> str:
        """The file's text (invalid UTF-8 replaced); raises `Unavailable`."""
        return self.read(path).decode("utf-8", errors="replace")

    def optional_text(self, path: str) -> str | None:
        """The file's text, or None when it does not exist. Other read errors still raise,
        and so does a file below a folder that could not be listed."""
        try:
            return self.text(path)
        except Unavailable as exc:
            if exc.missing:
                return None
            raise

    def unlisted(self, path: str) -> tuple[str, str] | None:
        """(folder, reason) when `path` or a folder above it could not be listed, so that
        what the snapshot lacks there says nothing about what the host has."""
        errors = self.snapshot.errors
        if not errors:
            return None
        current = path.rstrip("/") or "/"
        while True:
            reason = errors.get(current)
            if reason is not None and LISTING_DENIED in reason:
                return current, reason
            if current == "/":
                return None
            current = current.rsplit("/", 1)[0] or "/"

    def unreadable_below(self, folder: str) -> dict[str, str]:
        """Paths at or below `folder` (and folders above it that could not be listed) that
        were there but could not be read: path -> reason. Missing files are not listed."""
        found = {
            path: reason
            for path, reason in self.snapshot.errors.items()
            if (path == folder or path.startswith(folder.rstrip("/") + "/")) and reason != MISSING
        }
        above = self.unlisted(folder)
        if above is not None:
            found.setdefault(*above)
        return found

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
        words = raw.split()
        # ASCII digits of a bounded length only, as the kernel writes them: int() would take
        # `٣`, `1_0` or 5,000 digits (a ValueError past 4,300).
        value = to_int(words[0], signed=True) if words else None
        if value is None:
            raise ParseError(self.sysctl_path(key), f"expected an integer, got {quote(raw, 40)}")
        return value

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
