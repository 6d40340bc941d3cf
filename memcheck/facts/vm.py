"""Virtual memory accounting facts: the overcommit policy and its parameters.

See https://docs.kernel.org/mm/overcommit-accounting.html. In mode 2 the commit limit is swap
plus `overcommit_ratio` percent of RAM (less huge pages), or swap plus `overcommit_kbytes`
when that is set; writing one of the two zeroes the other, so the unused one reads 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from memcheck.facts.base import FactsBase

OVERCOMMIT_READS = (
    "/proc/sys/vm/overcommit_memory",
    "/proc/sys/vm/overcommit_ratio",
    "/proc/sys/vm/overcommit_kbytes",
)
MODES = {
    0: "heuristic overcommit: obviously excessive allocations are refused",
    1: "always overcommit: allocations never fail, the OOM killer settles the bill",
    2: "strict accounting: allocations fail beyond the commit limit",
}


@dataclass(frozen=True)
class OvercommitSettings:
    """`mode` is vm.overcommit_memory; `ratio` and `kbytes` are None where not readable
    (`overcommit_kbytes` exists from Linux 3.14)."""

    mode: int
    ratio: int | None
    kbytes: int | None

    def describe(self) -> str:
        """The mode in words, with the limit's basis in mode 2."""
        text = MODES.get(self.mode, "not a mode the kernel defines")
        if self.mode == 2:
            if self.kbytes:
                text += f" (limit = swap + {self.kbytes} kB, vm.overcommit_kbytes)"
            elif self.ratio is not None:
                text += f" (limit = swap + {self.ratio}% of RAM, vm.overcommit_ratio)"
        return text


class VmFacts(FactsBase):
    """`facts.overcommit`."""

    def _optional_sysctl(self, key: str) -> int | None:
        if self.optional_text(self.sysctl_path(key)) is None:
            return None
        return self.sysctl_int(key)

    @property
    def overcommit(self) -> OvercommitSettings:
        """Raises `Unavailable`/`ParseError` when vm.overcommit_memory cannot be read."""
        return OvercommitSettings(
            mode=self.sysctl_int("vm.overcommit_memory"),
            ratio=self._optional_sysctl("vm.overcommit_ratio"),
            kbytes=self._optional_sysctl("vm.overcommit_kbytes"),
        )
