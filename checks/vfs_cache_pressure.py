"""vm.vfs_cache_pressure is not 0 and, when the profile sets a bound, not above it."""

from __future__ import annotations

from memcheck.facts import Facts
from memcheck.facts.container import seen_from_container
from memcheck.model import CheckMeta, Outcome, Param, Params, ev, param_int

META = CheckMeta(
    id="vfs_cache_pressure",
    title="vm.vfs_cache_pressure lets the kernel reclaim dentry and inode caches",
    area="sysctl",
    severity="low",
    rationale=(
        "vfs_cache_pressure weighs how hard reclaim goes after the dentry and inode caches "
        "compared with the page cache (100 is fair). Database profiles lower it so metadata "
        "stays cached, but 0 means those caches are never reclaimed under memory pressure, "
        "which the kernel documentation warns can easily lead to out-of-memory conditions."
    ),
    remediation=(
        "sysctl -w vm.vfs_cache_pressure=50 (or 100, the kernel default), and persist it with "
        "'vm.vfs_cache_pressure = 50' in /etc/sysctl.d/90-memcheck.conf (a name that sorts "
        "after the distribution's files)."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#vfs-cache-pressure",
        "https://docs.redhat.com/en/documentation/red_hat_enterprise_linux/9/html/monitoring_and_managing_system_status_and_performance/configuring-an-operating-system-to-optimize-memory-access_monitoring-and-managing-system-status-and-performance",
    ),
    reads=("/proc/sys/vm/vfs_cache_pressure",),
    params={
        "max": Param(
            0,
            "highest allowed value; 0 means no upper bound (only 0 itself fails)",
            low=0,
            high=2_147_483_647,
        ),
    },
)

SYSCTL = "vm.vfs_cache_pressure"


# What the kernel accepts for vm.vfs_cache_pressure (an int with a floor of 0): anything else
# was never written by a kernel, and a bound of 0 ("none") must not let it pass.
KERNEL_RANGE = (0, 2_147_483_647)


def complies(value: int, params: Params) -> bool:
    bound = param_int(params, "max")
    low, high = KERNEL_RANGE
    return low < value <= high and (bound <= 0 or value <= bound)


def judge(facts: Facts, params: Params) -> Outcome:
    return seen_from_container(_judge(facts, params), facts)


def _judge(facts: Facts, params: Params) -> Outcome:
    bound = param_int(params, "max")
    value = facts.sysctl_int(SYSCTL)
    evidence = [ev(f"{SYSCTL} = {value}", source="/proc/sys/vm/vfs_cache_pressure")]
    expected = f"1..{bound}" if bound > 0 else "not 0"
    if not KERNEL_RANGE[0] <= value <= KERNEL_RANGE[1]:
        return Outcome.errored(
            f"vm.vfs_cache_pressure reads {value}, which no kernel shows "
            f"({KERNEL_RANGE[0]}..{KERNEL_RANGE[1]}): the snapshot does not hold what the "
            "kernel wrote",
            evidence,
        )
    if value == 0:
        return Outcome.failed(
            "vm.vfs_cache_pressure is 0: dentries and inodes are never reclaimed under memory "
            "pressure, which can lead to out-of-memory",
            value,
            expected,
            evidence,
            severity="high",
        )
    if complies(value, params):
        return Outcome.passed(f"vm.vfs_cache_pressure is {value}", value, expected, evidence)
    return Outcome.failed(
        f"vm.vfs_cache_pressure is {value}, above {bound}: dentry and inode caches are "
        "reclaimed more eagerly than this profile allows",
        value,
        expected,
        evidence,
    )
