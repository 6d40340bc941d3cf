"""Swap is present or absent, as the host's workload wants."""

from __future__ import annotations

from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
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
    reads=("/proc/swaps", "/proc/meminfo"),
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
    listing, areas = _describe(swaps)
    evidence += areas
    if swaps is not None and (total > 0) != bool(swaps.areas):
        evidence.append(ev("/proc/meminfo and /proc/swaps disagree (LXCFS or a container view)"))
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
