"""Where reports go, and writing them there without replacing anything but a report.

A report is written to a temporary file beside its target and renamed over it, so a reader
never sees half of one. A rename replaces whatever the name held: run as root, `--json
/dev/null` once replaced the device with a regular file. So a target must be absent or a
regular file (checked with lstat: a symbolic link is refused, not followed), and the check is
made twice: before the run starts (`check_report_paths`, so no host is audited for a report
that cannot be written) and again just before the rename.

The report folder (`--report-dir`) is created when absent. It may be a folder or a symbolic
link to one (a CI workspace often links its artefact folder elsewhere; the user chose it, and
every file in it is still checked as above); a file, a dangling link or a link to anything
but a folder is refused.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Union

from memcheck.errors import ConfigError

PathLike = Union[str, "os.PathLike[str]"]

DEFAULT_NAMES = {"json": "results.json", "junit": "junit.xml", "html": "report.html"}
# The command line's name for each report, for error messages.
OPTIONS = {"json": "--json", "junit": "--junit-xml", "html": "--html", "dir": "--report-dir"}

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFile(OSError):
    """A report target exists and is not a regular file; it is left as it is.

    An OSError, so that every place that reports a failed write says it in one line."""

    def __init__(self, path: PathLike, kind: str) -> None:
        code = errno.EISDIR if kind == "a directory" else errno.EEXIST
        problem = f"is {kind}, not a regular file; memcheck replaces only regular files"
        super().__init__(code, problem, os.fspath(path))
        self.kind = kind


def kind_of(mode: int) -> str:
    """What a file of this mode is, for a message: `a directory`, `a named pipe (FIFO)`..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def report_paths(
    report_dir: PathLike | None = None,
    junit: PathLike | None = None,
    html: PathLike | None = None,
    json: PathLike | None = None,
) -> dict[str, Path]:
    """{"json"|"junit"|"html": path} of the reports to write (see `write_reports`)."""
    paths: dict[str, Path] = {}
    if report_dir is not None:
        base = Path(report_dir)
        paths = {kind: base / name for kind, name in DEFAULT_NAMES.items()}
    for kind, override in (("json", json), ("junit", junit), ("html", html)):
        if override is not None:
            paths[kind] = Path(override)
    return paths


def check_target(path: PathLike) -> None:
    """Raise NotRegularFile when `path` exists (as a name, links not followed) and is not a
    regular file, or its folder exists and is not a folder (OSError)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError as exc:
        raise NotADirectoryError(errno.ENOTDIR, "a parent of it is not a folder", path) from exc
    if mode is not None and not stat.S_ISREG(mode):
        raise NotRegularFile(path, kind_of(mode))


def check_folder(path: PathLike) -> None:
    """A report folder: absent, a folder, or a link to one (see the module's docstring)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except NotADirectoryError as exc:
        raise NotADirectoryError(errno.ENOTDIR, "a parent of it is not a folder", path) from exc
    if stat.S_ISDIR(mode):
        return
    if stat.S_ISLNK(mode):
        try:
            if stat.S_ISDIR(os.stat(path).st_mode):
                return
        except OSError:
            raise NotADirectoryError(
                errno.ENOTDIR, "is a symbolic link to nothing, not a folder", path
            ) from None
        raise NotADirectoryError(errno.ENOTDIR, "is a symbolic link to a non-folder", path)
    raise NotADirectoryError(errno.ENOTDIR, f"is {kind_of(mode)}, not a folder", path)


def check_report_paths(
    paths: Mapping[str, PathLike], report_dir: PathLike | None = None, where: str = "command line"
) -> None:
    """Before a run: ConfigError (exit 2, one line naming the option) when a report could not
    be written where it is asked for."""
    checks: list[tuple[str, PathLike, bool]] = []
    if report_dir is not None:
        checks.append(("dir", report_dir, True))
    checks += [(kind, path, False) for kind, path in paths.items()]
    for kind, path, folder in checks:
        try:
            if folder:
                check_folder(path)
            else:
                parent = os.path.dirname(os.fspath(path)) or "."
                check_folder(parent)
                check_target(path)
        except OSError as exc:
            shown = exc.filename if exc.filename is not None else path
            problem = f"cannot write reports to {os.fspath(shown)}: {exc.strerror or exc}"
            raise ConfigError(where, OPTIONS[kind], problem) from exc


def write_atomically(path: PathLike, data: bytes) -> Path:
    """Write `data` to `path` through a temporary file, so a reader never sees half a report.

    Only an absent name or a regular file is replaced (NotRegularFile otherwise): checked
    before the temporary file is made and again just before the rename. The temporary file
    is created new (O_EXCL) without following a link (O_NOFOLLOW)."""
    target = Path(path)
    check_target(target)
    check_folder(target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, flags, 0o644)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 random names all taken
        raise FileExistsError(errno.EEXIST, "no free temporary name", os.fspath(target.parent))
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o644)
            fh.write(data)
        check_target(target)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target
