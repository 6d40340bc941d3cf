"""Memory facts: `/proc/meminfo`, parsed once per host."""

from __future__ import annotations

from memcheck.facts.base import FactsBase, cached
from memcheck.parse.meminfo import SOURCE, Meminfo, parse_meminfo


class MeminfoFacts(FactsBase):
    """`facts.meminfo`."""

    @property
    @cached
    def meminfo(self) -> Meminfo:
        """`/proc/meminfo`; raises `Unavailable` or `ParseError`."""
        return parse_meminfo(self.text(SOURCE), SOURCE)
