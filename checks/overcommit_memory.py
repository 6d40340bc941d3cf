"""vm.overcommit_memory is a mode the workload accepts; in strict mode, commit has headroom."""

from __future__ import annotations

from memcheck.facts import Facts
from memcheck.facts.container import seen_from_container
from memcheck.facts.swap import format_bytes
from memcheck.facts.vm import OVERCOMMIT_READS
from memcheck.model import (
    JSON,
    CheckMeta,
    Outcome,
    Param,
    Params,
    ev,
    param_float,
    param_int_list,
)

META = CheckMeta(
    id="overcommit_memory",
    title="vm.overcommit_memory is a mode the workload accepts",
    area="sysctl",
    severity="high",
    rationale=(
        "The overcommit policy decides whether a large allocation or a fork fails up front "
        "or succeeds and leaves the OOM killer to settle it later. Vendors disagree, so the "
        "profile decides: Redis needs 1, since its background save forks a process as large "
        "as the dataset, and the kubelet sets 1; PostgreSQL recommends 2 (strict), so that "
        "a backend gets an allocation error instead of the postmaster being killed; mongod "
        "warns on 2. In mode 2 the limit is swap plus overcommit_ratio percent of RAM (or "
        "overcommit_kbytes); when Committed_AS nears CommitLimit, new allocations and forks "
        "start failing."
    ),
    remediation=(
        "sysctl -w vm.overcommit_memory=<mode> (for mode 2 also vm.overcommit_ratio, sized so "
        "that CommitLimit covers the workload), and persist it with 'vm.overcommit_memory = "
        "<mode>' in /etc/sysctl.d/90-memcheck.conf. In mode 2 with commit near its limit, "
        "raise overcommit_ratio or add swap, or lower the workload's reservations."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#overcommit-memory",
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#overcommit-ratio",
        "https://docs.kernel.org/admin-guide/sysctl/vm.html#overcommit-kbytes",
        "https://docs.kernel.org/mm/overcommit-accounting.html",
        "https://redis.io/docs/latest/operate/oss_and_stack/management/admin/",
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/cm/container_manager_linux.go",
        "https://www.postgresql.org/docs/current/kernel-resources.html#LINUX-MEMORY-OVERCOMMIT",
        "https://github.com/mongodb/mongo/blob/master/src/mongo/db/startup_warnings_mongod.cpp",
    ),
    reads=(*OVERCOMMIT_READS, "/proc/meminfo"),
    params={
        "allowed": Param([0, 1], "accepted vm.overcommit_memory modes", "list[int]", low=0, high=2),
        "max_commit_percent": Param(
            90.0,
            "in mode 2, highest Committed_AS as a percentage of CommitLimit",
            "float",
            low=0.0,
            high=100.0,
        ),
    },
)

# The key this check constrains, and the rule, for sysctl_persisted to judge boot values.
SYSCTL = "vm.overcommit_memory"


def complies(value: int, params: Params) -> bool:
    return value in param_int_list(params, "allowed")


def judge(facts: Facts, params: Params) -> Outcome:
    return seen_from_container(_judge(facts, params), facts)


def _judge(facts: Facts, params: Params) -> Outcome:
    allowed = param_int_list(params, "allowed")
    settings = facts.overcommit
    mode = settings.mode
    expected = "one of " + ", ".join(str(m) for m in allowed)
    evidence: list[dict[str, JSON]] = [
        ev(
            f"vm.overcommit_memory = {mode}: {settings.describe()}",
            source="/proc/sys/vm/overcommit_memory",
            ratio=settings.ratio,
            kbytes=settings.kbytes,
        )
    ]
    if not complies(mode, params):
        return Outcome.failed(
            f"vm.overcommit_memory is {mode} ({settings.describe()}), not {expected}",
            mode,
            expected,
            evidence,
        )
    if mode != 2:
        return Outcome.passed(
            f"vm.overcommit_memory is {mode}: {settings.describe()}", mode, expected, evidence
        )
    meminfo = facts.meminfo
    limit, committed = meminfo.commit_limit_bytes, meminfo.committed_as_bytes
    if not limit or committed is None:
        return Outcome.errored("mode 2, but /proc/meminfo has no CommitLimit and Committed_AS")
    percent = round(committed * 100 / limit, 1)
    ceiling = param_float(params, "max_commit_percent")
    usage = f"Committed_AS {format_bytes(committed)} is {percent:g}% of CommitLimit "
    usage += format_bytes(limit)
    evidence.append(
        ev(usage, source="/proc/meminfo", committed_as_bytes=committed, commit_limit_bytes=limit)
    )
    if percent > ceiling:
        return Outcome.failed(
            f"strict overcommit (mode 2): {usage}, over {ceiling:g}%: allocations and forks "
            "are about to fail",
            percent,
            f"<= {ceiling:g}% of CommitLimit",
            evidence,
            severity="medium",
        )
    return Outcome.passed(
        f"vm.overcommit_memory is 2 ({settings.describe()}); {usage}", mode, expected, evidence
    )
