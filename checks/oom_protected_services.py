"""The services a host cannot lose (sshd first) are shielded from the OOM killer."""

from __future__ import annotations

from memcheck.engine import SUDO_HINT
from memcheck.facts import Facts
from memcheck.facts.services import SERVICE_READS, ServiceProcesses
from memcheck.facts.systemd import UNIT_READS
from memcheck.model import JSON, CheckMeta, Outcome, Param, Params, ev, param_int, param_list

META = CheckMeta(
    id="oom_protected_services",
    title="Critical services are protected from the OOM killer",
    area="oom",
    severity="high",
    rationale=(
        "When memory runs out the kernel kills the process with the highest badness score. If "
        "that is sshd, the host can no longer be reached to fix the cause. oom_score_adj at or "
        "near -1000 exempts a process. OpenSSH on Linux writes -1000 to its own listener, so the "
        "runtime value may come from the daemon rather than its unit; only OOMScoreAdjust= in "
        "the unit makes it configuration. Per-connection children (sshd, or sshd-session from "
        "OpenSSH 9.8) and PostgreSQL backends are meant to stay killable, so only each "
        "service's main process (its parent is not part of the service) is judged."
    ),
    remediation=(
        "At runtime: choom -p <pid> -n -1000 (or echo -1000 > /proc/<pid>/oom_score_adj). "
        "Persist it in the unit: systemctl edit sshd (ssh on Debian) and add "
        "'[Service]' 'OOMScoreAdjust=-1000', then systemctl restart."
    ),
    references=(
        "https://man7.org/linux/man-pages/man5/proc_pid_oom_score_adj.5.html",
        "https://man7.org/linux/man-pages/man5/systemd.exec.5.html",
        "https://github.com/openssh/openssh-portable/blob/master/openbsd-compat/port-linux.c",
        "https://www.postgresql.org/docs/current/kernel-resources.html#LINUX-MEMORY-OVERCOMMIT",
    ),
    reads=(*SERVICE_READS, *UNIT_READS),
    params={
        "services": Param(
            ["sshd"], "service names (comm or alias such as sshd, postgres)", "list[str]"
        ),
        "max": Param(-900, "highest oom_score_adj that counts as protected", low=-1000, high=1000),
    },
)


def _persistence(facts: Facts, found: ServiceProcesses) -> dict[str, JSON]:
    if found.unit is None:
        return ev(f"{found.service}: no systemd unit found; the value is the daemon's own")
    setting, problem = facts.unit_setting(found.unit, "Service", "OOMScoreAdjust")
    if problem:
        return ev(f"{found.service}: cannot read unit {found.unit}: {problem}")
    if setting is None:
        own = " (OpenSSH writes -1000 itself on Linux)" if found.service in ("sshd", "ssh") else ""
        text = f"{found.unit} does not set OOMScoreAdjust=: the value is the daemon's own{own}"
        return ev(text, persisted=False)
    text = f"{found.unit} sets OOMScoreAdjust={setting.value}"
    return ev(text, source=setting.source, line=setting.line, persisted=True)


def judge(facts: Facts, params: Params) -> Outcome:
    services, limit = param_list(params, "services"), param_int(params, "max")
    found = [facts.service_processes(s) for s in services]
    running = [f for f in found if f.running]
    absent = [f.service for f in found if not f.running]
    blind = facts.unidentified_note()
    if not running:
        if blind or facts.proc_hidden:
            why = blind or f"{facts.proc_hidden}: other users' processes are invisible"
            return Outcome.errored(
                f"cannot tell whether {', '.join(services)} run: {why}; {SUDO_HINT}"
            )
        return Outcome.skipped(f"not running: {', '.join(services)}")
    evidence: list[dict[str, JSON]] = []
    bad, unreadable, values = [], [], []
    for svc in running:
        for p in svc.main:
            path = f"/proc/{p.pid}/oom_score_adj"
            if p.oom_score_adj is None:
                unreadable.append(f"{path} ({p.problems.get(path, 'not collected')})")
                continue
            values.append(p.oom_score_adj)
            text = f"{svc.service}: pid {p.pid} ({p.name}) oom_score_adj {p.oom_score_adj}"
            evidence.append(
                ev(text, source=path, pid=p.pid, comm=p.name, oom_score_adj=p.oom_score_adj)
            )
            if p.oom_score_adj > limit:
                bad.append(f"{svc.service} pid {p.pid} has {p.oom_score_adj}")
        evidence.append(_persistence(facts, svc))
        if svc.not_judged:
            evidence.append(ev(svc.not_judged))
    note = f"; not running: {', '.join(absent)}" if absent else ""
    expected = f"<= {limit}"
    observed = max(values) if values else None
    if bad:
        return Outcome.failed(
            f"{'; '.join(bad)}, above {limit}{note}", observed, expected, evidence
        )
    if unreadable:
        return Outcome.errored(f"cannot read {', '.join(unreadable)}; {SUDO_HINT}", evidence)
    if blind:
        # One of them may be another process of a listed service, unprotected.
        return Outcome.errored(f"{blind}, so not every process was judged; {SUDO_HINT}", evidence)
    names = ", ".join(s.service for s in running)
    return Outcome.passed(
        f"{names}: oom_score_adj {observed} {expected}{note}", observed, expected, evidence
    )
