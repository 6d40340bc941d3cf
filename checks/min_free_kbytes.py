"""vm.min_free_kbytes keeps a sane reserve: at least 1024 kB and no more than a few % of RAM."""

from __future__ import annotations

from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
from memcheck.facts.container import container_basis, meminfo_virtualised, seen_from_container
from memcheck.model import CheckMeta, Outcome, Param, Params, ev, param_float, param_int

META = CheckMeta(
    id="min_free_kbytes",
    title="vm.min_free_kbytes is neither too small nor too large for the RAM",
    area="sysctl",
    severity="medium",
    rationale=(
        "min_free_kbytes sets the watermark below which only the kernel's emergency "
        "allocations may take pages. Under 1024 kB the kernel documentation says the system "
        "becomes subtly broken and prone to deadlock under load; set too high (Red Hat names "
        "5-10% of RAM) the reserve is taken away from applications and the host reclaims "
        "constantly or runs out of memory at once."
    ),
    remediation=(
        "sysctl -w vm.min_free_kbytes=<kB> with a value between 1024 and the allowed share of "
        "RAM (or remove the override so the kernel computes it from RAM at boot), and persist "
        "it with 'vm.min_free_kbytes = <kB>' in /etc/sysctl.d/90-memcheck.conf (a name that "
        "sorts after the distribution's files)."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#min-free-kbytes",
        "https://docs.redhat.com/en/documentation/Red_Hat_Enterprise_Linux/6/html/Performance_Tuning_Guide/s-memory-tunables.html",
        "https://docs.redhat.com/en/documentation/red_hat_enterprise_linux/9/html/monitoring_and_managing_system_status_and_performance/configuring-an-operating-system-to-optimize-memory-access_monitoring-and-managing-system-status-and-performance",
    ),
    reads=("/proc/sys/vm/min_free_kbytes", "/proc/meminfo"),
    params={
        "min_kbytes": Param(1024, "smallest allowed value in kB", low=0, high=2_147_483_647),
        "max_percent": Param(
            5.0, "largest allowed value as a percentage of MemTotal", "float", low=0.0, high=100.0
        ),
    },
)

SYSCTL = "vm.min_free_kbytes"


def _max_kbytes(facts: Facts, params: Params) -> int:
    return int(facts.meminfo.mem_total_bytes / 1024 * param_float(params, "max_percent") / 100)


def complies(value: int, params: Params, facts: Facts | None = None) -> bool:
    """The lower bound always; the share of RAM when facts (and so MemTotal) are given."""
    if value < param_int(params, "min_kbytes"):
        return False
    return facts is None or value <= _max_kbytes(facts, params)


def judge(facts: Facts, params: Params) -> Outcome:
    if container_basis(facts) is not None:
        # The reserve is a share of the host's RAM; LXCFS would show the container's instead.
        try:
            stand_in = meminfo_virtualised(facts)
        except (Unavailable, ParseError) as exc:
            return Outcome.errored(
                f"inside a container, and whether /proc/meminfo is the host's or a stand-in "
                f"(LXCFS) for the container's cannot be told: {exc}"
            )
        if stand_in:
            return seen_from_container(_lower_bound_only(facts, params), facts)
    return seen_from_container(_judge(facts, params), facts)


def _lower_bound_only(facts: Facts, params: Params) -> Outcome:
    low, value = param_int(params, "min_kbytes"), facts.sysctl_int(SYSCTL)
    evidence = [
        ev(f"{SYSCTL} = {value}", source="/proc/sys/vm/min_free_kbytes"),
        ev("/proc/meminfo is mounted over (LXCFS): its MemTotal is the container's, not the "
           "host's RAM", source="/proc/mounts"),
    ]  # fmt: skip
    if value < low:
        return Outcome.failed(_too_small(value, low), value, f">= {low} kB", evidence)
    return Outcome.errored(
        f"vm.min_free_kbytes is {value} kB, but /proc/meminfo here is LXCFS's view of the "
        "container, not the host's RAM the reserve is a share of: its share of RAM cannot be "
        "judged from inside this container; audit the host",
        evidence,
    )


def _too_small(value: int, low: int) -> str:
    return (
        f"vm.min_free_kbytes is {value} kB, below {low} kB: too small a reserve for emergency "
        "allocations, prone to deadlock under load"
    )


def _judge(facts: Facts, params: Params) -> Outcome:
    low, percent = param_int(params, "min_kbytes"), param_float(params, "max_percent")
    value = facts.sysctl_int(SYSCTL)
    high = _max_kbytes(facts, params)
    total_kb = facts.meminfo.mem_total_bytes // 1024
    evidence = [
        ev(f"{SYSCTL} = {value}", source="/proc/sys/vm/min_free_kbytes"),
        ev(f"MemTotal: {total_kb} kB", source="/proc/meminfo", mem_total_bytes=total_kb * 1024),
    ]
    expected = f"{low}..{high} kB ({percent:g}% of {total_kb} kB)"
    share = f"{value / total_kb * 100:.1f}% of RAM" if total_kb else "RAM unknown"
    if value < low:
        return Outcome.failed(_too_small(value, low), value, expected, evidence)
    if value > high:
        return Outcome.failed(
            f"vm.min_free_kbytes is {value} kB ({share}), above {percent:g}% of RAM: memory "
            "held back from applications, constant reclaim or OOM",
            value,
            expected,
            evidence,
        )
    return Outcome.passed(f"vm.min_free_kbytes is {value} kB ({share})", value, expected, evidence)
