"""vm.swappiness within the profile's range."""

from __future__ import annotations

from memcheck.facts import Facts
from memcheck.facts.container import seen_from_container
from memcheck.model import CheckMeta, Outcome, Param, Params, ev, param_int

META = CheckMeta(
    id="swappiness",
    title="vm.swappiness is within the allowed range",
    area="sysctl",
    severity="high",
    rationale=(
        "Swappiness sets how readily the kernel reclaims anonymous memory by swapping rather "
        "than by dropping page cache. Database hosts want their working set kept in RAM, so "
        "vendors ask for a low value; 0 is not 'low' but 'never swap anonymous memory' since "
        "Linux 3.5, which turns memory pressure into OOM kills."
    ),
    remediation=(
        "sysctl -w vm.swappiness=1, and persist it with 'vm.swappiness = 1' in "
        "/etc/sysctl.d/90-memcheck.conf (a name that sorts after the distribution's files)."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#swappiness",
        "https://www.mongodb.com/docs/manual/administration/production-notes/",
        "https://www.elastic.co/guide/en/elasticsearch/reference/current/setup-configuration-memory.html",
        "https://mariadb.com/kb/en/configuring-swappiness/",
        "https://docs.redhat.com/en/documentation/red_hat_enterprise_linux/9/html/monitoring_and_managing_system_status_and_performance/configuring-an-operating-system-to-optimize-memory-access_monitoring-and-managing-system-status-and-performance",
    ),
    reads=("/proc/sys/vm/swappiness",),
    params={
        "min": Param(
            1, "lowest allowed value; 1 or more makes 0 a failure", low=0, high=200, at_most="max"
        ),
        "max": Param(10, "highest allowed value", low=0, high=200),
    },
)

# The key this check constrains, and the rule, for sysctl_persisted to judge boot values.
SYSCTL = "vm.swappiness"


def complies(value: int, params: Params) -> bool:
    return param_int(params, "min") <= value <= param_int(params, "max")


def judge(facts: Facts, params: Params) -> Outcome:
    return seen_from_container(_judge(facts, params), facts)


def _judge(facts: Facts, params: Params) -> Outcome:
    low, high = param_int(params, "min"), param_int(params, "max")
    value = facts.sysctl_int(SYSCTL)
    evidence = [ev(f"vm.swappiness = {value}", source="/proc/sys/vm/swappiness")]
    expected = f"{low}..{high}"
    if value == 0 and low >= 1:
        return Outcome.failed(
            "vm.swappiness is 0: since Linux 3.5 that means never swap anonymous memory, "
            "so pressure ends in OOM kills",
            value,
            expected,
            evidence,
        )
    if complies(value, params):
        return Outcome.passed(f"vm.swappiness is {value}", value, expected, evidence)
    return Outcome.failed(
        f"vm.swappiness is {value}, outside {expected}", value, expected, evidence
    )
