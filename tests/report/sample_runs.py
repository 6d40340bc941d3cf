"""Hand-built runs for the report tests, including text a hostile host could produce."""

from __future__ import annotations

from memcheck.model import ev
from memcheck.results import CheckResult, HostResult, RunResult

SCRIPT = "<script>alert(1)</script>"
ATTR_BREAK = '"><img src=x onerror=alert(1)>'
CONTROL = "\x00\x07\x1b[31m"
CDATA_END = "]]>"
NOT_UTF8 = (
    "bad\ufffdbytes\udcff"  # U+FFFD from a lossy decode, a lone surrogate from surrogateescape
)
BIDI = "\u202eevil"
HOSTILE = (SCRIPT, ATTR_BREAK, CONTROL, CDATA_END, NOT_UTF8, BIDI)

HOSTILE_HOST = f"{SCRIPT}{CONTROL}"
UNREACHABLE_HOST = ATTR_BREAK
JS_URL = "javascript:alert(1)"
KERNEL_DOC = "https://docs.kernel.org/admin-guide/sysctl/vm.html#swappiness"


def result(check: str, outcome: str, severity: str = "high", **kw: object) -> CheckResult:
    base: dict[str, object] = {
        "check": check,
        "title": f"title of {check}",
        "area": "sysctl",
        "outcome": outcome,
        "severity": severity,
        "message": f"message of {check}",
        "rationale": f"rationale of {check}",
        "remediation": f"sysctl -w fix.{check}=1\npersist in /etc/sysctl.d/90-{check}.conf",
        "references": [KERNEL_DOC],
        "duration_seconds": 0.0012345,
    }
    base.update(kw)
    return CheckResult(**base)  # type: ignore[arg-type]


def db_host() -> HostResult:
    oom = [
        ev(
            "Out of memory: Killed process 4242 (postgres) total-vm:1000kB",
            source=".memcheck/kernel.log",
            line=17,
            pid=4242,
            name="postgres",
            time="2026-11-20T11:00:00Z",
        ),
        ev(
            "Out of memory: Killed process 4343 (redis-server) total-vm:2000kB",
            source=".memcheck/kernel.log",
            line=40,
            pid=4343,
            name="redis-server",
            time="2026-11-20T11:30:00Z",
        ),
    ]
    return HostResult(
        name="db1",
        source="ssh://db1",
        kernel="5.14.0-427.el9.x86_64",
        distribution="Rocky Linux 9.4",
        collected_at="2026-11-20T12:00:00Z",
        in_container=False,
        cgroup_mode="v2",
        collection_seconds=0.8,
        results=[
            result(
                "swappiness",
                "fail",
                "high",
                observed=60,
                expected="1..10",
                message="vm.swappiness is 60, outside 1..10",
                evidence=[ev("vm.swappiness = 60", source="/proc/sys/vm/swappiness", line=1)],
            ),
            result(
                "oom_kills_recent",
                "fail",
                "critical",
                area="oom",
                observed=2,
                expected=0,
                message="2 OOM kills in the last 24 h",
                evidence=oom,
            ),
            result(
                "vfs_cache_pressure",
                "fail",
                "low",
                observed=200,
                expected="<= 100",
                message="vm.vfs_cache_pressure is 200",
            ),
            result("overcommit", "pass", "medium", observed=2, expected=2),
            result("numa_balance", "skip", "medium", area="numa", message="single NUMA node"),
            result(
                "psi_memory",
                "error",
                "medium",
                area="pressure",
                message="cannot read /proc/pressure/memory: no such file",
            ),
            result(
                "thp_enabled",
                "waived",
                "high",
                area="thp",
                observed="always",
                expected="never",
                message="THP is always",
                waiver={
                    "check": "thp_*",
                    "reason": "vendor appliance",
                    "approved_by": "alice",
                    "expires": "2027-01-31",
                },
            ),
        ],
    )


def hostile_host() -> HostResult:
    hostile = "".join(HOSTILE)
    return HostResult(
        name=HOSTILE_HOST,
        source=f"ssh://{ATTR_BREAK}",
        kernel=f"6.1.0 {SCRIPT}",
        distribution=f"Debian {CDATA_END}",
        collected_at="2026-11-20T12:00:05+00:00",
        in_container=True,
        cgroup_mode="v1",
        collection_errors={f"/proc/1/comm{CONTROL}": f"permission denied {SCRIPT}"},
        results=[
            result(
                "oom_protected",
                "fail",
                "medium",
                area="oom",
                message=f"process {hostile} is not protected",
                observed=f"{ATTR_BREAK}{CONTROL}",
                expected=-1000,
                evidence=[
                    ev(
                        f"comm {hostile}",
                        source=f"/proc/77/comm{CONTROL}",
                        line=1,
                        name=f"{SCRIPT}{NOT_UTF8}",
                        pid=77,
                    ),
                    ev(f"{CDATA_END} plain line"),
                ],
                references=[JS_URL, KERNEL_DOC, f"http://example.com/?q={ATTR_BREAK}"],
                remediation=f"echo -1000 > /proc/77/oom_score_adj {SCRIPT}",
            ),
            result("swappiness", "skip", "high", message=f"skipped {CONTROL}{BIDI}"),
            result(
                "psi_memory",
                "error",
                "medium",
                area="pressure",
                message=f"cannot parse {CDATA_END}{NOT_UTF8}",
            ),
            result(
                "thp_enabled",
                "waived",
                "high",
                area="thp",
                observed=SCRIPT,
                expected="never",
                waiver={
                    "check": "thp_enabled",
                    "reason": f"because {SCRIPT}",
                    "approved_by": ATTR_BREAK,
                    "expires": "2027-01-31",
                },
            ),
        ],
    )


def unreachable_host() -> HostResult:
    reason = f"ssh: connect to host refused {CONTROL}"
    return HostResult(
        name=UNREACHABLE_HOST,
        source="ssh://10.0.0.9",
        unreachable=reason,
        results=[
            result("swappiness", "error", "high", message=f"host not collected: {reason}"),
            result("overcommit", "error", "medium", message=f"host not collected: {reason}"),
        ],
    )


def silent_host() -> HostResult:
    """Unreachable, and no verdicts recorded at all."""
    return HostResult(name="gone", source="ssh://gone", unreachable="timed out after 30 s")


def sample_run(hosts: list[HostResult] | None = None) -> RunResult:
    run = RunResult(
        memcheck_version="0.1.0",
        started_at="2026-11-20T11:59:58Z",
        finished_at="2026-11-20T12:00:09Z",
        profiles=["default", "database"],
        fail_on="low",
        command=["memcheck", "--profile", "database", "--hosts", "ssh://db1"],
        user="ops",
        controller="ci-runner-3",
        profile_hashes={"default": "sha256:aa", "database": "sha256:bb"},
        conflicts=[
            {"check": "swappiness", "param": "max", "values": [60, 10], "winner": "database"}
        ],
        waivers_expired=[{"check": "numa_*", "reason": "old", "expires": "2025-01-01"}],
        waivers_unused=[{"check": "never_matches", "reason": "nothing", "expires": "2027-01-01"}],
        hosts=hosts
        if hosts is not None
        else [db_host(), hostile_host(), unreachable_host(), silent_host()],
    )
    run.exit_code = run.compute_exit_code()
    return run
