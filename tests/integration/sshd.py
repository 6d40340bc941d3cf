"""A real OpenSSH server on 127.0.0.1 for tests and benchmarks, with throwaway keys and config.

`SshServer(workdir).start()` runs `sshd -f CONFIG -D -e` on high random ports of 127.0.0.1
only, with its own host key, one authorized throwaway user key, no passwords and no PAM.
Every command a client sends goes through a ForceCommand wrapper that appends one line to
`commands.log` (the server port, the client connection and the command's first word) and
then runs it, so a test can count what the host really received. Ports:

- `port`: a normal host;
- `unprivileged_port`: commands run as uid 65534 (setpriv), so some files are unreadable;
- `hang_port`: accepts the login, logs the command and then never answers;
- `swap_port`: commands see a /proc/swaps that lists a swap file (a bind mount in a private
  mount namespace, as root with unshare(1); a normal host otherwise), so that the collector
  takes its second vmstat sample on machines without swap;
- `dead_port`: nothing listens; `silent_port` (see `SilentServer`): accepts TCP, never speaks.

`write_client_config()` writes an ssh_config with host aliases (`live-N`, `unpriv-N`, `swap-N`,
`hang-N`, `changed`, `unknown`, `dead`, `silent`, `fresh`) and a known_hosts file that holds
the real host key, a different key for `changed`, and nothing for `unknown` and `fresh`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd")


def find_sshd() -> str | None:
    for path in SSHD_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("sshd")
    return found


def missing_tools() -> str | None:
    """Why a real sshd cannot be run here, or None when it can."""
    if find_sshd() is None:
        return "sshd (openssh-server) is not installed"
    for tool in ("ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} (openssh-client) is not installed"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def keygen(path: Path, comment: str) -> str:
    """A new ed25519 key pair at `path`; returns the public key line.

    A pair left there by an earlier server in the same folder is replaced (ssh-keygen would
    ask before overwriting, and with no terminal fail)."""
    public = path.with_suffix(".pub") if path.suffix else Path(str(path) + ".pub")
    for old in (path, public):
        old.unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return public.read_text()


class SilentServer:
    """A TCP port on 127.0.0.1 that accepts connections and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self._held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self.sock.close()


@dataclass
class ClientConfig:
    ssh_config: Path
    known_hosts: Path
    fresh_known_hosts: Path
    identity: Path


class SshServer:
    """See the module docstring."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.unprivileged_port = free_port()
        self.hang_port = free_port()
        self.swap_port = free_port()
        self.dead_port = free_port()
        self.user = pwd.getpwuid(os.geteuid()).pw_name
        self.log = self.dir / "commands.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._errors: BinaryIO | None = None
        self.silent: SilentServer | None = None
        self.host_public = ""
        self.other_public = ""

    # -- files ---------------------------------------------------------------------------
    def _wrapper(self, name: str, tail: str) -> Path:
        path = self.dir / name
        path.write_text(
            "#!/bin/sh\n"
            "# Log one line per command sshd was asked to run, then run it.\n"
            f'printf \'%s|%s\\n\' "$SSH_CONNECTION" "${{SSH_ORIGINAL_COMMAND%% *}}" >> {self.log}\n'
            '[ -n "$SSH_ORIGINAL_COMMAND" ] || exit 1\n' + tail + "\n"
        )
        os.chmod(path, 0o755)
        return path

    def _write_files(self) -> Path:
        keys = self.dir / "keys"
        keys.mkdir(exist_ok=True)
        self.host_key = keys / "host_ed25519"
        self.host_public = keygen(self.host_key, "memcheck-test-host")
        self.other_public = keygen(keys / "other_ed25519", "memcheck-test-other")
        self.identity = keys / "user_ed25519"
        user_public = keygen(self.identity, "memcheck-test-user")
        authorized = self.dir / "authorized_keys"
        authorized.write_text(user_public)
        os.chmod(authorized, 0o600)
        normal = self._wrapper("run-command", 'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"')
        if os.geteuid() == 0 and shutil.which("setpriv"):
            drop = (
                "exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "
                '/bin/sh -c "$SSH_ORIGINAL_COMMAND"'
            )
        else:
            drop = 'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"'
        unprivileged = self._wrapper("run-unprivileged", drop)
        hang = self._wrapper("run-hang", "exec sleep 20")
        swaps = self.dir / "swaps"
        swaps.write_text(
            "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
            "/swapfile                               file\t\t65532\t\t0\t\t-2\n"
        )
        if os.geteuid() == 0 and shutil.which("unshare"):
            with_swap = (
                f"exec unshare -m /bin/sh -c 'mount --bind {swaps} /proc/swaps && "
                'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\''
            )
        else:
            with_swap = 'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"'
        swap = self._wrapper("run-with-swap", with_swap)
        config = self.dir / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"ListenAddress 127.0.0.1:{self.port}",
                    f"ListenAddress 127.0.0.1:{self.unprivileged_port}",
                    f"ListenAddress 127.0.0.1:{self.hang_port}",
                    f"ListenAddress 127.0.0.1:{self.swap_port}",
                    f"HostKey {self.host_key}",
                    f"PidFile {self.dir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    f"AllowUsers {self.user}",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "UsePAM no",
                    "StrictModes no",
                    "X11Forwarding no",
                    "AllowTcpForwarding no",
                    "PermitTTY no",
                    "PrintMotd no",
                    "LogLevel ERROR",
                    "MaxStartups 200",
                    "MaxSessions 20",
                    # bash sources ~/.bashrc for sshd sessions only at SHLVL < 2: keep the
                    # machine's own shell start-up files out of what tests measure.
                    "SetEnv SHLVL=1",
                    f"ForceCommand {normal}",
                    f"Match LocalPort {self.unprivileged_port}",
                    f"    ForceCommand {unprivileged}",
                    f"Match LocalPort {self.hang_port}",
                    f"    ForceCommand {hang}",
                    f"Match LocalPort {self.swap_port}",
                    f"    ForceCommand {swap}",
                    "",
                ]
            )
        )
        return config

    # -- life cycle ----------------------------------------------------------------------
    def start(self) -> SshServer:
        sshd = find_sshd()
        if sshd is None:
            raise RuntimeError("sshd is not installed")
        config = self._write_files()
        if os.geteuid() == 0:
            # sshd's privilege separation directory; Debian's init script creates it too.
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        subprocess.run([sshd, "-t", "-f", str(config)], check=True, capture_output=True)
        self._errors = open(self.dir / "sshd.err", "wb")  # closed in stop()
        self.process = subprocess.Popen(
            [sshd, "-f", str(config), "-D", "-e"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._errors,
        )
        self.silent = SilentServer()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("sshd exited: " + (self.dir / "sshd.err").read_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if sock.recv(4).startswith(b"SSH-"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not start listening within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.silent is not None:
            self.silent.close()
        if self._errors is not None:
            self._errors.close()

    # -- what clients need ---------------------------------------------------------------
    def write_client_config(self, directory: Path, aliases: int = 3) -> ClientConfig:
        """An ssh_config with the aliases of the module docstring, and its known_hosts files."""
        directory.mkdir(parents=True, exist_ok=True)
        assert self.silent is not None
        key = self.host_public.split()
        other = self.other_public.split()
        known = directory / "known_hosts"
        known.write_text(
            "".join(
                f"[127.0.0.1]:{port} {key[0]} {key[1]}\n"
                for port in (self.port, self.unprivileged_port, self.hang_port, self.swap_port)
            )
            + f"changed {other[0]} {other[1]}\n"
        )
        fresh = directory / "fresh_known_hosts"
        fresh.write_text("")
        blocks = [
            ("changed", [f"Port {self.port}", "HostKeyAlias changed"]),
            ("unknown", [f"Port {self.port}", "HostKeyAlias unknown"]),
            ("fresh", [f"Port {self.port}", f"UserKnownHostsFile {fresh}"]),
            ("dead", [f"Port {self.dead_port}"]),
            ("silent", [f"Port {self.silent.port}"]),
            ("live-*", [f"Port {self.port}"]),
            ("unpriv-*", [f"Port {self.unprivileged_port}"]),
            ("hang-*", [f"Port {self.hang_port}"]),
            ("swap-*", [f"Port {self.swap_port}"]),
            (
                "*",
                [
                    "HostName 127.0.0.1",
                    f"User {self.user}",
                    f"IdentityFile {self.identity}",
                    "IdentitiesOnly yes",
                    f"UserKnownHostsFile {known}",
                    "GlobalKnownHostsFile /dev/null",
                ],
            ),
        ]
        text = "".join(
            f"Host {pattern}\n" + "".join(f"    {line}\n" for line in lines)
            for pattern, lines in blocks
        )
        config = directory / "ssh_config"
        config.write_text(text)
        return ClientConfig(config, known, fresh, self.identity)

    def commands(self) -> list[tuple[int, str, str]]:
        """(server port, client address:port, first word of the command) per command run."""
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text().splitlines():
            connection, word = line.split("|", 1)
            client, client_port, _, server_port = connection.split()
            out.append((int(server_port), f"{client}:{client_port}", word))
        return out

    def clear_log(self) -> None:
        if self.log.exists():
            self.log.unlink()
