"""Swap is present or absent, as the host's workload wants."""

from __future__ import annotations

from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
from memcheck.facts.container import (
    CONTAINER_READS,
    CONTAINER_SWAP_READS,
    NAMESPACE_ROOT_READS,
    ContainerSwap,
    container_basis,
    container_swap,
    seen_from_container,
)
from memcheck.facts.swap import format_bytes
from memcheck.model import JSON, CheckMeta, Outcome, Param, Params, ev, param_str
from memcheck.parse.swaps import Swaps

REMOVE_SWAP = (
    "To remove swap: swapoff -a, then remove or comment out the swap lines in /etc/fstab "
    "(and on hosts with zram-generator, remove /etc/systemd/zram-generator.conf or mask "
    "the swap unit, e.g. systemctl mask dev-zram0.swap)."
)
ADD_SWAP = (
    "To add swap: fallocate -l 4G /swapfile && chmod 600 /swapfile && mkswap /swapfile && "
    "swapon /swapfile, and persist it with '/swapfile none swap defaults 0 0' in /etc/fstab."
)
# A container swaps what its cgroup allows of the host's swap.
CONTAINER_NO_SWAP = (
    "To keep a container out of swap: docker run --memory-swap equal to --memory (cgroup v2: "
    "memory.swap.max 0 on its cgroup), or remove the host's swap."
)
CONTAINER_ADD_SWAP = (
    "To let a container swap: add swap on the host, and give the container an allowance "
    "(docker run --memory-swap larger than --memory, or -1 for no limit)."
)

META = CheckMeta(
    id="swap_configured",
    title="Swap is configured as the workload expects",
    area="swap",
    severity="medium",
    rationale=(
        "Vendors disagree, so the profile decides. The kubelet refuses to start on a node "
        "with swap unless told otherwise, and Elasticsearch and Cassandra ask for none: a JVM "
        "heap partly swapped out stalls every garbage collection. Redis, MongoDB and MariaDB "
        "ask for some swap with low swappiness, so that a memory spike slows the host down "
        "instead of ending in an OOM kill. zram devices are swap too (compressed RAM), and "
        "count as swap for every one of those rules."
    ),
    remediation=f"{REMOVE_SWAP} {ADD_SWAP}",
    references=(
        "https://man7.org/linux/man-pages/man5/proc_swaps.5.html",
        "https://man7.org/linux/man-pages/man8/swapon.8.html",
        "https://kubernetes.io/docs/concepts/cluster-administration/swap-memory-management/",
        "https://www.elastic.co/guide/en/elasticsearch/reference/current/setup-configuration-memory.html",
        "https://docs.datastax.com/en/dse/6.9/managing/configure/recommended-settings.html",
        "https://redis.io/docs/latest/operate/oss_and_stack/management/admin/",
        "https://www.mongodb.com/docs/manual/administration/production-notes/",
    ),
    # Inside a container the swap it may use is the host's, bounded by its cgroup's allowance.
    reads=(
        "/proc/swaps",
        "/proc/meminfo",
        *CONTAINER_READS,
        *NAMESPACE_ROOT_READS,
        *CONTAINER_SWAP_READS,
    ),
    params={
        "expect": Param(
            "any",
            "present (some swap), absent (none) or any (report only)",
            "str",
            ("present", "absent", "any"),
        ),
    },
)


def _describe(swaps: Swaps | None) -> tuple[str, list[dict[str, JSON]]]:
    if swaps is None or not swaps.areas:
        return "", []
    items, evidence = [], []
    for area in swaps.areas:
        kind = "zram" if area.is_zram else area.type
        text = f"{area.filename} ({kind}, {format_bytes(area.size_bytes)})"
        items.append(text)
        evidence.append(
            ev(
                f"{text}, {format_bytes(area.used_bytes)} used, priority {area.priority}",
                source="/proc/swaps",
                filename=area.filename,
                type=area.type,
                zram=area.is_zram,
                size_bytes=area.size_bytes,
                used_bytes=area.used_bytes,
            )
        )
    return ": " + ", ".join(items), evidence


def judge(facts: Facts, params: Params) -> Outcome:
    expect = param_str(params, "expect")
    evidence: list[dict[str, JSON]] = []
    try:
        swaps = facts.swaps
    except (Unavailable, ParseError) as exc:
        swaps = None
        evidence.append(ev(f"swap areas not listed: {exc}"))
    if swaps is None and not evidence:
        evidence.append(ev("no /proc/swaps: this kernel is built without swap support"))
    total = facts.meminfo.swap_total_bytes
    if total is None:
        if swaps is None:
            return Outcome.errored("neither /proc/meminfo (SwapTotal) nor /proc/swaps says")
        total = swaps.total_bytes
    else:
        evidence.insert(0, ev(f"SwapTotal {format_bytes(total)}", source="/proc/meminfo"))
    evidence += _describe(swaps)[1]
    if swaps is not None and (total > 0) != bool(swaps.areas):
        evidence.append(ev("/proc/meminfo and /proc/swaps disagree (LXCFS or a container view)"))
    if total > 0 and container_basis(facts) is not None:
        allowed = container_swap(facts)
        if allowed.problem is None:
            return _container_verdict(expect, total, allowed, evidence)
        if allowed.denied:
            return Outcome.errored(
                f"inside a container; the host has {format_bytes(total)} of swap, but the "
                f"container's own swap limit cannot be read ({allowed.problem})",
                evidence,
            )
        evidence.append(ev(f"the container's own swap limit is unknown: {allowed.problem}"))
        return seen_from_container(
            _verdict(facts, expect, total, swaps, evidence),
            facts,
            "the host's swap",
            f"this container's own limit on it is unknown ({allowed.problem})",
        )
    return seen_from_container(
        _verdict(facts, expect, total, swaps, evidence),
        facts,
        "host-wide value",
        "a container swaps only what the host has",
    )


def _verdict(
    facts: Facts, expect: str, total: int, swaps: Swaps | None, evidence: list[dict[str, JSON]]
) -> Outcome:
    listing = _describe(swaps)[0]
    observed = format_bytes(total) if total > 0 else "none"
    if total > 0:
        used = facts.meminfo.swap_free_bytes
        usage = f", {format_bytes(total - used)} used" if used is not None else ""
        state = f"swap configured, {observed}{usage}{listing}"
    else:
        state = "no swap configured"
    if expect == "present" and total == 0:
        wants = f"{state}; this workload wants some swap"
        return Outcome.failed(wants, observed, expect, evidence).replace(remediation=ADD_SWAP)
    if expect == "absent" and total > 0:
        zram = " (zram is swap too)" if swaps and any(a.is_zram for a in swaps.areas) else ""
        return Outcome.failed(
            f"{state}; this workload wants none{zram}", observed, expect, evidence
        ).replace(remediation=REMOVE_SWAP)
    return Outcome.passed(state, observed, expect, evidence)


def _container_verdict(
    expect: str, total: int, allowed: ContainerSwap, evidence: list[dict[str, JSON]]
) -> Outcome:
    """Inside a container: the host's swap, as far as the container's cgroup allows it."""
    limit, source = allowed.limit_bytes, allowed.source
    host = format_bytes(total)
    if limit is None:
        how = source or "no swap accounting"
        state = f"its cgroup sets no swap limit ({how}): it may use all {host} of the host's swap"
        usable = total
    elif limit == 0:
        state = f"its cgroup allows no swap ({source}) although the host has {host}"
        usable = 0
    else:
        usable = min(total, limit)
        state = f"its cgroup allows {format_bytes(limit)} of swap ({source}) of the host's {host}"
    if allowed.usage_bytes is not None:
        state += f", {format_bytes(allowed.usage_bytes)} swapped out"
    evidence.append(
        ev(
            f"inside a container: {state}",
            source=source,
            in_container=True,
            swap_limit_bytes=limit,
            swap_usage_bytes=allowed.usage_bytes,
            usable_bytes=usable,
        )
    )
    observed = format_bytes(usable) if usable > 0 else "none"
    message = f"inside a container: {state}"
    if expect == "present" and usable == 0:
        return Outcome.failed(
            f"{message}; this workload wants some swap", observed, expect, evidence
        ).replace(remediation=CONTAINER_ADD_SWAP)
    if expect == "absent" and usable > 0:
        return Outcome.failed(
            f"{message}; this workload wants none", observed, expect, evidence
        ).replace(remediation=CONTAINER_NO_SWAP)
    return Outcome.passed(message, observed, expect, evidence)
