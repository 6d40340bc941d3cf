"""Writing the reports beside pytest's item loop, in a child process.

Every verdict is known before pytest runs its first item (the hosts are collected and judged
before or while pytest collects its items), and rendering JUnit, HTML and JSON for a fleet is Python work of the same
size as the item loop (about 0.8 s each for 50 hosts). In one process they take turns on one
core; a forked child writes the reports while the parent runs the loop, so a machine with a
spare core does both at once.

The child is only forked when this process has no other thread (a fork copies just the
calling thread, and a lock another thread held would stay locked in the child); otherwise,
or without `os.fork`, the reports are written in this process, as they are when the child
dies without saying what it wrote. The child writes files and one message on a pipe, and
ends with `os._exit`: it flushes nothing the parent buffered and runs no exit handler.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memcheck.results import RunResult

Writer = Callable[[RunResult], dict[str, Path]]


class ReportOutcome:
    """What writing the reports gave: the paths written, or the OSError it met."""

    def __init__(self, written: dict[str, str], error: OSError | None = None) -> None:
        self.written = written
        self.error = error


def _write_here(run: RunResult, write: Writer) -> ReportOutcome:
    try:
        return ReportOutcome({k: str(v) for k, v in write(run).items()})
    except OSError as exc:
        return ReportOutcome({}, exc)


class BackgroundReports:
    """Reports being written for one run; `outcome()` waits for them."""

    def __init__(self, run: RunResult, write: Writer) -> None:
        self._run = run
        self._write = write
        self._pid: int | None = None
        self._pipe: int | None = None
        self._outcome: ReportOutcome | None = None
        if hasattr(os, "fork") and threading.active_count() == 1:
            self._fork()
        else:
            self._outcome = _write_here(run, write)

    @property
    def forked(self) -> bool:
        return self._pid is not None

    def _fork(self) -> None:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: write, report, leave without any clean-up of the parent's
            status = 0
            try:
                os.close(read_end)
                message = _child_message(self._run, self._write)
                data = json.dumps(message).encode()
                view = memoryview(data)
                while view:
                    view = view[os.write(write_end, view) :]
            except BaseException:  # nothing may escape a forked child
                status = 1
            finally:
                os._exit(status)
        os.close(write_end)
        self._pid, self._pipe = pid, read_end

    def outcome(self) -> ReportOutcome:
        if self._outcome is not None:
            return self._outcome
        assert self._pid is not None and self._pipe is not None
        chunks = []
        with os.fdopen(self._pipe, "rb") as pipe:
            while True:
                chunk = pipe.read(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        os.waitpid(self._pid, 0)
        self._pid = None
        message: Any = None
        try:
            message = json.loads(b"".join(chunks) or b"null")
        except ValueError:
            pass
        if not isinstance(message, dict):
            # The child died before it could say: write them here instead.
            self._outcome = _write_here(self._run, self._write)
        elif "error" in message:
            error = message["error"]
            self._outcome = ReportOutcome(
                {}, OSError(error.get("errno"), error.get("strerror"), error.get("filename"))
            )
        else:
            self._outcome = ReportOutcome({str(k): str(v) for k, v in message["written"].items()})
        return self._outcome


def _child_message(run: RunResult, write: Writer) -> dict[str, Any]:
    try:
        return {"written": {k: str(v) for k, v in write(run).items()}}
    except OSError as exc:
        filename = None if exc.filename is None else os.fsdecode(exc.filename)
        return {"error": {"errno": exc.errno, "strerror": exc.strerror, "filename": filename}}
