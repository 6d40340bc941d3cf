"""The PostgreSQL postmaster is shielded from the OOM killer, and its backends are not."""

from __future__ import annotations

from memcheck.engine import SUDO_HINT
from memcheck.facts import Facts
from memcheck.facts.processes import Process
from memcheck.model import JSON, CheckMeta, Outcome, Param, Params, ev, param_int

META = CheckMeta(
    id="postmaster_oom",
    title="The PostgreSQL postmaster is protected from the OOM killer, its backends are not",
    area="oom",
    severity="high",
    rationale=(
        "If the OOM killer picks the postmaster, every connection drops and the database "
        "restarts; if it picks one backend, the postmaster resets all sessions but stays "
        "up. PostgreSQL's documentation therefore asks for the postmaster at "
        "oom_score_adj -1000 and for its children to be set back to 0 as they start "
        "(PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj, PG_OOM_ADJUST_VALUE=0): children "
        "inherit their parent's value, and a protected backend that bloats leaves the "
        "kernel nothing sensible to kill."
    ),
    remediation=(
        "At runtime: choom -p <postmaster pid> -n -1000 (backends started before keep their "
        "value). Persist it in the service: systemctl edit postgresql (postgresql@16-main "
        "on Debian, postgresql-16 for PGDG packages) and add '[Service]', "
        "'OOMScoreAdjust=-1000', 'Environment=PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj', "
        "'Environment=PG_OOM_ADJUST_VALUE=0', then restart PostgreSQL."
    ),
    references=(
        "https://www.postgresql.org/docs/current/kernel-resources.html#LINUX-MEMORY-OVERCOMMIT",
        "https://man7.org/linux/man-pages/man5/proc_pid_oom_score_adj.5.html",
        "https://man7.org/linux/man-pages/man5/systemd.exec.5.html",
    ),
    reads=tuple(
        f"/proc/[0-9]*/{name}" for name in ("comm", "status", "oom_score_adj", "oom_adj", "cmdline")
    ),
    params={
        "max": Param(
            -900,
            "highest oom_score_adj that counts as protected (postmaster)",
            low=-1000,
            high=1000,
        )
    },
)
NAMES = ("postgres", "postmaster")
MAX_LISTED = 10


def _item(role: str, p: Process) -> dict[str, JSON]:
    args = " ".join(p.cmdline or ())[:200]
    text = f"{role} pid {p.pid} ({p.name}): oom_score_adj {p.oom_score_adj}"
    return ev(
        text,
        source=f"/proc/{p.pid}/oom_score_adj",
        role=role,
        pid=p.pid,
        ppid=p.ppid,
        oom_score_adj=p.oom_score_adj,
        cmdline=args,
    )


def judge(facts: Facts, params: Params) -> Outcome:
    limit = param_int(params, "max")
    named = [p for p in facts.processes_named(*NAMES) if not p.is_kernel_thread]
    # A process whose files vanished while the host was read (a short-lived backend) and
    # left no read problem behind is gone; it is not judged.
    found = [p for p in named if p.problems or (p.ppid is not None and p.oom_score_adj is not None)]
    blind = facts.unidentified_note()
    if not found:
        hidden = facts.proc_hidden
        if hidden:
            return Outcome.errored(f"{hidden}: other users' processes are invisible; {SUDO_HINT}")
        if blind:
            return Outcome.errored(f"cannot tell whether PostgreSQL runs: {blind}; {SUDO_HINT}")
        return Outcome.skipped("PostgreSQL is not running (no postgres or postmaster process)")
    unknown = [p for p in found if p.ppid is None or p.oom_score_adj is None]
    if unknown:
        paths = [f"{path} ({reason})" for p in unknown for path, reason in p.problems.items()]
        return Outcome.errored(f"cannot read {', '.join(paths[:5])}; {SUDO_HINT}")
    pids = {p.pid for p in found}
    postmasters = [p for p in found if p.ppid not in pids]
    backends = [p for p in found if p.ppid in pids]
    evidence = [_item("postmaster", p) for p in postmasters]
    exposed = [p for p in postmasters if (p.oom_score_adj or 0) > limit]
    protected = [p for p in backends if (p.oom_score_adj or 0) < 0]
    evidence += [_item("backend", p) for p in protected[:MAX_LISTED]]
    evidence.append(
        ev(f"{len(backends) - len(protected)} of {len(backends)} backends at 0 or above")
    )
    worst = max(p.oom_score_adj or 0 for p in postmasters)
    expected = f"postmaster <= {limit}, backends >= 0"
    if exposed:
        which = ", ".join(f"pid {p.pid} has {p.oom_score_adj}" for p in exposed)
        return Outcome.failed(
            f"postmaster {which}, above {limit}: the OOM killer may take the whole database",
            worst,
            expected,
            evidence,
        )
    if protected:
        values = sorted({p.oom_score_adj for p in protected if p.oom_score_adj is not None})
        return Outcome.failed(
            f"{len(protected)} of {len(backends)} backends are protected too (oom_score_adj "
            f"{', '.join(map(str, values))}): set PG_OOM_ADJUST_FILE and PG_OOM_ADJUST_VALUE=0",
            worst,
            expected,
            evidence,
            severity="medium",
        )
    if blind:
        # One of them may be another postmaster, or a backend left protected.
        return Outcome.errored(f"{blind}, so not every process was judged; {SUDO_HINT}", evidence)
    return Outcome.passed(
        f"postmaster oom_score_adj {worst} <= {limit}; {len(backends)} backends at 0 or above",
        worst,
        expected,
        evidence,
    )
