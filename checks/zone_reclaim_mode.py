"""vm.zone_reclaim_mode is 0 on NUMA kernels."""

from __future__ import annotations

from memcheck.facts import Facts
from memcheck.facts.container import seen_from_container
from memcheck.model import CheckMeta, Outcome, Params, ev

META = CheckMeta(
    id="zone_reclaim_mode",
    title="vm.zone_reclaim_mode is 0 (allocate from other NUMA nodes before reclaiming)",
    area="sysctl",
    severity="medium",
    rationale=(
        "With zone reclaim on, a NUMA node that runs short reclaims its own page cache (and, "
        "with bits 2 and 4, writes out dirty pages or swaps) before allocating from another "
        "node. Caches and databases lose their hot file pages and stall in reclaim while the "
        "other nodes hold free memory; the kernel advises leaving it off for workloads that "
        "benefit from caching, and mongod warns at start-up when it is not 0."
    ),
    remediation=(
        "sysctl -w vm.zone_reclaim_mode=0, and persist it with 'vm.zone_reclaim_mode = 0' in "
        "/etc/sysctl.d/90-memcheck.conf (a name that sorts after the distribution's files)."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#zone-reclaim-mode",
        "https://www.mongodb.com/docs/manual/administration/production-notes/",
        "https://github.com/mongodb/mongo/blob/master/src/mongo/db/startup_warnings_mongod.cpp",
    ),
    reads=("/proc/sys/vm/zone_reclaim_mode",),
    params={},
)

SYSCTL = "vm.zone_reclaim_mode"
PATH = "/proc/sys/vm/zone_reclaim_mode"
_BITS = ((1, "zone reclaim on"), (2, "writes dirty pages out"), (4, "swaps pages"))


def complies(value: int, params: Params) -> bool:
    return value == 0


def judge(facts: Facts, params: Params) -> Outcome:
    return seen_from_container(_judge(facts, params), facts)


def _judge(facts: Facts, params: Params) -> Outcome:
    if facts.optional_text(PATH) is None:
        return Outcome.skipped(f"{PATH} does not exist: the kernel is built without NUMA")
    value = facts.sysctl_int(SYSCTL)
    evidence = [ev(f"{SYSCTL} = {value}", source=PATH)]
    if complies(value, params):
        return Outcome.passed("vm.zone_reclaim_mode is 0", value, 0, evidence)
    meaning = ", ".join(text for bit, text in _BITS if value & bit) or "unknown bits"
    return Outcome.failed(
        f"vm.zone_reclaim_mode is {value} ({meaning}): a node short of memory reclaims its own "
        "cache before using free memory on other nodes",
        value,
        0,
        evidence,
    )
