"""Transparent hugepages (THP) `enabled` mode is one the profile allows."""

from __future__ import annotations

from memcheck.facts import Facts
from memcheck.facts.container import ON_THE_HOST, seen_from_container
from memcheck.facts.thp import THP_DEFAULT_ALLOWED, THP_READS
from memcheck.model import CheckMeta, Outcome, Param, Params, ev, param_list

META = CheckMeta(
    id="thp_enabled",
    title="Transparent hugepages are in an allowed mode",
    area="thp",
    severity="high",
    rationale=(
        "With THP in `always` mode the kernel backs any large anonymous mapping with 2 MiB "
        "pages. Databases with scattered access (Redis, MongoDB up to 7.0, PostgreSQL, "
        "Couchbase) then see latency spikes from compaction and khugepaged, memory bloat, and "
        "slow forks: one written byte after fork copies a whole huge page. `madvise` leaves "
        "the choice to programs that ask for huge pages; `never` turns them off. MongoDB 8.0 "
        "wants `always`, so profiles decide. Redis 6.2+ with `disable-thp yes` opts itself out "
        "through prctl(PR_SET_THP_DISABLE), so a global `always` may not hurt Redis itself "
        "(its smaps AnonHugePages show it), but other programs on the host are still affected. "
        "Kernels 6.8+ also have per-size controls that can enable smaller (mTHP) sizes."
    ),
    remediation=(
        "echo never > /sys/kernel/mm/transparent_hugepage/enabled (RHEL 6: "
        "/sys/kernel/mm/redhat_transparent_hugepage/enabled), then restart the database. "
        "Persist it with transparent_hugepage=never on the kernel command line (GRUB_CMDLINE_LINUX "
        "in /etc/default/grub then update-grub, or grubby --update-kernel=ALL "
        "--args=transparent_hugepage=never), a tuned profile with '[vm] transparent_hugepages="
        "never', or an enabled oneshot unit that writes the file; see thp_persisted."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/mm/transhuge.html",
        "https://redis.io/docs/latest/operate/oss_and_stack/management/optimization/latency/",
        "https://www.mongodb.com/docs/manual/administration/tcmalloc-performance/",
        "https://www.postgresql.org/docs/current/runtime-config-resource.html#GUC-HUGE-PAGES",
    ),
    reads=(*THP_READS, "/proc/sys/kernel/osrelease"),
    params={
        "allowed": Param(
            list(THP_DEFAULT_ALLOWED),
            "modes that pass",
            kind="list[str]",
            choices=("always", "madvise", "never"),
        )
    },
)


def judge(facts: Facts, params: Params) -> Outcome:
    return seen_from_container(_judge(facts, params), facts, "host-wide setting", ON_THE_HOST)


def _judge(facts: Facts, params: Params) -> Outcome:
    allowed = param_list(params, "allowed")
    mode = facts.thp_enabled
    if mode is None:
        return Outcome.skipped(
            "THP is compiled out of this kernel: /sys/kernel/mm/transparent_hugepage and "
            "redhat_transparent_hugepage are both absent"
        )
    expected = "|".join(allowed)
    evidence = [ev(f"{mode.source}: [{mode.selected}]", source=mode.source, mode=mode.selected)]
    # A per-size control at `inherit` follows the global mode; `never` is always safe.
    sizes = [m for m in facts.thp_mthp if m.mode.selected not in ("inherit", "never")]
    evidence += [
        ev(f"{m.mode.source}: [{m.mode.selected}]", source=m.mode.source, mode=m.mode.selected)
        for m in sizes
    ]
    bad_sizes = [m for m in sizes if m.mode.selected not in allowed]
    if mode.selected not in allowed:
        return Outcome.failed(
            f"THP enabled is {mode.selected}, not {expected}", mode.selected, expected, evidence
        )
    if bad_sizes:
        listed = ", ".join(f"{m.size_bytes // 1024} kB={m.mode.selected}" for m in bad_sizes)
        return Outcome.failed(
            f"THP enabled is {mode.selected}, but per-size controls enable {listed}",
            f"{mode.selected}; {listed}",
            expected,
            evidence,
        )
    return Outcome.passed(f"THP enabled is {mode.selected}", mode.selected, expected, evidence)
