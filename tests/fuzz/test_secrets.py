"""The masking policy under hypothesis: it never raises, stays within the per-input bound,
is idempotent, and never leaves a generated secret behind in the forms it covers."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memcheck.secrets import (
    mask_argv,
    mask_cmdline,
    mask_command_file,
    mask_environ,
    mask_kernel_log,
    mask_snapshot_files,
    mask_text,
    mask_url_passwords,
)
from tests.fuzz.bounds import bounded, call_bounded

# Words that drive the masker's state: options, programs, wrappers, quotes, URLs.
WORDS = [
    "--password", "--requirepass", "--masterauth", "--user", "--auth", "--pass", "--token=",
    "-p", "-a", "-u", "-U", "-w", "-P", "-c", "-E", "-D", "-Dx.password=", "-pass", "--",
    "mysql", "mysqldump", "mariadb", "redis-cli", "redis-server", "curl", "psql", "mongod",
    "mongosh", "sqlplus", "smbclient", "sshpass", "ldapsearch", "7z", "env", "sudo", "sh",
    "AUTH", "CONFIG", "SET", "requirepass", "PGPASSWORD=", "X=", "password=", "userid=",
    "Authorization:", "Bearer", "http://u:p@h/", "u:p@h", "a:b@c,d:e@f", ">pw", "<pw",
    "'", '"', "\\", ";", "|", "&", "(", ")", "`", "$(", "\n", " ", "=", ":", "@", "://",
    ":MEMCHECK:", "***", '{"password": "x"}', "",
]  # fmt: skip

word = st.one_of(st.sampled_from(WORDS), st.text(max_size=12))
argv_lists = st.lists(
    st.one_of(
        word, st.lists(word, max_size=5).map("".join), st.lists(word, max_size=5).map(" ".join)
    ),
    max_size=12,
)
text = st.lists(word, max_size=30).map(lambda ws: " ".join(ws))

COMMAND_FILE_PATHS = [
    "/proc/1/cmdline",
    "/proc/1/task/2/cmdline",
    "/proc/1/environ",
    "/proc/cmdline",
    "/.memcheck/kernel.log",
    "/etc/crontab",
    "/etc/cron.d/backup",
    "/etc/systemd/system/app.service",
    "/usr/lib/systemd/system/x.service",
    "/etc/default/grub",
    "/proc/meminfo",
    "/etc/sysctl.d/90.conf",
]


@given(argv_lists)
def test_argv_never_raises_and_is_idempotent(argv: list[str]) -> None:
    with bounded():
        once = mask_argv(argv)
        assert len(once) == len(argv)
        assert mask_argv(once) == once


@given(text)
def test_text_and_command_files_never_raise_and_are_idempotent(value: str) -> None:
    with bounded():
        once = mask_text(value)
        assert mask_text(once) == once
        lines = mask_command_file(value)
        assert mask_command_file(lines) == lines
        urls = mask_url_passwords(value)
        assert mask_url_passwords(urls) == urls
        assert lines.count("\n") == value.count("\n")  # line numbers stay


@given(st.lists(st.sampled_from(COMMAND_FILE_PATHS), max_size=6), st.data())
def test_snapshot_files_any_bytes(paths: list[str], data: st.DataObject) -> None:
    files = {
        path: data.draw(
            st.one_of(
                st.binary(max_size=300),
                argv_lists.map(lambda a: "\0".join(a).encode("utf-8", "surrogatepass")),
                text.map(lambda t: t.encode("utf-8", "surrogatepass")),
            )
        )
        for path in paths
    }
    with bounded():
        mask_snapshot_files(files)
        again = dict(files)
        mask_snapshot_files(again)
        assert again == files
        for raw in files.values():
            assert mask_cmdline(raw) == mask_cmdline(mask_cmdline(raw))
            assert mask_environ(raw) == mask_environ(mask_environ(raw))
            assert mask_kernel_log(raw) == mask_kernel_log(mask_kernel_log(raw))


# -- generated secrets in the covered forms --------------------------------------------------------

# The secret is framed by two markers that no rule reacts to: a value masked short at either
# end would leave one of them.
HEAD, TAIL = "Qx7Zv", "Jw4Kd"
ANY = st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")
PLAIN = st.characters(whitelist_categories=("L", "N"), whitelist_characters="!$%^*+_.~")
URLISH = st.characters(whitelist_categories=("L", "N"), whitelist_characters="!$%^*+_.~:;,=&")


def secrets(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.text(alphabet, max_size=16).map(lambda middle: HEAD + middle + TAIL)


def leaves_nothing(shown: str) -> bool:
    return HEAD not in shown and TAIL not in shown


OPTIONS = st.sampled_from(
    ["password", "requirepass", "masterauth", "db-password", "api-key", "access-token",
     "aws-secret-access-key", "client_secret", "auth-token", "secret", "token", "passwd"]
)  # fmt: skip
VARIABLES = st.sampled_from(
    ["PGPASSWORD", "MYSQL_PWD", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN",
     "API_KEY", "REDISCLI_AUTH", "APP_SECRET"]
)  # fmt: skip
PROGRAMS = st.sampled_from(["/usr/local/bin/app", "redis-server", "java", "mongosh", "node"])
MYSQLS = st.sampled_from(["mysql", "/usr/bin/mysqldump", "mariadb", "mysqladmin", "mydumper"])
USERS = st.text(st.characters(whitelist_categories=("Ll",)), max_size=8)
HOSTS = st.from_regex(r"[a-z][a-z0-9.-]{0,12}", fullmatch=True)


@st.composite
def covered(draw: st.DrawFn) -> list[str]:
    """A command line holding one secret in a form the policy covers."""
    form = draw(st.integers(0, 10))
    program, option = draw(PROGRAMS), draw(OPTIONS)
    if form == 0:
        secret = draw(secrets(ANY))
        return [program, f"--{option}", secret, "--port", "6379"]
    if form == 1:
        return [program, f"--{option}={draw(secrets(ANY))}", "--verbose"]
    if form == 2:
        return ["java", f"-Dspring.datasource.{option}={draw(secrets(ANY))}", "-jar", "a.jar"]
    if form == 3:
        return [draw(MYSQLS), "-uroot", "-p" + draw(secrets(ANY)), "shop"]
    if form == 4:
        return ["redis-cli", "-h", "db", "-a", draw(secrets(ANY)), "PING"]
    if form == 5:
        scheme = draw(st.sampled_from(["redis", "postgres", "mongodb+srv", "https", "amqp"]))
        url = f"{scheme}://{draw(USERS)}:{draw(secrets(URLISH))}@{draw(HOSTS)}/db"
        return [program, draw(st.sampled_from([url, "--uri=" + url]))]
    if form == 6:
        return ["curl", "-fsS", "-u", f"{draw(USERS)}:{draw(secrets(ANY))}", "https://x/"]
    if form == 7:
        return ["env", f"{draw(VARIABLES)}={draw(secrets(ANY))}", "psql", "-p", "5432"]
    if form == 8:
        # Shell text, quoted as sh quotes it.
        secret = shlex.quote(draw(secrets(ANY)))
        variable = draw(VARIABLES)
        return ["/bin/sh", "-c", f"{variable}={secret} {program} --{option} {secret} | gzip"]
    if form == 9:
        return ["app", "-H", f"Authorization: Bearer {draw(secrets(ANY))}"]
    return ["psql", f"host=db user=app password={draw(secrets(PLAIN))} dbname=app"]


@given(covered())
def test_a_covered_secret_never_survives(argv: list[str]) -> None:
    masked = call_bounded(lambda: mask_argv(argv))
    assert leaves_nothing("\0".join(masked)), masked
    raw = "\0".join(argv).encode("utf-8", "surrogateescape") + b"\0"
    shown = call_bounded(lambda: mask_cmdline(raw)).decode("utf-8", "surrogateescape")
    assert leaves_nothing(shown), shown
    assert mask_argv(masked) == masked


@given(VARIABLES, secrets(ANY), st.lists(st.sampled_from(["PATH=/bin", "LANG=C", "X=y"])))
def test_a_secret_variable_never_survives_in_environ(
    variable: str, secret: str, others: list[str]
) -> None:
    raw = "\0".join([*others, f"{variable}={secret}", *others]).encode() + b"\0"
    assert leaves_nothing(call_bounded(lambda: mask_environ(raw)).decode())


# About 100 kB each (the kernel allows a command line of several MB): quadratic work in any
# rule would take minutes here, linear work well under the bound even with memory tracing.
PATHOLOGICAL = [
    "a://" * 25_000,
    "x:y@" * 25_000,
    "'" * 100_000,
    '"' * 100_000,
    "\\" * 100_000,
    "=" * 100_000,
    "a" * 100_000 + "://",
    ("password=" + "v" * 50) * 1_700,
    '"password":' * 10_000,
    "--password " * 10_000,
    ("sh -c '" * 2_000) + "mysql -pX",
    "a," * 50_000 + "@",
    "mysql -p" + " -p" * 5_000,
]


@pytest.mark.parametrize("value", PATHOLOGICAL, ids=range(len(PATHOLOGICAL)))
def test_pathological_input_is_linear(value: str) -> None:
    with bounded(seconds=5):
        mask_text(value)
        mask_command_file(value)
        mask_argv([value, value])
        mask_cmdline(value.encode() + b"\0")
