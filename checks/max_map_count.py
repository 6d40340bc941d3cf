"""vm.max_map_count is high enough for mmap-heavy services (Elasticsearch, Cassandra)."""

from __future__ import annotations

from memcheck.facts import Facts
from memcheck.facts.container import seen_from_container
from memcheck.model import CheckMeta, Outcome, Param, Params, ev, param_int

META = CheckMeta(
    id="max_map_count",
    title="vm.max_map_count allows enough memory mappings",
    area="sysctl",
    severity="high",
    rationale=(
        "vm.max_map_count caps the number of memory mappings one process may have (65530 by "
        "default). Search engines and databases that mmap their index and data files need "
        "far more: Elasticsearch refuses to start in production mode below 262144, Cassandra "
        "warns below 1048575. Past the cap, mmap fails with ENOMEM and the JVM reports an "
        "out-of-memory error although RAM is free."
    ),
    remediation=(
        "sysctl -w vm.max_map_count=262144 (1048575 for Cassandra), and persist it with "
        "'vm.max_map_count = 262144' in /etc/sysctl.d/90-memcheck.conf."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#max-map-count",
        "https://www.elastic.co/guide/en/elasticsearch/reference/current/_maximum_map_count_check.html",
        "https://www.elastic.co/guide/en/elasticsearch/reference/current/vm-max-map-count.html",
        "https://github.com/apache/cassandra/blob/trunk/src/java/org/apache/cassandra/service/StartupChecks.java",
    ),
    reads=("/proc/sys/vm/max_map_count",),
    params={
        "min": Param(
            262144,
            "lowest allowed value (Elasticsearch's bootstrap check)",
            low=0,
            high=2_147_483_647,
        )
    },
)

# The key this check constrains, and the rule, for sysctl_persisted to judge boot values.
SYSCTL = "vm.max_map_count"
KERNEL_DEFAULT = 65530


# What the kernel accepts for vm.max_map_count (an int with a floor of 0): a snapshot showing
# more was not written by a kernel, and must not pass for being large.
KERNEL_RANGE = (0, 2_147_483_647)


def complies(value: int, params: Params) -> bool:
    return param_int(params, "min") <= value <= KERNEL_RANGE[1]


def judge(facts: Facts, params: Params) -> Outcome:
    return seen_from_container(_judge(facts, params), facts)


def _judge(facts: Facts, params: Params) -> Outcome:
    low = param_int(params, "min")
    value = facts.sysctl_int(SYSCTL)
    evidence = [ev(f"vm.max_map_count = {value}", source="/proc/sys/vm/max_map_count")]
    expected = f">= {low}"
    if not KERNEL_RANGE[0] <= value <= KERNEL_RANGE[1]:
        return Outcome.errored(
            f"vm.max_map_count reads {value}, which no kernel shows "
            f"({KERNEL_RANGE[0]}..{KERNEL_RANGE[1]}): the snapshot does not hold what the "
            "kernel wrote",
            evidence,
        )
    if complies(value, params):
        return Outcome.passed(f"vm.max_map_count is {value}", value, expected, evidence)
    note = " (the kernel default)" if value == KERNEL_DEFAULT else ""
    return Outcome.failed(
        f"vm.max_map_count is {value}{note}, below {low}: mmap fails once a process has "
        "that many mappings",
        value,
        expected,
        evidence,
    )
