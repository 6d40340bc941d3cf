"""The one masking policy for secrets on command lines, in environments and in the host files
that carry commands (SPEC 3: secrets stay on the host).

Everything memcheck keeps of a host goes through here before a `Snapshot` is built from it
(`mask_snapshot_files`), and every command line it shows goes through here again
(`mask_argv`, `mask_text`): a live collection, a saved snapshot and the reports of either hold
the same masked text. A masked value is replaced by `MASK` and the option or variable that held
it is kept, so the evidence still shows *which* secret was set.

What is a secret:

- The value of an option whose name says secret: a word of it is a password (`pass`,
  `passwd`, `password`, `passphrase`, `pwd`, `pw`, or a word ending in one, as in
  `requirepass`), `secret`, a `...token`, `credential...`, `...cookie`, `bearer`,
  `signature`; or its last word is a `...key` (`--api-key`, `-Dkey=`) or an `...auth`
  (`--masterauth`, `--auth`) or `authorization`. Names ending in a word that names a place or a
  setting rather than the value (`--password-file`, `--key-buffer-size`, `--token-ttl`,
  `keyStore`, `--password-stdin`) and negations (`--no-password`, `--skip-...`) are not.
  Forms: `--name=VALUE`, `--name VALUE`, `-name=VALUE` and `-name VALUE` (Go, Erlang and
  OpenSSL style), Java and Elasticsearch properties `-Dname=VALUE` and `-Ename=VALUE`, and
  `name=VALUE` anywhere (`-c name=VALUE`, `-e NAME=VALUE`, libpq connection strings, URL
  query strings, `mount -o` lists, JAAS `password="..."`, JSON `"password": "..."`).
  `--name VALUE` takes the next word unless it is itself a long option (`--...`); where a
  program documents the option as a flag without value (psql's `--password`, mongod's
  `--auth`) the next word is left alone.
- Environment assignments: in `/proc/<pid>/environ` and in front of a command (`env
  PGPASSWORD=x psql`, `sh -c 'MYSQL_PWD=x mysqldump ...'`), any name containing PASS, PWD,
  SECRET, TOKEN, KEY, AUTH, CREDENTIAL, COOKIE or BEARER (but `PWD` and `OLDPWD`, the working
  directory); other values are searched like any other argument.
- The password of `user:password@` in a URL (`redis://:pw@h`, `mongodb+srv://u:pw@c/`,
  `jdbc:mysql://u:pw@h/db`) and of a bare `user:password@host`; the value of an HTTP header
  whose name says secret (`Authorization: Bearer x` -> `Authorization: ***`).
- Short options, by program, since one letter means different things to different programs:
  `-pVALUE` and `-p VALUE` for the MySQL and MariaDB programs (`mysql`, `mysqld`,
  `mysqldump`, `mariadb-*`, `xtrabackup`, `mydumper`, Percona's `pt-*`), the MongoDB clients
  (`mongosh`, `mongodump`, ...) and `sshpass`; `-a` of `redis-cli` (and its `AUTH`
  command); `-u`/`-U user:password` of `curl` (the part after the colon) and its `-E
  cert:password`; `-w` of the `ldap*` clients; `-P` of `sqlcmd`, `bcp` and `zip`; `-pVALUE`
  of `7z`; `-U user%password` of `smbclient`; `user/password@db` of `sqlplus` and the other
  Oracle clients; `>password` rules after `redis-server --user`; the letter may end a
  cluster for `curl` (`-fsSu user:pass`) and `zip` (`-rP pass`). A program is known by the
  base name of argv[0] or of any later word naming one (`sudo -u postgres psql`, `docker
  exec db mysql ...`, `ssh host mysql ...`, `ExecStart=/usr/bin/mysql`). A `-p` anywhere
  else is left alone: it is the port of `psql`, `pg_dump`, `ssh -p`, `memcached -p`, `docker
  run -p` and many more. A MySQL `-p` followed by a separate word is, to MySQL, a prompt
  and a database name; the word is masked anyway, since whoever wrote it meant a password as
  often as not and hiding a database name costs nothing.
- Arguments holding whitespace are shell text (the word after `-c` as in `sh -c '...'` and
  `su -c`, `ssh host '...'`, a rewritten process title, an option's value): they are split
  the way `sh` would and masked command by command, up to `MAX_DEPTH` levels of nesting;
  deeper text that may hold a secret is masked whole. (`NAME=value with blanks` is one
  assignment: a secret name hides all of its value.)
- An argument holding memcheck's own collection script (the `sh` that runs it and the
  processes that started it) is replaced by `SCRIPT_STAND_IN`: it is memcheck's, tens of
  kilobytes long, and no evidence of anything about the host.

In a snapshot (`mask_snapshot_files`) this applies to `/proc/<pid>/cmdline` and `environ`
(and their `task/<tid>/` twins), to the audit records of the kernel log (`proctitle=`, a
command line in hex; an EXECVE record's `aN=` arguments; sudo's `cmd=`), and to the files that hold commands or a kernel command line:
`/proc/cmdline`, crontabs, `rc.local`, systemd units, tuned profiles, `/etc/default` and
`/etc/sysconfig`, boot loader entries. In those files a line keeps its place (line numbers
in evidence stay right) and `Name=value` at the start of a line is judged as an option, not
as an environment variable (`KeyringMode=` stays). An empty value (`--password=`) shows as it
is: there is nothing to hide.

Masking never raises, whatever the bytes, and is idempotent (masking masked text changes
nothing), so a snapshot masked when collected and again when loaded does not change.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Callable, MutableMapping, Sequence
from typing import TypeVar

MASK = "***"
SCRIPT_STAND_IN = "[memcheck-collection-script]"
SCRIPT_MARK = ":MEMCHECK:"
"""Printed by every collection script (its record separator), in no other command line."""

MAX_DEPTH = 4
"""Levels of shell text inside shell text that are split; deeper text is masked whole."""

# -- which names are secret --------------------------------------------------------------------

_CAMEL_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_NOT_PASS = frozenset({"bypass", "compass", "encompass", "overpass", "underpass", "surpass"})
_NOT_KEY = frozenset({"hotkey", "monkey", "turkey", "whiskey", "donkey", "jockey", "hockey"})
# A name whose last word is one of these names where or how a secret is kept, not the secret.
_SETTING_WORDS = frozenset(
    {
        "file", "files", "path", "dir", "directory", "jar", "store", "url", "uri", "endpoint",
        "host", "port", "user", "username", "name", "env", "command", "cmd", "stdin", "prompt",
        "length", "len", "policy", "encryption", "timeout", "ttl", "expiry", "expire",
        "expires", "lifetime", "age", "min", "max", "size", "count", "type", "mode",
        "method", "methods", "mechanism", "source", "db", "database", "enabled", "enable",
        "disabled", "disable", "required", "warning", "plugin", "format", "algorithm",
        "level", "realm", "scope", "audience", "issuer", "environment",
    }
)  # fmt: skip
# A first word that makes the name about the secret rather than the secret itself: a
# negation (`--no-password`) or a verb (systemd's `LoadCredential=`, `PassEnvironment=`).
_NOT_THE_VALUE = frozenset({"no", "skip", "disable", "without", "load", "import", "pass"})
_ENV_WORDS = ("PASS", "PWD", "SECRET", "TOKEN", "KEY", "AUTH", "CREDENTIAL", "COOKIE", "BEARER")
_ENV_NOT = frozenset({"PWD", "OLDPWD"})


def _words(name: str) -> list[str]:
    return [w.lower() for w in _CAMEL_WORDS.findall(name)]


def _secret_word(word: str) -> bool:
    if word in _NOT_PASS:
        return False
    return (
        word in ("pw", "passcode")
        or (word.endswith("pass") and word != "pass")
        or word.endswith(("passwd", "password", "passwords", "passphrase", "pwd"))
        or "secret" in word
        or word.endswith("token")
        or word.startswith("credential")
        or word.endswith("cookie")
        or word in ("bearer", "signature")
    )


@functools.lru_cache(maxsize=4096)  # a host's command lines repeat the same few names
def is_secret_name(name: str) -> bool:
    """Whether an option, property or parameter of this name holds a secret (see the module)."""
    words = _words(name)
    if (
        name.upper() in _ENV_NOT
        or not words
        or words[-1] in _SETTING_WORDS
        or (words[0] in _NOT_THE_VALUE and len(words) > 1)
    ):
        return False
    last = words[-1]
    if last == "pass":  # `--pass`, `DB_PASS`; a first `pass` is a verb (`PassCredentials=`)
        return True
    if last.endswith("key") and last not in _NOT_KEY:
        return True
    if last.endswith("auth") or last in ("authorization", "authz"):
        return True
    return any(_secret_word(w) for w in words)


@functools.lru_cache(maxsize=4096)
def is_secret_variable(name: str) -> bool:
    """Whether an environment variable of this name holds a secret (`*PASSWORD*`, `*KEY*`...)."""
    upper = name.upper()
    return upper not in _ENV_NOT and any(w in upper for w in _ENV_WORDS)


# -- which programs have rules of their own ----------------------------------------------------

# Families of programs whose options mean the same.
_MYSQL = "mysql"
_MONGO_CLIENT = "mongo-client"
_MONGOD = "mongod"
_REDIS_CLI = "redis-cli"
_REDIS_SERVER = "redis-server"
_CURL = "curl"
_LDAP = "ldap"
_SQLCMD = "sqlcmd"
_ZIP = "zip"
_7Z = "7z"
_SMB = "smb"
_ORACLE = "oracle"
_PG = "pg"
_DASH_P = "dash-p"
_WRAPPER = "wrapper"

_EXACT: dict[str, str] = {
    **dict.fromkeys(("mariabackup", "xtrabackup", "innobackupex", "mydumper", "myloader"), _MYSQL),
    **dict.fromkeys(
        ("mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport",
         "mongostat", "mongotop", "mongofiles"),
        _MONGO_CLIENT,
    ),
    "mongod": _MONGOD,
    "mongos": _MONGOD,
    **dict.fromkeys(("redis-cli", "valkey-cli", "keydb-cli"), _REDIS_CLI),
    **dict.fromkeys(
        ("redis-server", "valkey-server", "keydb-server", "redis-sentinel", "valkey-sentinel"),
        _REDIS_SERVER,
    ),
    "curl": _CURL,
    "sshpass": _DASH_P,
    **dict.fromkeys(("sqlcmd", "bcp", "osql"), _SQLCMD),
    **dict.fromkeys(("zip", "zipcloak", "unzip"), _ZIP),
    **dict.fromkeys(("7z", "7za", "7zr"), _7Z),
    **dict.fromkeys(("smbclient", "rpcclient", "smbcacls", "smbget"), _SMB),
    **dict.fromkeys(
        ("sqlplus", "rman", "expdp", "impdp", "sqlldr", "dgmgrl"), _ORACLE
    ),
    **dict.fromkeys(
        ("psql", "pg_dump", "pg_dumpall", "pg_restore", "pg_basebackup", "pg_receivewal",
         "pg_recvlogical", "pg_isready", "pgbench", "createdb", "dropdb", "createuser",
         "dropuser", "vacuumdb", "reindexdb", "clusterdb", "postgres", "postmaster", "pg_ctl",
         "pg_upgrade", "pg_rewind"),
        _PG,
    ),
    **dict.fromkeys(
        ("env", "sudo", "doas", "nohup", "nice", "ionice", "timeout", "exec", "command",
         "chrt", "taskset", "setsid", "stdbuf", "time", "xargs", "su-exec", "gosu", "runuser",
         "unshare", "nsenter", "flock", "systemd-run", "numactl", "cgexec", "setpriv", "chpst",
         "tini", "dumb-init", "catatonit", "s6-setuidgid", "start-stop-daemon", "export",
         "declare", "typeset", "local", "readonly", "ssh", "docker", "podman", "kubectl",
         "nerdctl", "crictl", "watch", "strace", "ltrace", "valgrind", "firejail", "sg"),
        _WRAPPER,
    ),
}  # fmt: skip

# (kind of value, may be attached as in -pVALUE, may be the next word)
_SHORT: dict[str, dict[str, tuple[str, bool, bool]]] = {
    _MYSQL: {"p": ("secret", True, True)},
    _MONGO_CLIENT: {"p": ("secret", True, True)},
    _DASH_P: {"p": ("secret", True, True)},
    _REDIS_CLI: {"a": ("secret", True, True)},
    _CURL: {
        "u": ("userpass", True, True),
        "U": ("userpass", True, True),
        "E": ("cert", True, True),
    },
    _LDAP: {"w": ("secret", True, True)},
    _SQLCMD: {"P": ("secret", True, True)},
    _ZIP: {"P": ("secret", True, True)},
    _7Z: {"p": ("secret", True, False)},
    _SMB: {"U": ("percent", True, True)},
}
# Letters that take no value, for programs whose password option is often the last of a
# cluster (`curl -fsSu user:pass`, `zip -rP pass`).
_CLUSTER_FLAGS: dict[str, frozenset[str]] = {
    _CURL: frozenset("sSfLkviIgGjJlnNOpqR0123456#Z"),
    _ZIP: frozenset("0123456789rRqjJmTvDXyzgFlkAoeS@"),
}
_LONG: dict[str, dict[str, str]] = {
    _CURL: {"user": "userpass", "proxy-user": "userpass", "cert": "cert", "proxy-cert": "cert"},
    _SMB: {"user": "percent"},
}
# Options these programs document as flags without a value.
_FLAGS: dict[str, frozenset[str]] = {
    _PG: frozenset({"password"}),
    _MONGOD: frozenset({"auth", "noauth"}),
    _REDIS_CLI: frozenset({"askpass"}),
}


def _family(word: str) -> str | None:
    base = word.rsplit("/", 1)[-1].lstrip("-@+!:").lower()
    found = _EXACT.get(base)
    if found is not None:
        return found
    if base.startswith(("mysql", "mariadb", "pt-")):
        return _MYSQL
    if base.startswith("ldap") and base not in ("ldapd",):
        return _LDAP
    return None


# -- the cheap test that most command lines and files fail ---------------------------------

# Every rule fires only on text holding one of these (a secret-like word, a URL's `@`, a
# program with rules of its own, the collection script's mark); `in` on the lower-cased text
# is far faster than one regular expression of them all.
_TRIGGERS = (
    "pass", "pw", "secret", "token", "key", "auth", "cred", "cookie", "bearer", "signature",
    "@", "mysql", "maria", "mongo", "redis", "valkey", "keydb", "curl", "ldap", "sshpass",
    "sqlcmd", "bcp", "osql", "zip", "7z", "mydumper", "myloader", "xtrabackup",
    "innobackupex", "pt-", "sqlplus", "rman", "expdp", "impdp", "sqlldr", "dgmgrl", "smb",
    "rpcclient", ":memcheck:",
)  # fmt: skip


def _may_hold_secret(text: str) -> bool:
    lowered = text.lower()
    return any(trigger in lowered for trigger in _TRIGGERS)


# -- values -------------------------------------------------------------------------------------

_HEADER = re.compile(r"([A-Za-z][\w-]*)([ \t]*:[ \t]*)(?=\S)")
_ASSIGNMENT = re.compile(r"([A-Za-z_][\w.\-]*)=", re.ASCII)
_EMBEDDED_NAME = re.compile(r"(?:(?<=[?&;,\s\"'{(=])|^)([A-Za-z_][\w.\-]*)=", re.ASCII)
_JSON_PAIR = re.compile(r"([\"'])([\w.\-]+)\1[ \t]*:[ \t]*")
_JSON_VALUE = re.compile(r"\"(?:[^\"\\]|\\.)*\"?|'[^']*'?|[^,}\]\s]*", re.DOTALL)
_PLAIN_VALUE_END = re.compile(r"[\s&;,]")
_SCHEMELESS = re.compile(r"(?:(?<=[,=\s])|^)([\w.\-]+):([^\s@/,]*)@(?=[\w\[])", re.ASCII)
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_WHITESPACE = re.compile(r"\s")
_HOST_END = re.compile(r"[/?#]")
_ORACLE_LOGIN = re.compile(r"([^/@\s]+)/([^@\s]*)(@.*)?", re.DOTALL)
_ACL_RULE = re.compile(r"(?:(?<=\s)|^)([<>])\S*")


def _value_end(text: str, start: int) -> int:
    """Where a `name=` value starting at `start` ends: its closing quote, or a delimiter."""
    if start < len(text) and text[start] in "\"'":
        close = text.find(text[start], start + 1)
        return len(text) if close < 0 else close + 1
    found = _PLAIN_VALUE_END.search(text, start)
    return len(text) if found is None else found.start()


def _mask_embedded(text: str) -> str:
    """`name=value` pairs inside one argument (connection and query strings, option lists)."""
    if "=" not in text:
        return text
    out: list[str] = []
    pos = 0
    for match in _EMBEDDED_NAME.finditer(text):
        if match.start() < pos or not is_secret_name(match.group(1)):
            continue
        start = match.end()
        end = _value_end(text, start)
        if text[start:end] in ("", '""', "''"):
            continue
        quote = text[start] if start < len(text) and text[start] in "\"'" else ""
        out += [text[pos:start], quote, MASK, quote]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _mask_json(text: str) -> str:
    """`"password": "value"` pairs (JSON and the like) inside one argument."""
    if ":" not in text:
        return text
    out: list[str] = []
    pos = 0
    for match in _JSON_PAIR.finditer(text):
        if match.start() < pos or not is_secret_name(match.group(2)):
            continue
        value = _JSON_VALUE.match(text, match.end())
        end = value.end() if value is not None else match.end()
        if text[match.end() : end] in ("", '""', "''"):
            continue
        quote = text[match.end()] if match.end() < len(text) and text[match.end()] in "\"'" else ""
        out += [text[pos : match.end()], quote, MASK, quote]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _mask_urls(text: str) -> str:
    """`scheme://user:password@host...` -> `scheme://user:***@host...`.

    The user information ends at the last `@` before the host's end (`/`, `?`, `#`); where the
    host part holds no `@`, at the last `@` of the word, so that a password holding a `/`
    does not escape (at worst `http://h:8080/x@y` shows as `http://h:***@y`). Linear in the
    length of the text, however many `://` it holds.
    """
    out: list[str] = []
    pos = search = 0
    stop = last_at = -1  # the end of the blank-free run being searched, and its last "@"
    while True:
        found = text.find("://", search)
        if found < 0:
            break
        search = found + 3
        if found < pos:
            continue
        begin = found
        while begin > 0 and text[begin - 1] in _SCHEME_CHARS:
            begin -= 1
        while begin < found and not text[begin].isalpha():
            begin += 1
        if begin == found:
            continue
        start = found + 3
        if start > stop:
            blank = _WHITESPACE.search(text, start)
            stop = len(text) if blank is None else blank.start()
            last_at = text.rfind("@", start, stop)
        if last_at < start:
            continue
        host = _HOST_END.search(text, start, stop)
        host_end = stop if host is None else host.start()
        # `ssh://a:p@db1,b:q@db2` lists hosts: the first one's user information ends in
        # its own part (the others are bare `user:password@host`, masked as such).
        comma = text.find(",", start, host_end)
        at = text.rfind("@", start, host_end if comma < 0 else comma)
        if at < 0:
            at = text.rfind("@", start, host_end)
        if at >= 0:
            colon = text.find(":", start, at)
        else:
            at = last_at
            colon = text.find(":", start, at)
            if colon >= 0 and text.find("/", start, colon) >= 0:
                continue
        if colon < 0 or colon + 1 == at:
            continue
        out += [text[pos : colon + 1], MASK]
        pos = at
        search = max(search, at)
    out.append(text[pos:])
    return "".join(out)


def mask_url_passwords(text: str) -> str:
    """The passwords of `scheme://user:password@host` and bare `user:password@host` in `text`
    masked, nothing else (host URLs in memcheck's own targets and messages)."""
    if "@" not in text:
        return text
    return _mask_schemeless(_mask_urls(text))


def _mask_schemeless(text: str) -> str:
    if "@" not in text or ":" not in text:
        return text
    return _SCHEMELESS.sub(lambda m: f"{m.group(1)}:{_hidden(m.group(2))}@", text)


def _mask_value(value: str, depth: int) -> str:
    """Any argument, or the value part of one, with what it embeds masked."""
    if not value or not _may_hold_secret(value):
        return value
    header = _HEADER.match(value)
    if header is not None and is_secret_name(header.group(1)):
        return value[: header.end()] + MASK  # the header's value is not empty (see _HEADER)
    value = _mask_json(value)  # before any split: JSON puts blanks between its pairs
    if _WHITESPACE.search(value):
        if depth >= MAX_DEPTH:
            return MASK
        return _mask_shell(value, depth + 1, True, False)
    return _mask_schemeless(_mask_embedded(_mask_urls(value)))


def _pending_value(kind: str, word: str) -> str:
    if kind == "userpass":
        colon = word.find(":")
        return word if colon < 0 else word[: colon + 1] + _hidden(word[colon + 1 :])
    if kind == "percent":
        cut = word.find("%")
        return word if cut < 0 else word[: cut + 1] + _hidden(word[cut + 1 :])
    if kind == "cert":
        colon = word.rfind(":")
        return word if colon < 0 else word[: colon + 1] + _hidden(word[colon + 1 :])
    return _hidden(word)


def _hidden(value: str) -> str:
    """MASK for a value; an empty value (`--password=`) shows as it is: nothing to hide."""
    return MASK if value else value


# -- command lines --------------------------------------------------------------------------------

_OPTION_NAME = re.compile(r"[A-Za-z][\w.\-]+", re.ASCII)


class _Command:
    """Masks the words of one command, left to right (the state a word's meaning depends on)."""

    def __init__(self, depth: int, broad: bool) -> None:
        self.depth = depth
        self.broad = broad  # leading NAME=value words are environment assignments
        self.program: str | None = None
        self.at_command = True
        self.pending: str | None = None
        self.rest = False
        self.acl = False
        self.script = False  # the word after `-c`: shell text (`sh -c`, `su -c`)

    def word(self, word: str) -> str:
        if self.rest:
            return MASK
        pending, self.pending = self.pending, None
        if word == SCRIPT_STAND_IN:
            return word
        if pending is not None and not (word.startswith("--") and len(word) > 2):
            return _pending_value(pending, word)
        if SCRIPT_MARK in word:
            self.script = False
            return SCRIPT_STAND_IN
        script, self.script = self.script, word == "-c"
        if script and _WHITESPACE.search(word):
            return _mask_value(word, self.depth)
        if word.startswith("--") and len(word) > 2:
            self.acl = self.program == _REDIS_SERVER and word == "--user"
            return self._long(word)
        if word.startswith("-") and len(word) > 1 and not self.acl:
            return self._short(word)
        return self._positional(word)

    def _long(self, word: str) -> str:
        name, eq, value = word[2:].partition("=")
        special = _LONG.get(self.program or "", {}).get(name.lower())
        if eq:
            if is_secret_name(name):
                return f"--{name}={_hidden(value)}"
            if special is not None:
                return f"--{name}=" + _pending_value(special, value)
            return f"--{name}=" + _mask_value(value, self.depth)
        if is_secret_name(name) and name.lower() not in _FLAGS.get(self.program or "", ()):
            self.pending = "secret"
        elif special is not None:
            self.pending = special
        return word

    def _short(self, word: str) -> str:
        rules = _SHORT.get(self.program or "", {})
        letter = 1
        flags = _CLUSTER_FLAGS.get(self.program or "", frozenset())
        while letter < len(word) - 1 and word[letter] in flags and word[letter] not in rules:
            letter += 1
        rule = rules.get(word[letter])
        if rule is not None:
            kind, attached, separate = rule
            if len(word) == letter + 1:
                if separate:
                    self.pending = kind
                return word
            if attached:
                return word[: letter + 1] + _pending_value(kind, word[letter + 1 :])
        name, eq, value = word[1:].partition("=")
        if eq:
            bare = name[1:] if name[:1] in ("D", "E") and len(name) > 1 else name
            if is_secret_name(bare) or is_secret_name(name):
                return f"-{name}={_hidden(value)}"
            return f"-{name}=" + _mask_value(value, self.depth)
        if name[:1] not in ("D", "X") and _OPTION_NAME.fullmatch(name) and is_secret_name(name):
            self.pending = "secret"
        return word

    def _positional(self, word: str) -> str:
        if self.acl:
            if word[:1] in ("<", ">"):
                return word[0] + _hidden(word[1:])
            if _WHITESPACE.search(word):
                return _ACL_RULE.sub(lambda m: m.group(1) + MASK, word)
        assignment = _ASSIGNMENT.match(word)
        if assignment is not None:
            name, value = assignment.group(1), word[assignment.end() :]
            leading = self.at_command and self.broad
            if is_secret_variable(name) if leading else is_secret_name(name):
                return f"{name}={_hidden(value)}"
            if self.program == _ORACLE and name.lower() == "userid":
                return f"{name}=" + self._oracle(value)
            if self.at_command and not _WHITESPACE.search(value):
                self._command_word(value)
            return f"{name}=" + _mask_value(value, self.depth)
        family = None if _WHITESPACE.search(word) else _family(word)
        if family is not None or self.at_command:
            self.program, self.at_command = family, family == _WRAPPER
            return word if family is not None else _mask_value(word, self.depth)
        if self.program == _REDIS_CLI:
            lowered = word.lower()
            if lowered in ("auth", "auth2"):
                self.rest = True
                return word
            if is_secret_name(word):
                self.pending = "secret"
                return word
        if self.program == _ORACLE and not word.startswith(("/", "@")):
            return self._oracle(word)
        return _mask_value(word, self.depth)

    def _command_word(self, word: str) -> None:
        """`ExecStart=/usr/bin/mysql`: the value of a leading assignment may be the command."""
        family = _family(word)
        if family is not None:
            self.program, self.at_command = family, family == _WRAPPER

    def _oracle(self, word: str) -> str:
        login = _ORACLE_LOGIN.fullmatch(word)
        if login is None or "://" in word:
            return _mask_value(word, self.depth)
        return f"{login.group(1)}/{MASK}{login.group(3) or ''}"


def _mask_words(words: Sequence[str], depth: int, broad: bool) -> list[str]:
    command = _Command(depth, broad)
    return [command.word(w) for w in words]


_PASSES = 4
_T = TypeVar("_T")


def _settled(mask: Callable[[_T], _T], value: _T) -> _T:
    """`mask` applied until nothing more changes (at most _PASSES times more).

    One pass masks everything the policy knows; where a pass changes the words around a
    secret (a quoted word written back quoted differently, a script replaced by its
    stand-in), another pass may read them differently and mask a little more. Masking only
    ever hides more, so this settles at once; it is what makes masking idempotent.
    """
    current = mask(value)
    if current == value:
        return current
    for _ in range(_PASSES):
        following = mask(current)
        if following == current:
            break
        current = following
    return current


def mask_argv(argv: Sequence[str]) -> list[str]:
    """One process's arguments (argv[0] first) with every secret masked (see the module)."""
    words = [str(w) for w in argv]
    if not _may_hold_secret("\0".join(words)):
        return words
    return _settled(lambda w: _mask_words(w, 0, True), words)


# -- shell text ---------------------------------------------------------------------------------

# One lexeme of sh: a word (quotes and escapes inside), a command separator, a redirection or
# blanks. `lines` (files) lets no quote run past the end of its line, so that a masked file
# keeps its line numbers; a command line's text may quote newlines.
_LEX_TEXT = re.compile(
    r"(?P<word>(?:[^\s'\"\\;|&()<>`]|'[^']*'?|\"(?:[^\"\\]|\\.)*\"?|\\.|\\$)+)"
    r"|(?P<sep>[;|&()`\n])|(?P<other>[<>]|\s)",
    re.DOTALL,
)
_LEX_LINES = re.compile(
    r"(?P<cont>\\\r?\n)"  # a continued line: blank, the command goes on
    r"|(?P<word>(?:[^\s'\"\\;|&()<>`]|'[^'\n]*'?|\"(?:[^\"\\\n]|\\[^\n])*\"?|\\[^\n]|\\$)+)"
    r"|(?P<sep>[;|&()`\n])|(?P<other>[<>]|\s)"
)
_PIECE = re.compile(r"'([^']*)'?|\"((?:[^\"\\]|\\.)*)\"?|\\(.?)|([^'\"\\]+)", re.DOTALL)
_DOUBLE_ESCAPE = re.compile(r"\\([\\\"$`\n])")
_SAFE_WORD = re.compile(r"[^\s'\"\\;|&()<>`$]*")
_QUOTED_ASSIGNMENT = re.compile(r"([A-Za-z_][\w.\-]*=)(['\"])", re.ASCII)


def _unquote(raw: str) -> str:
    parts: list[str] = []
    for piece in _PIECE.finditer(raw):
        single, double, escaped, plain = piece.groups()
        if single is not None:
            parts.append(single)
        elif double is not None:
            parts.append(
                _DOUBLE_ESCAPE.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), double)
            )
        elif escaped is not None:
            parts.append(escaped if escaped != "\n" else "")
        else:
            parts.append(plain or "")
    return "".join(parts)


def _requote(raw: str, masked: str) -> str:
    """The masked word written so that sh (and `_unquote`) read it back as one word.

    Bare only where the word was bare: a word that was quoted or escaped (`\\X=1`, `"X=1"`)
    must not come back as something else, such as an assignment it was not.
    """
    if not any(c in raw for c in "'\"\\"):
        return masked if _SAFE_WORD.fullmatch(masked) else "'" + masked.replace("'", "'\\''") + "'"
    assignment = _QUOTED_ASSIGNMENT.match(raw)
    if assignment is not None and masked.startswith(assignment.group(1)):
        name, quote = assignment.groups()
        inner = masked[len(name) :]
        if quote == "'":
            return name + "'" + inner.replace("'", "'\\''") + "'"
        return name + '"' + re.sub(r'([\\"$`])', r"\\\1", inner) + '"'
    return "'" + masked.replace("'", "'\\''") + "'"


def _mask_shell(text: str, depth: int, broad: bool, lines: bool) -> str:
    """Shell text (or a file of commands) with every command in it masked."""
    out: list[str] = []
    pos = 0
    raw_words: list[tuple[int, int, str]] = []

    def flush() -> None:
        nonlocal pos
        if not raw_words:
            return
        words = [_unquote(raw) for _, _, raw in raw_words]
        masked = _mask_words(words, depth, broad)
        for (start, end, raw), before, after in zip(raw_words, words, masked):
            if after != before:
                out.append(text[pos:start])
                out.append(_requote(raw, after))
                pos = end
        raw_words.clear()

    for lexeme in (_LEX_LINES if lines else _LEX_TEXT).finditer(text):
        if lexeme.lastgroup == "word":
            raw_words.append((lexeme.start(), lexeme.end(), lexeme.group()))
        elif lexeme.lastgroup == "sep":
            flush()
    flush()
    out.append(text[pos:])
    return "".join(out)


def mask_text(text: str) -> str:
    """A command line shown as one string (words separated by blanks) or shell text, masked."""
    if not text or not _may_hold_secret(text):
        return text
    return _settled(lambda t: _mask_shell(t, 0, True, False), text)


def mask_command_file(text: str) -> str:
    """A file of commands (crontab, systemd unit, rc.local, kernel command line), masked line
    by line (a line ending in a backslash goes on on the next): its line numbers and every
    line without a secret stay as they are. Assignments at the start of a line are judged by
    their name as options are (`Environment=`, `KeyringMode=` stay), not as environment
    variables.

    Only the lines holding a trigger are looked at (a unit directory holds thousands of lines
    and few name anything secret); each trigger's next place is searched for once per line
    masked, never from the start again, so the work stays linear in the file's length.
    """
    if not text or not _may_hold_secret(text):
        return text
    lowered = text.lower()
    exact = len(lowered) == len(text)  # else lower-casing moved places: try every line
    upcoming = {t: lowered.find(t) for t in _TRIGGERS} if exact else {}
    out: list[str] = []
    done = 0
    while done < len(text):
        if exact:
            for trigger, at in upcoming.items():
                if 0 <= at < done:
                    upcoming[trigger] = lowered.find(trigger, done)
            hit = min((at for at in upcoming.values() if at >= 0), default=-1)
            if hit < 0:
                break
        else:
            hit = done
        start = text.rfind("\n", done, hit) + 1 or done
        while start > done and text.endswith(("\\\n", "\\\r\n"), done, start):
            start = text.rfind("\n", done, start - 1) + 1 or done  # it goes on from there
        end = text.find("\n", hit)
        while end >= 0 and text.endswith(("\\", "\\\r"), start, end):
            end = text.find("\n", end + 1)
        end = len(text) if end < 0 else end + 1
        line = text[start:end]
        if exact or _may_hold_secret(line):
            line = _settled(lambda t: _mask_shell(t, 0, False, True), line)
        out += [text[done:start], line]
        done = end
    out.append(text[done:])
    return "".join(out)


# -- bytes as the kernel and the snapshot hold them ----------------------------------------------


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def _encode(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


def mask_cmdline(data: bytes) -> bytes:
    """`/proc/<pid>/cmdline` (NUL-separated, usually NUL-terminated) with its secrets masked."""
    if not data:
        return data
    text = _decode(data)
    ends = text.endswith("\0")
    words = (text[:-1] if ends else text).split("\0")
    masked = mask_argv(words)
    if masked == words:
        return data
    return _encode("\0".join(masked) + ("\0" if ends else ""))


def mask_environ(data: bytes) -> bytes:
    """`/proc/<pid>/environ` (NUL-separated NAME=value): secret names masked, values searched."""
    if not data:
        return data
    entries = _decode(data).split("\0")
    masked = [_settled(_mask_variable, entry) for entry in entries]
    if masked == entries:
        return data
    return _encode("\0".join(masked))


def _mask_variable(entry: str) -> str:
    name, eq, value = entry.partition("=")
    if eq and is_secret_variable(name):
        return f"{name}={_hidden(value)}"
    if eq:
        return f"{name}=" + _mask_value(value, 0)
    return _mask_value(entry, 0)


_PROCTITLE = re.compile(rb"proctitle=(?:([0-9A-Fa-f]+)|\"([^\"\n]*)\")")
# An EXECVE audit record prints each argument as ` aN="text"` or ` aN=HEX` (hex when the
# argument holds a quote, a blank or a control character); sudo's USER_CMD record prints the
# command as `cmd=` the same two ways.
_EXECVE_LINE = re.compile(rb"^[^\n]*\bargc=[0-9]+ a0=[^\n]*$", re.MULTILINE)
_EXECVE_ARG = re.compile(rb" a([0-9]{1,6})=(?:([0-9A-Fa-f]+)|\"([^\"\n]*)\")(?=[ \n]|$)")
_AUDIT_CMD = re.compile(rb"(?<![A-Za-z_])cmd=(?:([0-9A-Fa-f]+)|\"([^\"\n]*)\")")


def _audit_value(hexed: bytes | None, quoted: bytes | None) -> str | None:
    """The text of an audit field printed in hex or in quotes; None when it is neither."""
    if quoted is not None:
        return _decode(quoted)
    if hexed is None or len(hexed) % 2:
        return None
    return _decode(bytes.fromhex(hexed.decode("ascii")))


def _audit_field(text: str, was_hex: bool) -> bytes:
    """`text` printed as audit prints it: quoted, or in hex where quotes cannot hold it."""
    raw = _encode(text)
    if was_hex or any(ch in text for ch in '" ') or not text.isprintable():
        return raw.hex().upper().encode("ascii")
    return b'"' + raw + b'"'


def _mask_execve(match: re.Match[bytes]) -> bytes:
    line = match.group(0)
    found = [(m, _audit_value(m.group(2), m.group(3))) for m in _EXECVE_ARG.finditer(line)]
    argv = [value for _, value in found if value is not None]
    if not argv:
        return line
    masked = iter(mask_argv(argv))
    out: list[bytes] = []
    done = 0
    for m, value in found:
        if value is None:
            continue
        word = next(masked)
        if word != value:
            out += [line[done : m.start()], b" a" + m.group(1) + b"=", _audit_field(word, False)]
            done = m.end()
    return b"".join(out) + line[done:] if out else line


def _mask_audit_cmd(match: re.Match[bytes]) -> bytes:
    value = _audit_value(match.group(1), match.group(2))
    if value is None:
        return match.group(0)
    masked = mask_text(value)
    if masked == value:
        return match.group(0)
    return b"cmd=" + _audit_field(masked, match.group(1) is not None)


def mask_kernel_log(data: bytes) -> bytes:
    """The kernel log: audit records print a process's command line (`proctitle=`, in hex
    when it holds NULs; an EXECVE record's `aN=` arguments; sudo's `cmd=`); those are masked,
    every other byte stays."""
    if b"argc=" in data:
        data = _EXECVE_LINE.sub(_mask_execve, data)
    if b"cmd=" in data and b"audit" in data:
        data = _AUDIT_CMD.sub(_mask_audit_cmd, data)
    if b"proctitle=" not in data:
        return data

    def one(match: re.Match[bytes]) -> bytes:
        hexed, quoted = match.groups()
        if quoted is not None:
            # The record's own quotes end it: the text inside keeps none.
            masked = _settled(lambda t: mask_text(t).replace('"', "'"), _decode(quoted))
            return b'proctitle="' + _encode(masked) + b'"'
        if len(hexed) % 2:
            return match.group(0)
        argv = bytes.fromhex(hexed.decode("ascii"))
        masked_argv = mask_cmdline(argv)
        if masked_argv == argv:
            return match.group(0)
        return b"proctitle=" + masked_argv.hex().upper().encode("ascii")

    return _PROCTITLE.sub(one, data)


_PROC_PID_FILE = re.compile(r"/proc/[0-9]+(?:/task/[0-9]+)?/(cmdline|environ)")
_KERNEL_LOG = "/.memcheck/kernel.log"
_COMMAND_FILES = re.compile(
    r"/proc/cmdline"
    r"|/etc/(?:crontab|anacrontab|cron\.[a-z]+/.+|rc\.local|rc\.d/rc\.local|environment"
    r"|default/.+|sysconfig/.+|tuned/.+|systemd/.+)"
    r"|/var/spool/cron/.+"
    r"|/(?:usr/(?:local/)?)?lib/(?:systemd/(?:system|user)|tuned)/.+"
    r"|/run/systemd/.+"
    r"|/boot/(?:grub2?/grub(?:\.cfg|env)|loader/entries/.+)",
    re.DOTALL,
)


def mask_file(path: str, data: bytes) -> bytes:
    """One file of a snapshot, masked as what its path says it holds; other files unchanged."""
    if "//" in path or "/." in path or not path.startswith("/"):
        path = "/" + posixpath.normpath("/" + path).lstrip("/")
    kind = _PROC_PID_FILE.fullmatch(path)
    if kind is not None:
        return mask_cmdline(data) if kind.group(1) == "cmdline" else mask_environ(data)
    if path == _KERNEL_LOG:
        return mask_kernel_log(data)
    if _COMMAND_FILES.fullmatch(path):
        text = _decode(data)
        masked = mask_command_file(text)
        return data if masked == text else _encode(masked)
    return data


def mask_snapshot_files(files: MutableMapping[str, bytes]) -> None:
    """Mask, in place, every file of a snapshot that carries command lines or environments:
    `/proc/<pid>/cmdline` and `environ` (and their `task/<tid>/` twins), the kernel log's
    audit records, and the files that hold commands or a kernel command line (`/proc/cmdline`,
    crontabs, `rc.local`, systemd units, tuned profiles, `/etc/default` and `/etc/sysconfig`,
    boot loader entries). Paths are the snapshot's absolute host paths."""
    for path, data in list(files.items()):
        masked = mask_file(path, data)
        if masked is not data:
            files[path] = masked
