"""memcheck's paramiko transport (see `memcheck.collect.transport`), kept apart so that runs
without paramiko:// hosts never import paramiko (about 0.2 s of start-up)."""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

from testinfra.backend.base import CommandResult
from testinfra.backend.paramiko import ParamikoBackend

from memcheck.collect.transport import (
    MAX_OUTPUT_BYTES,
    MAX_STDERR_BYTES,
    Deadline,
    HostKeyError,
    OutputTooLarge,
    TransportError,
    TransportSession,
    check_host_name,
    check_target,
    check_user_name,
    fingerprint,
)

# -- paramiko ----------------------------------------------------------------------------------


class VerifiedParamikoBackend(ParamikoBackend):  # type: ignore[misc]
    """testinfra's paramiko backend verifying host keys, with TCP_NODELAY and deadlines."""

    NAME = "paramiko"

    def __init__(
        self,
        hostspec: str,
        *args: Any,
        session: TransportSession,
        deadline: Deadline,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("controlpath", None)
        kwargs.pop("controlpersist", None)
        kwargs.pop("ssh_extra_args", None)
        super().__init__(hostspec, *args, **kwargs)
        check_target(self.host)
        self.session = session
        self.deadline = deadline
        self.accepted_new_key = False
        self._client: Any = None

    @functools.cached_property
    def client(self) -> Any:
        import paramiko

        client = paramiko.SSHClient()
        cfg: dict[str, Any] = {
            "hostname": self.host.name,
            "port": int(self.host.port) if self.host.port else 22,
            "username": self.host.user,
            "password": self.host.password,
        }
        settings: dict[str, Any] = {}
        config_path = self.ssh_config or os.path.join(os.path.expanduser("~"), ".ssh", "config")
        try:
            with open(config_path) as fh:
                parsed = paramiko.SSHConfig()
                parsed.parse(fh)
        except OSError:
            if self.ssh_config:
                raise TransportError(f"cannot read ssh config {self.ssh_config}") from None
        else:
            self._load_ssh_config(client, cfg, parsed, os.path.dirname(config_path))
            settings = dict(parsed.lookup(self.host.name))
        if self.ssh_identity_file:
            cfg["key_filename"] = self.ssh_identity_file
        check_host_name(str(cfg["hostname"]))
        if cfg.get("username"):
            check_user_name(str(cfg["username"]))
        port = int(cfg["port"])
        # The name known_hosts lists the host under, as OpenSSH looks it up.
        alias = settings.get("hostkeyalias")
        lookup = alias or (cfg["hostname"] if port == 22 else f"[{cfg['hostname']}]:{port}")
        paramiko_name = cfg["hostname"] if port == 22 else f"[{cfg['hostname']}]:{port}"
        users, systems = _known_hosts_files(settings)
        known = paramiko.HostKeys()
        for path in (*users, *systems):
            if path != os.devnull and os.path.isfile(path):
                try:
                    known.load(path)
                except (OSError, UnicodeDecodeError):
                    continue
        entries = known.lookup(lookup) or {}
        store = client.get_host_keys()
        for keytype, key in entries.items():
            store.add(paramiko_name, keytype, key)
        client.set_missing_host_key_policy(
            _UnknownKeyPolicy(self, lookup, users[0] if users and users[0] != os.devnull else None)
        )
        timeout = self.deadline.connect_timeout()
        remaining = max(1.0, self.deadline.remaining())
        if cfg.get("sock") is None:
            cfg["sock"] = _connect_nodelay(str(cfg["hostname"]), port, timeout)
        cfg.update(
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=remaining,
            channel_timeout=remaining,
        )
        try:
            client.connect(**cfg)
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyError(
                f"host key CHANGED: the key {lookup} offered "
                f"({fingerprint(exc.key.asbytes())}) differs from the one in known_hosts "
                f"({fingerprint(exc.expected_key.asbytes())}); refused (if the change is "
                "expected, remove the old key with ssh-keygen -R and verify the new one)"
            ) from None
        except paramiko.AuthenticationException as exc:
            client.close()
            raise TransportError(
                f"authentication failed for {cfg.get('username')}: {exc}"
            ) from None
        except paramiko.SSHException as exc:
            transport = client.get_transport()
            client.close()
            where = f"{cfg['hostname']} port {port}"
            if transport is not None and not transport.remote_version:
                raise TransportError(
                    f"connected to {where}, but no SSH banner came within {timeout} s"
                ) from None
            if transport is not None and not transport.is_authenticated():
                raise TransportError(f"SSH handshake with {where} failed: {exc}") from None
            raise
        except BaseException:
            client.close()
            raise
        transport = client.get_transport()
        if transport is not None and isinstance(transport.sock, socket.socket):
            transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client = client
        return client

    # The collector may send its script on standard input (memcheck.collect.run).
    takes_input = True

    def _exec_command(self, command: bytes, data: bytes | None = None) -> tuple[int, bytes, bytes]:
        transport = self.client.get_transport()
        if transport is None:
            raise TransportError("the SSH connection closed")
        chan = transport.open_session(timeout=max(1.0, self.deadline.remaining()))
        chan.settimeout(max(0.5, self.deadline.remaining()))
        chan.exec_command(command)
        if data is not None:
            chan.sendall(data)
        chan.shutdown_write()  # the command's standard input ends here
        # In large chunks: iterating channel files goes line by line in Python, which cost
        # more than the rest of the collection for ~0.7 MB of output (measured).
        stdout = _read_all(chan.recv, MAX_OUTPUT_BYTES)
        stderr = _read_all(chan.recv_stderr, MAX_STDERR_BYTES, keep_first=True)
        rc = int(chan.recv_exit_status())
        return rc, stdout, stderr

    def run(self, command: str, *args: str, **kwargs: Any) -> CommandResult:
        """Run `command` on the host; `stdin=BYTES` is sent as its standard input.

        One attempt: testinfra retries once on a dropped connection; a fleet run must not.
        """
        data: bytes | None = kwargs.pop("stdin", None)
        command = self.get_command(command, *args)
        cmd = self.encode(command)
        try:
            rc, stdout, stderr = self._exec_command(cmd, data)
        except (socket.timeout, TimeoutError):
            raise TransportError(f"timed out after {self.deadline.seconds:g} s") from None
        return self.result(rc, cmd, stdout, stderr)

    def abort(self) -> None:
        self.close()

    def close(self) -> None:
        client = self._client
        if client is not None:
            client.close()


def _read_all(recv: Callable[[int], bytes], limit: int, keep_first: bool = False) -> bytes:
    """Everything a channel stream gives until its end of file, up to `limit` bytes: past
    it, `OutputTooLarge`, or with `keep_first` the first `limit` bytes (the rest is read and
    dropped, so that the channel can close)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = recv(1 << 18)
        if not chunk:
            return b"".join(chunks)[:limit]
        size += len(chunk)
        if size > limit and not keep_first:
            raise TransportError(str(OutputTooLarge(limit)))
        if size - len(chunk) < limit:
            chunks.append(chunk)


class _UnknownKeyPolicy:
    """Refuses a key known_hosts does not hold; with --accept-new-host-keys, records it."""

    def __init__(self, backend: VerifiedParamikoBackend, name: str, record_in: str | None):
        self.backend = backend
        self.name = name
        self.record_in = record_in

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        shown = fingerprint(key.asbytes())
        if not self.backend.session.accept_new_host_keys:
            raise HostKeyError(
                f"host key unknown for {self.name} ({key.get_name()} {shown}): not in "
                "known_hosts; refused (verify the key and add it to known_hosts, or use "
                "--accept-new-host-keys in a lab)"
            )
        if self.record_in:
            self.backend.session.record_host_key(
                self.record_in, f"{self.name} {key.get_name()} {key.get_base64()}"
            )
        self.backend.accepted_new_key = True


def _known_hosts_files(settings: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The user files (the first is where accepted keys go) and the global files to trust."""
    user = str(settings.get("userknownhostsfile") or "~/.ssh/known_hosts ~/.ssh/known_hosts2")
    system = str(
        settings.get("globalknownhostsfile") or "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"
    )
    users = [os.path.expanduser(p) for p in user.split()]
    systems = [os.path.expanduser(p) for p in system.split()]
    return users, systems


def _connect_nodelay(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection with Nagle's algorithm off (paramiko leaves it on)."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise TransportError(f"connect to {host} port {port}: timed out") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise TransportError(f"connect to {host} port {port}: {reason}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
