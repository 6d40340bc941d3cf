"""Parse `/proc/vmstat` (and memcheck's second sample, `/.memcheck/vmstat.after`).

Each line is `<counter> <value>`. The set of counters changes with every kernel release and
configuration, so every name is kept, known or not. Kernel docs:
https://docs.kernel.org/admin-guide/mm/transhuge.html (thp_* and compact_* counters) and
https://docs.kernel.org/admin-guide/sysctl/vm.html.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from memcheck.errors import ParseError
from memcheck.parse.values import clip, quote, to_int

SOURCE = "/proc/vmstat"


@dataclass(frozen=True)
class Vmstat(Mapping[str, int]):
    """Counters by name, in file order. Read-only mapping; a missing counter is absent, not 0."""

    counters: Mapping[str, int]

    def __getitem__(self, name: str) -> int:
        return self.counters[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.counters)

    def __len__(self) -> int:
        return len(self.counters)

    def sum_prefix(self, prefix: str) -> int | None:
        """Sum of every counter whose name starts with `prefix`; None when there is none.

        Counters such as `allocstall` were split per zone (`allocstall_dma32`,
        `allocstall_normal`, ... since 4.8) and `pgsteal` into `pgsteal_kswapd`/`pgsteal_direct`;
        summing by prefix reads old and new kernels alike.
        """
        found = [value for name, value in self.counters.items() if name.startswith(prefix)]
        return sum(found) if found else None


def parse_vmstat(text: str, source: str = SOURCE) -> Vmstat:
    """Parse `/proc/vmstat`; any line that is not `<name> <integer>` raises `ParseError`."""
    counters: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise ParseError(source, f"line {number}: expected '<name> <value>', got {quote(line)}")
        name, raw = fields
        # Values are printed unsigned, but per-CPU drift can show as a negative number on
        # some kernels' node counters; accept the sign rather than reject the file.
        value = to_int(raw, signed=True)
        if value is None:
            raise ParseError(
                source, f"line {number}: {clip(name)}: expected an integer, got {quote(raw, 40)}"
            )
        counters[name] = value
    if not counters:
        raise ParseError(source, "empty; expected '<name> <value>' lines")
    return Vmstat(counters)
