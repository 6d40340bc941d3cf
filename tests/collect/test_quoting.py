"""The single quoting helper: words and globs that reach the shell mean only themselves."""

from __future__ import annotations

import os
import subprocess

import pytest

from memcheck.collect.quoting import QuotingError, is_glob, join, quote, quote_glob
from tests.collect.shells import SHELLS, shell_argv

NASTY = (
    "plain",
    "",
    "sp ace",
    "quo'te",
    'dq"uote',
    "$(touch PWNED)",
    "`touch PWNED`",
    "${HOME}",
    "a;b&c|d",
    "*",
    "[a]",
    "-n",
    "back\\slash",
    "tab\there",
    "!bang",
    "~tilde",
)


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_quoted_words_reach_a_program_unchanged(shell: str) -> None:
    script = "printf '%s\\0' " + join(NASTY)
    out = subprocess.run([*shell_argv(shell), "-c", script], capture_output=True, check=True)
    assert out.stdout.split(b"\0")[:-1] == [w.encode() for w in NASTY]


@pytest.mark.parametrize(
    "word",
    ["nul\0byte", "new\nline", "caf\u00e9", "bell\a", "del\x7f"],
)
def test_unportable_words_are_refused(word: str) -> None:
    with pytest.raises(QuotingError):
        quote(word)


@pytest.mark.parametrize(
    ("pattern", "shell_text"),
    [
        ("/proc/[0-9]*/comm", "/proc/[0-9]*/comm"),
        ("/sys/x/hugepages-*/enabled", "/sys/x/hugepages-*/enabled"),
        ("/a b/*", "'/a b/'*"),
        ("/it's/?", "'/it'\"'\"'s/'?"),
        ("/$(x)/[!a-z]", "'/$(x)/'[!a-z]"),
        ("/plain", "/plain"),
    ],
)
def test_quote_glob_quotes_literals_and_keeps_wildcards(pattern: str, shell_text: str) -> None:
    assert quote_glob(pattern) == shell_text


@pytest.mark.parametrize(
    "pattern",
    ["/a/**/b", "/a/[x", "/a/[$(x)]", "/a/[^x]", "/a/[a b]"],
)
def test_quote_glob_refuses_what_shells_disagree_on(pattern: str) -> None:
    with pytest.raises(QuotingError):
        quote_glob(pattern)


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_quoted_glob_matches_only_what_the_pattern_says(shell: str, tmp_path: object) -> None:
    base = str(tmp_path) + "/d $(x) 'q'"
    os.makedirs(base)
    for name in ("1", "22", "a", "[0-9]*"):
        os.makedirs(f"{base}/{name}")
        open(f"{base}/{name}/comm", "w").close()
    script = f"for f in {quote_glob(base + '/[0-9]*/comm')}; do printf '%s\\n' \"$f\"; done"
    out = subprocess.run([*shell_argv(shell), "-c", script], capture_output=True, check=True)
    got = sorted(out.stdout.decode().splitlines())
    assert got == [f"{base}/1/comm", f"{base}/22/comm"]


def test_is_glob() -> None:
    assert is_glob("/proc/[0-9]*/comm") and is_glob("/a/?") and not is_glob("/etc/os-release")
