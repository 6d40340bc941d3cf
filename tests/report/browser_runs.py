"""A run meant for a real browser: several hosts, an OOM kill, cgroups, waivers and hostile text.

The hostile strings would each mark the page (`data-pwned` on <html>) if a browser ever ran
them, so a test only has to look for that mark and for elements that should not exist.
"""

from __future__ import annotations

from memcheck.model import ev
from memcheck.results import HostResult, RunResult
from tests.report.sample_runs import result

IMG = "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','1')\">"
SCRIPT = "<script>document.documentElement.setAttribute('data-pwned','2')</script>"
JS_URL = "javascript:document.documentElement.setAttribute('data-pwned','3')"
ATTR = "\" onmouseover=\"document.documentElement.setAttribute('data-pwned','4')\" x=\""
CONTROL = "\x00\x07\x1b[31m\u202e"
GIB = 1024**3
MIB = 1024**2


def _memory(total: int, available: int, cache: int, swap_total: int, swap_used: int) -> dict:
    return {
        "total_bytes": total,
        "available_bytes": available,
        "cache_bytes": cache,
        "used_bytes": total - available,
        "swap_total_bytes": swap_total,
        "swap_used_bytes": swap_used,
    }


def _cgroup(path: str, limit: int, working: int, kernel: int, high: int | None = None) -> dict:
    return ev(
        f"{path}: working set {working // MIB} MiB of {limit // MIB} MiB",
        source=f"/sys/fs/cgroup{path}/memory.max",
        path=path,
        kind="service",
        limit_bytes=limit,
        high_bytes=high,
        usage_bytes=working + 10 * MIB,
        working_set_bytes=working,
        anon_bytes=working - kernel,
        file_bytes=0,
        kernel_bytes=kernel,
        used_percent=round(working / limit * 100, 1),
    )


def _oom(pid: int, name: str, when: str, rss: int, memcg: str, line: int) -> dict:
    return ev(
        f"Out of memory: Killed process {pid} ({name}) anon-rss:{rss // 1024}kB",
        source=".memcheck/kernel.log",
        line=line,
        pid=pid,
        name=name,
        time=when,
        in_window=True,
        anon_rss_bytes=rss,
        total_vm_bytes=rss * 2,
        oom_score_adj=0,
        uid=1000,
        trigger=name,
        trigger_pid=pid,
        constraint="CONSTRAINT_MEMCG",
        memcg=memcg,
        task_memcg=memcg,
    )


def web_host() -> HostResult:
    cgroups = [
        _cgroup("/system.slice/app.service", 2 * GIB, int(1.9 * GIB), 300 * MIB, int(1.8 * GIB)),
        _cgroup("/system.slice/nginx.service", 512 * MIB, 120 * MIB, 20 * MIB),
        _cgroup(f"/system.slice/{IMG}.service", 256 * MIB, 300 * MIB, 40 * MIB),
    ]
    return HostResult(
        name="web1.example.net",
        source="ssh://web1.example.net",
        kernel="6.1.0-28-amd64",
        distribution="Debian GNU/Linux 12 (bookworm)",
        collected_at="2026-11-20T12:00:01Z",
        in_container=False,
        cgroup_mode="unified",
        collection_seconds=1.2,
        memory=_memory(16 * GIB, 5 * GIB, 4 * GIB, 2 * GIB, 512 * MIB),
        results=[
            result(
                "swappiness",
                "fail",
                "medium",
                observed=60,
                expected="<= 10",
                message="vm.swappiness is 60, above 10",
                evidence=[ev("60", source="/proc/sys/vm/swappiness", line=1)],
            ),
            result(
                "oom_kills",
                "fail",
                "critical",
                area="oom",
                observed=2,
                expected=0,
                message="2 OOM kills in the last 24 h",
                evidence=[
                    _oom(4242, "java", "2026-11-20T10:01:02+00:00", 1900 * MIB, "/app", 17),
                    _oom(
                        977,
                        f"{SCRIPT}{CONTROL}",
                        "2026-11-20T11:12:13+00:00",
                        80 * MIB,
                        f"/system.slice/{IMG}.service",
                        40,
                    ),
                ],
            ),
            result(
                "cgroup_memory_headroom",
                "fail",
                "high",
                area="cgroup",
                observed=117.2,
                expected="<= 90%",
                message="2 of 3 limited cgroups above 90%",
                evidence=cgroups,
            ),
            result("overcommit_memory", "pass", "medium", observed=0, expected=0),
            result(
                "thp_enabled",
                "waived",
                "low",
                area="thp",
                observed="always",
                expected="madvise",
                message="THP is always",
                waiver={"check": "thp_*", "reason": "vendor", "expires": "2027-01-31"},
            ),
        ],
    )


def hostile_host() -> HostResult:
    return HostResult(
        name=f"{IMG}{CONTROL}",
        source=f"ssh://{ATTR}",
        kernel=f"6.8.0 {SCRIPT}",
        distribution=f"Ubuntu {IMG}",
        collected_at="2026-11-20T12:00:02Z",
        in_container=True,
        cgroup_mode=f"v1 {ATTR}",
        collection_errors={f"/proc/1/comm{CONTROL}": f"permission denied {SCRIPT}"},
        memory=_memory(4 * GIB, 200 * MIB, 1 * GIB, 0, 0),
        results=[
            result(
                "oom_score_adj",
                "fail",
                "high",
                area="oom",
                message=f"process {IMG} {SCRIPT} is not protected",
                observed=f"{ATTR}{CONTROL}",
                expected=-1000,
                evidence=[
                    ev(f"comm {SCRIPT}", source=f"/proc/77/comm{CONTROL}", line=1, name=IMG),
                    ev(f"{ATTR} plain line"),
                ],
                references=[JS_URL, "https://docs.kernel.org/filesystems/proc.html"],
                remediation=f"echo -1000 > /proc/77/oom_score_adj {SCRIPT}",
            ),
            result("swappiness", "error", "medium", message=f"cannot parse {IMG}"),
            result(
                "thp_enabled",
                "waived",
                "low",
                area="thp",
                observed=SCRIPT,
                expected="madvise",
                message=f"THP is {SCRIPT}",
                waiver={"check": "thp_enabled", "reason": f"because {IMG}", "approved_by": ATTR},
            ),
        ],
    )


def unreachable_host() -> HostResult:
    reason = f"ssh: connection refused {SCRIPT}"
    return HostResult(
        name=f"db9{SCRIPT}",
        source="ssh://10.0.0.9",
        unreachable=reason,
        results=[result("swappiness", "error", "medium", message=f"host not collected: {reason}")],
    )


def browser_run() -> RunResult:
    run = RunResult(
        memcheck_version="0.1.0",
        started_at="2026-11-20T11:59:58Z",
        finished_at="2026-11-20T12:00:09Z",
        profiles=["default", "web"],
        fail_on="medium",
        command=["memcheck", "--profile", "web", "--hosts", IMG],
        user="ops",
        controller="ci-runner-3",
        profile_hashes={"default": "sha256:" + "a" * 64, "web": "sha256:" + "b" * 64},
        waivers_unused=[{"check": SCRIPT, "reason": IMG, "expires": "2027-01-01"}],
        hosts=[web_host(), hostile_host(), unreachable_host()],
    )
    run.exit_code = run.compute_exit_code()
    return run
