"""A host snapshot: the files read from one host plus `.memcheck/` metadata (SPEC section 4).

A live collection and a saved tree or tarball both become a `Snapshot`, so nothing after the
collect step can tell them apart. Paths are absolute host paths (`/proc/meminfo`).
"""

from __future__ import annotations

import fnmatch
import io
import json
import os
import posixpath
import re
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from memcheck.errors import MISSING, ConfigError, Unavailable

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
        if not isinstance(data, dict):
            raise ConfigError(where, None, "expected a JSON object")
        errors = data.get("errors") or {}
        if not isinstance(errors, dict):
            raise ConfigError(where, "errors", "expected an object of path: reason")
        interval = data.get("sample_interval_seconds")
        notes = data.get("notes") or []
        if not isinstance(notes, list):
            raise ConfigError(where, "notes", "expected a list of strings")
        return cls(
            hostname=str(data.get("hostname") or "unknown"),
            collected_at=str(data.get("collected_at") or ""),
            memcheck_version=str(data.get("memcheck_version") or ""),
            source=str(data.get("source") or ""),
            sample_interval_seconds=float(interval) if isinstance(interval, (int, float)) else None,
            errors={str(k): str(v) for k, v in errors.items()},
            notes=[str(n) for n in notes],
        )


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
        self.files: dict[str, bytes] = {_norm(p): b for p, b in (files or {}).items()}
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
        raise Unavailable(path, MISSING)

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
        """Read a snapshot directory or `.tar.gz` (SPEC section 4)."""
        path = Path(root)
        if path.is_dir():
            return cls._load_dir(path)
        if path.is_file():
            return cls._load_tar(path)
        raise ConfigError(str(root), None, "no such snapshot directory or .tar.gz file")

    @classmethod
    def _load_dir(cls, top: Path) -> Snapshot:
        files: dict[str, bytes] = {}
        links: dict[str, str] = {}
        dirs: list[str] = []
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            rel_dir = "/" + os.path.relpath(dirpath, top).replace(os.sep, "/")
            for name in list(dirnames):
                full = os.path.join(dirpath, name)
                rel = _norm(posixpath.join(rel_dir, name))
                if os.path.islink(full):
                    links[rel] = os.readlink(full)
                    dirnames.remove(name)
                else:
                    dirs.append(rel)
            for name in filenames:
                full = os.path.join(dirpath, name)
                rel = _norm(posixpath.join(rel_dir, name))
                if os.path.islink(full):
                    links[rel] = os.readlink(full)
                else:
                    try:
                        with open(full, "rb") as fh:
                            files[rel] = fh.read()
                    except OSError as exc:
                        raise ConfigError(str(full), None, f"cannot read: {exc.strerror}") from exc
        return cls._from_parts(str(top), files, links, dirs)

    @classmethod
    def _load_tar(cls, archive: Path) -> Snapshot:
        files: dict[str, bytes] = {}
        links: dict[str, str] = {}
        dirs: list[str] = []
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = tar.getmembers()
                names = [m.name.lstrip("./") for m in members if m.name.strip("./")]
                top = _common_top(names)
                for member in members:
                    name = member.name.lstrip("./")
                    if not name:
                        continue
                    if top and (name == top or name.startswith(top + "/")):
                        name = name[len(top) :]
                    rel = _norm(name)
                    if ".." in rel.split("/"):
                        continue
                    if member.issym():
                        links[rel] = member.linkname
                    elif member.isdir():
                        dirs.append(rel)
                    elif member.isfile():
                        fh = tar.extractfile(member)
                        files[rel] = fh.read() if fh else b""
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ConfigError(
                str(archive), None, f"not a readable .tar.gz snapshot: {exc}"
            ) from exc
        return cls._from_parts(str(archive), files, links, dirs)

    @classmethod
    def _from_parts(
        cls, where: str, files: dict[str, bytes], links: dict[str, str], dirs: list[str]
    ) -> Snapshot:
        raw = files.pop(HOST_JSON, None)
        if raw is None:
            info = HostInfo(
                hostname=_guess_hostname(files, where),
                collected_at="",
                memcheck_version="",
                source=f"root://{where}",
            )
        else:
            try:
                data = json.loads(raw.decode("utf-8", errors="replace"))
            except ValueError as exc:
                raise ConfigError(where + HOST_JSON, None, f"not valid JSON: {exc}") from exc
            info = HostInfo.from_json(data, where + HOST_JSON)
            if not info.source:
                info.source = f"root://{where}"
        return cls(info, files, links, dirs)

    def write(self, out: str | os.PathLike[str]) -> None:
        """Write the snapshot as a directory, or as a `.tar.gz` when the name says so."""
        target = str(out)
        if target.endswith((".tar.gz", ".tgz")):
            self._write_tar(target)
        else:
            self._write_dir(Path(target))

    def _entries(self) -> dict[str, bytes]:
        entries = dict(self.files)
        entries[HOST_JSON] = (json.dumps(self.info.to_json(), indent=2) + "\n").encode()
        return entries

    def _write_dir(self, top: Path) -> None:
        # Plain os calls and each folder made once: a host has about a thousand files, and
        # `memcheck collect --out` writes one snapshot per host of a fleet.
        base = os.fspath(top)
        os.makedirs(base, exist_ok=True)
        made = {"/"}

        def folder(path: str) -> None:
            if path not in made:
                os.makedirs(base + path, exist_ok=True)
                made.add(path)

        for d in sorted(self.dirs):
            folder(d)
        for path, data in self._entries().items():
            folder(path[: path.rfind("/")] or "/")
            with open(base + path, "wb") as fh:
                fh.write(data)
        for path, target in self.links.items():
            folder(path[: path.rfind("/")] or "/")
            dest = base + path
            if os.path.lexists(dest):
                os.unlink(dest)
            os.symlink(target, dest)

    def _write_tar(self, target: str) -> None:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(target, "w:gz") as tar:
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


def _common_top(names: list[str]) -> str:
    """A single top folder that holds every member (a tarball of `snap/...`), else ''."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1:
        top = next(iter(tops))
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
