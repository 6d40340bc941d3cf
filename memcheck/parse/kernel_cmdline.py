"""Parser for the kernel command line: `/proc/cmdline`, or a boot entry's options.

See https://docs.kernel.org/admin-guide/kernel-parameters.html: parameters are separated by
spaces, a value may be double-quoted to hold spaces, and everything after `--` is passed to
init. When a parameter appears twice the kernel applies both in order, so the last one wins.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CmdlineParam:
    key: str
    value: str | None  # None for a bare flag such as `quiet`


@dataclass(frozen=True)
class KernelCmdline:
    params: tuple[CmdlineParam, ...]
    source: str

    def get(self, key: str) -> str | None:
        """The value of the last `key=value`; None when absent or a bare flag."""
        found = [p.value for p in self.params if p.key == key]
        return found[-1] if found else None

    def has(self, key: str) -> bool:
        return any(p.key == key for p in self.params)


def split_words(text: str) -> list[str]:
    """Split like the kernel's next_arg(): spaces separate, double quotes group (and go)."""
    words: list[str] = []
    current: list[str] = []
    quoted = False
    started = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            started = True
        elif ch.isspace() and not quoted:
            if started:
                words.append("".join(current))
            current, started = [], False
        else:
            current.append(ch)
            started = True
    if started:  # an unterminated quote runs to the end, as in the kernel
        words.append("".join(current))
    return words


def parse_cmdline(text: str, source: str = "/proc/cmdline") -> KernelCmdline:
    """Parse a kernel command line. Never fails: the kernel accepts any text here."""
    params: list[CmdlineParam] = []
    for word in split_words(text.replace("\0", " ")):
        if word == "--":
            break  # the rest belongs to init
        key, sep, value = word.partition("=")
        params.append(CmdlineParam(key, value if sep else None))
    return KernelCmdline(tuple(params), source)
