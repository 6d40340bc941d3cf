"""vm.panic_on_oom does not turn an out-of-memory condition into a kernel panic."""

from __future__ import annotations

from memcheck.facts import Facts
from memcheck.facts.container import seen_from_container
from memcheck.model import CheckMeta, Outcome, Param, Params, ev, param_int

META = CheckMeta(
    id="panic_on_oom",
    title="vm.panic_on_oom lets the OOM killer act instead of panicking",
    area="sysctl",
    severity="medium",
    rationale=(
        "At 0 the OOM killer ends one process and the host carries on. At 1 the kernel panics "
        "on a system-wide out-of-memory condition (not on one confined by cpusets or "
        "mempolicy); at 2 it panics even on an OOM inside a memory cgroup, so one container "
        "hitting its limit reboots the whole node. Those modes are meant for failover clusters "
        "that prefer a reboot to a degraded node; the kubelet sets 0."
    ),
    remediation=(
        "sysctl -w vm.panic_on_oom=0, and persist it with 'vm.panic_on_oom = 0' in "
        "/etc/sysctl.d/90-memcheck.conf (a name that sorts after the distribution's files). "
        "If the cluster relies on panic-and-failover, allow it in the profile instead."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#panic-on-oom",
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/cm/container_manager_linux.go",
        "https://man7.org/linux/man-pages/man5/proc_sys_vm.5.html",
    ),
    reads=("/proc/sys/vm/panic_on_oom",),
    params={
        "max": Param(
            0, "highest allowed value (1 panics on a system-wide OOM, 2 on any OOM)", low=0, high=2
        ),
    },
)

SYSCTL = "vm.panic_on_oom"
_MEANING = {
    0: "the OOM killer ends a process and the host survives",
    1: "the kernel panics on a system-wide out-of-memory condition",
    2: "the kernel panics on every out-of-memory condition, even inside a memory cgroup",
}


def complies(value: int, params: Params) -> bool:
    return value <= param_int(params, "max")


def judge(facts: Facts, params: Params) -> Outcome:
    return seen_from_container(_judge(facts, params), facts)


def _judge(facts: Facts, params: Params) -> Outcome:
    bound = param_int(params, "max")
    value = facts.sysctl_int(SYSCTL)
    meaning = _MEANING.get(value, "an undocumented value")
    evidence = [ev(f"{SYSCTL} = {value}", source="/proc/sys/vm/panic_on_oom")]
    expected = f"<= {bound}"
    if complies(value, params):
        return Outcome.passed(f"vm.panic_on_oom is {value}: {meaning}", value, expected, evidence)
    return Outcome.failed(f"vm.panic_on_oom is {value}: {meaning}", value, expected, evidence)
