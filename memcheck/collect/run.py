"""Running the collection script on hosts through their testinfra backends, one command each."""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import testinfra

from memcheck import __version__
from memcheck.collect.errors import CollectError, redact
from memcheck.collect.script import build_script, parse_output
from memcheck.snapshot import Snapshot

# Seconds the local wait allows beyond the host-side `timeout`, so that a host which stops
# at its own limit still gets its partial output home.
_HOST_MARGIN = 2.0
_SSH_SCHEMES = ("ssh", "safe-ssh", "paramiko")


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
) -> Snapshot:
    """Collect one host: build the script, run it once through testinfra, parse its output.

    `timeout` bounds the whole collection: the host runs the script under its own `timeout`
    (a little shorter, where the host has one) and the local wait gives up at `timeout`.
    Raises `CollectError` with a one-line reason when nothing usable came back.
    """
    url = normalise_url(url)
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    nonce = secrets.token_hex(16)
    host_limit = max(1, math.floor(timeout - _HOST_MARGIN))
    script = build_script(reads, nonce, sample_interval, timeout=host_limit)
    options = dict(backend_options or {})
    if url.split("://", 1)[0] in _SSH_SCHEMES:
        # The connect timeout of ssh and paramiko cannot usefully exceed the whole budget.
        options.setdefault("timeout", max(1, math.ceil(timeout)))
    stdout, stderr, rc = _run_once(url, script, timeout, options)
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
    return snapshot


def _run_once(
    url: str, script: str, timeout: float, options: dict[str, Any]
) -> tuple[bytes, bytes, int]:
    """Run `script` with one `host.run`; waits at most `timeout` seconds here."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            host = testinfra.get_host(url, **options)
            result = host.run(script)
            box["result"] = (_as_bytes(result._stdout), _as_bytes(result._stderr), result.rc)
        except BaseException as exc:  # reported on the caller's thread as a CollectError
            box["error"] = exc

    # A daemon thread: when a transport hangs past the limit the run goes on without it,
    # and the interpreter does not wait for it at exit.
    worker = threading.Thread(target=target, name=f"memcheck-collect {redact(url)}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise CollectError(url, f"timed out after {timeout:g} s")
    if "error" in box:
        raise CollectError(url, describe_failure(box["error"]))
    stdout, stderr, rc = box["result"]
    return stdout, stderr, int(rc)


def _as_bytes(data: object) -> bytes:
    # CommandResult.stdout would decode through the backend, which may run commands on the
    # host to learn its encoding; read the raw value instead.
    if isinstance(data, bytes):
        return data
    return str(data).encode("utf-8", errors="surrogateescape")


def describe_failure(exc: BaseException) -> str:
    """One line saying why a transport failed, without a traceback or the command sent."""
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
    progress: Callable[[str, bool], None] | None = None,
) -> list[tuple[str, Snapshot | CollectError]]:
    """Collect hosts concurrently in threads; results in the order of `urls`.

    A host that fails gives its `CollectError` in place of a snapshot; the others go on.
    `progress(url, ok)` is called (from the worker thread) as each host finishes.
    """
    targets = list(urls)
    wanted = list(reads)

    def one(url: str) -> Snapshot | CollectError:
        got: Snapshot | CollectError
        try:
            got = collect_host(
                url,
                wanted,
                timeout=timeout,
                sample_interval=sample_interval,
                backend_options=backend_options,
            )
        except CollectError as exc:
            got = exc
        if progress is not None:
            progress(url, isinstance(got, Snapshot))
        return got

    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets)))) as pool:
        results = list(pool.map(one, targets))
    return list(zip(targets, results))
