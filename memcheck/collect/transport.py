"""memcheck's own SSH transports: testinfra's ssh and paramiko backends, made fast and safe.

testinfra's ssh backend sets no `ControlPath`, so every command pays a full handshake; it
builds one shell command line for the local shell; and it leaves host key checking to the
user's ssh configuration. Its paramiko backend accepts any host key (WarningPolicy), leaves
Nagle's algorithm on and retries a failed command once. memcheck keeps their host URL
handling, `--sudo` wrapping and ssh_config support, and changes what matters for a fleet:

- ssh: an argument vector without a local shell, `BatchMode`, `StrictHostKeyChecking=yes`
  (`accept-new` only on request), a private `ControlPath` per host whose masters are closed at
  the end (see `TransportSession` on persisting them), and a local deadline after which the
  ssh process group is killed; the script on the standard input of a short command.
- paramiko: host keys verified against known_hosts (unknown or changed keys are refused),
  `TCP_NODELAY`, connect, banner, auth and channel timeouts within the deadline, no retry
  (in `memcheck.collect.paramiko_transport`, imported only for paramiko hosts).

A host's name, user and paths are passed as single arguments, never pasted into shell text;
names that an ssh_config `%h` or `%r` token could turn into shell syntax are refused.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import testinfra.backend
from testinfra.backend.base import BaseBackend, CommandResult
from testinfra.backend.ssh import SshBackend

# paramiko's transport thread logs connection failures with tracebacks; memcheck reports each
# failure once, as one line, through CollectError.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
logging.getLogger("paramiko").propagate = False

OPENSSH_SCHEMES = ("ssh", "safe-ssh")
SSH_SCHEMES = (*OPENSSH_SCHEMES, "paramiko")

ACCEPTED_NOTE = (
    "host key was not in known_hosts: accepted without verification and recorded "
    "(--accept-new-host-keys)"
)
"""The note a host carries in its snapshot and report when its key was accepted unverified."""

# What an inventory or URL may put in a host or user name. ssh_config tokens such as %h and
# %r are expanded into ProxyCommand and friends, which a shell runs; anything outside these
# sets could become shell syntax there.
_HOST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.%A-Za-z]*")
_USER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@+-]*\$?")


class TransportError(Exception):
    """A host could not be reached or refused us; `reason` is one line, without secrets."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class HostKeyError(TransportError):
    """The host's key is unknown or differs from the one in known_hosts."""


class Deadline:
    """A point in time (monotonic clock) by which a host's collection must be over."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def connect_timeout(self) -> int:
        """Seconds for TCP connect and banner: half the budget, 1 to 10 (ssh's usual)."""
        return max(1, min(10, int(self.seconds // 2)))


def check_host_name(name: str) -> str:
    """Refuse a host name that could be read as an option or as shell text (see module doc)."""
    if not name or not _HOST_NAME.fullmatch(name):
        raise TransportError(
            f"refusing host name {name!r}: only letters, digits, '.', '_', '-' "
            "(or an IPv6 address) are allowed, and no leading '-'"
        )
    return name


def check_user_name(name: str) -> str:
    if not _USER_NAME.fullmatch(name):
        raise TransportError(
            f"refusing user name {name!r}: only letters, digits, '.', '_', '@', '+', '-' "
            "are allowed, and no leading '-'"
        )
    return name


def check_port(port: object) -> str:
    text = str(port)
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise TransportError(f"refusing port {text!r}: expected a number from 1 to 65535")
    return text


def check_target(host: Any) -> None:
    """Refuse a testinfra host spec whose name, user or port could be read as options or
    shell text (see `check_host_name`)."""
    check_host_name(host.name)
    if host.user:
        check_user_name(host.user)
    if host.port:
        check_port(host.port)


def fingerprint(key_bytes: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob."""
    digest = base64.b64encode(hashlib.sha256(key_bytes).digest()).decode("ascii")
    return "SHA256:" + digest.rstrip("=")


# -- the session: ControlPath sockets and notes -------------------------------------------------


class TransportSession:
    """What the hosts of one run share: the host key policy and the ControlPath directory.

    Every OpenSSH host gets its own control socket in a private directory (mode 0700): the
    first ssh to a host is its master, and any other command to the same host while it is
    open goes through it instead of a new handshake. With `persist_masters` the master
    stays in the background after its command (ControlPersist) for later commands; without
    it (the default: a run sends one command per host) the master is the ssh process of
    that command and ends with it, since a persisted master relays all the output through a
    second process (measured: ~0.07 s of CPU per host for the database profile's ~0.7 MB).
    `close` ends every master still open and removes the directory. Use it as a context
    manager.
    """

    def __init__(self, accept_new_host_keys: bool = False, persist_masters: bool = False) -> None:
        self.accept_new_host_keys = accept_new_host_keys
        self.persist_masters = persist_masters
        self._lock = threading.Lock()
        self._directory: str | None = None
        self._sockets: dict[str, str] = {}
        self._record_lock = threading.Lock()

    def __enter__(self) -> TransportSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def control_path(self, key: str) -> str:
        """The control socket for one host (the same key gives the same socket)."""
        with self._lock:
            if self._directory is None:
                # Unix socket paths are limited to ~100 bytes: keep the directory short.
                base = tempfile.gettempdir()
                if len(base) > 40:
                    base = "/tmp"
                self._directory = tempfile.mkdtemp(prefix="memcheck-ssh-", dir=base)
            if key not in self._sockets:
                name = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
                self._sockets[key] = os.path.join(self._directory, name)
            return self._sockets[key]

    def record_host_key(self, path: str, line: str) -> None:
        """Append one known_hosts line (accept-new), one writer at a time."""
        with self._record_lock:
            directory = os.path.dirname(path)
            if directory:
                os.makedirs(directory, mode=0o700, exist_ok=True)
            with open(path, "a", encoding="ascii") as fh:
                fh.write(line + "\n")

    def close(self) -> None:
        """Close every master connection (`ssh -O exit`) and remove the socket directory."""
        with self._lock:
            directory, sockets = self._directory, list(self._sockets.values())
            self._directory, self._sockets = None, {}
        live = [p for p in sockets if os.path.exists(p)]
        threads = [threading.Thread(target=_exit_master, args=(p,)) for p in live]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)


def _exit_master(path: str) -> None:
    # The host argument is required by ssh but unused: the socket names the master.
    try:
        subprocess.run(
            ["ssh", "-o", f"ControlPath={path}", "-O", "exit", "memcheck-master"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        pass


# -- opening a backend -------------------------------------------------------------------------


def open_backend(
    url: str,
    options: Mapping[str, Any],
    session: TransportSession,
    deadline: Deadline,
) -> BaseBackend:
    """The testinfra backend that runs the collection on `url`: ours for SSH, testinfra's else."""
    host, kwargs = testinfra.backend.parse_hostspec(url)
    for key, value in options.items():
        kwargs.setdefault(key, value)
    scheme = kwargs.get("connection") or "ssh"
    if scheme in OPENSSH_SCHEMES:
        kwargs.pop("connection", None)
        return OpenSshBackend(host, session=session, deadline=deadline, **kwargs)
    if scheme == "paramiko":
        from memcheck.collect.paramiko_transport import VerifiedParamikoBackend

        kwargs.pop("connection", None)
        return VerifiedParamikoBackend(host, session=session, deadline=deadline, **kwargs)
    return testinfra.backend.get_backend(url, **dict(options))


# -- OpenSSH -----------------------------------------------------------------------------------


class OpenSshBackend(SshBackend):  # type: ignore[misc]
    """testinfra's ssh backend with memcheck's ControlPath, host key policy and deadline.

    `safe-ssh://` is run by this backend too: testinfra's safe-ssh wrapper writes temporary
    files on the host, and memcheck's framed output already gives what it is for.
    """

    NAME = "ssh"

    def __init__(
        self,
        hostspec: str,
        *args: Any,
        session: TransportSession,
        deadline: Deadline,
        **kwargs: Any,
    ) -> None:
        super().__init__(hostspec, *args, **kwargs)
        check_target(self.host)
        self.session = session
        self.deadline = deadline
        self.accepted_new_key = False
        self._process: subprocess.Popen[bytes] | None = None
        self._aborted = False

    def control_key(self) -> str:
        return "\0".join(
            str(x)
            for x in (
                self.host.name,
                self.host.port,
                self.host.user,
                self.ssh_config,
                self.ssh_identity_file,
            )
        )

    def ssh_argv(self, command: str) -> list[str]:
        """The ssh command line (no shell involved) that runs `command` on the host."""
        argv = ["sshpass", "-e", "ssh"] if self.host.password else ["ssh"]
        if self.ssh_config:
            argv += ["-F", self.ssh_config]
        policy = "accept-new" if self.session.accept_new_host_keys else "yes"
        if not self.host.password:
            argv += ["-o", "BatchMode=yes"]
        argv += [
            "-o",
            f"StrictHostKeyChecking={policy}",
            "-o",
            f"ConnectTimeout={self.deadline.connect_timeout()}",
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=2",
            "-o",
            "ControlMaster=auto",
            "-o",
            "ControlPersist="
            + (
                str(max(10, int(self.deadline.seconds) + 10))
                if self.session.persist_masters
                else "no"
            ),
            "-o",
            f"ControlPath={self.session.control_path(self.control_key())}",
        ]
        if self.host.user:
            argv += ["-o", f"User={self.host.user}"]
        if self.host.port:
            argv += ["-o", f"Port={self.host.port}"]
        if self.ssh_identity_file:
            argv += ["-i", self.ssh_identity_file]
        return [*argv, "--", self.host.name, command]

    # The collector may send its script on standard input (memcheck.collect.run).
    takes_input = True

    def run(self, command: str, *args: str, **kwargs: Any) -> CommandResult:
        """Run `command` on the host; `stdin=BYTES` is sent as its standard input."""
        data: bytes | None = kwargs.pop("stdin", None)
        command = self.get_command(command, *args)
        argv = self.ssh_argv(command)
        env = dict(os.environ)
        if self.host.password:
            if shutil.which("sshpass") is None:
                raise TransportError(
                    "a password in the URL needs sshpass on this machine; use a key instead"
                )
            env["SSHPASS"] = self.host.password
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise TransportError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
        self._process = process
        try:
            stdout, stderr = communicate_bounded(process, data, self.deadline.remaining())
        except OutputTooLarge as exc:
            self.abort()
            raise TransportError(str(exc)) from None
        except subprocess.TimeoutExpired:
            self.abort()
            try:
                process.communicate(timeout=2)
            except (subprocess.TimeoutExpired, ValueError, OSError):
                for pipe in (process.stdout, process.stderr):
                    if pipe is not None:
                        pipe.close()
            raise TransportError(f"timed out after {self.deadline.seconds:g} s") from None
        if self._aborted:
            raise TransportError(f"timed out after {self.deadline.seconds:g} s")
        if b"Permanently added" in stderr:
            self.accepted_new_key = True
        if process.returncode == 255:
            raise ssh_failure(stderr)
        return self.result(process.returncode, self.encode(command), stdout, stderr)

    def abort(self) -> None:
        """Kill the ssh process and end its master connection (and so the remote command).

        The master holds the session's end of our pipes (a multiplexed client passes its
        file descriptors to the master), so it must go too before the pipes close.
        """
        self._aborted = True
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                pass
        _exit_master(self.session.control_path(self.control_key()))

    def close(self) -> None:
        """Nothing to do per host: the session closes the master connections."""


def ssh_failure(stderr: bytes) -> TransportError:
    """The one-line reason ssh gave for exit status 255, host key problems spelled out."""
    text = stderr.decode("utf-8", errors="replace")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
        found = re.search(r"(SHA256:[A-Za-z0-9+/=]+)", text)
        offered = f" ({found.group(1)})" if found else ""
        host = re.search(r"Offending \S+ key in (\S+)", text)
        where = f" in {host.group(1)}" if host else ""
        return HostKeyError(
            f"host key CHANGED: the key the host offered{offered} differs from the one "
            f"recorded{where}; refused (if the change is expected, remove the old key with "
            "ssh-keygen -R and verify the new one)"
        )
    unknown = re.search(r"No \S+ host key is known for (\S+)", text)
    if unknown or "Host key verification failed" in text:
        name = f" for {unknown.group(1)}" if unknown else ""
        return HostKeyError(
            f"host key unknown{name}: not in known_hosts; refused (verify the key and add it "
            "to known_hosts, or use --accept-new-host-keys in a lab)"
        )
    useful = [
        ln
        for ln in lines
        if not ln.startswith(("@", "Warning: Permanently added", "debug", "Pseudo-terminal"))
    ]
    if not useful:
        return TransportError("ssh failed (exit status 255)")
    # "Connection timed out during banner exchange" comes before "Connection to X timed out".
    return TransportError("; ".join(useful[:2]))


def import_for(urls: Sequence[str], host_options: Sequence[Mapping[str, object]]) -> None:
    """Import now, in the calling thread, the transports these targets will use.

    For collection that starts in a thread while the main thread goes on importing (the
    memcheck command's head start): paramiko imported in the collecting thread meanwhile
    made a one-host run ~0.3 s slower here, rather than faster.
    """
    for url, options in zip(urls, host_options):
        try:
            scheme = testinfra.backend.parse_hostspec(url)[1].get("connection")
        except ValueError:
            continue  # collecting that host reports the problem, for that host only
        if (scheme or options.get("connection")) == "paramiko":
            # This runs before pytest starts, outside its warning capture: a deprecation
            # notice some paramiko and cryptography pairs print on import would reach the
            # terminal, where the same import inside pytest never did.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from memcheck.collect import paramiko_transport  # noqa: F401 (and paramiko)
            return


def __getattr__(name: str) -> Any:
    # `VerifiedParamikoBackend` lives in its own module, imported on first use.
    if name == "VerifiedParamikoBackend":
        from memcheck.collect import paramiko_transport

        return paramiko_transport.VerifiedParamikoBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# What one host may send back for one collection: a snapshot holds at most 256 MiB of files
# (memcheck.snapshot.LIMITS), framing adds little; a host that sends more is refused rather
# than buffered until the controller runs out of memory.
MAX_OUTPUT_BYTES = 320 << 20
MAX_STDERR_BYTES = 1 << 20


class OutputTooLarge(Exception):
    """A host sent more than `MAX_OUTPUT_BYTES`."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the host sent more than {limit >> 20} MiB of output (the limit)")


def communicate_bounded(
    process: subprocess.Popen[bytes],
    data: bytes | None,
    timeout: float,
    limit: int | None = None,
) -> tuple[bytes, bytes]:
    """`process.communicate(data, timeout)`, but standard output stops at `limit` bytes
    (`OutputTooLarge`) and standard error keeps only its first `MAX_STDERR_BYTES`."""
    limit = MAX_OUTPUT_BYTES if limit is None else limit
    ends = time.monotonic() + timeout
    if process.stdin is not None:

        def feed() -> None:
            assert process.stdin is not None
            with contextlib.suppress(OSError, ValueError):
                if data:
                    process.stdin.write(data)
                process.stdin.close()

        threading.Thread(target=feed, name="memcheck-stdin", daemon=True).start()
    out: list[bytes] = []
    err: list[bytes] = []
    sizes = {"out": 0, "err": 0}
    with selectors.DefaultSelector() as selector:
        for pipe, name in ((process.stdout, "out"), (process.stderr, "err")):
            if pipe is not None:
                selector.register(pipe, selectors.EVENT_READ, name)
        while selector.get_map():
            left = ends - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(process.args, timeout)
            for key, _ in selector.select(left):
                chunk = os.read(key.fd, 1 << 18)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                sizes[key.data] += len(chunk)
                if key.data == "out":
                    if sizes["out"] > limit:
                        raise OutputTooLarge(limit)
                    out.append(chunk)
                elif sizes["err"] <= MAX_STDERR_BYTES:
                    err.append(chunk)
    left = max(0.1, ends - time.monotonic())
    process.wait(timeout=left)
    return b"".join(out), b"".join(err)[:MAX_STDERR_BYTES]
