"""Find the files a shell command or script writes to, and the scripts it runs.

Used on cron commands, systemd `ExecStart=` lines, `rc.local` and cron scripts to answer
"does this write `never` to /sys/kernel/mm/transparent_hugepage/enabled?" or "does this write
to /proc/sys/vm/drop_caches?". This is a recogniser for the idioms administrators use
(`echo X > file`, `echo X | tee file`, `printf`, `sysctl -w key=value`, `sh -c '...'`),
not a shell: anything it cannot tokenise falls back to a plain search for the path.
See sh(1p) "Redirection" and sysctl(8).
"""

from __future__ import annotations

import functools
import posixpath
import re
import shlex
from dataclasses import dataclass

_SEPARATORS = {";", "&&", "||", "&", "(", ")", ";;", "|&"}
_REDIRECTS = {">", ">>", ">|", "&>", "&>>", ">&"}
_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "{", "}", "!", "time"}
_WRAPPERS = {"sudo", "exec", "command", "nohup", "nice", "ionice", "env", "builtin", "doas"}
_SHELLS = {"sh", "bash", "dash", "ash", "ksh", "zsh", "busybox"}
_SYSCTL_ROOT = "/proc/sys/"


@dataclass(frozen=True)
class FileWrite:
    """A write to `path`; `value` is the literal text written when the command shows it."""

    path: str
    value: str | None
    text: str
    line: int = 1  # line of the command or script the write is on (first line of a join)


def _sysctl_path(key: str) -> str:
    """`vm.drop_caches` or `vm/drop_caches` -> `/proc/sys/vm/drop_caches` (sysctl(8))."""
    key = key.strip()
    if "/" not in key:
        key = key.replace(".", "/")
    return _SYSCTL_ROOT + key.lstrip("/")


def _norm_path(path: str) -> str:
    return posixpath.normpath(path) if path.startswith("/") else path


def _strip_wrappers(words: list[str]) -> list[str]:
    """Drop `sudo`, `env A=B`, leading assignments and shell keywords before the command."""
    i = 0
    while i < len(words):
        word = words[i]
        if word in _KEYWORDS or word in _WRAPPERS:
            i += 1
            # skip the wrapper's options (sudo -u root, nice -n 5)
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-u", "-g", "-n") else 1
            continue
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
            i += 1
            continue
        break
    return words[i:]


def _echo_value(words: list[str]) -> str:
    """The text `echo`/`printf` prints, without options and without format escapes."""
    args = words[1:]
    if words[0] == "echo":
        while args and re.match(r"^-[neE]+$", args[0]):
            args = args[1:]
    else:
        if args and args[0] == "--":
            args = args[1:]
        if len(args) > 1 and "%" in args[0]:  # printf '%s\n' never
            args = args[1:]
    text = " ".join(args)
    return text.replace("\\n", "").strip()


def _strip_comment(line: str) -> str:
    """Cut an unquoted `#` that starts a word (sh(1p) "Comments")."""
    quote = ""
    previous = " "
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and previous in " \t;&|(":
            return line[:i]
        previous = ch
    return line


# Memoised: a fleet's hosts share most unit and cron lines, and each line is tokenised for
# every THP control and every search; shlex is by far the slowest step of judging a host.
def _tokens(command: str) -> tuple[str, ...] | None:
    # A line longer than any real unit or cron line is not memoised: the cache would keep it.
    return _cached_tokens(command) if len(command) <= _CACHED_LINE else _split(command)


_CACHED_LINE = 4096


@functools.lru_cache(maxsize=8192)
def _cached_tokens(command: str) -> tuple[str, ...] | None:
    return _split(command)


def _split(command: str) -> tuple[str, ...] | None:
    # `2>/dev/null` and `3>file`: drop the descriptor number, keep the redirection, so the
    # number is not mistaken for an argument (`echo never > f 2>/dev/null` writes "never").
    command = re.sub(r"(^|[\s;&|])[0-9]+(?=>)", r"\1", _strip_comment(command))
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return tuple(lexer)
    except ValueError:  # unbalanced quotes: fall back to a plain search
        return None


def _simple_commands(
    tokens: tuple[str, ...] | list[str],
) -> list[tuple[list[str], list[str], bool]]:
    """Split into (words, redirect targets, piped-from-previous) per simple command."""
    out: list[tuple[list[str], list[str], bool]] = []
    words: list[str] = []
    targets: list[str] = []
    piped = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in _SEPARATORS or tok == "|":
            out.append((words, targets, piped))
            words, targets = [], []
            piped = tok == "|"
        elif tok in _REDIRECTS:
            if i + 1 < len(tokens):
                targets.append(tokens[i + 1])
                i += 1
        elif tok in ("<", "<<", "<<<"):
            i += 1  # skip the input file or here-string
        else:
            words.append(tok)
        i += 1
    out.append((words, targets, piped))
    return out


def find_writes(command: str, depth: int = 0) -> list[FileWrite]:
    """Every file write `command` (one line or a whole script) makes, with the value if known."""
    found: list[FileWrite] = []
    for number, line in _logical_lines(command):
        found.extend(_line_writes(line, number, depth))
    return found


def _line_writes(line: str, number: int, depth: int) -> list[FileWrite]:
    tokens = _tokens(line)
    if tokens is None:
        return [FileWrite(_norm_path(p), None, line.strip(), number) for p in _paths_in(line)]
    found: list[FileWrite] = []
    previous_value: str | None = None
    for raw_words, targets, piped in _simple_commands(tokens):
        words = _strip_wrappers(raw_words)
        value: str | None = None
        if words and posixpath.basename(words[0]) in ("echo", "printf"):
            words = [posixpath.basename(words[0]), *words[1:]]
            value = _echo_value(words)
        for target in targets:
            if target.startswith("/"):
                found.append(FileWrite(_norm_path(target), value, line.strip(), number))
        if words:
            name = posixpath.basename(words[0])
            if name == "tee":
                for arg in words[1:]:
                    if not arg.startswith("-"):
                        known = previous_value if piped else None
                        found.append(FileWrite(_norm_path(arg), known, line.strip(), number))
            elif name == "sysctl":
                found.extend(_sysctl_writes(words[1:], line.strip(), number))
            elif name in _SHELLS and "-c" in words and depth < 2:
                index = words.index("-c")
                if index + 1 < len(words):
                    inner = find_writes(words[index + 1], depth + 1)
                    found.extend(FileWrite(w.path, w.value, line.strip(), number) for w in inner)
        previous_value = value
    return found


def _sysctl_writes(args: list[str], text: str, number: int) -> list[FileWrite]:
    """`sysctl -w vm.drop_caches=3`, `sysctl vm.drop_caches=1` (procps accepts both)."""
    found = []
    for arg in args:
        if arg.startswith("-"):
            continue
        key, sep, value = arg.partition("=")
        if sep and key:
            found.append(FileWrite(_sysctl_path(key), value.strip(), text, number))
    return found


def _paths_in(text: str) -> list[str]:
    return re.findall(r"(/(?:proc|sys)/[A-Za-z0-9_./+-]+)", text)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) with backslash continuations joined; blanks and comments
    dropped."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []  # joined once, not grown by `+=` (a copy per continued line)
    start = 1
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            pending.append(stripped[:-1] + " ")
            continue
        line = "".join(pending) + raw
        pending = []
        if line.strip() and not line.lstrip().startswith("#"):
            lines.append((start, line))
    rest = "".join(pending)
    if rest.strip():
        lines.append((start, rest))
    return lines


def invoked_scripts(command: str) -> list[str]:
    """Absolute paths of scripts a command runs: `/path/x.sh`, `sh /path/x.sh`, `. /path/x`."""
    found: list[str] = []
    for _number, line in _logical_lines(command):
        tokens = _tokens(line)
        if tokens is None:
            continue
        for raw_words, _targets, _piped in _simple_commands(tokens):
            words = _strip_wrappers(raw_words)
            if not words:
                continue
            name = posixpath.basename(words[0])
            if words[0].startswith("/") and name not in _SHELLS:
                found.append(_norm_path(words[0]))
            elif name in _SHELLS or words[0] in (".", "source"):
                args = [w for w in words[1:] if not w.startswith("-")]
                if "-c" not in words and args and args[0].startswith("/"):
                    found.append(_norm_path(args[0]))
    return found


def writes_to(command: str, paths: tuple[str, ...] | list[str]) -> list[FileWrite]:
    """The writes of `command` that go to one of `paths`."""
    wanted = {_norm_path(p) for p in paths}
    return [w for w in find_writes(command) if w.path in wanted]
