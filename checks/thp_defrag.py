"""Transparent hugepages (THP) `defrag` mode is one the profile allows."""

from __future__ import annotations

from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
from memcheck.facts.container import ON_THE_HOST, seen_from_container
from memcheck.facts.thp import THP_DEFAULT_ALLOWED, THP_READS
from memcheck.model import CheckMeta, Outcome, Param, Params, ev, param_list

META = CheckMeta(
    id="thp_defrag",
    title="Transparent hugepage defragmentation is in an allowed mode",
    area="thp",
    severity="medium",
    rationale=(
        "`defrag` decides whether a page fault that wants a huge page stalls in direct reclaim "
        "and compaction. `always` makes every such fault wait, which shows as latency spikes "
        "under memory pressure; `defer` hands the work to kswapd and kcompactd; `madvise` and "
        "`defer+madvise` stall only regions that asked with madvise(MADV_HUGEPAGE); `never` "
        "never stalls. Kernels before 4.6 (RHEL 7 included) default to `always` and offer only "
        "`always madvise never`. MongoDB 8.0 asks for `defer+madvise`."
    ),
    remediation=(
        "echo never > /sys/kernel/mm/transparent_hugepage/defrag (or madvise). There is no "
        "kernel command-line parameter for defrag: persist it with a tuned profile "
        "('[vm] transparent_hugepage.defrag=never'), a tmpfiles.d line "
        "'w /sys/kernel/mm/transparent_hugepage/defrag - - - - never', or an enabled oneshot "
        "unit that writes the file; see thp_persisted."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/mm/transhuge.html",
        "https://www.mongodb.com/docs/manual/administration/tcmalloc-performance/",
        "https://docs.oracle.com/en/operating-systems/oracle-linux/9/hugepages/hugepage-ChangingthedefragSettingofTransparentHugePages.html",
    ),
    reads=(*THP_READS, "/proc/sys/kernel/osrelease"),
    params={
        "allowed": Param(
            list(THP_DEFAULT_ALLOWED),
            "modes that pass",
            kind="list[str]",
            choices=("always", "defer", "defer+madvise", "madvise", "never"),
        )
    },
)


def judge(facts: Facts, params: Params) -> Outcome:
    return seen_from_container(_judge(facts, params), facts, "host-wide setting", ON_THE_HOST)


def _judge(facts: Facts, params: Params) -> Outcome:
    allowed = param_list(params, "allowed")
    mode = facts.thp_defrag
    if mode is None:
        return Outcome.skipped(
            "THP is compiled out of this kernel: /sys/kernel/mm/transparent_hugepage and "
            "redhat_transparent_hugepage are both absent"
        )
    expected = "|".join(allowed)
    evidence = [
        ev(
            f"{mode.source}: {' '.join(mode.choices)} -> [{mode.selected}]",
            source=mode.source,
            mode=mode.selected,
        )
    ]
    try:
        khugepaged = facts.thp_khugepaged_defrag
    except (Unavailable, ParseError):
        khugepaged = None  # informational only
    if khugepaged is not None:
        evidence.append(ev(f"khugepaged defrag is {'on' if khugepaged else 'off'}"))
    if mode.selected in allowed:
        return Outcome.passed(f"THP defrag is {mode.selected}", mode.selected, expected, evidence)
    return Outcome.failed(
        f"THP defrag is {mode.selected}, not {expected}", mode.selected, expected, evidence
    )
