"""memcheck's SSH transports without a server: command lines, names, failures, sessions."""

from __future__ import annotations

import os
import stat

import pytest

from memcheck.collect.transport import (
    Deadline,
    HostKeyError,
    OpenSshBackend,
    TransportError,
    TransportSession,
    check_host_name,
    check_port,
    check_user_name,
    fingerprint,
    open_backend,
    ssh_failure,
)


@pytest.fixture
def session() -> TransportSession:
    with TransportSession() as s:
        yield s  # type: ignore[misc]


def argv_for(url: str, session: TransportSession, **options: object) -> list[str]:
    backend = open_backend(url, options, session, Deadline(30))
    assert isinstance(backend, OpenSshBackend)
    return backend.ssh_argv("sh -c 'x'")


def option(argv: list[str], name: str) -> str | None:
    for i, word in enumerate(argv):
        if word == "-o" and argv[i + 1].startswith(name + "="):
            return argv[i + 1].split("=", 1)[1]
    return None


def test_ssh_command_line_is_an_argument_vector_with_safe_defaults(
    session: TransportSession,
) -> None:
    argv = argv_for("ssh://ops@db1:2222", session, ssh_config="/cfg", ssh_identity_file="/k")
    assert argv[0] == "ssh"
    # The host comes after `--`, the command is one argument: nothing is parsed by a shell.
    assert argv[-3:] == ["--", "db1", "sh -c 'x'"]
    assert option(argv, "BatchMode") == "yes"
    assert option(argv, "StrictHostKeyChecking") == "yes"
    assert option(argv, "ControlMaster") == "auto"
    assert option(argv, "User") == "ops"
    assert option(argv, "Port") == "2222"
    assert option(argv, "ConnectTimeout") == "10"
    assert argv[argv.index("-F") + 1] == "/cfg"
    assert argv[argv.index("-i") + 1] == "/k"
    path = option(argv, "ControlPath")
    assert path is not None and len(path) < 100  # Unix socket paths are short
    directory = os.path.dirname(path)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700


def test_masters_persist_only_on_request(session: TransportSession) -> None:
    # One command per host: the master is that command's own ssh, with no relay process.
    assert option(argv_for("ssh://db1", session), "ControlPersist") == "no"
    with TransportSession(persist_masters=True) as persisting:
        assert option(argv_for("ssh://db1", persisting), "ControlPersist") == "40"


def test_accept_new_host_keys_is_explicit() -> None:
    with TransportSession(accept_new_host_keys=True) as session:
        argv = argv_for("ssh://db1", session)
    assert option(argv, "StrictHostKeyChecking") == "accept-new"


def test_each_host_has_its_own_control_socket(session: TransportSession) -> None:
    # Host aliases can resolve to one address: ssh's %C would share a master between them.
    one = option(argv_for("ssh://alias-1", session), "ControlPath")
    two = option(argv_for("ssh://alias-2", session), "ControlPath")
    again = option(argv_for("ssh://alias-1", session), "ControlPath")
    assert one != two and one == again


def test_closing_the_session_removes_the_socket_folder() -> None:
    session = TransportSession()
    path = session.control_path("x")
    directory = os.path.dirname(path)
    assert os.path.isdir(directory)
    session.close()
    assert not os.path.exists(directory)
    session.close()  # twice is fine


def test_passwords_go_to_sshpass_by_environment_never_argv(session: TransportSession) -> None:
    argv = argv_for("ssh://ops:s3cret@db1", session)
    assert argv[:3] == ["sshpass", "-e", "ssh"]
    assert not any("s3cret" in word for word in argv)
    assert option(argv, "BatchMode") is None  # a password prompt must be answered


def test_safe_ssh_urls_use_the_same_transport(session: TransportSession) -> None:
    # testinfra's safe-ssh wrapper writes temporary files on the host; memcheck never does.
    backend = open_backend("safe-ssh://db1", {}, session, Deadline(30))
    assert isinstance(backend, OpenSshBackend)


@pytest.mark.parametrize(
    "name",
    ["db1", "db-1.example.com", "192.0.2.1", "2001:db8::1", "fe80::1%eth0", "under_score"],
)
def test_good_host_names(name: str) -> None:
    assert check_host_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "-oProxyCommand=x", "a b", "a;b", "$(x)", "`x`", "a\nb", "a/b", "a@b", "-", "a'b"],
)
def test_host_names_that_could_be_options_or_shell_are_refused(name: str) -> None:
    with pytest.raises(TransportError, match="refusing host name"):
        check_host_name(name)


@pytest.mark.parametrize("name", ["root", "ops.admin", "dom@corp", "svc+db", "machine$"])
def test_good_user_names(name: str) -> None:
    assert check_user_name(name) == name


@pytest.mark.parametrize("name", ["-l", "a b", "$(x)", "a;b", "é", "a\tb"])
def test_bad_user_names(name: str) -> None:
    with pytest.raises(TransportError, match="refusing user name"):
        check_user_name(name)


@pytest.mark.parametrize("port", ["0", "65536", "ssh", "-1", "22 "])
def test_bad_ports(port: str) -> None:
    with pytest.raises(TransportError, match="refusing port"):
        check_port(port)


def test_hostile_urls_fail_before_any_connection(session: TransportSession) -> None:
    with pytest.raises(TransportError, match="refusing host name"):
        open_backend("ssh://-oProxyCommand=touch%20x", {}, session, Deadline(5))
    with pytest.raises(TransportError, match="refusing user name"):
        open_backend("paramiko://-x@db1", {}, session, Deadline(5))


CHANGED = b"""@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Someone could be eavesdropping on you right now (man-in-the-middle attack)!
It is also possible that a host key has just been changed.
The fingerprint for the ED25519 key sent by the remote host is
SHA256:7JWE7Y3idPvWAoGecYGVN++uflLREk1GRe91eJGXpdM.
Please contact your system administrator.
Add correct host key in /home/ops/.ssh/known_hosts to get rid of this message.
Offending ED25519 key in /home/ops/.ssh/known_hosts:4
Host key for db1 has changed and you have requested strict checking.
Host key verification failed.
"""


@pytest.mark.parametrize(
    ("stderr", "kind", "expected"),
    [
        (
            CHANGED,
            HostKeyError,
            "host key CHANGED: the key the host offered "
            "(SHA256:7JWE7Y3idPvWAoGecYGVN++uflLREk1GRe91eJGXpdM) differs from the one "
            "recorded in /home/ops/.ssh/known_hosts:4",
        ),
        (
            b"No ED25519 host key is known for [db1]:2222 and you have requested strict "
            b"checking.\r\nHost key verification failed.\r\n",
            HostKeyError,
            "host key unknown for [db1]:2222: not in known_hosts; refused",
        ),
        (
            b"ssh: connect to host 192.0.2.1 port 22: Connection refused\r\n",
            TransportError,
            "ssh: connect to host 192.0.2.1 port 22: Connection refused",
        ),
        (
            b"Connection timed out during banner exchange\r\n"
            b"Connection to 192.0.2.1 port 22 timed out\r\n",
            TransportError,
            "Connection timed out during banner exchange; Connection to 192.0.2.1 port 22 timed out",
        ),
        (
            b"Warning: Permanently added '[db1]:22' (ED25519) to the list of known hosts.\r\n"
            b"ops@db1: Permission denied (publickey).\r\n",
            TransportError,
            "ops@db1: Permission denied (publickey).",
        ),
        (b"", TransportError, "ssh failed (exit status 255)"),
    ],
)
def test_ssh_failures_are_one_clear_line(stderr: bytes, kind: type, expected: str) -> None:
    error = ssh_failure(stderr)
    assert type(error) is kind
    assert error.reason.startswith(expected), error.reason
    assert "\n" not in error.reason


def test_fingerprints_are_openssh_sha256() -> None:
    # base64 of the SHA-256 of the blob, without padding (the empty blob here)
    assert fingerprint(b"") == "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"


@pytest.mark.parametrize(("budget", "connect"), [(30, 10), (4, 2), (1.5, 1), (0.5, 1), (100, 10)])
def test_connect_timeout_fits_in_the_budget(budget: float, connect: int) -> None:
    assert Deadline(budget).connect_timeout() == connect


def test_paramiko_is_imported_only_for_paramiko_hosts() -> None:
    # About 0.2 s of start-up that an ssh:// or local run does not need.
    import subprocess
    import sys

    code = (
        "import sys, memcheck.cli, memcheck.plugin, memcheck.collect.run;"
        "from memcheck.collect.transport import TransportSession, Deadline, open_backend;"
        "open_backend('ssh://db1', {}, TransportSession(), Deadline(5));"
        "assert 'paramiko' not in sys.modules, 'paramiko imported';"
        "from memcheck.collect.transport import VerifiedParamikoBackend;"
        "assert 'paramiko' in sys.modules"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_output_past_the_limit_is_refused_not_buffered() -> None:
    import subprocess

    from memcheck.collect.transport import OutputTooLarge, communicate_bounded

    endless = subprocess.Popen(["yes"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with pytest.raises(OutputTooLarge, match="more than 1 MiB"):
            communicate_bounded(endless, None, timeout=30, limit=1 << 20)
    finally:
        endless.kill()
        endless.communicate()
    echo = subprocess.Popen(
        ["sh", "-c", "cat; echo oops >&2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert communicate_bounded(echo, b"abc" * 100_000, timeout=30) == (b"abc" * 100_000, b"oops\n")
    silent = subprocess.Popen(["sleep", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            communicate_bounded(silent, None, timeout=0.3)
    finally:
        silent.kill()
        silent.communicate()


def test_a_paramiko_channel_past_the_limit_is_refused() -> None:
    from memcheck.collect.paramiko_transport import _read_all

    sent = iter([b"x" * 1000] * 10 + [b""])
    with pytest.raises(TransportError, match="more than"):
        _read_all(lambda size: next(sent), 5000)
    sent = iter([b"e" * 1000] * 10 + [b""])
    assert _read_all(lambda size: next(sent), 2500, keep_first=True) == b"e" * 2500
