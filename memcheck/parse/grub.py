"""Parsers for the boot loader configuration that sets the next boot's kernel command line.

- `/etc/default/grub` and `/etc/default/grub.d/*.cfg` (Debian, Ubuntu; RHEL 7): shell variable
  assignments sourced by grub-mkconfig; the command line is `GRUB_CMDLINE_LINUX` followed by
  `GRUB_CMDLINE_LINUX_DEFAULT` (https://www.gnu.org/software/grub/manual/grub/html_node/Simple-configuration.html).
- Boot Loader Specification entries `/boot/loader/entries/*.conf` (RHEL 8+, Fedora; edited by
  grubby): `key value` lines, the command line in `options`
  (https://uapi-group.org/specifications/specs/boot_loader_specification/).
- `/boot/grub2/grubenv` (RHEL 8 keeps `kernelopts=` there and entries say `options $kernelopts`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from memcheck.errors import ParseError
from memcheck.parse.values import quote

_ASSIGN = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
# GRUB's own variable names (grubenv) are looser than the shell's.
_GRUB_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass(frozen=True)
class ShellVar:
    """A variable's value after the assignment at `source:line`."""

    name: str
    value: str
    source: str
    line: int


MAX_VALUE = 65536
"""Longest value an expansion may produce. The kernel keeps at most COMMAND_LINE_SIZE (2 KiB
on x86 and arm64, 4 KiB elsewhere) of its command line; `A="$A$A"` repeated would otherwise
double the value on every line."""


def _expand(
    value: str, env: Mapping[str, str], source: str, where: str, pattern: re.Pattern[str] = _VAR
) -> str:
    """`$NAME` and `${NAME}` replaced by their values from `env` (unset: empty); `ParseError`
    when the result would exceed `MAX_VALUE` characters."""
    grown = [len(value)]

    def repl(match: re.Match[str]) -> str:
        found = env.get(match.group(1) or match.group(2), "")
        grown[0] += len(found) - len(match.group(0))
        if grown[0] > MAX_VALUE:
            raise ParseError(source, f"{where}: expands to more than {MAX_VALUE} characters")
        return found

    return pattern.sub(repl, value)


class _Values(Mapping[str, str]):
    """The values of shell variables, as a mapping for `_expand`."""

    def __init__(self, variables: Mapping[str, ShellVar]) -> None:
        self._variables = variables

    def __getitem__(self, name: str) -> str:
        return self._variables[name].value

    def __iter__(self) -> Iterator[str]:
        return iter(self._variables)

    def __len__(self) -> int:
        return len(self._variables)


# What ends a stretch of plain text for `_quote_state`, outside quotes and inside "...".
_OUTSIDE_SPECIAL = re.compile(r"[\\'\"#]")
_DOUBLE_SPECIAL = re.compile(r"[\\\"]")


def _quote_state(text: str, state: str) -> str:
    """What shlex (POSIX mode, `#` comments) is inside of after reading `text` from `state`:
    "" nothing, "'" or '"' an open quote, "\\" or '"\\' an escape still waiting for its
    character (outside or inside double quotes). Lets a value spanning lines be split once
    its quotes close, rather than once per line it spans."""
    i = 0
    while i < len(text):
        if state in ("\\", '"\\'):
            i += 1  # the escaped character, whatever it is
            state = "" if state == "\\" else '"'
        elif state == "'":
            end = text.find("'", i)
            if end < 0:
                return state
            i, state = end + 1, ""
        elif state == '"':
            found = _DOUBLE_SPECIAL.search(text, i)
            if found is None:
                return state
            i, state = found.end(), ("" if found.group() == '"' else '"\\')
        else:
            found = _OUTSIDE_SPECIAL.search(text, i)
            if found is None:
                return ""
            i, char = found.end(), found.group()
            if char == "#":  # a comment runs to the end of its line
                end = text.find("\n", i)
                if end < 0:
                    return ""
                i = end + 1
            else:
                state = char
    return state


def parse_grub_defaults(
    text: str, source: str, env: Mapping[str, ShellVar] | None = None
) -> dict[str, ShellVar]:
    """Variables after sourcing `text` on top of `env` (earlier files). `$VAR` is expanded;
    command substitutions are kept as text. Raises `ParseError` on unbalanced quotes."""
    result: dict[str, ShellVar] = dict(env or {})
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        start = index + 1
        line = lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        match = _ASSIGN.match(line)
        if not match:
            continue  # tests, `if` blocks: grub-mkconfig runs them; we only read assignments
        name, first = match.group(1), match.group(2)
        pieces = [first]
        state = _quote_state(first, "")
        while state:  # a quoted value may span lines
            if index >= len(lines):
                raise ParseError(source, f"line {start}: unterminated quote in {name}")
            pieces.append("\n" + lines[index])
            state = _quote_state(pieces[-1], state)
            index += 1
        try:
            words = shlex.split(_protect_vars("".join(pieces)), comments=True, posix=True)
        except ValueError:
            raise ParseError(source, f"line {start}: unterminated quote in {name}") from None
        value = " ".join(words).replace("\0", "$")
        expanded = _expand(value, _Values(result), source, f"line {start}: {name}")
        result[name] = ShellVar(name, expanded, source, start)
    return result


def _protect_vars(raw: str) -> str:
    # shlex does not expand variables but does strip the `$` inside single quotes alike; keep
    # `$` through the split (single-quoted `$` in these files is not seen in practice).
    return raw.replace("$", "\0")


def grub_cmdline(variables: Mapping[str, ShellVar]) -> tuple[str, list[ShellVar]]:
    """The command line grub-mkconfig writes for normal entries, and the variables it came from."""
    used = [
        variables[name]
        for name in ("GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT")
        if name in variables
    ]
    return " ".join(v.value for v in used if v.value), used


@dataclass(frozen=True)
class BlsEntry:
    """One Boot Loader Specification entry; `options_line` is where `options` was found."""

    source: str
    title: str | None
    version: str | None
    linux: str | None
    options: str
    options_line: int | None


def parse_bls_entry(text: str, source: str) -> BlsEntry:
    """Parse `/boot/loader/entries/<id>.conf`. Several `options` lines are joined by spaces."""
    fields: dict[str, str] = {}
    options: list[str] = []
    options_line: int | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        if not re.match(r"^[a-z_-]+$", key):
            raise ParseError(source, f"line {number}: expected 'key value', got {quote(raw, 60)}")
        if key == "options":
            options.append(value.strip())
            options_line = options_line or number
        else:
            fields.setdefault(key, value.strip())
    if not fields and not options:
        raise ParseError(source, "empty boot entry")
    return BlsEntry(
        source,
        fields.get("title"),
        fields.get("version"),
        fields.get("linux"),
        " ".join(options),
        options_line,
    )


def parse_grubenv(text: str, source: str) -> dict[str, str]:
    """`/boot/grub2/grubenv`: `# GRUB Environment Block` then `key=value` lines, `#` padding."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value
    return values


def expand_grubenv(options: str, env: Mapping[str, str], source: str = "grubenv") -> str:
    """`$kernelopts` in a BLS `options` line -> its value from grubenv. `ParseError` when the
    result would exceed `MAX_VALUE` characters."""
    return _expand(options, env, source, "options", _GRUB_VAR)


@dataclass(frozen=True)
class GrubCfgEntry:
    """A `linux` line of a generated grub.cfg: the kernel image and its command line."""

    kernel: str
    cmdline: str
    source: str
    line: int


_LINUX = re.compile(r"^\s*linux(?:16|efi)?\s+(\S+)\s*(.*)$")


def parse_grub_cfg(text: str, source: str) -> tuple[GrubCfgEntry, ...]:
    """The `linux` lines of `/boot/grub/grub.cfg` or `/boot/grub2/grub.cfg`, in order; the
    first is the default entry unless GRUB_DEFAULT says otherwise. Empty on BLS hosts, whose
    grub.cfg loads the entries with `blscfg`."""
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        match = _LINUX.match(raw)
        if match:
            entries.append(GrubCfgEntry(match.group(1), match.group(2).strip(), source, number))
    return tuple(entries)
