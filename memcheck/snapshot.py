"""A host snapshot: the files read from one host plus `.memcheck/` metadata (SPEC section 4).

A live collection and a saved tree or tarball both become a `Snapshot`, so nothing after the
collect step can tell them apart. Paths are absolute host paths (`/proc/meminfo`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fnmatch
import io
import json
import math
import os
import posixpath
import re
import shutil
import stat
import tarfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import IO

from memcheck.errors import MISSING, ConfigError, Unavailable
from memcheck.secrets import mask_snapshot_files

META_DIR = "/.memcheck"
HOST_JSON = META_DIR + "/host.json"
KERNEL_LOG = META_DIR + "/kernel.log"
VMSTAT_AFTER = META_DIR + "/vmstat.after"
# /proc/uptime read with the second vmstat sample: the time between the two samples.
UPTIME_AFTER = META_DIR + "/uptime.after"
_MAX_LINK_HOPS = 40


@dataclass
class HostInfo:
    """The contents of `.memcheck/host.json`."""

    hostname: str
    collected_at: str
    memcheck_version: str
    source: str
    sample_interval_seconds: float | None = None
    errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """What a reader should know about how the host was read (a host key accepted unverified)."""

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "hostname": self.hostname,
            "collected_at": self.collected_at,
            "memcheck_version": self.memcheck_version,
            "source": self.source,
            "sample_interval_seconds": self.sample_interval_seconds,
            "errors": dict(sorted(self.errors.items())),
        }
        if self.notes:
            data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_json(cls, data: object, where: str) -> HostInfo:
        """Read host.json strictly: a snapshot whose metadata has the wrong shape is refused
        with the key at fault (`ConfigError`), so that host ends in error, not in a crash."""
        if not isinstance(data, dict):
            raise ConfigError(where, None, "expected a JSON object")

        def text(key: str, default: str = "") -> str:
            value = data.get(key)
            if value is None:
                return default
            if not isinstance(value, str):
                raise ConfigError(where, key, f"expected a string, got {type(value).__name__}")
            return value

        errors = data.get("errors") or {}
        if not isinstance(errors, dict) or not all(isinstance(v, str) for v in errors.values()):
            raise ConfigError(where, "errors", "expected an object of path: reason")
        notes = data.get("notes") or []
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise ConfigError(where, "notes", "expected a list of strings")
        interval = data.get("sample_interval_seconds")
        if interval is not None and not (
            isinstance(interval, (int, float))
            and not isinstance(interval, bool)
            and _finite_non_negative(interval)
        ):
            raise ConfigError(
                where, "sample_interval_seconds", "expected a finite number of seconds >= 0"
            )
        collected_at = text("collected_at")
        if collected_at and parse_utc(collected_at) is None:
            raise ConfigError(
                where, "collected_at", f"expected an ISO-8601 time, got {collected_at[:60]!r}"
            )
        return cls(
            hostname=text("hostname") or "unknown",
            collected_at=collected_at,
            memcheck_version=text("memcheck_version"),
            source=text("source"),
            sample_interval_seconds=float(interval) if interval is not None else None,
            errors=dict(errors),
            notes=list(notes),
        )


def _finite_non_negative(value: float) -> bool:
    try:
        return math.isfinite(float(value)) and value >= 0
    except OverflowError:  # an integer too large for a float
        return False


def parse_utc(text: str) -> datetime | None:
    """An ISO-8601 time as an aware UTC datetime, or None when it is not one or lies outside
    what a datetime can hold once moved to UTC (`0001-01-01T00:00:00+14:00`)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


def _norm(path: str) -> str:
    if path[:1] == "/" and "//" not in path and "/." not in path and path[-1:] != "/":
        return path  # already normal (the common case)
    path = posixpath.normpath("/" + path.lstrip("/"))
    return "/" if path == "//" else path


class Snapshot:
    """Files (path -> bytes), symbolic links (path -> target), directories and read errors."""

    def __init__(
        self,
        info: HostInfo,
        files: Mapping[str, bytes] | None = None,
        links: Mapping[str, str] | None = None,
        dirs: Iterable[str] = (),
    ) -> None:
        self.info = info
        self.files: dict[str, bytes] = {}
        for path, data in (files or {}).items():
            path = _norm(path)
            # The same limits as a snapshot read from disk, so a live host and its saved
            # snapshot give the same verdicts (loaders have cut their files already).
            data, note = cap_file(path, data)
            if note:
                info.notes.append(note)
            self.files[path] = data
        self.links: dict[str, str] = {_norm(p): t for p, t in (links or {}).items()}
        self.dirs: set[str] = {_norm(d) for d in dirs}
        dirs = self.dirs
        for path in [*self.files, *self.links, *dirs]:
            # Paths are normal here, so the parent is what precedes the last "/".
            parent = path[: path.rfind("/")] or "/"
            while parent not in dirs and parent != "/":
                dirs.add(parent)
                parent = parent[: parent.rfind("/")] or "/"
        dirs.add("/")
        self._child_index: dict[str, set[str]] | None = None
        self._indexed_sizes = (0, 0, 0)
        self._resolved: dict[str, str] = {}
        self._resolved_links = len(self.links)

    @property
    def errors(self) -> dict[str, str]:
        return self.info.errors

    # -- lookups --------------------------------------------------------------------------
    def resolve(self, path: str) -> str:
        """Follow symbolic links inside the snapshot only; never out of it."""
        # Remembered per path: facts resolve the same unit and process paths many times.
        # The memory is dropped whenever the set of links changes size (links are not
        # changed in place once a snapshot is built).
        memo = self._resolved
        if self._resolved_links != len(self.links):
            memo.clear()
            self._resolved_links = len(self.links)
        found = memo.get(path)
        if found is None:
            found = memo[path] = self._resolve(path)
        return found

    def _resolve(self, path: str) -> str:
        path = _norm(path)
        links = self.links
        for _ in range(_MAX_LINK_HOPS):
            # The first prefix of `path` that is a link: "/a", "/a/b", ... (a hot path: facts
            # resolve tens of thousands of paths per host).
            hit: tuple[str, str, int] | None = None
            end = 0
            while links and end >= 0:
                end = path.find("/", end + 1)
                candidate = path if end < 0 else path[:end]
                target = links.get(candidate)
                if target is not None:
                    hit = (candidate, target, end)
                    break
            if hit is None:
                return path
            candidate, target, end = hit
            base = posixpath.dirname(candidate)
            joined = target if target.startswith("/") else posixpath.join(base, target)
            rest = "" if end < 0 else path[end + 1 :]
            path = _norm(posixpath.join(joined, rest)) if rest else _norm(joined)
        raise Unavailable(path, "too many levels of symbolic links")

    def read(self, path: str) -> bytes:
        """The bytes of `path`, or `Unavailable` with the recorded reason."""
        path = _norm(path)
        if path in self.errors:
            raise Unavailable(path, self.errors[path])
        real = self.resolve(path)
        if real in self.files:
            return self.files[real]
        if real in self.errors:
            raise Unavailable(path, self.errors[real])
        if real in self.dirs:
            raise Unavailable(path, "is a directory")
        raise Unavailable(path, self._hidden_by(real) or MISSING)

    def _hidden_by(self, path: str) -> str | None:
        """Why `path` may be absent without being missing: a folder above it that could not
        be listed or read (its recorded reason), else None."""
        errors = self.errors
        parent = path
        while parent not in ("/", ""):
            parent = parent[: parent.rfind("/")] or "/"
            reason = errors.get(parent)
            if reason is not None and reason != MISSING:
                return f"{reason} (on {parent})"
        return None

    def read_text(self, path: str) -> str:
        return self.read(path).decode("utf-8", errors="replace")

    def exists(self, path: str) -> bool:
        try:
            real = self.resolve(path)
        except Unavailable:
            return False
        return real in self.files or real in self.dirs or _norm(path) in self.links

    def is_dir(self, path: str) -> bool:
        try:
            return self.resolve(path) in self.dirs
        except Unavailable:
            return False

    def is_link(self, path: str) -> bool:
        return _norm(path) in self.links

    def readlink(self, path: str) -> str | None:
        """The target of the link at `path`, following links in its folders (as readlink(2))."""
        path = _norm(path)
        found = self.links.get(path)
        if found is not None or path == "/":
            return found
        parent, _, name = path.rpartition("/")
        try:
            real_parent = self.resolve(parent or "/")
        except Unavailable:
            return None
        return self.links.get(posixpath.join(real_parent, name))

    def _children(self) -> dict[str, set[str]]:
        # Built once: checks list unit and cron folders many times over large snapshots (and
        # again should a file, link or folder be added since).
        sizes = (len(self.files), len(self.links), len(self.dirs))
        index = self._child_index
        if index is None or self._indexed_sizes != sizes:
            index = {}
            for p in (*self.files, *self.links, *self.dirs):
                if p != "/":
                    parent, _, name = p.rpartition("/")
                    index.setdefault(parent or "/", set()).add(name)
            self._child_index, self._indexed_sizes = index, sizes
        return index

    def listdir(self, path: str) -> list[str]:
        """Names directly below a directory (files, links and subdirectories), sorted."""
        try:
            base = self.resolve(path)
        except Unavailable:
            return []
        return sorted(self._children().get(base, ()))

    def glob(self, pattern: str) -> list[str]:
        """Paths matching a shell glob; `*` does not cross `/`, a final `/**` matches a tree,
        and `/**/` matches zero or more directories (`/sys/fs/cgroup/**/memory.max`)."""
        pattern = _norm(pattern)
        if "**" not in pattern and pattern != "/" and not _SLASH_IN_BRACKETS.search(pattern):
            return self._glob_by_folder(pattern)
        everything = (*self.files, *self.links)
        if "/**/" in pattern:
            regex = _glob_regex(pattern, tree=False)
            top = pattern.split("/**/", 1)[0]
            if not any(ch in top for ch in "*?["):
                # Only paths below a literal DIR can match: skip the rest of the snapshot.
                return sorted(
                    p
                    for p in {*everything, *self.dirs}
                    if p.startswith(top + "/") and regex.fullmatch(p)
                )
            return sorted(p for p in {*everything, *self.dirs} if regex.fullmatch(p))
        if pattern.endswith("/**"):
            prefix = pattern[:-3]
            if not any(ch in prefix for ch in "*?["):
                return sorted(p for p in everything if p.startswith(prefix + "/"))
            regex = _glob_regex(prefix, tree=True)
        else:
            regex = _glob_regex(pattern, tree=False)
        return sorted(p for p in {*everything, *self.dirs} if regex.fullmatch(p))

    def _glob_by_folder(self, pattern: str) -> list[str]:
        """A glob without `**`, one path component at a time through the folder index: the
        names in the folders its literal parts lead to, not every path of the snapshot."""
        index = self._children()
        found = [""]  # "" stands for the root
        for part in pattern.split("/")[1:]:
            if not found:
                break
            if not any(ch in part for ch in "*?["):
                found = [f"{base}/{part}" for base in found if part in index.get(base or "/", ())]
                continue
            regex = _glob_regex(part, tree=False)
            found = [
                f"{base}/{name}"
                for base in found
                for name in index.get(base or "/", ())
                if regex.fullmatch(name)
            ]
        return sorted(p for p in found if p)

    # -- persistence ----------------------------------------------------------------------
    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> Snapshot:
        """Read a snapshot directory or `.tar.gz` (SPEC section 4), within `LIMITS`.

        Only regular files and symbolic links are read; anything else in the tree is recorded
        as unreadable. A file over its size limit is truncated and a note says so; a snapshot
        over the limits on entries or bytes is refused (`ConfigError`).
        """
        path = Path(root)
        if path.is_dir():
            return cls._load_dir(path)
        if path.is_file():
            return cls._load_tar(path)
        if path.exists():
            raise ConfigError(str(root), None, "not a snapshot directory or .tar.gz file")
        raise ConfigError(str(root), None, "no such snapshot directory or .tar.gz file")

    @classmethod
    def _load_dir(cls, top: Path) -> Snapshot:
        budget = _Budget(str(top))
        files: dict[str, bytes] = {}
        links: dict[str, str] = {}
        dirs: list[str] = []
        errors: dict[str, str] = {}
        notes: list[str] = []
        pending = [(os.fspath(top), "")]
        while pending:
            folder, rel_folder = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                errors[rel_folder or "/"] = f"cannot list: {exc.strerror or exc}"
                continue
            for entry in entries:
                rel = _norm(rel_folder + "/" + entry.name)
                budget.entry(rel)
                try:
                    if entry.is_symlink():
                        links[rel] = os.readlink(entry.path)
                    elif entry.is_dir(follow_symlinks=False):
                        dirs.append(rel)
                        pending.append((entry.path, rel))
                    elif entry.is_file(follow_symlinks=False):
                        data, note = _read_file(entry.path, rel)
                        budget.spend(len(data))
                        files[rel] = data
                        if note:
                            notes.append(note)
                    else:
                        errors[rel] = f"not a regular file ({_kind(entry.path)}); not read"
                except OSError as exc:
                    errors[rel] = f"cannot read: {exc.strerror or exc}"
        return cls._from_parts(str(top), files, links, dirs, errors, notes)

    @classmethod
    def _load_tar(cls, archive: Path) -> Snapshot:
        # Streamed member by member: nothing is read past the limits, and a member's data is
        # skipped without being read when it is not wanted.
        budget = _Budget(str(archive))
        entries: dict[str, tuple[str, bytes | str | None]] = {}
        notes: list[str] = []
        try:
            with tarfile.open(archive, "r:*") as tar:
                while True:
                    member = tar.next()
                    if member is None:
                        break
                    if tar.offset > LIMITS.tar_stream_bytes:
                        raise ConfigError(
                            str(archive),
                            None,
                            f"holds more than {_mib(LIMITS.tar_stream_bytes)} of archive "
                            "data (the limit for a snapshot tarball)",
                        )
                    name = _member_name(member.name)
                    if name is None:
                        continue
                    budget.entry(name)
                    if member.issym():
                        entries[name] = ("link", member.linkname)
                    elif member.isdir():
                        entries[name] = ("dir", None)
                    elif member.isreg():
                        fh = tar.extractfile(member)
                        data, note = _read_capped(fh, "/" + name, member.size) if fh else (b"", "")
                        budget.spend(len(data))
                        entries[name] = ("file", data)
                        if note:
                            notes.append(note)
                    else:
                        kind = "hard link" if member.islnk() else "special file"
                        entries[name] = ("error", f"not a regular file ({kind}); not read")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            reason = str(exc)
            if "could not be opened successfully" in reason:
                # tarfile lists every method it tried, one a line: say it once, on one line.
                reason = "neither a tar archive nor one compressed with gzip, bzip2 or xz"
            raise ConfigError(
                str(archive), None, f"not a readable .tar.gz snapshot: {reason}"
            ) from exc
        top = _common_top(entries)
        files: dict[str, bytes] = {}
        links: dict[str, str] = {}
        dirs: list[str] = []
        errors: dict[str, str] = {}
        for name, (kind, value) in entries.items():
            if top and (name == top or name.startswith(top + "/")):
                name = name[len(top) :]
            rel = _norm(name)
            if kind == "link":
                links[rel] = str(value)
            elif kind == "dir":
                dirs.append(rel)
            elif kind == "file":
                files[rel] = value if isinstance(value, bytes) else b""
            else:
                errors[rel] = str(value)
        # The notes name paths as the tarball did; strip the top folder there too.
        if top:
            notes = [n.replace("/" + top + "/", "/", 1) for n in notes]
        return cls._from_parts(str(archive), files, links, dirs, errors, notes)

    @classmethod
    def _from_parts(
        cls,
        where: str,
        files: dict[str, bytes],
        links: dict[str, str],
        dirs: list[str],
        errors: Mapping[str, str] = MappingProxyType({}),
        notes: Sequence[str] = (),
    ) -> Snapshot:
        raw = files.pop(HOST_JSON, None)
        # Secrets in command lines and environments are masked on load too: a snapshot made
        # by hand, by an older memcheck or by another tool never puts them into a report.
        mask_snapshot_files(files)
        if raw is None:
            info = HostInfo(
                hostname=_guess_hostname(files, where),
                collected_at="",
                memcheck_version="",
                source=f"root://{where}",
            )
        else:
            info = HostInfo.from_json(_host_json(raw, where + HOST_JSON), where + HOST_JSON)
            if not info.source:
                info.source = f"root://{where}"
        # What the tree itself shows (a FIFO, a folder that could not be listed) joins what
        # the collection recorded; the collection's own reason wins for the same path.
        info.errors = {**errors, **info.errors}
        info.notes = [*info.notes, *notes]
        return cls(info, files, links, dirs)

    def write(self, out: str | os.PathLike[str]) -> None:
        """Write the snapshot as a directory, or as a `.tar.gz` when the name says so.

        Never through a link: a folder is written fresh (an earlier snapshot there is removed
        first, its links unlinked, not followed) and every file is created anew with
        `O_NOFOLLOW`, so a link recorded from a host (`/etc/os-release -> /etc/passwd`) stays
        a link and nothing is written outside `out`. `ConfigError` when `out` is something
        else than a snapshot folder, an empty folder or a regular file.
        """
        target = str(out)
        if target.endswith((".tar.gz", ".tgz")):
            self._write_tar(target)
        else:
            self._write_dir(target)

    def _entries(self) -> dict[str, bytes]:
        entries = dict(self.files)
        entries[HOST_JSON] = (json.dumps(self.info.to_json(), indent=2) + "\n").encode()
        return entries

    def _write_dir(self, target: str) -> None:
        _prepare_folder(target)
        top = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        folders: dict[str, int] = {"": top}

        def folder(path: str) -> int:
            # The descriptor of a folder below `out`, made (and opened) one name at a time
            # without following links: every later write is relative to it.
            found = folders.get(path)
            if found is not None:
                return found
            parent, _, name = path.rpartition("/")
            base = folder(parent)
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o755, dir_fd=base)
            fd = os.open(
                name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=base
            )
            folders[path] = fd
            return fd

        # A path that cannot exist beside another on disk (a file recorded with files below
        # it, a name too long for this file system) is left out and listed in host.json's
        # notes: one odd entry must not cost the whole snapshot.
        left_out: list[str] = []

        def attempt(path: str, write: Callable[..., object], *args: object) -> None:
            try:
                write(path, *args)
            except OSError as exc:
                if exc.errno not in _UNWRITABLE_NAME:
                    raise
                left_out.append(f"{path}: not written ({exc.strerror or exc})")

        def write_file(path: str, data: bytes) -> None:
            parent, _, name = path.rpartition("/")
            fd = os.open(
                name,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o644,
                dir_fd=folder(parent),
            )
            with open(fd, "wb") as fh:
                fh.write(data)

        def write_link(path: str, link: str) -> None:
            parent, _, name = path.rpartition("/")
            os.symlink(link, name, dir_fd=folder(parent))

        try:
            for d in sorted(self.dirs - {"/"}):
                attempt(d, folder)
            for path, data in self.files.items():
                attempt(path, write_file, data)
            for path, link in self.links.items():
                attempt(path, write_link, link)
            info = self.info
            if left_out:
                info = dataclasses.replace(info, notes=[*info.notes, *left_out])
            write_file(HOST_JSON, (json.dumps(info.to_json(), indent=2) + "\n").encode())
        finally:
            for fd in folders.values():
                os.close(fd)

    def _write_tar(self, target: str) -> None:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        _refuse_non_regular(target)
        partial = f"{target}.partial-{os.getpid()}"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            with open(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
                for d in sorted(self.dirs - {"/"}):
                    info = tarfile.TarInfo(d.lstrip("/"))
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
                for path, data in sorted(self._entries().items()):
                    info = tarfile.TarInfo(path.lstrip("/"))
                    info.size = len(data)
                    info.mode = 0o644
                    tar.addfile(info, io.BytesIO(data))
                for path, link in sorted(self.links.items()):
                    info = tarfile.TarInfo(path.lstrip("/"))
                    info.type = tarfile.SYMTYPE
                    info.linkname = link
                    tar.addfile(info)
            _refuse_non_regular(target)
            os.replace(partial, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)


@dataclass(frozen=True)
class Limits:
    """What one snapshot may hold; each is documented in docs/limits.md."""

    file_bytes: int = 4 << 20
    """One file: a /proc, /sys or configuration file over this is truncated, with a note."""
    kernel_log_bytes: int = 16 << 20
    """The kernel log: its most recent 16 MiB are kept (OOM kills are judged on recent ones)."""
    host_json_bytes: int = 1 << 20
    total_bytes: int = 256 << 20
    """All files together; a snapshot over this is refused (that host ends in error)."""
    entries: int = 250_000
    """Files, links and folders together; over this the snapshot is refused."""
    tar_stream_bytes: int = 1 << 30
    """Archive data a tarball may make memcheck walk through (uncompressed)."""


LIMITS = Limits()


class _Budget:
    """Counts a snapshot's entries and bytes as it loads; refuses it past `LIMITS`."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.entries = 0
        self.bytes = 0

    def entry(self, path: str) -> None:
        self.entries += 1
        if self.entries > LIMITS.entries:
            raise ConfigError(
                self.where, None, f"holds more than {LIMITS.entries} entries (the limit)"
            )

    def spend(self, size: int) -> None:
        self.bytes += size
        if self.bytes > LIMITS.total_bytes:
            raise ConfigError(
                self.where,
                None,
                f"holds more than {_mib(LIMITS.total_bytes)} of files (the limit)",
            )


def _mib(size: int) -> str:
    return f"{size / 2**20:g} MiB"


def _limit_for(path: str) -> int:
    if path == KERNEL_LOG:
        return LIMITS.kernel_log_bytes
    if path == HOST_JSON:
        return LIMITS.host_json_bytes
    return LIMITS.file_bytes


def _truncation_note(path: str, size: int | None, limit: int) -> str:
    whole = f"{size} bytes" if size is not None else f"more than {limit} bytes"
    kept = "the last" if path == KERNEL_LOG else "the first"
    return f"{path}: {whole}, truncated to {kept} {_mib(limit)} (snapshot file limit)"


def _keep_tail(data: bytes, limit: int) -> bytes:
    """The last `limit` bytes of a log, from the first whole line among them."""
    tail = data[-limit:]
    cut = tail.find(b"\n")
    return tail[cut + 1 :] if 0 <= cut < len(tail) - 1 else tail


def cap_file(path: str, data: bytes) -> tuple[bytes, str]:
    """`data` within the limit for `path`, and a note when it had to be cut ('' if not)."""
    limit = _limit_for(path)
    if len(data) <= limit:
        return data, ""
    kept = _keep_tail(data, limit) if path == KERNEL_LOG else data[:limit]
    return kept, _truncation_note(path, len(data), limit)


def _read_capped(fh: IO[bytes], path: str, size: int | None) -> tuple[bytes, str]:
    """Read an open file within the limit for `path` (the tail of a kernel log)."""
    limit = _limit_for(path)
    if path != KERNEL_LOG:
        data = fh.read(limit + 1)
        if len(data) <= limit:
            return data, ""
        return data[:limit], _truncation_note(path, size, limit)
    # A log: keep a rolling tail, so memory stays bounded whatever its length.
    tail = b""
    total = 0
    while chunk := fh.read(1 << 20):
        total += len(chunk)
        tail = (tail + chunk)[-(limit + 1) :]
    if total <= limit:
        return tail, ""
    return _keep_tail(tail, limit), _truncation_note(path, total, limit)


def _read_file(full: str, rel: str) -> tuple[bytes, str]:
    """A regular file of a snapshot folder, opened without following a link and without
    blocking (should it have become a FIFO since it was listed), within its limit."""
    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, f"not a regular file ({_kind_of(info.st_mode)}); not read")
        return _read_capped(fh, rel, info.st_size)


def _kind(path: str) -> str:
    try:
        return _kind_of(os.lstat(path).st_mode)
    except OSError:
        return "unknown"


def _kind_of(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISLNK, "symbolic link"),
    ):
        if test(mode):
            return name
    return "special file"


def _member_name(name: str) -> str | None:
    """A tarball member's path relative to the snapshot's top, or None to skip it: `./x`
    and `/x` are `x` (only a leading `./` is dropped: `.memcheck` keeps its dot); names that
    climb out with `..` are skipped."""
    while name.startswith("./"):
        name = name[2:]
    name = name.strip("/")
    if name in ("", "."):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts or not parts:
        return None
    return "/".join(parts)


def _host_json(raw: bytes, where: str) -> object:
    if len(raw) > LIMITS.host_json_bytes:
        raise ConfigError(where, None, f"larger than {_mib(LIMITS.host_json_bytes)}")
    try:
        return json.loads(raw.decode("utf-8", errors="replace"))
    except RecursionError:
        raise ConfigError(where, None, "not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise ConfigError(where, None, f"not valid JSON: {exc}") from exc


def _refuse_non_regular(target: str) -> None:
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise ConfigError(
            target, None, f"is a {_kind_of(mode)}, not a regular file: refusing to replace it"
        )


def _prepare_folder(target: str) -> None:
    """Make `target` an empty folder to write a snapshot into: created when absent, emptied
    when it holds an earlier snapshot (links in it unlinked, never followed), refused when
    it is a link, a file, or a folder with something else in it."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        os.makedirs(target, exist_ok=True)
        return
    if not stat.S_ISDIR(mode):
        raise ConfigError(
            target,
            None,
            f"is a {_kind_of(mode)}: give a new or empty folder, or an earlier snapshot",
        )
    names = os.listdir(target)
    if not names:
        return
    marker = os.path.join(target, META_DIR.lstrip("/"))
    if not (os.path.isdir(marker) and not os.path.islink(marker)):
        raise ConfigError(
            target, None, "is a folder that holds something else than a memcheck snapshot"
        )
    for name in names:
        full = os.path.join(target, name)
        if os.path.isdir(full) and not os.path.islink(full):
            # rmtree removes links below without following them (and is safe against a
            # folder being swapped for a link while it runs, where the platform allows).
            shutil.rmtree(full)
        else:
            os.unlink(full)


# Why a recorded path may have no place on disk beside the others.
_UNWRITABLE_NAME = {errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP}

_SLASH_IN_BRACKETS = re.compile(r"\[[^\]]*/[^\]]*\]")


def _glob_regex(pattern: str, tree: bool) -> re.Pattern[str]:
    parts = []
    for piece in re.split(r"(/\*\*/|\*\*|\*|\?|\[[^\]]*\])", pattern):
        if piece == "/**/":
            parts.append("/(?:.+/)?")  # zero or more whole directories
        elif piece == "**":
            parts.append(".*")
        elif piece == "*":
            parts.append("[^/]*")
        elif piece == "?":
            parts.append("[^/]")
        elif piece.startswith("[") and piece.endswith("]") and len(piece) > 2:
            parts.append(fnmatch.translate(piece)[4:-3])
        else:
            parts.append(re.escape(piece))
    body = "".join(parts)
    # DOTALL: a file name may hold a newline, and `**` must cross it like any other byte.
    return re.compile(body + ("/.+" if tree else ""), re.DOTALL)


def _common_top(names: Mapping[str, object]) -> str:
    """A single top folder that holds every member (a tarball of `snap/...`), else ''."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1:
        top = next(iter(tops))
        if top != ".memcheck" and (top + META_DIR in names or top + HOST_JSON in names):
            # A snapshot folder tarred whole, whatever its name (a host called `proc`).
            return top
        if top not in {"proc", "sys", "etc", "usr", "lib", "run", "var", "boot", ".memcheck"}:
            if any("/" in n for n in names):
                return top
    return ""


def _guess_hostname(files: Mapping[str, bytes], where: str) -> str:
    for path in ("/proc/sys/kernel/hostname", "/etc/hostname"):
        data = files.get(path)
        if data and data.strip():
            return data.decode("utf-8", errors="replace").strip().splitlines()[0]
    return posixpath.basename(where.rstrip("/")) or "snapshot"
