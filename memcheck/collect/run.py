"""Running the collection script on hosts through their testinfra backends, one command each."""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import testinfra.host

from memcheck import __version__
from memcheck.collect.errors import CollectError, redact
from memcheck.collect.script import build_script, parse_output, stdin_command
from memcheck.collect.transport import (
    ACCEPTED_NOTE,
    Deadline,
    TransportError,
    TransportSession,
    open_backend,
)
from memcheck.snapshot import Snapshot

# Seconds the local wait allows beyond the host-side `timeout`, so that a host which stops
# at its own limit still gets its partial output home.
_HOST_MARGIN = 2.0


def normalise_url(url: str) -> str:
    """A bare host name means `ssh://name`; an empty target means the local host."""
    url = url.strip()
    if not url:
        return "local://"
    return url if "://" in url else "ssh://" + url


def source_of(url: str) -> str:
    """`local` for the local host, else the URL without secrets (host.json `source`)."""
    return "local" if url.startswith("local://") else redact(url)


def collect_host(
    url: str,
    reads: Iterable[str],
    *,
    timeout: float = 30,
    sample_interval: float = 1.0,
    backend_options: Mapping[str, Any] | None = None,
    session: TransportSession | None = None,
) -> Snapshot:
    """Collect one host: build the script, run it once through testinfra, parse its output.

    `timeout` bounds the whole collection: the host runs the script under its own `timeout`
    (a little shorter, where the host has one) and the local wait gives up at `timeout`.
    SSH and paramiko hosts go through memcheck's transports (`memcheck.collect.transport`),
    which take the script on the standard input of a short command, sharing `session` (its
    ControlPath masters and host key policy); without one, a session is opened and closed
    for this host alone.
    Raises `CollectError` with a one-line reason when nothing usable came back.
    """
    url = normalise_url(url)
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    if session is None:
        with TransportSession() as own:
            return collect_host(
                url,
                reads,
                timeout=timeout,
                sample_interval=sample_interval,
                backend_options=backend_options,
                session=own,
            )
    deadline = Deadline(timeout)
    nonce = secrets.token_hex(16)
    host_limit = max(1, math.floor(timeout - _HOST_MARGIN))
    # Both forms come from one cached text (build_script), so making both costs nothing.
    script = Script(
        command=build_script(reads, nonce, sample_interval, timeout=host_limit),
        bootstrap=stdin_command(host_limit),
        stdin=build_script(reads, nonce, sample_interval).encode("utf-8", "surrogateescape"),
    )
    stdout, stderr, rc, backend = _run_once(
        url, script, deadline, dict(backend_options or {}), session
    )
    if not stdout.strip():
        if rc == 124:
            raise CollectError(url, f"timed out on the host after {host_limit} s")
        detail = stderr.decode("utf-8", errors="replace").strip()
        raise CollectError(url, detail or f"the collection script exited with status {rc}")
    try:
        snapshot = parse_output(stdout, nonce, source_of(url), __version__)
    except CollectError as exc:
        detail = stderr.decode("utf-8", errors="replace").strip()
        raise CollectError(url, detail or exc.reason) from None
    if rc == 124:
        reason = f"timed out on the host after {host_limit} s"
        for path, why in snapshot.info.errors.items():
            if why.startswith("not collected"):
                snapshot.info.errors[path] = f"not collected: {reason}"
    if getattr(backend, "accepted_new_key", False):
        snapshot.info.notes.append(ACCEPTED_NOTE)
    return snapshot


@dataclass(frozen=True)
class Script:
    """The collection script in the two forms a host may get it.

    memcheck's SSH transports run `bootstrap` with the script on its standard input
    (`stdin`), so the script is in no command line on the host; other testinfra backends
    run `command`, the script itself. Both run it under the host's `timeout`.
    """

    command: str
    bootstrap: str
    stdin: bytes


def _run_once(
    url: str,
    script: Script,
    deadline: Deadline,
    options: dict[str, Any],
    session: TransportSession,
) -> tuple[bytes, bytes, int, Any]:
    """Run the script with one command; waits here until the deadline at most."""
    try:
        backend = open_backend(url, options, session, deadline)
    except TransportError as exc:
        raise CollectError(url, exc.reason) from None
    except Exception as exc:
        raise CollectError(url, describe_failure(exc)) from None
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            if getattr(backend, "takes_input", False):
                result = backend.run(script.bootstrap, stdin=script.stdin)
            else:
                result = testinfra.host.Host(backend).run(script.command)
            box["result"] = (_as_bytes(result._stdout), _as_bytes(result._stderr), result.rc)
        except BaseException as exc:  # reported on the caller's thread as a CollectError
            box["error"] = exc

    # A daemon thread: when a transport hangs past the limit the run goes on without it,
    # and the interpreter does not wait for it at exit.
    worker = threading.Thread(target=target, name=f"memcheck-collect {redact(url)}", daemon=True)
    worker.start()
    worker.join(deadline.remaining() + 0.5)
    try:
        if worker.is_alive():
            abort = getattr(backend, "abort", None)
            if abort is not None:
                abort()
            raise CollectError(url, f"timed out after {deadline.seconds:g} s")
        if "error" in box:
            raise CollectError(url, describe_failure(box["error"]))
    finally:
        close = getattr(backend, "close", None)
        if close is not None and not worker.is_alive():
            close()
    stdout, stderr, rc = box["result"]
    return stdout, stderr, int(rc), backend


def _as_bytes(data: object) -> bytes:
    # CommandResult.stdout would decode through the backend, which may run commands on the
    # host to learn its encoding; read the raw value instead.
    if isinstance(data, bytes):
        return data
    return str(data).encode("utf-8", errors="surrogateescape")


def describe_failure(exc: BaseException) -> str:
    """One line saying why a transport failed, without a traceback or the command sent."""
    if isinstance(exc, TransportError):
        return exc.reason
    if type(exc).__name__ == "NoValidConnectionsError":
        # paramiko lists every address it tried; the first says it.
        errors = getattr(exc, "errors", None) or {}
        for (address, port), error in errors.items():
            return f"connect to {address} port {port}: {getattr(error, 'strerror', error)}"
    if type(exc).__name__ == "AuthenticationException":
        return f"authentication failed ({exc})"
    # testinfra's ssh backend raises RuntimeError(CommandResult) when ssh exits with 255.
    if exc.args and hasattr(exc.args[0], "stderr_bytes"):
        raw = exc.args[0]._stderr
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
        return text.strip() or "ssh failed (exit status 255)"
    text = str(exc).strip()
    if not text or len(text) > 2000:
        text = type(exc).__name__
    return text if ": " in text or " " in text else f"{type(exc).__name__}: {text}"


def collect_many(
    urls: Iterable[str],
    reads: Iterable[str],
    workers: int = 8,
    *,
    timeout: float = 30,
    sample_interval: float = 1.0,
    backend_options: Mapping[str, Any] | None = None,
    host_options: Sequence[Mapping[str, Any]] | None = None,
    accept_new_host_keys: bool = False,
    progress: Callable[[str, bool], None] | None = None,
    on_result: Callable[[int, Snapshot | CollectError], None] | None = None,
) -> list[tuple[str, Snapshot | CollectError]]:
    """Collect hosts concurrently in threads; results in the order of `urls`.

    `host_options[i]` adds backend options for `urls[i]` alone (an inventory host's key
    file). Every host is tried once; one that fails gives its `CollectError` in place of a
    snapshot and the others go on. SSH master connections are closed before this returns.
    As each host finishes, from its worker thread: `progress(url, ok)` and
    `on_result(index, snapshot or error)`.
    """
    targets = list(urls)
    wanted = list(reads)
    extra = list(host_options) if host_options is not None else [{} for _ in targets]
    if len(extra) != len(targets):
        raise ValueError("host_options must have one entry per URL")

    def one(index: int) -> Snapshot | CollectError:
        options = {**(backend_options or {}), **extra[index]}
        got: Snapshot | CollectError
        try:
            got = collect_host(
                targets[index],
                wanted,
                timeout=timeout,
                sample_interval=sample_interval,
                backend_options=options,
                session=session,
            )
        except CollectError as exc:
            got = exc
        except Exception as exc:
            # Whatever a hostile host's output makes the parser do costs that host only.
            got = CollectError(source_of(targets[index]), describe_failure(exc))
        if on_result is not None:
            on_result(index, got)
        if progress is not None:
            progress(targets[index], isinstance(got, Snapshot))
        return got

    if not targets:
        return []
    with TransportSession(accept_new_host_keys) as session:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets)))) as pool:
            results = list(pool.map(one, range(len(targets))))
    return list(zip(targets, results))
