"""Parsers for TuneD: `/etc/tuned/active_profile` and a profile's `tuned.conf`.

See tuned.conf(5) and tuned-profiles(7): an INI file with `[main]` (`include=` names parent
profiles, comma- or space-separated, applied first) and one section per plugin; the `vm`
plugin sets THP with `transparent_hugepages=` (`transparent_hugepage=` is an alias) and
`transparent_hugepage.defrag=`. A `[bootloader]` section can put `transparent_hugepage=` on
the kernel command line through `cmdline=`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from memcheck.errors import ParseError
from memcheck.parse.values import quote


@dataclass(frozen=True)
class TunedOption:
    section: str
    key: str
    value: str
    source: str
    line: int


@dataclass(frozen=True)
class TunedConf:
    """One tuned.conf, its options in order."""

    source: str
    options: tuple[TunedOption, ...]

    def get(self, section: str, key: str) -> TunedOption | None:
        return self._last.get((section, key))

    @cached_property
    def _last(self) -> dict[tuple[str, str], TunedOption]:
        # One look-up table rather than a scan per `get`: `plugin_sections` asks once per
        # section, which made a file with many sections cost its length squared.
        return {(o.section, o.key): o for o in self.options}

    @property
    def includes(self) -> tuple[str, ...]:
        option = self.get("main", "include")
        if option is None:
            return ()
        return tuple(name for name in re.split(r"[\s,]+", option.value) if name)

    def plugin_sections(self, plugin: str) -> list[str]:
        """Sections that configure `plugin`: `[vm]`, or `[name]` with `type=vm`."""
        names = []
        for section in dict.fromkeys(o.section for o in self.options):
            declared = self.get(section, "type")
            if (declared.value if declared else section) == plugin:
                names.append(section)
        return names


def parse_tuned_conf(text: str, source: str) -> TunedConf:
    """Parse a profile's tuned.conf. Raises `ParseError` on a line that is neither a section,
    an option nor a comment."""
    section = ""
    options: list[TunedOption] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ParseError(
                source, f"line {number}: expected key=value or [section], got {quote(raw, 60)}"
            )
        if not section:
            raise ParseError(source, f"line {number}: option before any [section]")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        options.append(TunedOption(section, key.strip(), value, source, number))
    return TunedConf(source, tuple(options))


def parse_active_profile(text: str) -> tuple[str, ...]:
    """`/etc/tuned/active_profile`: one profile name, or several separated by spaces (merged
    left to right); empty when tuned is off (`tuned-adm off`)."""
    return tuple(text.split())
