"""Reading a file a user names (a profile, waivers, an inventory, a results file) within bounds.

Only a regular file is read, and at most `limit` bytes of it: a FIFO would block for ever and
a device such as /dev/zero never ends, so anything else is refused before it is opened and
checked again on the open descriptor (it may have been replaced in between). Every refusal is
a one-line `ConfigError` (exit 2).
"""

from __future__ import annotations

import os
import stat

from memcheck.errors import ConfigError

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def size_text(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 and limit % (1 << 20) == 0 else f"{limit} bytes"


def _check(info: os.stat_result, where: str, key: str | None, limit: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "a special file")
        raise ConfigError(where, key, f"not a regular file: {kind}")
    if info.st_size > limit:
        raise ConfigError(where, key, f"larger than {size_text(limit)}")


def read_regular_file(
    path: str | os.PathLike[str], where: str, limit: int, key: str | None = None
) -> bytes:
    """The bytes of the regular file at `path` (links followed), at most `limit` of them;
    `ConfigError(where, key, ...)` for anything else."""

    def failed(exc: BaseException) -> ConfigError:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return ConfigError(where, key, f"cannot read: {reason}")

    try:
        # Before opening: a socket cannot be opened at all, and a FIFO must not be.
        _check(os.stat(path), where, key, limit)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except (OSError, ValueError) as exc:
        raise failed(exc) from None
    try:
        _check(os.fstat(fd), where, key, limit)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise failed(exc) from None
    finally:
        os.close(fd)
    if size > limit:  # it grew while being read
        raise ConfigError(where, key, f"larger than {size_text(limit)}")
    return b"".join(chunks)
